"""Pulling orders: v0 getOrders + getOrderItems, or 2026-01-01 searchOrders (per connection).

The cursor is a LastUpdatedAfter watermark: each pull asks for the orders changed from it up to
`now - 2 minutes` (Amazon refuses a later `LastUpdatedBefore`, and changes of the last two
minutes may not be visible yet), and the next pull starts where this one ended. Both bounds
are inclusive, so the cursor also remembers the orders seen at the boundary second (with their
status), which the next pull skips. Pages (NextToken / paginationToken) are returned one at a
time with `more`, the page token inside the cursor. The cursor is opaque to the sync (base64
of a small JSON).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from oms.channels.adapters.amazon.auth import RestrictedTokens
from oms.channels.adapters.amazon.http import CHANNEL, SpApi, json_of
from oms.channels.adapters.amazon.settings import AmazonSettings
from oms.channels.sync.domain.connections import AmazonConnection
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import (
    OrderPull,
    RemoteAddress,
    RemoteOrder,
    RemoteOrderLine,
    RemoteOrderStatus,
)

V0_STATUS = {
    "PendingAvailability": RemoteOrderStatus.PENDING,
    "Pending": RemoteOrderStatus.PENDING,
    "Unshipped": RemoteOrderStatus.OPEN,
    "PartiallyShipped": RemoteOrderStatus.OPEN,
    "Shipped": RemoteOrderStatus.SHIPPED,
    "InvoiceUnconfirmed": RemoteOrderStatus.SHIPPED,  # shipped, invoice not yet confirmed
    "Canceled": RemoteOrderStatus.CANCELLED,
    "Unfulfillable": RemoteOrderStatus.CANCELLED,  # Amazon will not fulfil it
}
STATUS_2026 = {
    "PENDING_AVAILABILITY": RemoteOrderStatus.PENDING,
    "PENDING": RemoteOrderStatus.PENDING,
    "UNSHIPPED": RemoteOrderStatus.OPEN,
    "PARTIALLY_SHIPPED": RemoteOrderStatus.OPEN,
    "SHIPPED": RemoteOrderStatus.SHIPPED,
    "CANCELLED": RemoteOrderStatus.CANCELLED,
    "UNFULFILLABLE": RemoteOrderStatus.CANCELLED,
}
# ISO 4217 minor-unit exponents of the currencies of Amazon's marketplaces.
EXPONENTS = {
    "JPY": 0, "USD": 2, "CAD": 2, "MXN": 2, "BRL": 2, "GBP": 2, "EUR": 2, "SEK": 2, "PLN": 2,
    "EGP": 2, "TRY": 2, "SAR": 2, "AED": 2, "INR": 2, "AUD": 2, "SGD": 2,
}  # fmt: skip
MARKETPLACE_CURRENCY = {"A1VC38T7YXB528": "JPY", "ATVPDKIKX0DER": "USD", "A1F83G8C2ARO7P": "GBP"}


def minor_units(amount: str, currency: str) -> int:
    """Amazon's decimal string in the currency's minor units, exactly (JPY: "3980.00" -> 3980)."""
    exponent = EXPONENTS.get(currency)
    if exponent is None:
        raise ChannelRejected(CHANNEL, f"unsupported currency {currency!r}")
    try:
        scaled = Decimal(amount).scaleb(exponent)
    except InvalidOperation:
        raise ChannelRejected(CHANNEL, f"not an amount: {amount!r}") from None
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ChannelRejected(CHANNEL, f"{amount} {currency} has more decimals than it allows")
    return int(scaled)


def unit_price(total: int, quantity: int) -> int:
    """v0's ItemPrice is the line total; a unit price that does not divide evenly is rounded
    half-even (the line total stays Amazon's)."""
    quotient = (Decimal(total) / Decimal(quantity)).quantize(Decimal(1), ROUND_HALF_EVEN)
    return int(quotient)


def _mark(order: RemoteOrder) -> str:
    """An order as seen at the boundary second: a change within that same second (Amazon's
    times have whole seconds) has another status, so it is not taken for the one seen."""
    return f"{order.external_id}|{order.updated_at.isoformat()}|{order.status.value}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def decode(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        _instant(state["after"])
    except (ValueError, KeyError, TypeError):
        raise ChannelRejected(CHANNEL, "the order cursor is not one this adapter made") from None
    if not isinstance(state, dict):
        raise ChannelRejected(CHANNEL, "the order cursor is not one this adapter made")
    return state


class OrderPuller:
    def __init__(
        self,
        api: SpApi,
        rdt: RestrictedTokens,
        connection: AmazonConnection,
        settings: AmazonSettings,
    ) -> None:
        self._api = api
        self._rdt = rdt
        self._connection = connection
        self._settings = settings

    def pull(self, cursor: str | None, now: datetime) -> OrderPull:
        if cursor is None:
            after = (now - self._settings.first_pull_lookback).replace(microsecond=0)
            state: dict[str, Any] = {"after": _iso(after), "seen": []}
        else:
            state = decode(cursor)
        page = state.get("page")
        if page is None:
            latest = now - self._settings.orders_lag - self._settings.clock_margin
            before = latest.astimezone(UTC).replace(microsecond=0)
            if before < _instant(state["after"]):
                return OrderPull([], encode(state), more=False)  # nothing visible yet
            page = {"before": _iso(before), "token": None, "boundary": []}
        fetch: Callable[[dict[str, Any], dict[str, Any]], tuple[list[RemoteOrder], str | None]]
        fetch = self._page_2026 if self._connection.orders_api == "2026-01-01" else self._page_v0
        orders, following = fetch(state, page)
        seen = set(state.get("seen", []))
        fresh = [o for o in orders if _mark(o) not in seen]
        before = _instant(page["before"])
        boundary = set(page["boundary"]) | {_mark(o) for o in orders if o.updated_at == before}
        fresh.sort(key=lambda o: (o.updated_at, o.external_id))
        if following is not None:
            next_page = {"before": page["before"], "token": following, "boundary": sorted(boundary)}
            return OrderPull(fresh, encode({**state, "page": next_page}), more=True)
        return OrderPull(fresh, encode({"after": page["before"], "seen": sorted(boundary)}))

    # -- v0 --------------------------------------------------------------------------------------
    def _page_v0(
        self, state: dict[str, Any], page: dict[str, Any]
    ) -> tuple[list[RemoteOrder], str | None]:
        path = "/orders/v0/orders"
        params = {"MarketplaceIds": self._connection.marketplace_id}
        if page["token"]:
            params["NextToken"] = page["token"]
        else:
            params |= {
                "LastUpdatedAfter": state["after"],
                "LastUpdatedBefore": page["before"],
                "MaxResultsPerPage": str(self._settings.orders_page_size),
            }
        token = None
        if self._settings.restricted_data:
            token = self._rdt.token_for(path, ["shippingAddress"])
        body = json_of(
            "getOrders", self._api.send("getOrders", "GET", path, params=params, token=token)
        )
        payload = body.get("payload") or {}
        orders = [self._order_v0(raw) for raw in payload.get("Orders") or []]
        return orders, payload.get("NextToken") or None

    def _items_v0(self, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        next_token: str | None = None
        path = f"/orders/v0/orders/{order_id}/orderItems"
        for _ in range(100):  # an order has far fewer pages; bounded against a looping token
            params = {"NextToken": next_token} if next_token else None
            body = json_of(
                "getOrderItems", self._api.send("getOrderItems", "GET", path, params=params)
            )
            payload = body.get("payload") or {}
            items.extend(payload.get("OrderItems") or [])
            next_token = payload.get("NextToken") or None
            if not next_token:
                return items
        raise ChannelRejected(CHANNEL, f"getOrderItems: {order_id} never stopped paging")

    def _order_v0(self, raw: dict[str, Any]) -> RemoteOrder:
        try:
            order_id = raw["AmazonOrderId"]
            status = V0_STATUS[raw["OrderStatus"]]
            currency = (raw.get("OrderTotal") or {}).get("CurrencyCode")
            lines = []
            for item in self._items_v0(order_id):
                quantity = int(item["QuantityOrdered"])
                if quantity <= 0:
                    continue  # a cancelled line stays listed with quantity 0
                price = item.get("ItemPrice")  # absent while the order is Pending
                total = 0
                if price:
                    currency = currency or price["CurrencyCode"]
                    total = minor_units(price["Amount"], price["CurrencyCode"])
                lines.append(
                    RemoteOrderLine(
                        item_id=str(item["OrderItemId"]),
                        remote_sku=str(item.get("SellerSKU") or item["ASIN"]),
                        quantity=quantity,
                        unit_price=unit_price(total, quantity),
                    )
                )
            address = raw.get("ShippingAddress")
            return RemoteOrder(
                external_id=order_id,
                status=status,
                ordered_at=_instant(raw["PurchaseDate"]),
                updated_at=_instant(raw["LastUpdateDate"]),
                currency=currency or self._currency(),
                lines=lines,
                ship_to=_address(
                    address, "Name", "AddressLine", "StateOrRegion", "City", "PostalCode", "Phone"
                )
                if address
                else None,
                shipping_method=raw.get("ShipServiceLevel"),
                promised_by=_instant(raw["LatestShipDate"]) if raw.get("LatestShipDate") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ChannelRejected(CHANNEL, f"getOrders: an order is malformed ({exc!r})") from None

    def _currency(self) -> str:
        return MARKETPLACE_CURRENCY.get(self._connection.marketplace_id, "JPY")

    # -- 2026-01-01 ------------------------------------------------------------------------------
    def _page_2026(
        self, state: dict[str, Any], page: dict[str, Any]
    ) -> tuple[list[RemoteOrder], str | None]:
        params = {
            "marketplaceIds": self._connection.marketplace_id,
            # Roles, not RDTs, decide what RECIPIENT shows in this version [V].
            "includedData": "FULFILLMENT,RECIPIENT",
            "lastUpdatedAfter": state["after"],
            "lastUpdatedBefore": page["before"],
            "maxResultsPerPage": str(self._settings.orders_page_size),
        }
        if page["token"]:
            params["paginationToken"] = page["token"]
        answer = self._api.send("searchOrders", "GET", "/orders/2026-01-01/orders", params=params)
        body = json_of("searchOrders", answer)
        orders = [self._order_2026(raw) for raw in body.get("orders") or []]
        return orders, (body.get("pagination") or {}).get("nextToken") or None

    def _order_2026(self, raw: dict[str, Any]) -> RemoteOrder:
        try:
            status = STATUS_2026[raw["fulfillment"]["fulfillmentStatus"]]
            currency = None
            lines = []
            for item in raw["orderItems"]:
                quantity = int(item["quantityOrdered"])
                if quantity <= 0:
                    continue
                product = item["product"]
                price = (product.get("price") or {}).get("unitPrice")
                unit = 0
                if price:
                    currency = currency or price["currencyCode"]
                    unit = minor_units(price["amount"], price["currencyCode"])
                lines.append(
                    RemoteOrderLine(
                        item_id=str(item["orderItemId"]),
                        remote_sku=str(product.get("sellerSku") or product["asin"]),
                        quantity=quantity,
                        unit_price=unit,
                    )
                )
            delivery = (raw.get("recipient") or {}).get("deliveryAddress")
            ship_by = ((raw.get("fulfillment") or {}).get("shipByWindow") or {}).get("latestTime")
            return RemoteOrder(
                external_id=raw["orderId"],
                status=status,
                ordered_at=_instant(raw["createdTime"]),
                updated_at=_instant(raw["lastUpdatedTime"]),
                currency=currency or self._currency(),
                lines=lines,
                ship_to=_address(
                    delivery, "name", "addressLine", "stateOrRegion", "city", "postalCode", "phone"
                )
                if delivery
                else None,
                promised_by=_instant(ship_by) if ship_by else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ChannelRejected(
                CHANNEL, f"searchOrders: an order is malformed ({exc!r})"
            ) from None


def _address(
    raw: dict[str, Any], name: str, line: str, state: str, city: str, postal: str, phone: str
) -> RemoteAddress:
    """Without PII access only city, prefecture and postal code come: the rest stays empty."""
    extra = " ".join(str(raw[f"{line}{n}"]) for n in (2, 3) if raw.get(f"{line}{n}"))
    return RemoteAddress(
        name=str(raw.get(name) or ""),
        postal_code=str(raw.get(postal) or ""),
        prefecture=str(raw.get(state) or ""),
        city=str(raw.get(city) or ""),
        address1=str(raw.get(f"{line}1") or ""),
        address2=extra or None,
        phone=raw.get(phone) or None,
    )
