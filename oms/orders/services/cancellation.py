"""Cancelling orders, whole or some units of some lines, mixed into `OrderService`.

Units not shipped can be cancelled: backordered ones first, then reserved ones, whose parcels
are re-booked (their reservation released and re-made for what remains). A unit of which some
part has left cannot (409).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from oms.inventory.services import InventoryService
from oms.orders.domain.events import order_event
from oms.orders.domain.order import Order, OrderLine, Shipment, ShipmentLine, ShipmentStatus
from oms.orders.ports import OrderUnitOfWork
from oms.shared.errors import Conflict, InvalidInput, NotFound
from oms.shared.events import EventName


class CancellationUseCases:
    """Needs OrderService's unit of work, inventory, clock and `_reserve_lines`."""

    _uow: Callable[[], OrderUnitOfWork]
    _inventory: InventoryService
    _clock: Callable[[], datetime]

    def _reserve_lines(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        shipment: Shipment,
        actor: str | None,
        now: datetime,
    ) -> int:
        raise NotImplementedError  # OrderService's

    def cancel(
        self, order_id: int, lines: dict[str, int] | None = None, actor: str | None = None
    ) -> Order:
        """Cancel the whole order (`lines` None) or some units of some lines. Units not yet
        shipped are cancelled: backordered ones first, then reserved ones (their shipments'
        reservations are released and re-made for what remains). Shipped units: 409."""
        now = self._clock()
        with self._uow() as uow:
            order = uow.orders.order(order_id, lock=True)
            if order is None:
                raise NotFound(f"no order {order_id}", field="id")
            states = {s.line_id: s for s in order.line_states()}
            gone = {line.line_id: order.units_gone(line) for line in order.lines}
            wanted = (
                {s.line_id: s.quantity - s.cancelled - gone[s.line_id] for s in states.values()}
                if lines is None
                else dict(lines)
            )
            for line_id, units in wanted.items():
                where = f"lines.{line_id}"
                if line_id not in states:
                    raise InvalidInput(f"order has no line {line_id!r}", field=where)
                if isinstance(units, bool) or not isinstance(units, int) or units < 0:
                    raise InvalidInput("units to cancel must be 0 or more", field=where)
                state = states[line_id]
                open_units = state.quantity - state.cancelled - gone[line_id]
                if units > open_units:
                    raise Conflict(
                        f"line {line_id}: {units} to cancel, but only {open_units} are not "
                        f"shipped or cancelled ({gone[line_id]} shipped, in whole or in part)",
                        field=where,
                        extra={"shipped": gone[line_id], "cancellable": open_units},
                    )
            if lines is not None and not any(lines.values()):
                raise InvalidInput("name at least one unit to cancel", field="lines")
            if not any(wanted.values()):
                shipped = sum(gone.values())
                raise Conflict(
                    f"order {order_id} has nothing left to cancel"
                    + (f": {shipped} units shipped" if shipped else ""),
                    field="lines",
                    extra={"shipped": shipped},
                )
            # Parcels are re-booked one by one: take all their locks first, in the one order.
            self._inventory.lock_within(
                uow.inventory,
                {(ln.sku, s.location) for s in order.shipments if s.open for ln in s.lines},
            )
            for line_id, units in wanted.items():
                if units:
                    self._cancel_units(uow, order, order.line(line_id), units, states, actor, now)
            uow.orders.save_order_state(order, order.status.value, now)
            uow.orders.add_events([order_event(EventName.ORDER_CANCELLED, order)], now)
            uow.publish_changes()
            uow.commit()
        return order

    def _cancel_units(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        line: OrderLine,
        units: int,
        states: dict[str, Any],
        actor: str | None,
        now: datetime,
    ) -> None:
        """Cancel `units` of `line`: each of its SKUs keeps in parcels only what the units
        still wanted need; the rest leaves the open parcels, pending ones first (a set shipped
        apart loses its part in each parcel)."""
        line.cancelled += units
        need = line.quantity - line.cancelled
        held = order.component_units(line)
        shipped: dict[str, int] = {}
        for shipment in order.shipments:
            if shipment.status is ShipmentStatus.SHIPPED:
                for ln in shipment.lines:
                    if ln.line_id == line.line_id:
                        shipped[ln.sku] = shipped.get(ln.sku, 0) + ln.quantity
        changed: dict[int, Shipment] = {}
        for sku, per in line.components.items():
            excess = held.get(sku, 0) - max(per * need, shipped.get(sku, 0))
            for shipment in sorted(
                (s for s in order.shipments if s.open),
                key=lambda s: (s.status is not ShipmentStatus.PENDING, -(s.id or 0)),
            ):
                if excess <= 0:
                    break
                for ln in shipment.lines:
                    if ln.line_id == line.line_id and ln.sku == sku and ln.quantity and excess:
                        take = min(ln.quantity, excess)
                        ln.quantity -= take
                        excess -= take
                        changed[shipment.id or 0] = shipment
        for shipment in changed.values():
            remaining = [ln for ln in shipment.lines if ln.quantity > 0]
            self._rebook(uow, order, shipment, remaining, actor, now)

    def _rebook(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        shipment: Shipment,
        lines: list[ShipmentLine],
        actor: str | None,
        now: datetime,
    ) -> None:
        """Replace a shipment's lines: release its reservation, reserve what remains."""
        if shipment.reservation_id is not None:
            self._inventory.release_within(uow.inventory, shipment.reservation_id, actor, now)
            shipment.reservation_id = None
        shipment.lines = lines
        if lines:
            shipment.reservation_id = self._reserve_lines(uow, order, shipment, actor, now)
        else:
            shipment.status = ShipmentStatus.CANCELLED
        uow.orders.save_shipment(shipment, now)
