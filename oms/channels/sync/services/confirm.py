"""Confirm: tell the channel each parcel that left, once.

Driven by `ShipmentShipped` (at least once): a parcel already confirmed is not sent again, and
the adapters' confirmations are themselves idempotent per package, so a crash between the
channel's answer and the bookkeeping repeats a call that changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from oms.channels.sync.domain.errors import ChannelError, Throttled
from oms.channels.sync.domain.model import Carrier, ShipmentConfirmation, ShippedLine
from oms.channels.sync.ports import SyncUnitOfWork
from oms.channels.sync.services.gateways import GatewayPool
from oms.orders.domain.order import Carrier as OmsCarrier
from oms.orders.domain.order import Order, Shipment, ShipmentStatus, line_units
from oms.orders.services.placement import OrderService
from oms.shared.clock import utcnow
from oms.shared.errors import NotFound

# oms's carriers the channels have codes for; the rest go as "other" with their name.
_CARRIERS = {
    OmsCarrier.YAMATO: Carrier.YAMATO,
    OmsCarrier.SAGAWA: Carrier.SAGAWA,
    OmsCarrier.JAPAN_POST: Carrier.JAPAN_POST,
}
_NAMES = {
    OmsCarrier.SEINO: "Seino Transportation",
    OmsCarrier.FUKUYAMA: "Fukuyama Transporting",
    OmsCarrier.AMAZON: "Amazon Logistics",
    OmsCarrier.OTHER: "Other",
}


@dataclass(frozen=True, slots=True)
class ConfirmReport:
    shipment_id: int
    confirmed: bool
    skipped: str | None = None


class ConfirmService:
    def __init__(
        self,
        uow: Callable[[], SyncUnitOfWork],
        orders: OrderService,
        gateways: GatewayPool,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._orders = orders
        self._gateways = gateways
        self._clock = clock

    def confirm(self, order_id: int, shipment_id: int) -> ConfirmReport:
        """Confirm one parcel. A channel error is recorded as a failure a person can see (one
        more attempt each time) and raised for the caller to retry when it is retryable; a
        later success resolves the failure."""
        order = self._orders.get_order(order_id)
        shipment = next((s for s in order.shipments if s.id == shipment_id), None)
        if shipment is None:
            raise NotFound(f"order {order_id} has no shipment {shipment_id}", field="shipment_id")
        if shipment.status is not ShipmentStatus.SHIPPED or shipment.shipped_at is None:
            return ConfirmReport(shipment_id, False, "the parcel has not shipped")
        with self._uow() as uow:
            if uow.sync.confirmed(shipment_id):
                return ConfirmReport(shipment_id, False, "confirmed already")
            stored = uow.sync.connection(order.channel)
        if stored is None:
            return ConfirmReport(shipment_id, False, "the channel has no connection")
        gateway = self._gateways.gateway(order.channel)
        if gateway is None:
            return ConfirmReport(shipment_id, False, "the channel has no connection")
        carrier = shipment.carrier or OmsCarrier.OTHER
        confirmation = ShipmentConfirmation(
            external_order_id=order.external_id,
            package_ref=str(shipment_id),
            carrier=_CARRIERS.get(carrier, Carrier.OTHER),
            tracking_number=shipment.tracking_number or "",
            shipped_at=shipment.shipped_at,
            lines=_units_by_line(order, shipment),
            carrier_name=None if carrier in _CARRIERS else _NAMES.get(carrier, carrier.value),
        )
        try:
            gateway.confirm_shipment(confirmation)
        except ChannelError as error:
            now = self._clock()
            with self._uow() as uow:
                if isinstance(error, Throttled):
                    uow.sync.count_throttled(order.channel, 1)
                uow.sync.record_failure(
                    order.channel, "confirm", str(shipment_id), error.message, now
                )
                uow.commit()
            raise
        now = self._clock()
        with self._uow() as uow:
            uow.sync.mark_confirmed(shipment_id, order.channel, now)
            uow.sync.resolve_failures(order.channel, "confirm", [str(shipment_id)], now)
            uow.commit()
        return ConfirmReport(shipment_id, True)


def _units_by_line(order: Order, shipment: Shipment) -> list[ShippedLine]:
    """The parcel's units per order line, in the order's line order: a set's components count
    as whole sets of its line, as the channel sold them."""
    shipped: list[ShippedLine] = []
    for line in order.lines:
        picked: dict[str, int] = {}
        for ln in shipment.lines:
            if ln.line_id == line.line_id:
                picked[ln.sku] = picked.get(ln.sku, 0) + ln.quantity
        units = line_units(line, picked) if picked else 0
        if units:
            shipped.append(ShippedLine(line.line_id, units))
    return shipped
