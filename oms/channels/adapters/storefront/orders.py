"""Orders: polling the `orders` connection, and reading `orders/create` webhooks.

Polling (contract 3.4): `orders(first:, after:, sortKey: UPDATED_AT, query:
"updated_at:>='W'")`. Shopify's dates are to the second, so the filter is inclusive and the
cursor remembers the orders already returned at the watermark second, each with a fingerprint
of what oms was told: the same order changed within that second (a cancellation right after
the order) still comes back, an unchanged one does not. While a page says `hasNextPage` the
cursor also carries Shopify's `endCursor` under the same watermark, so a burst of orders
sharing one second is paged through rather than looped over.

Webhooks: the REST Order payload, verified (auth.py) and parsed into the same RemoteOrder;
its lines name variants, so the gateway resolves them to inventory items (the listings' ids).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from oms.channels.adapters.storefront.auth import CHANNEL, WebhookRefused, header
from oms.channels.adapters.storefront.transport import AdminGraphQL
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import (
    OrderPull,
    RemoteAddress,
    RemoteOrder,
    RemoteOrderLine,
    RemoteOrderStatus,
)

# Shopify admits a query by its requested cost, and the shared limiter cannot know the refund
# of the actual cost: a page asks for few lines (most orders have 1-3); an order with more is
# read again on its own (ALL_LINES). 10 x (4 + 4 x 5) + 2 = 242 points a page.
PAGE = 10
LINES = 5
ALL_LINES = 200  # for the rare order with more lines than a page shows
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "TWD", "HUF", "UGX"})

ORDER_FIELDS = """
  id name createdAt updatedAt cancelledAt displayFinancialStatus displayFulfillmentStatus
  currencyCode
  shippingAddress { name zip province provinceCode city address1 address2 phone }
  shippingLine { title }
  lineItems(first: %d) {
    pageInfo { hasNextPage }
    nodes {
      id sku quantity
      variant { id inventoryItem { id } }
      originalUnitPriceSet { shopMoney { amount currencyCode } }
    }
  }
"""

PULL_ORDERS = """
query PullOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { %s }
  }
}
""" % (ORDER_FIELDS % LINES)

ONE_ORDER = """
query OneOrder($id: ID!) {
  order(id: $id) { %s }
}
""" % (ORDER_FIELDS % ALL_LINES)


@dataclass(frozen=True, slots=True)
class OrderWebhook:
    """A verified `orders/create` delivery. `webhook_id` is the same for a retried delivery:
    the caller stores it to process each delivery once (the ingest is idempotent besides)."""

    webhook_id: str
    topic: str
    order: RemoteOrder


class StorefrontOrders:
    def __init__(self, graphql: AdminGraphQL, lookback: timedelta = timedelta(days=60)) -> None:
        # 60 days: what the storefront shows without read_all_orders (contract 3.4)
        self._graphql, self._lookback = graphql, lookback

    def pull(self, cursor: str | None, now: datetime) -> OrderPull:
        if cursor:
            state = _Cursor.load(cursor)
        else:
            start = _iso(now - self._lookback)
            state = _Cursor(start, {}, None, start, {})
        data = self._graphql.call(
            "PullOrders",
            PULL_ORDERS,
            {"first": PAGE, "after": state.after, "query": f"updated_at:>='{state.since}'"},
            estimate=2 + PAGE * (4 + 4 * LINES),
        )
        connection = data.get("orders")
        if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
            raise ChannelRejected(CHANNEL, "PullOrders: no orders connection in the answer")
        fresh: list[RemoteOrder] = []
        top, top_seen = state.top, dict(state.top_seen)
        for node in connection["nodes"]:
            order = self._order(node)
            stamp, mark = _iso(order.updated_at), _fingerprint(order)
            if stamp == state.since and state.seen.get(order.external_id) == mark:
                continue  # returned by an earlier pull, unchanged
            fresh.append(order)
            if stamp > top:
                top, top_seen = stamp, {}
            if stamp == top:
                top_seen[order.external_id] = mark
        info = connection.get("pageInfo") or {}
        more = bool(info.get("hasNextPage")) and bool(info.get("endCursor"))
        if more:  # the same query, its next page; the newest watermark rides along
            after = str(info["endCursor"])
            next_state = _Cursor(state.since, state.seen, after, top, top_seen)
        else:
            next_state = _Cursor(top, top_seen, None, top, top_seen)
        fresh.sort(key=lambda o: o.updated_at)
        return OrderPull(fresh, next_state.dump(), more)

    def _order(self, node: Any) -> RemoteOrder:
        if not isinstance(node, dict):
            raise ChannelRejected(CHANNEL, "PullOrders: an order that is not an object")
        lines = node.get("lineItems") or {}
        if (lines.get("pageInfo") or {}).get("hasNextPage"):
            data = self._graphql.call(
                "OneOrder", ONE_ORDER, {"id": node.get("id")}, estimate=5 + 4 * ALL_LINES
            )
            node = data.get("order")
            if not isinstance(node, dict) or (node["lineItems"].get("pageInfo") or {}).get(
                "hasNextPage"
            ):
                raise ChannelRejected(CHANNEL, f"an order with more than {ALL_LINES} lines")
        return order_from_graphql(node)


@dataclass(frozen=True, slots=True)
class _Cursor:
    since: str  # the query's watermark: ISO, UTC, to the second
    seen: Mapping[str, str]  # order id -> fingerprint, for orders returned at `since`
    after: str | None  # Shopify's endCursor while paging under `since`
    top: str  # the newest updatedAt returned so far: the next watermark
    top_seen: Mapping[str, str]  # the orders returned at `top`

    def dump(self) -> str:
        return json.dumps(
            {
                "since": self.since,
                "seen": dict(self.seen),
                "after": self.after,
                "top": self.top,
                "top_seen": dict(self.top_seen),
            }
        )

    @classmethod
    def load(cls, raw: str) -> _Cursor:
        try:
            value = json.loads(raw)
            since, top = str(value["since"]), str(value.get("top") or value["since"])
            for stamp in (since, top):
                datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            seen = {str(k): str(v) for k, v in dict(value.get("seen") or {}).items()}
            top_seen = {str(k): str(v) for k, v in dict(value.get("top_seen") or {}).items()}
            after = value.get("after")
            return cls(since, seen, after if isinstance(after, str) else None, top, top_seen)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError("not a storefront order cursor") from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fingerprint(order: RemoteOrder) -> str:
    return hashlib.sha256(repr(order).encode()).hexdigest()[:16]


def _instant(value: object, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ChannelRejected(CHANNEL, f"an order with an unreadable {what}") from None
    if moment.tzinfo is None:
        raise ChannelRejected(CHANNEL, f"an order whose {what} has no offset")
    return moment


def _minor_units(amount: object, currency: str) -> int:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ChannelRejected(CHANNEL, f"an unreadable price {amount!r}") from None
    exponent = 0 if currency in ZERO_DECIMAL else 2
    return int((value * (10**exponent)).to_integral_value())


def _status(cancelled: object, fulfillment: object) -> RemoteOrderStatus:
    # Payment-pending orders (konbini, bank transfer) already hold the storefront's stock, so
    # they are ingested (OPEN) to hold oms's too; shipping waits for payment elsewhere.
    if cancelled:
        return RemoteOrderStatus.CANCELLED
    if str(fulfillment).upper() == "FULFILLED":
        return RemoteOrderStatus.SHIPPED
    return RemoteOrderStatus.OPEN


def _address(raw: Any, zip_key: str = "zip") -> RemoteAddress | None:
    if not isinstance(raw, dict):
        return None  # redacted (protected customer data) or a pickup order
    name = raw.get("name") or " ".join(
        str(p) for p in (raw.get("last_name"), raw.get("first_name")) if p
    )
    return RemoteAddress(
        name=str(name or ""),
        postal_code=str(raw.get(zip_key) or ""),
        prefecture=str(raw.get("province") or raw.get("provinceCode") or ""),
        city=str(raw.get("city") or ""),
        address1=str(raw.get("address1") or ""),
        address2=raw.get("address2") or None,
        phone=raw.get("phone") or None,
    )


def order_from_graphql(node: Mapping[str, Any]) -> RemoteOrder:
    try:
        currency = str(node["currencyCode"])
        lines = [
            RemoteOrderLine(
                item_id=str(line["id"]),
                remote_sku=str(line["variant"]["inventoryItem"]["id"]),
                quantity=int(line["quantity"]),
                unit_price=_minor_units(
                    line["originalUnitPriceSet"]["shopMoney"]["amount"], currency
                ),
                remote_variant=str(line["variant"]["id"]),
            )
            for line in node["lineItems"]["nodes"]
        ]
        shipping = node.get("shippingLine")
        return RemoteOrder(
            external_id=str(node["id"]),
            status=_status(node.get("cancelledAt"), node.get("displayFulfillmentStatus")),
            ordered_at=_instant(node["createdAt"], "createdAt"),
            updated_at=_instant(node["updatedAt"], "updatedAt"),
            currency=currency,
            lines=lines,
            ship_to=_address(node.get("shippingAddress")),
            shipping_method=shipping.get("title") if isinstance(shipping, dict) else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        # a deleted variant has no inventory item: the order cannot be mapped to listings
        raise ChannelRejected(CHANNEL, f"an order oms cannot read ({error!r})") from None


def parse_order_webhook(raw_body: bytes, headers: Mapping[str, str]) -> OrderWebhook:
    """The REST Order payload of a verified delivery; lines' `remote_sku` is still the
    variant's gid (the gateway resolves it to the inventory item)."""
    webhook_id = header(headers, "x-shopify-webhook-id")
    if not webhook_id:
        raise WebhookRefused("missing X-Shopify-Webhook-Id", status=400)
    try:
        body = json.loads(raw_body)
        currency = str(body["currency"])
        lines = [
            RemoteOrderLine(
                item_id=str(
                    line.get("admin_graphql_api_id") or f"gid://shopify/LineItem/{line['id']}"
                ),
                remote_sku=f"gid://shopify/ProductVariant/{int(line['variant_id'])}",
                quantity=int(line["quantity"]),
                unit_price=_minor_units(line["price"], currency),
                remote_variant=f"gid://shopify/ProductVariant/{int(line['variant_id'])}",
            )
            for line in body["line_items"]
        ]
        shipping = body.get("shipping_lines") or []
        order = RemoteOrder(
            external_id=str(
                body.get("admin_graphql_api_id") or f"gid://shopify/Order/{body['id']}"
            ),
            status=_status(body.get("cancelled_at"), body.get("fulfillment_status")),
            ordered_at=_instant(body["created_at"], "created_at"),
            updated_at=_instant(body["updated_at"], "updated_at"),
            currency=currency,
            lines=lines,
            ship_to=_address(body.get("shipping_address")),
            shipping_method=shipping[0].get("title") if shipping else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError, ChannelRejected) as error:
        raise WebhookRefused(
            f"an order payload oms cannot read ({type(error).__name__})", 400
        ) from None
    topic = header(headers, "x-shopify-topic") or "orders/create"
    return OrderWebhook(webhook_id, topic, order)


def variants_of(order: RemoteOrder) -> Sequence[str]:
    return list(dict.fromkeys(line.remote_sku for line in order.lines))
