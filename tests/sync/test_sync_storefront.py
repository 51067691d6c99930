"""The sync services end to end against the storefront emulator over real HTTP, on both
databases: numbers pushed once each, coalesced, only for listed SKUs; orders pulled once and
cancelled when the channel cancels them; shipments confirmed once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.channels.emulators.storefront.app import create_app
from oms.orders.domain.order import OrderStatus
from oms.shared.clock import utcnow
from tests.builders import receive
from tests.contract.servers import serving
from tests.contract.test_storefront_gateway import StorefrontControl, connection_to
from tests.order_builders import CHANNEL, DC, PANTS, TEE, Shop, open_shipments
from tests.sync.support import connect, list_on, services_for


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with serving(create_app()) as base_url:
        yield base_url


@pytest.fixture
def emulator(emulator_url: str) -> Iterator[StorefrontControl]:
    control = StorefrontControl(emulator_url)
    control.reset()
    yield control
    control.http.close()


@pytest.fixture
def services(engine: Engine, emulator: StorefrontControl) -> Iterator[Services]:
    Shop(engine).build()
    found = services_for(engine)
    connect(found, CHANNEL, connection_to(emulator.base_url))
    yield found
    found.gateways.close()


def number(services: Services, sku: str) -> int:
    [shown] = services.availability.channel_availability(CHANNEL, [sku])
    return shown.availability.available


def test_a_change_reaches_the_channel_once_and_only_for_listed_skus(
    services: Services, emulator: StorefrontControl
) -> None:
    tee = emulator.listing(TEE)
    pants = emulator.listing(PANTS)
    list_on(services, CHANNEL, tee)  # PANTS is on the channel but not listed in oms
    receive(services.inventory, TEE, DC, 10)
    receive(services.inventory, PANTS, DC, 4)

    services.publication.drain()
    first = services.sync.push.push_changes(CHANNEL)

    assert emulator.quantity_of(tee) == number(services, TEE) == 10
    assert emulator.quantity_of(pants) == 0  # unlisted: never pushed
    assert (first.accepted, first.calls) == (1, 1)
    services.publication.drain()
    again = services.sync.push.push_changes(CHANNEL)
    assert (again.accepted, again.calls) == (0, 0)  # told already: no call wasted


def test_many_changes_between_passes_are_one_push_of_the_latest_number(
    services: Services, emulator: StorefrontControl
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, tee)
    for _ in range(7):
        receive(services.inventory, TEE, DC, 3)

    services.publication.drain()
    report = services.sync.push.push_changes(CHANNEL)

    assert (report.accepted, report.calls) == (1, 1)
    assert emulator.quantity_of(tee) == 21


def test_a_full_push_sends_every_listed_number_whatever_was_told(
    services: Services, emulator: StorefrontControl
) -> None:
    tee, pants = emulator.listing(TEE), emulator.listing(PANTS)
    list_on(services, CHANNEL, tee, pants)
    receive(services.inventory, TEE, DC, 5)
    services.publication.drain()
    services.sync.push.push_changes(CHANNEL)

    services.publication.drain()
    report = services.sync.push.push_full(CHANNEL)

    assert report.accepted == 2
    assert (emulator.quantity_of(tee), emulator.quantity_of(pants)) == (5, 0)


def test_an_order_pulled_twice_is_one_order_and_a_channel_cancellation_cancels_it(
    services: Services, emulator: StorefrontControl
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, tee)
    receive(services.inventory, TEE, DC, 10)
    external_id = emulator.seed_order([(tee, 2, 3000)])

    first = services.sync.pull.pull(CHANNEL)
    with services.uow() as uow:  # the cursor forgotten: the channel sends it again
        state = uow.sync.sync_state(CHANNEL, lock=True)
        state.order_cursor = None
        uow.sync.save_sync_state(state, utcnow())
        uow.commit()
    second = services.sync.pull.pull(CHANNEL)

    assert (first.taken, second.taken) == (1, 0)
    order = services.orders.find_order(CHANNEL, external_id)
    assert order is not None
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [(TEE, 2)]
    assert all(ln.line_id for ln in order.lines)  # the channel's item ids, for confirmation
    assert len(services.orders.list_orders(channel=CHANNEL).items) == 1

    emulator.cancel_order(external_id)
    services.sync.pull.pull(CHANNEL)

    cancelled = services.orders.find_order(CHANNEL, external_id)
    assert cancelled is not None
    assert cancelled.status is OrderStatus.CANCELLED


def test_an_order_with_an_unlisted_sku_is_a_failure_and_does_not_block_the_others(
    services: Services, emulator: StorefrontControl
) -> None:
    tee, pants = emulator.listing(TEE), emulator.listing(PANTS)
    list_on(services, CHANNEL, tee)
    receive(services.inventory, TEE, DC, 10)
    blocked = emulator.seed_order([(pants, 1, 6000)])
    fine = emulator.seed_order([(tee, 1, 3000)])

    report = services.sync.pull.pull(CHANNEL)

    assert (report.taken, report.failed) == (1, 1)
    assert services.orders.find_order(CHANNEL, fine) is not None
    failures, _ = services.sync_status.failures(CHANNEL)
    assert [(f.operation, f.subject) for f in failures] == [("pull", blocked)]
    assert "listed" in failures[0].message

    list_on(services, CHANNEL, pants)
    receive(services.inventory, PANTS, DC, 1)
    retried = services.sync_status.retry(failures[0].id)

    assert retried.resolved_at is not None
    assert services.orders.find_order(CHANNEL, blocked) is not None


def test_a_shipped_parcel_is_confirmed_to_the_channel_once(
    services: Services, emulator: StorefrontControl, engine: Engine
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, tee)
    receive(services.inventory, TEE, DC, 10)
    external_id = emulator.seed_order([(tee, 2, 3000)])
    services.sync.pull.pull(CHANNEL)
    order = services.orders.find_order(CHANNEL, external_id)
    assert order is not None
    assert order.id is not None
    [parcel] = open_shipments(order)
    assert parcel.id is not None
    Shop(engine).ship(parcel.id, tracking="1234-5678-9012")

    first = services.sync.confirm.confirm(order.id, parcel.id)
    second = services.sync.confirm.confirm(order.id, parcel.id)

    assert (first.confirmed, second.confirmed) == (True, False)
    shipments = emulator.shipments_of(external_id)
    assert len(shipments) == 1
    assert "1234-5678-9012" in str(shipments[0])


def test_a_sku_listed_later_hears_its_number_without_waiting_for_a_change(
    services: Services, emulator: StorefrontControl
) -> None:
    tee = emulator.listing(TEE)
    receive(services.inventory, TEE, DC, 6)
    services.publication.drain()
    assert services.sync.push.push_changes(CHANNEL).calls == 0  # not listed yet: nothing

    list_on(services, CHANNEL, tee)
    services.publication.drain()
    report = services.sync.push.push_changes(CHANNEL)

    assert (report.accepted, report.calls) == (1, 1)
    assert emulator.quantity_of(tee) == 6
    services.publication.drain()
    assert services.sync.push.push_changes(CHANNEL).calls == 0
