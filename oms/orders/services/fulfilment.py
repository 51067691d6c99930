"""What warehouse staff do with a shipment: pick, pack, ship, or reject what is not there.

Shipping moves on_hand and reserved down through the ledger (the shipment's reservation is
shipped) and writes `ShipmentShipped` for the channel, in one transaction. A rejected line
(`not_found`: the shelf is counted; `damaged`: the units are quarantined) leaves the shipment,
and the order is re-sourced elsewhere at once; the decision records the rejection.

A count that finds fewer units than are reserved cuts reservations (the inventory's policy,
`oms.inventory.domain.count_shortfall`); `FulfilmentService` is the inventory's shortfall
handler through `oms.orders.services.shortfalls`: the parcels that lost units lose them
exactly as a rejected line does, and the orders are re-sourced, in the count's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from oms.inventory.domain import StockBusy
from oms.inventory.services import InventoryService, RecordMovement, retry_when_busy
from oms.orders.domain.events import order_event
from oms.orders.domain.order import (
    Carrier,
    Order,
    RejectReason,
    Shipment,
    ShipmentStatus,
    validate_tracking,
)
from oms.orders.domain.pick_list import PickList, build_pick_list
from oms.orders.ports import OrderUnitOfWork
from oms.orders.services.placement import OrderService
from oms.orders.services.planning import Exclusion
from oms.orders.services.shortfalls import ShortfallUseCases, busy_orders
from oms.shared.bounds import check_instant
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, InvalidInput, NotFound
from oms.shared.events import DomainEvent, EventName

MAX_SHIPMENTS_ON_A_LIST = 500


@dataclass(frozen=True, slots=True)
class RejectedLine:
    sku: str
    quantity: int
    reason: str
    counted: int | None = None  # not_found: what is on the shelf now


class FulfilmentService(ShortfallUseCases):
    """Shipments through the warehouse. One instance per process."""

    def __init__(
        self,
        uow: Callable[[], OrderUnitOfWork],
        inventory: InventoryService,
        orders: OrderService,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._orders = orders
        self._clock = clock

    def get_shipment(self, shipment_id: int) -> Shipment:
        with self._uow() as uow:
            shipment = uow.orders.shipment(shipment_id)
        if shipment is None:
            raise NotFound(f"no shipment {shipment_id}", field="id")
        return shipment

    def pick(self, shipment_id: int, actor: str | None = None) -> Shipment:
        return self._advance(shipment_id, ShipmentStatus.PICKING)

    def pack(self, shipment_id: int, actor: str | None = None) -> Shipment:
        return self._advance(shipment_id, ShipmentStatus.PACKED)

    def _advance(self, shipment_id: int, to: ShipmentStatus) -> Shipment:
        now = self._clock()
        with self._uow() as uow:
            shipment = self._locked(uow, shipment_id)
            if shipment.status is to:
                return shipment  # said twice: done once
            shipment.advance(to)
            uow.orders.save_shipment(shipment, now)
            uow.publish_changes()
            uow.commit()
        return shipment

    def ship(
        self,
        shipment_id: int,
        carrier: str,
        tracking_number: str,
        shipped_at: datetime | None = None,
        actor: str | None = None,
    ) -> Shipment:
        """A packed shipment leaves: its reservation ships, the channel is told."""
        parsed_carrier, number = validate_tracking(carrier, tracking_number)
        now = self._clock()
        if shipped_at is not None:  # a parcel cannot leave in 2099, nor in 1970
            check_instant(shipped_at, "shipped_at", now=now)
        with self._uow() as uow:
            self._lock_order_of(uow, shipment_id)
            shipment = self._locked(uow, shipment_id)
            if shipment.status is ShipmentStatus.SHIPPED:
                if (shipment.carrier, shipment.tracking_number) == (parsed_carrier, number):
                    return shipment  # the same confirmation again
                raise Conflict(
                    f"shipment {shipment_id} already shipped with {shipment.carrier} "
                    f"{shipment.tracking_number}",
                    field="tracking_number",
                )
            if shipment.status is not ShipmentStatus.PACKED:
                raise Conflict(
                    f"shipment {shipment_id} is {shipment.status.value}: pack it before shipping",
                    field="status",
                    extra={"status": shipment.status.value},
                )
            shipment.advance(ShipmentStatus.SHIPPED)
            shipment.carrier = parsed_carrier
            shipment.tracking_number = number
            shipment.shipped_at = shipped_at or now
            if shipment.reservation_id is not None:
                self._inventory.ship_within(uow.inventory, shipment.reservation_id, actor, now)
            uow.orders.save_shipment(shipment, now)
            order = self._order(uow, shipment.order_id)
            uow.orders.save_order_state(order, order.status.value, now)
            uow.orders.add_events([_shipped_event(order, shipment, parsed_carrier)], now)
            uow.publish_changes()
            uow.commit()
        return shipment

    def reject(
        self, shipment_id: int, lines: Sequence[RejectedLine], actor: str | None = None
    ) -> Order:
        """Units the location cannot send: count or quarantine them there, take them off the
        shipment, and source them elsewhere."""
        if not lines:
            raise InvalidInput("name at least one rejected line", field="lines")
        # A not_found line counts the shelf, which may cut other orders' parcels (see
        # reservations_cut): tried again if one of them is being changed right now.
        return retry_when_busy(lambda busy: self._reject(shipment_id, lines, actor, busy))

    def _reject(
        self,
        shipment_id: int,
        lines: Sequence[RejectedLine],
        actor: str | None,
        busy: Sequence[StockBusy],
    ) -> Order:
        now = self._clock()
        with self._uow() as uow:
            self._lock_order_of(uow, shipment_id, busy)
            shipment = self._locked(uow, shipment_id)
            if shipment.status not in (ShipmentStatus.PENDING, ShipmentStatus.PICKING):
                raise Conflict(
                    f"shipment {shipment_id} is {shipment.status.value}: only a pending or "
                    "picking shipment can reject lines",
                    field="status",
                )
            order = self._order(uow, shipment.order_id)
            shipment = next(s for s in order.shipments if s.id == shipment.id)
            carried: dict[str, int] = {}
            for ln in shipment.lines:
                carried[ln.sku] = carried.get(ln.sku, 0) + ln.quantity
            reasons: list[tuple[RejectedLine, RejectReason]] = []
            for i, rejected in enumerate(lines):
                reasons.append((rejected, _check(rejected, carried, i)))
            # Give the units back first, then correct the shelf, then book what remains.
            if shipment.reservation_id is not None:
                self._inventory.release_within(uow.inventory, shipment.reservation_id, actor, now)
                shipment.reservation_id = None
            exclusions: list[Exclusion] = []
            for i, (rejected, reason) in enumerate(reasons):
                self._correct_shelf(uow, shipment, rejected, reason, actor, now, i)
                exclusions.append(Exclusion.rejected(shipment.location, rejected.sku, reason.value))
            # The count may have cut this order's other parcel here (reservations_cut): read
            # the order again; this parcel's reservation is released already.
            order = self._order(uow, shipment.order_id)
            shipment = next(s for s in order.shipments if s.id == shipment.id)
            shipment.reservation_id = None
            self._take_off(
                uow, order, shipment, {r.sku: r.quantity for r, _ in reasons}, actor, now
            )
            facts = uow.directory.channel(order.channel)
            if facts is not None and facts.active:
                self._orders._source(uow, order, facts, "rejected", exclusions, actor, now)
            uow.orders.save_order_state(order, order.status.value, now)
            uow.orders.add_events([order_event(EventName.ORDER_RESOURCED, order)], now)
            uow.publish_changes()
            uow.commit()
        return order

    def _correct_shelf(
        self,
        uow: OrderUnitOfWork,
        shipment: Shipment,
        rejected: RejectedLine,
        reason: RejectReason,
        actor: str | None,
        now: datetime,
        index: int,
    ) -> None:
        key = f"shipment:{shipment.id}:reject:{uuid.uuid4()}"
        reference = f"shipment {shipment.id} rejected {rejected.sku}: {reason.value}"
        if reason is RejectReason.NOT_FOUND and rejected.counted is not None:  # see _check
            movement = RecordMovement(
                type="count",
                sku=rejected.sku,
                location=shipment.location,
                quantity=rejected.counted,
                idempotency_key=key,
                reference=reference,
                actor=actor,
            )
        else:
            movement = RecordMovement(
                type="quarantine",
                sku=rejected.sku,
                location=shipment.location,
                quantity=rejected.quantity,
                idempotency_key=key,
                reference=reference,
                actor=actor,
            )
        try:
            self._inventory.record_within(uow, movement, now)
        except InvalidInput as bad:
            raise InvalidInput(
                bad.detail, field=f"lines[{index}].{bad.field or 'quantity'}"
            ) from None

    def ship_instructions(
        self,
        location: str,
        statuses: Sequence[str] = ("pending",),
        *,
        personal: bool,
        limit: int = MAX_SHIPMENTS_ON_A_LIST,
    ) -> PickList:
        """What `location` has to pick and send: shipments in `statuses`, oldest first."""
        wanted: list[ShipmentStatus] = []
        for value in statuses:
            try:
                wanted.append(ShipmentStatus(value))
            except ValueError:
                known = ", ".join(s.value for s in ShipmentStatus)
                raise InvalidInput(f"status must be one of {known}", field="status") from None
        with self._uow() as uow:
            if uow.inventory.location_by_code(location) is None:
                raise NotFound(f"no location {location!r}", field="code")
            found = uow.orders.shipments_at(location, wanted or [ShipmentStatus.PENDING], 0, limit)
            orders = uow.orders.orders_by_id({s.order_id for s in found})
            skus = {ln.sku for s in found for ln in s.lines}
            skus |= {line.sku for o in orders.values() for line in o.lines}
            names = uow.inventory.sku_names(skus)
        return build_pick_list(
            location,
            wanted or [ShipmentStatus.PENDING],
            found,
            orders,
            names,
            self._clock(),
            with_personal_data=personal,
        )

    def _lock_order_of(
        self, uow: OrderUnitOfWork, shipment_id: int, busy: Sequence[StockBusy] = ()
    ) -> None:
        """Lock the shipment's order before the shipment and its stock: the one order every
        writer of an order takes (a cancellation, a re-sourcing, a count that cuts the
        order's reservation locks the order, then stock, then shipments). A reject tried
        again also waits for the orders its count gave way to, all in id order."""
        found = uow.orders.shipment(shipment_id)
        if found is None:
            raise NotFound(f"no shipment {shipment_id}", field="id")
        for order_id in sorted({found.order_id, *busy_orders(busy)}):
            uow.orders.order(order_id, lock=True)

    def _locked(self, uow: OrderUnitOfWork, shipment_id: int) -> Shipment:
        shipment = uow.orders.shipment(shipment_id, lock=True)
        if shipment is None:
            raise NotFound(f"no shipment {shipment_id}", field="id")
        return shipment


def _check(rejected: RejectedLine, carried: dict[str, int], index: int) -> RejectReason:
    where = f"lines[{index}]"
    try:
        reason = RejectReason(rejected.reason)
    except ValueError:
        known = ", ".join(r.value for r in RejectReason)
        raise InvalidInput(f"reason must be one of {known}", field=f"{where}.reason") from None
    if rejected.sku not in carried:
        raise InvalidInput(f"the shipment has no {rejected.sku}", field=f"{where}.sku")
    quantity = rejected.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput("quantity must be 1 or more", field=f"{where}.quantity")
    if quantity > carried[rejected.sku]:
        raise InvalidInput(
            f"the shipment carries {carried[rejected.sku]} {rejected.sku}, not {quantity}",
            field=f"{where}.quantity",
        )
    if reason is RejectReason.NOT_FOUND:
        counted = rejected.counted
        if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
            raise InvalidInput(
                "not_found needs `counted`: how many are on the shelf now",
                field=f"{where}.counted",
            )
    elif rejected.counted is not None:  # silently dropping what a picker counted would mislead
        raise InvalidInput(
            "`counted` goes with not_found only: damaged units are quarantined, not counted",
            field=f"{where}.counted",
        )
    return reason


def _shipped_event(order: Order, shipment: Shipment, carrier: Carrier) -> DomainEvent:
    return DomainEvent(
        EventName.SHIPMENT_SHIPPED,
        f"order:{order.id}",
        {
            "order_id": order.id,
            "channel": order.channel,
            "external_id": order.external_id,
            "shipment_id": shipment.id,
            "location": shipment.location,
            "carrier": carrier.value,
            "tracking_number": shipment.tracking_number,
            "shipped_at": shipment.shipped_at.isoformat() if shipment.shipped_at else None,
            "lines": [
                {"line_id": ln.line_id, "sku": ln.sku, "quantity": ln.quantity}
                for ln in shipment.lines
            ],
            "order_status": order.status.value,
        },
    )
