"""Background work: the Dramatiq broker, the actors, and the outbox relay that feeds them.

Without Redis (the embedded default) everything runs inside the API process: a stub broker and
a worker thread. With Redis, `oms worker` processes run the actors and the relay.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import dramatiq
import structlog
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from oms.outbox import outbox
from oms.settings import Settings

if TYPE_CHECKING:
    from oms.bootstrap import Services
from oms.shared.clock import utcnow

log = structlog.get_logger("oms.worker")

# Any constant will do: it names the one relay allowed to publish at a time (PostgreSQL).
RELAY_LOCK_ID = 0x6F6D73  # "oms"


@dataclass(frozen=True, slots=True)
class Route:
    actor_name: str
    queue_name: str


# Event name -> the actor that receives it. Actor names are stable once deployed.
ROUTES: dict[str, Route] = {
    "StockChanged": Route("inventory.stock_changed", "inventory"),
    "AvailabilityChanged": Route("channels.availability_changed", "channels"),
    # For the channel sync jobs: confirm the shipment to the channel (a later issue).
    "ShipmentShipped": Route("channels.shipment_shipped", "channels"),
    "OrderPlaced": Route("orders.order_changed", "orders"),
    "OrderAllocated": Route("orders.order_changed", "orders"),
    "OrderCancelled": Route("orders.order_changed", "orders"),
    "OrderResourced": Route("orders.order_changed", "orders"),
}


def build_broker(settings: Settings) -> dramatiq.Broker:
    broker: dramatiq.Broker
    if settings.uses_redis:
        broker = RedisBroker(url=settings.redis_url)  # type: ignore[no-untyped-call]
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    return broker


Handler = Callable[[dict[str, Any]], None]


def stock_changed(event: dict[str, Any]) -> None:
    """Stock of a SKU changed. Channel sync hangs on this event in a later issue.

    Delivery is at least once and not ordered across worker threads: a consumer keeps the
    highest `sequence` it has applied per SKU and ignores older ones.
    """
    log.info(
        "stock_changed",
        sku=event.get("sku"),
        sequence=event.get("sequence"),
        event_id=event.get("event_id"),
    )


def availability_changed(event: dict[str, Any]) -> None:
    """A channel's number for a SKU changed. The channel sync jobs (a later issue) push it.

    At least once, not ordered across threads: keep the highest `version` per (channel, SKU).
    """
    log.info(
        "availability_changed",
        channel=event.get("channel"),
        sku=event.get("sku"),
        available=event.get("available"),
        version=event.get("version"),
        event_id=event.get("event_id"),
    )


# Movements that can make stock available to orders waiting for it.
FREEING_MOVEMENTS = frozenset(
    {"receipt", "transfer_receive", "release", "quarantine_release", "count", "adjustment"}
)


def backorder_handler(services: Services) -> Handler:
    """StockChanged -> source the backordered orders, oldest first, if stock may have come."""
    orders = services.orders

    def handle(event: dict[str, Any]) -> None:
        stock_changed(event)
        if FREEING_MOVEMENTS & set(event.get("movement_types") or ()):
            # Only the orders waiting for this SKU (or a set of it): a receipt of socks does
            # not re-plan every backordered order.
            served = orders.source_backorders([str(event.get("sku"))])
            if served:
                log.info("backorders_sourced", orders=served, after=event.get("event_id"))

    return handle


def shipment_shipped(event: dict[str, Any]) -> None:
    """A parcel left: the channel sync (a later issue) confirms it to the channel."""
    log.info(
        "shipment_shipped",
        channel=event.get("channel"),
        order=event.get("external_id"),
        shipment=event.get("shipment_id"),
        tracking_number=event.get("tracking_number"),
        event_id=event.get("event_id"),
    )


def order_changed(event: dict[str, Any]) -> None:
    log.info(
        "order_changed",
        name=event.get("event"),
        order=event.get("order_id"),
        status=event.get("status"),
        event_id=event.get("event_id"),
    )


def register_actors(
    broker: dramatiq.Broker, handlers: dict[str, Handler] | None = None
) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare every routed actor on `broker`. `handlers` replaces handlers by event name."""
    chosen: dict[str, Handler] = {
        "StockChanged": stock_changed,
        "AvailabilityChanged": availability_changed,
        "ShipmentShipped": shipment_shipped,
        "OrderPlaced": order_changed,
        "OrderAllocated": order_changed,
        "OrderCancelled": order_changed,
        "OrderResourced": order_changed,
    }
    chosen.update(handlers or {})
    actors: dict[str, dramatiq.Actor[Any, Any]] = {}
    by_name: dict[str, dramatiq.Actor[Any, Any]] = {}
    for event, route in ROUTES.items():
        if route.actor_name not in by_name:  # several events may share one actor
            decorate = dramatiq.actor(
                actor_name=route.actor_name,
                queue_name=route.queue_name,
                broker=broker,
                max_retries=20,
            )
            by_name[route.actor_name] = decorate(chosen[event])
        actors[event] = by_name[route.actor_name]
    return actors


class OutboxRelay:
    """Publishes committed outbox rows to the broker, in id order, at least once.

    Rows of one SKU get their ids under that SKU's row lock, so id order is commit order per
    SKU. A crash after sending but before marking re-sends on the next pass: consumers dedupe
    on `event_id`.
    """

    def __init__(
        self, factory: sessionmaker[Session], broker: dramatiq.Broker, batch_size: int = 200
    ) -> None:
        self._factory = factory
        self._broker = broker
        self._batch_size = batch_size

    def publish_pending(self) -> int:
        """One pass. Returns the number of events handled."""
        with self._factory.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                got = session.execute(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_ID)))
                if not got.scalar_one():
                    return 0  # another relay is publishing
            rows = session.execute(
                select(outbox.c.id, outbox.c.event, outbox.c.sequence, outbox.c.payload)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._batch_size)
            ).all()
            for row in rows:
                route = ROUTES.get(row.event)
                if route is None:
                    # Marked as handled with the rest: nothing listens to it yet.
                    log.warning("outbox_event_without_route", name=row.event, id=row.id)
                    continue
                payload = dict(row.payload)
                payload["event_id"] = row.id
                payload["event"] = row.event
                self._broker.enqueue(
                    dramatiq.Message(
                        queue_name=route.queue_name,
                        actor_name=route.actor_name,
                        args=(payload,),
                        kwargs={},
                        options={},
                    )
                )
            if rows:
                session.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([r.id for r in rows]))
                    .values(published_at=utcnow(), attempts=outbox.c.attempts + 1)
                )
        return len(rows)

    def drain(self) -> int:
        total = 0
        while published := self.publish_pending():
            total += published
        return total


class RelayLoop(threading.Thread):
    """Polls the outbox until stopped. Errors are logged and retried on the next poll."""

    def __init__(self, relay: OutboxRelay, poll_seconds: float) -> None:
        super().__init__(name="oms-outbox-relay", daemon=True)
        self._relay = relay
        self._poll = poll_seconds
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._relay.publish_pending():
                    continue  # more may be waiting
            except Exception:
                log.exception("outbox_relay_failed")
            self._stopping.wait(self._poll)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.join(timeout)


@dataclass
class Background:
    """What runs beside the API: a relay, and without Redis an in-process worker."""

    relay_loop: RelayLoop | None
    worker: dramatiq.Worker | None

    def stop(self) -> None:
        if self.relay_loop is not None:
            self.relay_loop.stop()
        if self.worker is not None:
            self.worker.stop(timeout=5000)
            self.worker.broker.close()


def start_background(services: Services) -> Background:
    """For `oms serve`: embedded mode runs relay and worker in-process; with Redis, the
    separate `oms worker` processes do."""
    settings, factory = services.settings, services.sessions
    if settings.uses_redis:
        return Background(None, None)
    broker = build_broker(settings)
    register_actors(broker, {"StockChanged": backorder_handler(services)})
    # A short consumer poll, so that the API stops at once rather than after a poll.
    worker = dramatiq.Worker(broker, worker_threads=settings.worker_threads, worker_timeout=100)
    worker.start()
    loop = RelayLoop(
        OutboxRelay(factory, broker, settings.outbox_batch_size), settings.outbox_poll_seconds
    )
    loop.start()
    log.info("background_started", mode="in-process")
    return Background(loop, worker)


def run_worker(settings: Settings) -> None:
    """`oms worker`: actors on Redis plus the outbox relay, until SIGINT/SIGTERM."""
    if not settings.uses_redis:
        raise SystemExit(
            "oms worker needs OMS_REDIS_URL; without Redis, `oms serve` runs an in-process worker"
        )
    # Imported here: the composition root loads every context, which the relay alone does not
    # need (tests import this module for the relay and the routes).
    from oms.bootstrap import bootstrap

    services = bootstrap(settings, pool_size=2)
    factory = services.sessions
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    register_actors(broker, {"StockChanged": backorder_handler(services)})
    worker = dramatiq.Worker(broker, worker_threads=settings.worker_threads)
    worker.start()
    loop = RelayLoop(
        OutboxRelay(factory, broker, settings.outbox_batch_size), settings.outbox_poll_seconds
    )
    loop.start()
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker_stopping", signal=signum)
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    log.info("worker_started", queues=sorted({r.queue_name for r in ROUTES.values()}))
    stopping.wait()
    loop.stop()
    worker.stop()
    services.close()
