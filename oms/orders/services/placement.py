"""Order use cases, shared by the HTTP API, the CLI and the workers (a little over 400 lines:
ingest, replay checks and backorder sourcing share their helpers and read best together).

Placing an order is one transaction: the order and its lines, the sourcing decision, the
reservation of every shipment's stock (all or none, through the inventory's primitive), the
outbox events, and, as its last step before commit (`publish_changes`), the channel numbers the
reservation moved. If a concurrent order
took the stock between planning and reserving, the reservation is rolled back to a savepoint and
the order re-planned on fresh stock, a bounded number of times; what still cannot be sourced
waits as a backorder (or the order is refused, if its channel's profile says so).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oms.inventory.domain import (
    SINGLE_UNIT,
    InsufficientStock,
    ReservationLine,
    SkuKind,
    validate_code,
)
from oms.inventory.services import InventoryService
from oms.orders.domain.events import order_event
from oms.orders.domain.order import (
    NewOrderLine,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    ShipTo,
    _text,
    validate_currency,
    validate_lines,
)
from oms.orders.ports import ChannelFacts, Decision, OrderUnitOfWork, SourcingFacts
from oms.orders.services.cancellation import CancellationUseCases
from oms.orders.services.planning import Exclusion, PlanOutcome, plan_order
from oms.orders.services.resourcing import ResourcingUseCases
from oms.shared.bounds import PROMISE_HORIZON, check_instant, parse_id
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, InvalidInput, NotFound
from oms.shared.events import EventName
from oms.shared.transaction import retry_transaction

MAX_REPLANS = 3
MAX_PAGE = 200
BACKORDER_BATCH = 100


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    channel: str
    external_id: str
    ordered_at: datetime
    currency: str
    lines: Sequence[NewOrderLine]
    ship_to: dict[str, Any]
    shipping_method: str | None = None
    promised_by: datetime | None = None
    gift_note: str | None = None


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    created: bool


@dataclass(frozen=True, slots=True)
class OrderPage:
    items: list[Order]
    next_cursor: str | None


class OrderService(CancellationUseCases, ResourcingUseCases):
    """Orders from ingest to shipment. One instance per process."""

    def __init__(
        self,
        uow: Callable[[], OrderUnitOfWork],
        inventory: InventoryService,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._clock = clock

    # ------------------------------------------------------------------ ingest

    def place_order(
        self,
        cmd: PlaceOrder,
        actor: str | None = None,
        *,
        shown: Callable[[OrderUnitOfWork, Order], None] | None = None,
    ) -> PlacedOrder:
        """Take an order once per (channel, external_id): the same order again returns the
        first (created False); the same key with other content is a 409. `shown`: what must
        be written with a new order in its transaction (the API's record that its personal
        data goes back to the caller)."""
        channel = validate_code(cmd.channel, field_name="channel")
        external_id = _text(cmd.external_id, "external_id", 100) or ""
        lines = validate_lines(cmd.lines)
        currency = validate_currency(cmd.currency)
        if not isinstance(cmd.ship_to, dict):
            raise InvalidInput("ship_to must be an object", field="ship_to")
        ship_to = ShipTo.parse(cmd.ship_to)
        shipping_method = _text(cmd.shipping_method, "shipping_method", 64, required=False)
        gift_note = _text(cmd.gift_note, "gift_note", 500, required=False)
        now = self._clock()
        check_instant(cmd.ordered_at, "ordered_at", now=now)
        if cmd.promised_by is not None:
            check_instant(cmd.promised_by, "promised_by", now=now, latest=PROMISE_HORIZON)
        fingerprint = _fingerprint(cmd, ship_to, lines)

        def take(_earlier: object) -> PlacedOrder:
            for _ in range(2):  # a twin that rolled back after we saw its key: claim again
                with self._uow() as uow:
                    order = Order(
                        channel=channel,
                        external_id=external_id,
                        ordered_at=cmd.ordered_at,
                        currency=currency,
                        lines=[],
                        ship_to=ship_to,
                        shipping_method=shipping_method,
                        promised_by=cmd.promised_by,
                        gift_note=gift_note,
                        fingerprint=fingerprint,
                    )
                    # The key first: a replay costs one statement more, a new order none.
                    order.id = uow.orders.add_order(order, OrderStatus.PENDING.value, now)
                    if order.id is None:
                        existing = uow.orders.order_by_external_id(channel, external_id)
                        if existing is None:
                            continue
                        return PlacedOrder(_same(existing, fingerprint), created=False)
                    facts = self._channel(uow, channel)
                    # The SKUs, their stock where the channel ships from, the locations and
                    # the profile: one read, which sourcing also plans on when no line is a set.
                    known = uow.orders.sourcing_facts(
                        channel, [ln.sku for ln in lines], facts.locations
                    )
                    order.lines = self._order_lines(uow, lines, known)
                    order.created_at = now
                    if self._source(uow, order, facts, "placed", [], actor, now, known) is None:
                        uow.orders.save_order_state(order, order.status.value, now)
                    uow.orders.add_events([order_event(EventName.ORDER_PLACED, order)], now)
                    if shown is not None:
                        shown(uow, order)
                    uow.publish_changes()
                    uow.commit()
                    return PlacedOrder(order, created=True)
            raise Conflict(
                "the order is being taken by another request; retry", field="external_id"
            )

        return retry_transaction(take)

    def _channel(self, uow: OrderUnitOfWork, code: str) -> ChannelFacts:
        facts = uow.directory.channel(code)
        if facts is None:
            raise InvalidInput(f"channel {code!r} does not exist", field="channel")
        if not facts.active:
            raise Conflict(f"channel {code} is inactive: it takes no orders", field="channel")
        return facts

    def _order_lines(
        self, uow: OrderUnitOfWork, lines: Sequence[NewOrderLine], known: SourcingFacts
    ) -> list[OrderLine]:
        store = uow.inventory
        refs = known.skus
        result = []
        for i, line in enumerate(lines):
            if line.sku not in refs:
                raise InvalidInput(f"SKU {line.sku!r} does not exist", field=f"lines[{i}].sku")
            sku_id, kind = refs[line.sku]
            if kind is SkuKind.BUNDLE:
                sku = store.sku_by_code(line.sku)
                components = store.flattened_requirements(sku_id)
                ship_together = bool(sku.ship_together) if sku else True
            else:
                components, ship_together = {line.sku: 1}, True
            result.append(
                OrderLine(
                    line.line_id,
                    line.sku,
                    line.quantity,
                    line.unit_price,
                    components=dict(components),
                    ship_together=ship_together,
                )
            )
        return result

    # ------------------------------------------------------------------ sourcing

    def _source(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        facts: ChannelFacts,
        trigger: str,
        exclusions: Sequence[Exclusion],
        actor: str | None,
        now: datetime,
        known: SourcingFacts | None = None,
    ) -> PlanOutcome | None:
        """Source every backordered unit of `order`; reserve the plan or re-plan on fresh
        stock. Records the decision and the order's new state. Raises if the channel's profile
        refuses backorders and something cannot be sourced (a new order only). `known`: the
        sourcing facts read in this transaction already, planned on if they cover the SKUs."""
        if not order.needs_sourcing():
            return None
        skus = sorted({sku for line in order.lines for sku in line.components})
        lost: list[str] = []
        outcome: PlanOutcome | None = None
        for attempt in range(MAX_REPLANS + 1):
            if attempt or known is None or not known.skus.keys() >= set(skus):
                # A re-plan reads the stock again: a concurrent order took some of it.
                known = uow.orders.sourcing_facts(order.channel, skus, facts.locations)
            outcome = plan_order(uow, order, facts, known, exclusions, now, attempt=attempt)
            outcome.notes.extend(lost)
            _refuse_single_units_short(uow, order, trigger, outcome)
            self._refuse_if_no_backorders(order, trigger, outcome)
            if not outcome.allocations:
                break
            try:
                with uow.orders.savepoint():
                    self._reserve(uow, order, outcome, actor, now)
                break
            except InsufficientStock:
                # A concurrent order took the stock after we looked: plan again on what is left.
                lost.append(f"attempt {attempt + 1}: stock taken meanwhile, re-planned")
        else:
            # Every plan lost its race: what it wanted waits as a backorder, said so.
            if outcome is not None:
                outcome.applied = False
                outcome.notes.append(
                    f"stock kept being taken by other orders ({MAX_REPLANS + 1} attempts): "
                    "left waiting as a backorder"
                )
                _refuse_single_units_short(uow, order, trigger, outcome)
                self._refuse_if_no_backorders(order, trigger, outcome)
        if outcome is None:
            return None
        uow.orders.add_decision(order.id or 0, trigger, outcome.version, outcome.as_json(), now)
        uow.orders.save_order_state(order, order.status.value, now)
        return outcome

    @staticmethod
    def _refuse_if_no_backorders(order: Order, trigger: str, outcome: PlanOutcome) -> None:
        """A new order of a channel that takes no backorders must ship whole now, or not be
        taken (409, nothing written)."""
        if trigger != "placed" or outcome.allow_backorder:
            return
        if outcome.backordered or not outcome.applied:
            raise Conflict(
                f"{order.channel} does not take orders it cannot ship now: "
                + ("; ".join(outcome.backorder_reasons()) or "other orders took the stock"),
                field="lines",
                extra={"backordered": outcome.backordered},
            )

    def _reserve(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        outcome: PlanOutcome,
        actor: str | None,
        now: datetime,
    ) -> None:
        """Every location's lines in its shipment, its stock reserved: all or none."""
        by_location: dict[str, list[ShipmentLine]] = {}
        for line_id, sku, location, quantity in outcome.allocations:
            by_location.setdefault(location, []).append(ShipmentLine(line_id, sku, quantity))
        # One reservation per location, but the locks of them all first, in the one global
        # order of every writer: two orders split across the same places cannot deadlock.
        touched = {(ln.sku, loc) for loc, lines in by_location.items() for ln in lines}
        for shipment in order.shipments:
            if shipment.location in by_location and shipment.status is ShipmentStatus.PENDING:
                touched |= {(ln.sku, shipment.location) for ln in shipment.lines}
        self._inventory.lock_within(uow.inventory, touched)
        added: list[Shipment] = []
        # New shipments are written together once every reservation is made.
        for location in sorted(by_location):
            new_lines = _merged(by_location[location])
            pending = next(
                (
                    s
                    for s in order.shipments
                    if s.location == location and s.status is ShipmentStatus.PENDING
                ),
                None,
            )
            if pending is not None and pending.reservation_id is not None:
                # One shipment per location per order: fold the new units into the pending one.
                # The shipment changes only once its reservation is made: a lost race rolls
                # back to the savepoint, and the objects must say what the database says.
                self._inventory.release_within(uow.inventory, pending.reservation_id, actor, now)
                folded = Shipment(
                    order.id or 0, location, _merged(pending.lines + new_lines), id=pending.id
                )
                reservation_id = self._reserve_lines(uow, order, folded, actor, now)
                pending.lines, pending.reservation_id = folded.lines, reservation_id
                uow.orders.save_shipment(pending, now)
                continue
            shipment = Shipment(order.id or 0, location, new_lines)
            shipment.reservation_id = self._reserve_lines(uow, order, shipment, actor, now)
            added.append(shipment)
        uow.orders.add_shipments(added, now)
        order.shipments.extend(added)

    def _reserve_lines(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        shipment: Shipment,
        actor: str | None,
        now: datetime,
    ) -> int:
        return self._inventory.reserve_within(
            uow.inventory,
            [ReservationLine(ln.sku, shipment.location, ln.quantity) for ln in shipment.lines],
            reference=f"order:{order.id} {order.channel}:{order.external_id}"[:160],
            actor=actor,
            now=now,
            channel=order.channel,
        )

    def source_backorders(
        self,
        skus: Iterable[str] | None = None,
        limit: int = BACKORDER_BATCH,
        *,
        actor: str = "oms backorder sourcing",
    ) -> int:
        """Source waiting units, oldest order first (run when stock arrives): of the orders
        waiting for these SKUs, or for a set containing one of them (None: every order). Each
        order in its own transaction; returns how many orders got stock. `actor` is who the
        ledger names for the reservations made: no person asked for them."""
        with self._uow() as uow:
            wanted = None if skus is None else _with_sets_containing(uow, set(skus))
            order_ids = uow.orders.backordered_order_ids(wanted, limit)
        served = 0
        for order_id in order_ids:
            now = self._clock()
            with self._uow() as uow:
                order = uow.orders.order(order_id, lock=True)
                if order is None or not order.needs_sourcing():
                    continue
                facts = uow.directory.channel(order.channel)
                if facts is None or not facts.active:
                    continue
                before = sum(s.allocated for s in order.line_states())
                self._source(uow, order, facts, "backorder", [], actor, now)
                if sum(s.allocated for s in order.line_states()) > before:
                    served += 1
                    uow.orders.add_events([order_event(EventName.ORDER_ALLOCATED, order)], now)
                uow.publish_changes()
                uow.commit()
        return served

    # ------------------------------------------------------------------ reads

    def get_order(self, order_id: int) -> Order:
        with self._uow() as uow:
            order = uow.orders.order(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}", field="id")
        return order

    def find_order(self, channel: str, external_id: str) -> Order | None:
        """The order a channel knows by `external_id`, if oms has taken it."""
        with self._uow() as uow:
            return uow.orders.order_by_external_id(channel, external_id)

    def list_orders(
        self,
        channel: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> OrderPage:
        if limit < 1 or limit > MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        if status is not None and status not in {s.value for s in OrderStatus}:
            known = ", ".join(s.value for s in OrderStatus)
            raise InvalidInput(f"status must be one of {known}", field="status")
        after = parse_id(cursor, "cursor") or 0
        with self._uow() as uow:
            items = uow.orders.list_orders(
                channel=channel, status=status, after_id=after, limit=limit + 1
            )
        more = len(items) > limit
        items = items[:limit]
        return OrderPage(items, str(items[-1].id) if more and items else None)

    def sourcing(self, order_id: int) -> list[Decision]:
        with self._uow() as uow:
            if uow.orders.order(order_id) is None:
                raise NotFound(f"no order {order_id}", field="id")
            return uow.orders.decisions(order_id)

    # ------------------------------------------------------------------ cancellation


# --------------------------------------------------------------------------- helpers


def _refuse_single_units_short(
    uow: OrderUnitOfWork, order: Order, trigger: str, outcome: PlanOutcome
) -> None:
    """A new order short of a single unit (a graded resale unit, sold or held by another order)
    is refused (409, nothing written) whatever the channel's backorder policy: its stock never
    comes back, so as a backorder it would wait for ever. Read only when something is short."""
    if trigger != "placed" or not outcome.plan.shortfalls:
        return
    store = uow.inventory
    short = {s.sku for s in outcome.plan.shortfalls}
    facts = store.sku_facts(store.sku_ids_by_code(short).values())
    single = {f.code for f in facts.values() if f.attributes.get(SINGLE_UNIT) is True}
    for i, line in enumerate(order.lines):
        if line.sku in single:
            raise Conflict(
                f"{line.sku} is a single unit that is not for sale now (not listed yet,"
                " taken by another order, or sold): it is never backordered",
                field=f"lines[{i}].sku",
            )


def _with_sets_containing(uow: OrderUnitOfWork, skus: set[str]) -> set[str]:
    """The SKUs and every set that contains one of them, at any depth: the lines that wait."""
    contents = uow.inventory.bundle_contents()
    found = set(skus)
    grew = True
    while grew:
        grew = False
        for bundle, components in contents.items():
            if bundle not in found and found.intersection(components):
                found.add(bundle)
                grew = True
    return found


def _merged(lines: Sequence[ShipmentLine]) -> list[ShipmentLine]:
    totals: dict[tuple[str, str], int] = {}
    for ln in lines:
        totals[(ln.line_id, ln.sku)] = totals.get((ln.line_id, ln.sku), 0) + ln.quantity
    return [ShipmentLine(line_id, sku, q) for (line_id, sku), q in sorted(totals.items())]


def _fingerprint(cmd: PlaceOrder, ship_to: ShipTo, lines: Sequence[NewOrderLine]) -> str:
    body = {
        # Instants, whatever offset they were written with.
        "ordered_at": _instant(cmd.ordered_at),
        "currency": cmd.currency,
        "lines": [[ln.line_id, ln.sku, ln.quantity, ln.unit_price] for ln in lines],
        "ship_to": ship_to.as_json(),
        "shipping_method": cmd.shipping_method,
        "promised_by": _instant(cmd.promised_by) if cmd.promised_by else None,
        "gift_note": cmd.gift_note,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _instant(at: datetime) -> str:
    if at.tzinfo is None:
        raise InvalidInput(
            "times need a UTC offset, e.g. 2026-11-25T10:00:00+09:00", field="ordered_at"
        )
    return at.astimezone(UTC).isoformat()


def _same(existing: Order, fingerprint: str) -> Order:
    if existing.fingerprint != fingerprint:
        raise Conflict(
            f"order {existing.external_id} of {existing.channel} was already taken with "
            "different content",
            field="external_id",
            extra={"order_id": existing.id},
        )
    return existing
