"""Background work: the handlers of outbox events, the Dramatiq broker and the relay.

Without Redis (the embedded default) everything runs inside the API process: the handlers run
straight from the outbox (`oms.embedded`), and an event is marked handled only once its handler
has finished. With Redis, `oms worker` processes run the actors and the relay that feeds them.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import dramatiq
import redis
import structlog
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from oms.channels.availability.tasks import PublisherLoop
from oms.channels.sync.tasks import DramatiqSync, EmbeddedSync
from oms.embedded import EmbeddedRunner
from oms.inventory.domain import MovementType
from oms.outbox import OUTBOX_LOCK_ID, outbox
from oms.privacy.tasks import AnonymiseLoop
from oms.resale.tasks import ResaleDueLoop
from oms.retention import PruneLoop
from oms.settings import Settings
from oms.shared.clock import utcnow
from oms.shared.events import EventName

if TYPE_CHECKING:
    from oms.bootstrap import Services

log = structlog.get_logger("oms.worker")

RELAY_LOCK_ID = OUTBOX_LOCK_ID


@dataclass(frozen=True, slots=True)
class Route:
    actor_name: str
    queue_name: str


# Event -> the actor that receives it. Actor names are stable once deployed.
ROUTES: dict[EventName, Route] = {
    EventName.STOCK_CHANGED: Route("inventory.stock_changed", "inventory"),
    EventName.AVAILABILITY_CHANGED: Route("channels.availability_changed", "channels"),
    # The channel sync confirms the parcel to its channel (DramatiqSync.shipment_shipped).
    EventName.SHIPMENT_SHIPPED: Route("channels.shipment_shipped", "channels"),
    EventName.ORDER_PLACED: Route("orders.order_changed", "orders"),
    EventName.ORDER_ALLOCATED: Route("orders.order_changed", "orders"),
    EventName.ORDER_CANCELLED: Route("orders.order_changed", "orders"),
    EventName.ORDER_RESOURCED: Route("orders.order_changed", "orders"),
    EventName.RETURN_CHANGED: Route("returns.return_changed", "returns"),
    EventName.UNIT_CHANGED: Route("returns.unit_changed", "returns"),
    EventName.REPAIR_CHANGED: Route("repairs.repair_changed", "repairs"),
}


def event_name(stored: str) -> EventName | None:
    """The outbox's event column, parsed at the edge: None for a name this build does not know
    (written by a newer version, or by hand)."""
    try:
        return EventName(stored)
    except ValueError:
        return None


def build_broker(settings: Settings) -> dramatiq.Broker:
    """The Redis broker of `oms worker`. The embedded mode needs none: see `oms.embedded`."""
    if not settings.uses_redis:
        raise ValueError("a broker needs OMS_REDIS_URL; the embedded mode runs without one")
    return RedisBroker(url=settings.redis_url)  # type: ignore[no-untyped-call]


Handler = Callable[[dict[str, Any]], None]
BatchHandler = Callable[[Sequence[dict[str, Any]]], None]


def stock_changed(event: dict[str, Any]) -> None:
    """Stock of a SKU changed (logged; channel numbers follow from AvailabilityChanged).

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
    """A channel's number for a SKU changed: logged here; the sync kicks a push pass of the
    channel beside it (`DramatiqSync.availability_changed`, `EmbeddedSync` alike).

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


# Movements that can make stock available to orders waiting for it. Typed by the enum: the
# names a typo could miss ("transfer_receive" for transfer_in once did) cannot pass mypy.
FREEING_MOVEMENTS: frozenset[MovementType] = frozenset(
    {
        MovementType.RECEIPT,
        MovementType.TRANSFER_IN,
        MovementType.RELEASE,
        MovementType.QUARANTINE_RELEASE,
        MovementType.COUNT,
        MovementType.ADJUSTMENT,
    }
)

# Who the ledger names for the reservations that automatic backorder sourcing makes.
BACKORDER_ACTOR = "oms worker (backorder sourcing)"


def movement_types(event: Mapping[str, Any]) -> frozenset[MovementType]:
    """The event's movement types, parsed at the edge. A name this build does not know is
    logged and left out rather than failing the whole event."""
    found: set[MovementType] = set()
    names: Iterable[Any] = event.get("movement_types") or ()
    for name in names:
        try:
            found.add(MovementType(name))
        except ValueError:
            log.warning("unknown_movement_type", name=name, event_id=event.get("event_id"))
    return frozenset(found)


def backorder_handler(services: Services) -> Handler:
    """StockChanged -> source the backordered orders, oldest first, if stock may have come."""
    orders = services.orders

    def handle(event: dict[str, Any]) -> None:
        stock_changed(event)
        if FREEING_MOVEMENTS & movement_types(event):
            # Only the orders waiting for this SKU (or a set of it): a receipt of socks does
            # not re-plan every backordered order.
            served = orders.source_backorders([str(event.get("sku"))], actor=BACKORDER_ACTOR)
            if served:
                log.info("backorders_sourced", orders=served, after=event.get("event_id"))

    return handle


def resale_handler(services: Services, then: Handler) -> Handler:
    """StockChanged -> `then`, and a resale unit whose stock an order took, let go or shipped
    records it (reserved, listed again, sold). Safe to run twice: it follows the stock."""
    resale = services.resale

    def handle(event: dict[str, Any]) -> None:
        then(event)
        sku = event.get("sku")
        if isinstance(sku, str) and resale.observe_stock([sku]):
            log.info("resale_unit_followed_stock", sku=sku, after=event.get("event_id"))

    return handle


def shipment_shipped(event: dict[str, Any]) -> None:
    """A parcel left: logged here; the sync confirms it to the channel beside it."""
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


def returns_changed(event: dict[str, Any]) -> None:
    """Returns' events are for subscribers outside oms (a helpdesk, a refund system); inside,
    the log is their record."""
    log.info(
        "returns_changed",
        name=event.get("event"),
        return_id=event.get("return_id"),
        unit=event.get("unit_id"),
        status=event.get("status"),
        event_id=event.get("event_id"),
    )


def repair_changed(event: dict[str, Any]) -> None:
    """For subscribers outside oms (customer notices: received, quote, repaired, shipped
    back); inside, the log is their record. The event carries no personal data."""
    log.info(
        "repair_changed",
        repair_id=event.get("repair_id"),
        status=event.get("status"),
        action=event.get("action"),
        event_id=event.get("event_id"),
    )


def event_handlers(
    services: Services | None = None,
    overrides: Mapping[EventName, Handler] | None = None,
) -> dict[EventName, Handler]:
    """What reacts to each event, for the Dramatiq actors and the embedded runner alike.

    With `services`, StockChanged also sources backorders. Every handler is safe to run twice:
    delivery is at least once in both modes.
    """
    chosen: dict[EventName, Handler] = {
        EventName.STOCK_CHANGED: stock_changed,
        EventName.AVAILABILITY_CHANGED: availability_changed,
        EventName.SHIPMENT_SHIPPED: shipment_shipped,
        EventName.ORDER_PLACED: order_changed,
        EventName.ORDER_ALLOCATED: order_changed,
        EventName.ORDER_CANCELLED: order_changed,
        EventName.ORDER_RESOURCED: order_changed,
        EventName.RETURN_CHANGED: returns_changed,
        EventName.UNIT_CHANGED: returns_changed,
        EventName.REPAIR_CHANGED: repair_changed,
    }
    if services is not None:
        chosen[EventName.STOCK_CHANGED] = resale_handler(services, backorder_handler(services))
    chosen.update(overrides or {})
    return chosen


def register_actors(
    broker: dramatiq.Broker, handlers: Mapping[EventName, Handler] | None = None
) -> dict[EventName, dramatiq.Actor[Any, Any]]:
    """Declare every routed actor on `broker`. `handlers` replaces handlers by event."""
    chosen = event_handlers(overrides=handlers)
    actors: dict[EventName, dramatiq.Actor[Any, Any]] = {}
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
        self,
        factory: sessionmaker[Session],
        broker: dramatiq.Broker,
        batch_size: int = 200,
        batched: Mapping[EventName, BatchHandler] | None = None,
    ) -> None:
        """`batched`: events handed over a pass at a time to a handler in the relay itself,
        instead of one message each (AvailabilityChanged: its only effect is a kick of the
        channel's push, and a pass of 200 events is a handful of kicks). The handler runs in
        the relay's transaction: if it fails, the events stay unpublished and come again."""
        self._factory = factory
        self._broker = broker
        self._batch_size = batch_size
        self._batched = dict(batched or {})

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
            gathered: dict[EventName, list[dict[str, Any]]] = {}
            for row in rows:
                name = event_name(row.event)
                if name is not None and name in self._batched:
                    payload = dict(row.payload)
                    payload["event_id"] = row.id
                    payload["event"] = row.event
                    gathered.setdefault(name, []).append(payload)
                    continue
                route = ROUTES.get(name) if name is not None else None
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
            for name, payloads in gathered.items():
                self._batched[name](payloads)
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
    """Polls the outbox until stopped: `step` is one pass of the relay (Redis) or of the
    embedded runner. Errors are logged and retried on the next poll."""

    def __init__(self, step: Callable[[], int], poll_seconds: float) -> None:
        super().__init__(name="oms-outbox-relay", daemon=True)
        self._step = step
        self._poll = poll_seconds
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._step():
                    continue  # more may be waiting
            except Exception:
                log.exception("outbox_relay_failed")
            self._stopping.wait(self._poll)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.join(timeout)


@dataclass
class Background:
    """What runs beside the API without Redis: the embedded runner, the channel publisher,
    the channel sync and the pruning."""

    relay_loop: RelayLoop | None
    prune_loop: PruneLoop | None = None
    sync: EmbeddedSync | None = None
    resale_loop: ResaleDueLoop | None = None
    pii_loop: AnonymiseLoop | None = None
    publisher_loop: PublisherLoop | None = None

    def stop(self) -> None:
        if self.publisher_loop is not None:
            self.publisher_loop.stop()
        if self.relay_loop is not None:
            self.relay_loop.stop()
        if self.resale_loop is not None:
            self.resale_loop.stop()
        if self.sync is not None:
            self.sync.stop()
        if self.prune_loop is not None:
            self.prune_loop.stop()
        if self.pii_loop is not None:
            self.pii_loop.stop()


def start_background(services: Services) -> Background:
    """For `oms serve`: the embedded mode runs the handlers in-process, straight from the
    outbox; with Redis, the separate `oms worker` processes do."""
    settings, factory = services.settings, services.sessions
    if settings.uses_redis:
        return Background(None)
    sync = EmbeddedSync(services.sync)
    handlers = event_handlers(
        services,
        {
            EventName.AVAILABILITY_CHANGED: _logged(
                availability_changed, sync.availability_changed
            ),
            EventName.SHIPMENT_SHIPPED: _logged(shipment_shipped, sync.shipment_shipped),
        },
    )
    runner = EmbeddedRunner(factory, handlers, settings.outbox_batch_size)
    publisher = PublisherLoop(services.publication)
    publisher.start()
    sync.start()
    loop = RelayLoop(runner.run_pending, settings.outbox_poll_seconds)
    loop.start()
    pruning = PruneLoop(factory, settings)
    pruning.start()
    resale = ResaleDueLoop(services.resale)
    resale.start()
    pii = AnonymiseLoop(services.anonymisation, settings.pii_check_interval_seconds)
    pii.start()
    log.info("background_started", mode="in-process")
    return Background(
        loop, pruning, sync, resale_loop=resale, pii_loop=pii, publisher_loop=publisher
    )


def _logged(first: Handler, then: Handler) -> Handler:
    def handle(event: dict[str, Any]) -> None:
        first(event)
        then(event)

    return handle


def sync_relay(
    factory: sessionmaker[Session], broker: dramatiq.Broker, settings: Settings, sync: DramatiqSync
) -> OutboxRelay:
    """The relay `oms worker` runs: AvailabilityChanged coalesced into push kicks in the relay
    (k events of a channel in a pass are one kick), every other event a message."""
    return OutboxRelay(
        factory,
        broker,
        settings.outbox_batch_size,
        batched={EventName.AVAILABILITY_CHANGED: sync.availability_batch},
    )


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
    sync = DramatiqSync(broker, redis.Redis.from_url(settings.redis_url), services.sync)
    register_actors(
        broker,
        {
            EventName.STOCK_CHANGED: resale_handler(services, backorder_handler(services)),
            EventName.AVAILABILITY_CHANGED: _logged(
                availability_changed, sync.availability_changed
            ),
            EventName.SHIPMENT_SHIPPED: _logged(shipment_shipped, sync.shipment_shipped),
        },
    )
    worker = dramatiq.Worker(
        broker,
        worker_threads=settings.worker_threads,
        worker_timeout=settings.worker_idle_poll_ms,
    )
    worker.start()
    sync.start_scheduler()
    # Channel numbers of every process's writes: each worker drains the publication queue.
    publisher = PublisherLoop(services.publication)
    publisher.start()
    relay = sync_relay(factory, broker, settings, sync)
    loop = RelayLoop(relay.publish_pending, settings.outbox_poll_seconds)
    loop.start()
    pruning = PruneLoop(factory, settings)
    pruning.start()
    resale = ResaleDueLoop(services.resale)
    resale.start()
    pii = AnonymiseLoop(services.anonymisation, settings.pii_check_interval_seconds)
    pii.start()
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker_stopping", signal=signum)
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    log.info("worker_started", queues=sorted({r.queue_name for r in ROUTES.values()}))
    stopping.wait()
    publisher.stop()
    sync.stop()
    pruning.stop()
    resale.stop()
    pii.stop()
    loop.stop()
    worker.stop()
    services.close()
