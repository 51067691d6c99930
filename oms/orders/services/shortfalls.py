"""Units taken off a parcel: what a rejected line and a count's shortfall share.

`ShortfallUseCases` is mixed into `FulfilmentService`. It is the inventory's shortfall handler
(`oms.inventory.ports.ReservationShortfallHandler`): a count that finds fewer units than are
reserved cuts reservations by the inventory's policy (`oms.inventory.domain.count_shortfall`,
newest first); the parcels that held them lose the units exactly as a rejected line does (a
set shipped together loses whole sets), and their orders are sourced again at once, elsewhere
or as backorders, in the count's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from oms.inventory.domain import InsufficientStock, StockBusy
from oms.inventory.ports import InventoryUnitOfWork, StockShortfall
from oms.inventory.services import InventoryService
from oms.orders.domain.events import order_event
from oms.orders.domain.order import Order, Shipment, ShipmentLine, ShipmentStatus
from oms.orders.ports import OrderUnitOfWork
from oms.orders.services.placement import OrderService
from oms.orders.services.planning import Exclusion
from oms.shared.errors import NotFound
from oms.shared.events import EventName


class ShortfallUseCases:
    """Needs FulfilmentService's inventory and order services."""

    _inventory: InventoryService
    _orders: OrderService

    def reservations_cut(self, uow: InventoryUnitOfWork, shortfall: StockShortfall) -> None:
        """The inventory's shortfall handler: a count cut these reservations. Each parcel that
        held one loses the cut units exactly as a rejected line does (a set shipped together
        loses whole sets), and its order is sourced again at once, elsewhere or as a
        backorder, with the decision recorded and `OrderResourced` written. A reservation
        that is no parcel's (a standalone one) stays as the count left it. Runs in the
        count's transaction; commits nothing."""
        uow = _orders_view(uow)
        cuts = {cut.reservation_id: cut for cut in shortfall.cuts}
        owners = uow.orders.order_ids_by_reservation(cuts)
        now, actor = shortfall.at, shortfall.actor
        for order_id in sorted(set(owners.values())):
            # This transaction holds the stock row; an order's other writers lock the order
            # first, then its stock. Waiting here could deadlock with one of them: take the
            # lock now or give way (the count is rolled back and tried again).
            if not uow.orders.lock_order_nowait(order_id):
                raise StockBusy(
                    f"order {order_id}, whose parcel this count cuts, is being changed right "
                    "now; try again",
                    field="quantity",
                    extra={"order_id": order_id},
                )
            order = self._order(uow, order_id)
            exclusions: list[Exclusion] = []
            for shipment in order.shipments:
                cut = cuts.get(shipment.reservation_id or 0)
                if cut is None or not shipment.open:
                    continue
                self._take_cut_off(uow, order, shipment, cut.sku, cut.quantity, actor, now)
                exclusions.append(
                    Exclusion(
                        cut.location,
                        cut.sku,
                        f"counted {shortfall.counted} {cut.sku} at {cut.location}, fewer than "
                        f"reserved: {cut.quantity} of this order's units were cut (the newest "
                        "reservations lose their units first)",
                    )
                )
            facts = uow.directory.channel(order.channel)
            if facts is not None and facts.active:
                self._orders._source(uow, order, facts, "count_shortfall", exclusions, actor, now)
            uow.orders.save_order_state(order, order.status.value, now)
            uow.orders.add_events([order_event(EventName.ORDER_RESOURCED, order)], now)

    def _take_cut_off(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        shipment: Shipment,
        sku: str,
        units: int,
        actor: str | None,
        now: datetime,
    ) -> None:
        """The count took `units` of `sku` off the shipment's reservation: the shipment loses
        them as after a rejected line. When that leaves exactly what the reservation still
        holds (no set shipped together lost a part), the reservation stays as the count left
        it; otherwise what is left of it is released and re-made for what the parcel carries."""
        remaining = _without(order, shipment, {sku: units})
        held = _units(shipment.lines)
        held[sku] = held.get(sku, 0) - units
        if _units(remaining) == {k: v for k, v in held.items() if v}:
            shipment.lines = remaining
            if not remaining:  # the count released the reservation with its last line
                shipment.status = ShipmentStatus.CANCELLED
                shipment.reservation_id = None
            uow.orders.save_shipment(shipment, now)
            return
        if shipment.reservation_id is not None:
            self._inventory.release_within(uow.inventory, shipment.reservation_id, actor, now)
            shipment.reservation_id = None
        self._take_off(uow, order, shipment, {sku: units}, actor, now)

    def _take_off(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        shipment: Shipment,
        units: dict[str, int],
        actor: str | None,
        now: datetime,
    ) -> None:
        """Take `units` (SKU -> units) off a shipment whose reservation was released, and
        reserve what it still carries; a shipment left empty is cancelled."""
        shipment.lines = _without(order, shipment, units)
        if shipment.lines:
            try:
                with uow.orders.savepoint():
                    shipment.reservation_id = self._orders._reserve_lines(
                        uow, order, shipment, actor, now
                    )
            except InsufficientStock:
                shipment.lines = []  # the count left too little here: source it all again
        if not shipment.lines:
            shipment.status = ShipmentStatus.CANCELLED
        uow.orders.save_shipment(shipment, now)

    def wait_for(self, uow: InventoryUnitOfWork, busy: Sequence[StockBusy]) -> None:
        """The inventory's shortfall handler, on a count tried again: wait for the orders the
        earlier tries gave way to, in id order, before the count locks its stock row."""
        orders_uow = _orders_view(uow)
        for order_id in sorted(busy_orders(busy)):
            orders_uow.orders.order(order_id, lock=True)

    @staticmethod
    def _order(uow: OrderUnitOfWork, order_id: int) -> Order:
        order = uow.orders.order(order_id, lock=True)
        if order is None:
            raise NotFound(f"no order {order_id}", field="id")
        return order


def _without(order: Order, shipment: Shipment, rejected: dict[str, int]) -> list[ShipmentLine]:
    """The shipment's lines less the rejected units. A set shipped together loses whole sets
    (its other parts go back too, to leave together from elsewhere); any other line, or a set
    shipped apart, loses just the rejected units."""
    lines = [ShipmentLine(ln.line_id, ln.sku, ln.quantity) for ln in shipment.lines]

    def take(line_id: str, sku: str, units: int) -> None:
        for ln in lines:
            if ln.line_id == line_id and ln.sku == sku and units > 0:
                gone = min(ln.quantity, units)
                ln.quantity -= gone
                units -= gone

    for sku, quantity in rejected.items():
        for line in order.lines:
            if quantity <= 0:
                break
            held = sum(ln.quantity for ln in lines if ln.line_id == line.line_id and ln.sku == sku)
            if not held or sku not in line.components:
                continue
            per = line.components[sku]
            if line.is_bundle and line.ship_together:
                kits = min(-(-min(quantity, held) // per), shipment.units_of(line))
                for part, units in line.components.items():
                    take(line.line_id, part, units * kits)
                quantity -= kits * per
            else:
                gone = min(quantity, held)
                take(line.line_id, sku, gone)
                quantity -= gone
    return [ln for ln in lines if ln.quantity > 0]


def busy_orders(busy: Sequence[StockBusy]) -> set[int]:
    return {b.extra["order_id"] for b in busy if isinstance(b.extra.get("order_id"), int)}


def _orders_view(uow: InventoryUnitOfWork) -> OrderUnitOfWork:
    """The count's unit of work, as the orders see it: one transaction serves both contexts."""
    if not isinstance(uow, OrderUnitOfWork):
        raise TypeError("a count that cuts orders' reservations needs the orders' unit of work")
    return uow


def _units(lines: Sequence[ShipmentLine]) -> dict[str, int]:
    units: dict[str, int] = {}
    for ln in lines:
        units[ln.sku] = units.get(ln.sku, 0) + ln.quantity
    return units
