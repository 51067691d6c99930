"""The `orders` connection (search query, sort key, cursor paging) and `order(id:)`.

Contract 3.4: `orders(first:, after:, query: "updated_at:>=...")` with `pageInfo { hasNextPage
endCursor }`; `first` at most 250; only the last 60 days are visible without read_all_orders.
The search syntax beyond `updated_at`/`created_at` comparisons is not emulated: other terms are
refused rather than silently ignored, so an adapter cannot come to rely on them here.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta

from oms.channels.emulators.storefront.graphql import GraphQLError, Operation, Plan, first_of
from oms.channels.emulators.storefront.state import Order, Shop, iso

ORDER_COST = 4  # the order, its shippingAddress, its shippingLine, its lineItems connection
LINE_COST = 4  # a line, its variant, the variant's inventoryItem, its price set
FULFILLMENT_ORDER_COST = 2  # a fulfillment order and its lineItems connection
FULFILLMENT_ORDER_LINE_COST = 2  # a line and its lineItem

_TERM = re.compile(r"^(updated_at|created_at):(>=|<=|>|<)?'?([^']+?)'?$")


def _search(query: str) -> list[tuple[str, str, datetime]]:
    terms = []
    for token in query.replace(" AND ", " ").split():
        match = _TERM.match(token)
        if match is None:
            raise GraphQLError(f"Unsupported search term: {token}", "BAD_USER_INPUT")
        field, op, value = match.group(1), match.group(2) or ":", match.group(3)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise GraphQLError(f"Invalid date in search term: {token}", "BAD_USER_INPUT") from None
        if moment.tzinfo is None:
            raise GraphQLError(f"A search date needs its offset: {token}", "BAD_USER_INPUT")
        terms.append((field, op, moment))
    return terms


def _matches(order: Order, terms: list[tuple[str, str, datetime]]) -> bool:
    for field, op, moment in terms:
        # Shopify's dates are to the second; compare as it shows them.
        value = (order.updated_at if field == "updated_at" else order.created_at).replace(
            microsecond=0
        )
        ok = {
            ">=": value >= moment,
            ">": value > moment,
            "<=": value <= moment,
            "<": value < moment,
            ":": value == moment,
        }[op]
        if not ok:
            return False
    return True


def _cursor(order: Order) -> str:
    return base64.urlsafe_b64encode(f"order:{order.number}".encode()).decode()


def _after(cursor: str) -> int:
    try:
        kind, number = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        if kind != "order":
            raise ValueError(kind)
        return int(number)
    except ValueError:
        raise GraphQLError("Invalid cursor for the orders connection", "BAD_USER_INPUT") from None


def _line_cost(operation: Operation, shop: Shop) -> int:
    return first_of(operation, "lineItems", 1, shop.rules.max_array_items)


def plan_orders(shop: Shop, operation: Operation) -> Plan:
    limit = shop.rules.max_array_items
    first = first_of(operation, None, 1, limit)
    lines = _line_cost(operation, shop)
    query = operation.args.get("query")
    terms = _search(query) if isinstance(query, str) else []
    sort_key = operation.args.get("sortKey") or "ID"
    if sort_key not in ("UPDATED_AT", "CREATED_AT", "ID", "PROCESSED_AT"):
        raise GraphQLError(f"Invalid sortKey: {sort_key}", "BAD_USER_INPUT")
    after = operation.args.get("after")
    start_after = _after(after) if isinstance(after, str) else None

    def key(order: Order) -> tuple[datetime | int, int]:
        if sort_key == "UPDATED_AT":
            return order.updated_at.replace(microsecond=0), order.number
        if sort_key in ("CREATED_AT", "PROCESSED_AT"):
            return order.created_at.replace(microsecond=0), order.number
        return order.number, order.number

    def run() -> tuple[dict[str, object], int]:
        visible = [o for o in shop.orders.values() if _visible(shop, o) and _matches(o, terms)]
        ordered = sorted(visible, key=key, reverse=bool(operation.args.get("reverse")))
        if start_after is not None:
            numbers = [o.number for o in ordered]
            if start_after not in numbers:
                raise GraphQLError("Invalid cursor for the orders connection", "BAD_USER_INPUT")
            ordered = ordered[numbers.index(start_after) + 1 :]
        page = ordered[:first]
        nodes = [order_json(o, lines) for o in page]
        actual = 2 + sum(ORDER_COST + LINE_COST * min(len(o.lines), lines) for o in page)
        data: dict[str, object] = {
            "orders": {
                "nodes": nodes,
                "edges": [
                    {"cursor": _cursor(o), "node": n} for o, n in zip(page, nodes, strict=True)
                ],
                "pageInfo": {
                    "hasNextPage": len(ordered) > first,
                    "hasPreviousPage": start_after is not None,
                    "startCursor": _cursor(page[0]) if page else None,
                    "endCursor": _cursor(page[-1]) if page else None,
                },
            }
        }
        return data, actual

    return Plan(2 + first * (ORDER_COST + LINE_COST * lines), run)


def _visible(shop: Shop, order: Order) -> bool:
    days = shop.rules.visible_days
    return days is None or order.created_at >= shop.clock() - timedelta(days=days)


def plan_order(shop: Shop, operation: Operation) -> Plan:
    """`order(id:)` with its lines, fulfillment orders and fulfillments."""
    limit = shop.rules.max_array_items
    lines = _line_cost(operation, shop)
    fos = first_of(operation, "fulfillmentOrders", 1, limit)
    order_id = operation.args["id"]
    cost = 1 + ORDER_COST
    if "fulfillmentOrders" in operation.nested:
        # the first `lineItems(first:)` is taken for every line connection; with one, it is
        # the fulfillment orders' (the order's own lines are then not selected)
        cost += fos * (FULFILLMENT_ORDER_COST + FULFILLMENT_ORDER_LINE_COST * lines)
        if operation.text.count("lineItems") > 1:
            cost += LINE_COST * lines
    else:
        cost += LINE_COST * lines

    def run() -> tuple[dict[str, object], int]:
        order = shop.orders.get(str(order_id))
        if order is None or not _visible(shop, order):
            return {"order": None}, 1
        answer = order_json(order, lines)
        answer["fulfillmentOrders"] = {
            "nodes": [
                {
                    "id": fo.id,
                    "status": fo.status,
                    "assignedLocation": {"location": {"id": fo.location_id}},
                    "lineItems": {
                        "nodes": [
                            {
                                "id": line.id,
                                "remainingQuantity": line.remaining,
                                "totalQuantity": line.line.quantity,
                                "lineItem": {"id": line.line.id, "sku": line.line.item.sku},
                            }
                            for line in fo.lines[:lines]
                        ],
                        "pageInfo": {"hasNextPage": len(fo.lines) > lines},
                    },
                }
                for fo in order.fulfillment_orders[:fos]
            ],
            "pageInfo": {"hasNextPage": len(order.fulfillment_orders) > fos},
        }
        answer["fulfillments"] = [
            {
                "id": f.id,
                "status": f.status,
                "createdAt": iso(f.created_at),
                "trackingInfo": [f.tracking] if f.tracking.get("number") else [],
            }
            for f in order.fulfillments
        ]
        return {"order": answer}, cost

    return Plan(cost, run)


def order_json(order: Order, lines: int) -> dict[str, object]:
    return {
        "id": order.id,
        "legacyResourceId": str(order.number),
        "name": order.name,
        "createdAt": iso(order.created_at),
        "processedAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "cancelledAt": iso(order.cancelled_at) if order.cancelled_at else None,
        "cancelReason": "CUSTOMER" if order.cancelled_at else None,
        "closed": order.fulfillment_status == "FULFILLED",
        "displayFinancialStatus": order.financial_status,
        "displayFulfillmentStatus": order.fulfillment_status,
        "currencyCode": "JPY",
        "email": order.email,
        "phone": None,
        "note": None,
        "shippingAddress": dict(order.address),
        "shippingLine": {"title": "Standard", "code": "Standard"},
        "lineItems": {
            "nodes": [
                {
                    "id": line.id,
                    "sku": line.item.sku,
                    "name": line.title,
                    "title": line.title,
                    "quantity": line.quantity,
                    "currentQuantity": 0 if order.cancelled_at else line.quantity,
                    "variant": {"id": line.item.variant_id, "inventoryItem": {"id": line.item.id}},
                    "originalUnitPriceSet": {
                        "shopMoney": {"amount": f"{line.price}.0", "currencyCode": "JPY"}
                    },
                }
                for line in order.lines[:lines]
            ],
            "pageInfo": {"hasNextPage": len(order.lines) > lines},
        },
    }
