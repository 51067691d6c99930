"""`oms worker` processes on PostgreSQL and Redis against the storefront emulator: a receipt
reaches the channel through the outbox relay (which turns a pass's AvailabilityChanged events
into one coalesced kick per channel) and `channels.push`; many changes end at the latest
number; with two workers the single scheduler pulls an order once, and its shipment is
confirmed once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.channels.emulators.storefront.app import create_app
from oms.shared.clock import utcnow
from tests.builders import receive
from tests.contract.servers import serving
from tests.contract.test_storefront_gateway import StorefrontControl, connection_to
from tests.order_builders import CHANNEL, DC, TEE, Shop, open_shipments
from tests.sync.processes import (
    Processes,
    Watched,
    processes,
    reconciled_today,
    services_on,
    wait_for,
)
from tests.sync.support import connect, list_on

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def watched() -> Iterator[tuple[Watched, str]]:
    app = Watched(create_app(), "/admin/")
    with serving(app) as base_url:
        yield app, base_url


@pytest.fixture
def emulator(watched: tuple[Watched, str]) -> Iterator[StorefrontControl]:
    control = StorefrontControl(watched[1])
    control.reset()
    yield control
    control.http.close()


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """No queued message or lease of an earlier test may act in this one."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


@pytest.fixture
def oms(pg_engine: Engine) -> Iterator[Services]:
    Shop(pg_engine).build()
    services = services_on(pg_engine)
    yield services
    services.gateways.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Processes]:
    with processes(tmp_path) as started:
        yield started


def number(services: Services, sku: str) -> int:
    [shown] = services.availability.channel_availability(CHANNEL, [sku])
    return shown.availability.available


def test_a_receipt_reaches_the_channel_and_many_changes_end_at_the_latest_number(
    oms: Services,
    emulator: StorefrontControl,
    watched: tuple[Watched, str],
    running: Processes,
    postgres_url: str,
    clean_redis: str,
) -> None:
    tee = emulator.listing(TEE)
    connect(oms, CHANNEL, connection_to(emulator.base_url), pull_orders=False)
    list_on(oms, CHANNEL, tee)
    reconciled_today(oms, CHANNEL)
    running.worker(postgres_url, clean_redis)

    receive(oms.inventory, TEE, DC, 5)
    wait_for("the receipt on the channel", lambda: emulator.quantity_of(tee) == 5, 180)
    # The way it came: the relay turned the event into a kick; a push pass sent it.
    wait_for("the pass's log line", lambda: '"event": "pushed"' in running.output())
    assert '"event": "availability_changed_batch"' in running.output()

    # The next push is slow: the changes below arrive while it is under way.
    app, _ = watched
    emulator.inject("slow", count=1, seconds=1.5)
    receive(oms.inventory, TEE, DC, 1)
    wait_for("the slow push to start", lambda: app.in_flight > 0)
    for _ in range(15):
        receive(oms.inventory, TEE, DC, 1)
    wait_for("the latest number on the channel", lambda: emulator.quantity_of(tee) == 21)

    assert number(oms, TEE) == 21
    pushes = emulator.counters()["calls"]["inventorySetQuantities"]
    assert pushes < 10, running.output()  # 17 changes: a few passes, never one call each


def test_two_workers_pull_an_order_once_and_confirm_its_shipment_once(
    oms: Services,
    emulator: StorefrontControl,
    running: Processes,
    pg_engine: Engine,
    postgres_url: str,
    clean_redis: str,
) -> None:
    tee = emulator.listing(TEE)
    connect(oms, CHANNEL, connection_to(emulator.base_url), pull_interval_seconds=10)
    list_on(oms, CHANNEL, tee)
    reconciled_today(oms, CHANNEL)
    receive(oms.inventory, TEE, DC, 10)
    external_id = emulator.seed_order([(tee, 2, 3000)])
    running.worker(postgres_url, clean_redis)
    running.worker(postgres_url, clean_redis)

    wait_for(
        "the scheduler to pull the order",
        lambda: oms.orders.find_order(CHANNEL, external_id) is not None,
        180,
    )
    order = oms.orders.find_order(CHANNEL, external_id)
    assert order is not None
    assert order.id is not None
    [parcel] = open_shipments(order)
    assert parcel.id is not None
    Shop(pg_engine).ship(parcel.id, tracking="1234-5678-9012")
    wait_for("the confirmation", lambda: emulator.shipments_of(external_id))
    # The channel sends the order again (the cursor forgotten), on the leader's next tick.
    forget_pulls(oms)
    wait_for("the order pulled again", lambda: last_pull(oms) is not None)

    assert len(oms.orders.list_orders(channel=CHANNEL).items) == 1
    shipments = emulator.shipments_of(external_id)
    assert len(shipments) == 1
    assert "1234-5678-9012" in str(shipments[0])
    taken = [line for line in running.output().splitlines() if "pulled" in line]
    assert len(taken) == 1, taken  # one pull took it; the others found nothing new


def forget_pulls(services: Services) -> None:
    with services.uow() as uow:
        state = uow.sync.sync_state(CHANNEL, lock=True)
        state.order_cursor = None
        state.last_pull_at = None
        uow.sync.save_sync_state(state, utcnow())
        uow.commit()


def last_pull(services: Services) -> datetime | None:
    with services.uow() as uow:
        found = uow.sync.sync_state(CHANNEL).last_pull_at
        uow.commit()
    return found
