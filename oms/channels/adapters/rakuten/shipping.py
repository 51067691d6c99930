"""Confirming a shipment: `updateOrderShipping` adds a shipping record (deliveryCompany code,
shippingNumber, shippingDate) to each basket (送付先) the parcel's items belong to.

Rakuten adds a record for every ShippingModel sent without a shippingDetailId, duplicates
included, so the adapter reads the order first (getOrder) and sends nothing for a basket that
already has this tracking number with this carrier: a second identical confirmation changes
nothing. Rakuten has no package reference; the tracking number is what identifies the parcel.
"""

from __future__ import annotations

from typing import Any

from oms.channels.adapters.rakuten.client import CHANNEL, RmsClient, order_api_errors
from oms.channels.adapters.rakuten.orders import JST, ORDER_API, OrderReader
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import Carrier, ShipmentConfirmation

UPDATE_ORDER_SHIPPING = "rpay.order.updateOrderShipping"
OTHER_COMPANY = "1000"  # その他
MAX_SHIPPING_NUMBER = 120
CANCELLED_PROGRESS = frozenset({800, 900})


class ShipmentClient:
    def __init__(
        self, client: RmsClient, orders: OrderReader, carrier_codes: dict[Carrier, str]
    ) -> None:
        self._client = client
        self._orders = orders
        self._carrier_codes = carrier_codes

    def confirm(self, confirmation: ShipmentConfirmation) -> None:
        number = confirmation.external_order_id
        tracking = confirmation.tracking_number.strip()
        if not tracking or len(tracking) > MAX_SHIPPING_NUMBER:
            raise ChannelRejected(
                CHANNEL, f"{number}: a shippingNumber is 1 to {MAX_SHIPPING_NUMBER} characters"
            )
        company = self._carrier_codes.get(
            confirmation.carrier, self._carrier_codes.get(Carrier.OTHER, OTHER_COMPANY)
        )
        order = self._orders.get_orders([number]).get(number)
        if order is None:
            raise ChannelRejected(CHANNEL, f"{number}: Rakuten has no such order")
        if order.get("orderProgress") in CANCELLED_PROGRESS:
            raise ChannelRejected(CHANNEL, f"{number}: the order is cancelled on Rakuten")
        baskets = _baskets_of(order, {line.item_id for line in confirmation.lines}, number)
        record = {
            "deliveryCompany": company,
            "shippingNumber": tracking,
            "shippingDate": confirmation.shipped_at.astimezone(JST).date().isoformat(),
        }
        pending = [
            {"basketId": basket["basketId"], "ShippingModelList": [record]}
            for basket in baskets
            if not _already_recorded(basket, company, tracking)
        ]
        if not pending:
            return
        request = {"orderNumber": number, "BasketidModelList": pending}
        _, body = self._client.call(
            UPDATE_ORDER_SHIPPING, "POST", f"{ORDER_API}/updateOrderShipping/", request
        )
        errors = order_api_errors(body)
        if errors:
            words = "; ".join(f"{e.get('messageCode')} {e.get('message')}" for e in errors)
            raise ChannelRejected(CHANNEL, f"{UPDATE_ORDER_SHIPPING} {number}: {words[:300]}")


def _baskets_of(order: dict[str, Any], item_ids: set[str], number: str) -> list[dict[str, Any]]:
    """The packages holding the shipped items (every package when no line is named)."""
    packages = [p for p in order.get("PackageModelList") or [] if isinstance(p, dict)]
    if not item_ids:
        if len(packages) == 1:
            return packages
        raise ChannelRejected(CHANNEL, f"{number}: name the shipped lines (several recipients)")
    chosen = []
    matched: set[str] = set()
    for package in packages:
        ids = {str(item.get("itemDetailId")) for item in package.get("ItemModelList") or []}
        if ids & item_ids:
            chosen.append(package)
            matched |= ids & item_ids
    unknown = item_ids - matched
    if unknown:
        raise ChannelRejected(
            CHANNEL, f"{number}: no line {sorted(unknown)} in the order (itemDetailId)"
        )
    return chosen


def _already_recorded(package: dict[str, Any], company: str, tracking: str) -> bool:
    return any(
        isinstance(s, dict)
        and str(s.get("deliveryCompany")) == company
        and str(s.get("shippingNumber")) == tracking
        for s in package.get("ShippingModelList") or []
    )
