"""`/_emulator/...`: what tests and demos do to the shop that the Admin API does not offer.

Seed listings and orders (an order placed here sends its `orders/create` webhook to the
subscribed URL before answering), cancel an order, read quantities and recorded fulfillments,
inject faults into the next Admin calls, read the counters, change the bucket (to lift limits
for a benchmark), and subscribe, list and redeliver webhooks. Bad input is a 400 problem.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery

from oms.channels.emulators.storefront.state import FAULTS, Fault, Shop
from oms.channels.emulators.storefront.webhooks import deliver, new_delivery

T = TypeVar("T")


class BadControlRequest(Exception):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field, self.detail = field, detail


def problem(_: Request[Any, Any, Any], error: Exception) -> Response[dict[str, object]]:
    field = error.field if isinstance(error, BadControlRequest) else "body"
    return Response(
        {
            "type": "about:blank",
            "title": "Bad control request",
            "status": 400,
            "detail": str(error),
            "field": field,
        },
        status_code=400,
        media_type="application/problem+json",
    )


async def _body(request: Request[Any, Any, Any]) -> dict[str, object]:
    try:
        body = await request.json()
    except Exception:
        body = None
    if not isinstance(body, dict):
        raise BadControlRequest("body", "a JSON object is required")
    return body


def _field(body: dict[str, object], name: str, kind: type[T], default: T | None = None) -> T:
    value = body.get(name, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadControlRequest(name, f"{name} must be a {kind.__name__}")
    return value


def _positive(body: dict[str, object], name: str) -> float:
    value = body.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise BadControlRequest(name, f"{name} must be a positive number")
    return float(value)


@post("/_emulator/reset", status_code=200)
async def reset(shop: NamedDependency[Shop]) -> dict[str, object]:
    with shop.lock:
        shop.reset()
    return {"reset": True}


@post("/_emulator/listings", status_code=200)
async def add_listing(
    request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> dict[str, object]:
    body = await _body(request)
    sku = _field(body, "sku", str)
    with shop.lock:
        item = shop.listing(sku)
        if "quantity" in body:
            quantity = _field(body, "quantity", int)
            for location in item.levels:
                item.levels[location] = quantity
    return {"sku": item.sku, "inventoryItemId": item.id, "variantId": item.variant_id}


@post("/_emulator/orders", status_code=200)
async def place_order(
    request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> dict[str, object]:
    body = await _body(request)
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise BadControlRequest("lines", "lines must be a non-empty list")
    lines = []
    for line in raw_lines:
        if not isinstance(line, dict):
            raise BadControlRequest("lines", "each line is an object")
        item = shop.items.get(_field(line, "inventoryItemId", str))
        if item is None:
            raise BadControlRequest("lines.inventoryItemId", "unknown inventory item")
        quantity, price = _field(line, "quantity", int), _field(line, "price", int)
        if quantity < 1 or price < 0:
            raise BadControlRequest("lines.quantity", "quantity >= 1 and price >= 0")
        lines.append((item, quantity, price))
    with shop.lock:
        order = shop.place_order(lines)
        delivery = new_delivery(shop, order)
    status = await deliver(shop, delivery)
    return {"id": order.id, "webhookId": delivery.webhook_id, "webhookStatus": status}


@post("/_emulator/orders/cancel", status_code=200)
async def cancel_order(
    request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> dict[str, object]:
    body = await _body(request)
    with shop.lock:
        order = shop.orders.get(_field(body, "id", str))
        if order is None:
            raise BadControlRequest("id", "unknown order")
        shop.cancel(order)
    return {"id": order.id, "cancelled": True}


@get("/_emulator/quantities")
async def quantity_of(
    inventory_item_id: FromQuery[str], shop: NamedDependency[Shop]
) -> dict[str, object]:
    item = shop.items.get(inventory_item_id)
    location = shop.rules.location_ids[0]
    quantity = item.levels.get(location) if item is not None else None
    return {"inventoryItemId": inventory_item_id, "quantity": quantity}


@get("/_emulator/shipments")
async def shipments_of(order_id: FromQuery[str], shop: NamedDependency[Shop]) -> dict[str, object]:
    order = shop.orders.get(order_id)
    if order is None:
        raise BadControlRequest("order_id", "unknown order")
    return {
        "shipments": [
            {
                "id": f.id,
                "tracking": f.tracking,
                "lines": [{"id": line_id, "quantity": q} for line_id, q in f.lines],
                "notifyCustomer": f.notify_customer,
            }
            for f in order.fulfillments
        ]
    }


@post("/_emulator/faults", status_code=200)
async def inject(request: Request[Any, Any, Any], shop: NamedDependency[Shop]) -> dict[str, object]:
    body = await _body(request)
    kind = _field(body, "fault", str)
    if kind not in FAULTS:
        raise BadControlRequest("fault", f"fault is one of {', '.join(FAULTS)}")
    count = _field(body, "count", int, 1)
    if not 1 <= count <= 10_000:
        raise BadControlRequest("count", "count must be between 1 and 10000")
    seconds = body.get("seconds", 10.0 if kind == "timeout" else 1.0)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 60:
        raise BadControlRequest("seconds", "seconds must be a number from 0 to 60")
    with shop.lock:
        shop.faults.extend(Fault(kind, float(seconds)) for _ in range(count))
    return {"queued": len(shop.faults)}


@get("/_emulator/counters")
async def counters(shop: NamedDependency[Shop]) -> dict[str, object]:
    return {
        "calls": dict(shop.calls),
        "throttled": shop.throttled,
        "throttleStatus": shop.bucket.status(),
    }


@post("/_emulator/limits", status_code=200)
async def set_limits(
    request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> dict[str, object]:
    body = await _body(request)
    size, rate = _positive(body, "bucketSize"), _positive(body, "restoreRate")
    with shop.lock:
        shop.set_limits(size, rate)
    return {"throttleStatus": shop.bucket.status()}


# The contract's unverified facts ([U]) a running emulator may be told otherwise.
ADJUSTABLE_RULES = {
    "throttled_status": int,
    "max_query_cost": int,
    "change_from_required_since": str,
    "idempotency_required_since": str,
    "token_lifetime_seconds": int,
    "visible_days": int,
}


@post("/_emulator/rules", status_code=200)
async def set_rules(
    request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> dict[str, object]:
    """Change [U] facts at run time, e.g. `{"throttled_status": 429}`; null turns off the
    idempotency requirement or the 60-day order window."""
    body = await _body(request)
    changes: dict[str, object] = {}
    for name, value in body.items():
        kind = ADJUSTABLE_RULES.get(name)
        if kind is None:
            raise BadControlRequest(name, f"adjustable rules: {', '.join(ADJUSTABLE_RULES)}")
        nullable = name in ("idempotency_required_since", "visible_days")
        if not (value is None and nullable) and (
            not isinstance(value, kind) or isinstance(value, bool)
        ):
            raise BadControlRequest(name, f"{name} must be a {kind.__name__}")
        changes[name] = value
    with shop.lock:
        shop.rules = replace(shop.rules, **changes)  # type: ignore[arg-type]
    return {name: getattr(shop.rules, name) for name in ADJUSTABLE_RULES}


@post("/_emulator/webhooks", status_code=200)
async def subscribe(
    request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> dict[str, object]:
    body = await _body(request)
    url = body.get("url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise BadControlRequest("url", "url must be an http(s) URL or null")
    shop.webhook_url = url
    return {"url": url}


@get("/_emulator/webhooks")
async def deliveries(shop: NamedDependency[Shop]) -> dict[str, object]:
    return {
        "url": shop.webhook_url,
        "deliveries": [
            {"webhookId": d.webhook_id, "topic": d.topic, "statuses": d.statuses}
            for d in shop.deliveries
        ],
    }


@post("/_emulator/webhooks/redeliver", status_code=200)
async def redeliver(
    request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> dict[str, object]:
    """Send a delivery again with the same id, as Shopify's retries do."""
    body = await _body(request)
    webhook_id = _field(body, "webhookId", str)
    delivery = next((d for d in shop.deliveries if d.webhook_id == webhook_id), None)
    if delivery is None:
        raise BadControlRequest("webhookId", "unknown delivery")
    return {"webhookId": webhook_id, "webhookStatus": await deliver(shop, delivery)}


handlers = [
    reset,
    add_listing,
    place_order,
    cancel_order,
    quantity_of,
    shipments_of,
    inject,
    counters,
    set_limits,
    set_rules,
    subscribe,
    deliveries,
    redeliver,
]
