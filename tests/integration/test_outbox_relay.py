"""The outbox relay publishes committed events to Dramatiq: at least once, in order per SKU."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import Engine, func, select

from oms.bootstrap import bootstrap
from oms.db import make_session_factory
from oms.inventory.domain import ReservationLine
from oms.inventory.services import InventoryService, ReserveStock
from oms.outbox import outbox
from oms.settings import Settings
from oms.shared.clock import utcnow
from oms.shared.events import EventName
from oms.worker import OutboxRelay, register_actors, start_background
from tests.builders import a_location, a_sku, receive


def _stock_up(inventory: InventoryService) -> None:
    a_location(inventory, "DC-CHIBA")
    a_location(inventory, "STORE-TOKYO", kind="store", prefecture="13", postal_code="150-0041")
    a_sku(inventory, "TEE-BLK-M")
    a_sku(inventory, "TEE-WHT-M")
    receive(inventory, "TEE-BLK-M", "DC-CHIBA", 5)
    receive(inventory, "TEE-WHT-M", "STORE-TOKYO", 3)
    receive(inventory, "TEE-BLK-M", "STORE-TOKYO", 2)
    inventory.reserve(ReserveStock([ReservationLine("TEE-BLK-M", "DC-CHIBA", 1)]))


def _unpublished(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            ).scalar_one()
        )


def _collect(broker: dramatiq.Broker) -> tuple[list[dict[str, Any]], threading.Event]:
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def record(event: dict[str, Any]) -> None:
        seen.append(event)
        done.set()

    register_actors(broker, {EventName.STOCK_CHANGED: record})
    return seen, done


@pytest.mark.redis
def test_relay_publishes_every_event_once_in_order_per_sku_through_redis(
    inventory: InventoryService, engine: Engine, redis_url: str
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    _stock_up(inventory)
    broker = RedisBroker(url=redis_url)  # type: ignore[no-untyped-call]
    seen, _ = _collect(broker)
    relay = OutboxRelay(make_session_factory(engine), broker, batch_size=2)

    assert relay.drain() == 4
    assert _unpublished(engine) == 0
    assert relay.drain() == 0  # nothing is sent twice once marked

    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while len(seen) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
        broker.close()
    assert len(seen) == 4
    black = [
        e["sequence"] for e in sorted(seen, key=lambda e: e["event_id"]) if e["sku"] == "TEE-BLK-M"
    ]
    assert black == [1, 2, 3]
    reserved_event = max((e for e in seen if e["sku"] == "TEE-BLK-M"), key=lambda e: e["sequence"])
    assert reserved_event["levels"] == [
        {
            "sku": "TEE-BLK-M",
            "location": "DC-CHIBA",
            "on_hand": 5,
            "reserved": 1,
            "quarantined": 0,
            "in_transit": 0,
            "available": 4,
            "version": 2,
        }
    ]


def test_a_relay_that_fails_mid_batch_sends_again_and_loses_nothing(
    inventory: InventoryService, engine: Engine
) -> None:
    _stock_up(inventory)
    broker = StubBroker()
    register_actors(broker)
    sent: list[int] = []
    real_enqueue = broker.enqueue

    def flaky_enqueue(message: dramatiq.Message[Any], **kw: Any) -> dramatiq.Message[Any]:
        sent.append(message.args[0]["event_id"])
        if len(sent) == 3:
            raise ConnectionError("broker went away")
        return real_enqueue(message, **kw)

    broker.enqueue = flaky_enqueue  # type: ignore[method-assign]
    relay = OutboxRelay(make_session_factory(engine), broker)
    with pytest.raises(ConnectionError):
        relay.publish_pending()
    assert _unpublished(engine) == 4  # the failed pass marked nothing

    assert relay.drain() == 4
    assert _unpublished(engine) == 0
    # At least once: the first two went out twice, every event went out.
    assert sent == [1, 2, 3, 1, 2, 3, 4]
    assert broker.queues["inventory"].qsize() == 2 + 4


def test_embedded_mode_runs_relay_and_worker_inside_the_process(
    inventory: InventoryService, engine: Engine, database_url: str
) -> None:
    settings = Settings(database_url=database_url, redis_url="", outbox_poll_seconds=0.05)
    background = start_background(bootstrap(settings, engine=engine))
    try:
        _stock_up(inventory)
        deadline = time.monotonic() + 10
        while _unpublished(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _unpublished(engine) == 0
    finally:
        background.stop()


def test_an_event_nobody_listens_to_does_not_hold_up_the_ones_behind_it(
    inventory: InventoryService, engine: Engine
) -> None:
    with engine.begin() as conn:
        conn.execute(
            outbox.insert().values(
                event="SomethingNew",
                partition_key="x",
                sequence=0,
                payload={},
                created_at=utcnow(),
            )
        )
    _stock_up(inventory)
    broker = StubBroker()
    broker.emit_after("process_boot")
    register_actors(broker)
    relay = OutboxRelay(make_session_factory(engine), broker)
    relay.drain()
    assert _unpublished(engine) == 0
    assert broker.queues["inventory"].qsize() > 0  # the StockChanged behind it went out


def _availability_events(engine: Engine, channels: list[str]) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            outbox.insert(),
            [
                {
                    "event": EventName.AVAILABILITY_CHANGED.value,
                    "partition_key": f"{channel}:SKU-{i}",
                    "sequence": i + 1,
                    "payload": {"channel": channel, "sku": f"SKU-{i}", "version": i + 1},
                    "created_at": now,
                }
                for i, channel in enumerate(channels)
            ],
        )


def test_batched_events_are_handed_over_a_pass_at_a_time_and_kept_when_that_fails(
    engine: Engine,
) -> None:
    """`oms worker` hands AvailabilityChanged to the sync a relay pass at a time (one kick per
    channel), not as a message each; a failing hand-over publishes nothing of the pass."""
    _availability_events(engine, ["amazon", "rakuten", "amazon", "amazon", "storefront"])
    broker = StubBroker()
    register_actors(broker)
    passes: list[list[str]] = []
    failing = [True]

    def hand_over(events: Sequence[dict[str, Any]]) -> None:
        if failing[0]:
            failing[0] = False
            raise ConnectionError("redis went away")
        passes.append([e["channel"] for e in events])

    relay = OutboxRelay(
        make_session_factory(engine),
        broker,
        batched={EventName.AVAILABILITY_CHANGED: hand_over},
    )

    with pytest.raises(ConnectionError):
        relay.publish_pending()
    assert _unpublished(engine) == 5  # nothing of the failed pass is marked
    assert relay.drain() == 5
    assert passes == [["amazon", "rakuten", "amazon", "amazon", "storefront"]]
    assert _unpublished(engine) == 0
    assert broker.queues.get("channels") is None or broker.queues["channels"].qsize() == 0
