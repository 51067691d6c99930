"""`/_emulator/...`: what a test or the demo does to the emulated shop besides calling RMS.

Seed items and orders, cancel or move an order, read stock and recorded shipments, inject faults,
change or lift the rate limits, read the counters. Errors are RFC 9457 problem details naming the
field; these endpoints take no credentials (they are not Rakuten's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeGuard

from litestar import Request, Response, Router, delete, get, post
from litestar.params import FromPath

from oms.channels.emulators.rakuten.config import JST, FunctionLimit
from oms.channels.emulators.rakuten.gate import Shop, json_body, json_response
from oms.channels.emulators.rakuten.inventory import MANAGE_NUMBER, MAX_ID_BYTES
from oms.channels.emulators.rakuten.orders import PROGRESS_CODES, render_order
from oms.channels.emulators.rakuten.state import FAULTS, Order, PendingFault, ShopState


def problem(status: int, title: str, field: str | None = None) -> Response[bytes]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if field is not None:
        body["invalid_params"] = [{"name": field, "reason": title}]
    response = json_response(body, status)
    response.media_type = "application/problem+json"
    return response


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _identifier(value: object, field: str, manage: bool) -> str | Response[bytes]:
    """The manage number or variant id, or the problem with it."""
    if not isinstance(value, str) or not value or len(value.encode()) > MAX_ID_BYTES:
        return problem(400, f"{field} must be 1 to 32 bytes", field)
    if manage and not MANAGE_NUMBER.match(value):
        return problem(400, f"{field} allows only a-z, A-Z, 0-9, _ and -", field)
    return value


@post("/reset")
async def reset(shop: Shop) -> Response[bytes]:
    shop.reset()
    return Response(content=b"", status_code=204)


@post("/listings", status_code=201)
async def register_listings(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    """One listing `{"manage_number", "variant_id", "quantity"?}` or a list of them."""
    body = await json_body(request)
    entries = body if isinstance(body, list) else [body]
    parsed: list[tuple[str, str, int]] = []
    for i, entry in enumerate(entries):
        at = f"[{i}]." if isinstance(body, list) else ""
        if not isinstance(entry, dict):
            return problem(400, "a listing is a JSON object", at.rstrip(".") or None)
        manage = _identifier(entry.get("manage_number"), f"{at}manage_number", True)
        if isinstance(manage, Response):
            return manage
        variant = _identifier(entry.get("variant_id"), f"{at}variant_id", False)
        if isinstance(variant, Response):
            return variant
        quantity = entry.get("quantity", 0)
        if not _is_int(quantity) or not 0 <= quantity <= shop.config.max_quantity:
            return problem(400, "quantity must be an integer from 0 to 99999", f"{at}quantity")
        parsed.append((manage, variant, quantity))
    for manage, variant, quantity in parsed:  # all or nothing
        shop.register(manage, variant, quantity)
    registered = [{"manage_number": m.lower(), "variant_id": v} for m, v, _ in parsed]
    return json_response(registered if isinstance(body, list) else registered[0], 201)


@get("/listings/{manage_number:str}/{variant_id:str}")
async def listing_quantity(
    shop: Shop, manage_number: FromPath[str], variant_id: FromPath[str]
) -> Response[bytes]:
    stock = shop.visible_stock(manage_number, variant_id)
    return json_response({"quantity": None if stock is None else stock.quantity}, 200)


@post("/orders", status_code=201)
async def place_order(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    body = await json_body(request)
    lines = body.get("lines") if isinstance(body, dict) else None
    if not isinstance(lines, list) or not lines:
        return problem(400, "lines must be a non-empty list", "lines")
    parsed: list[tuple[str, str, int, int]] = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            return problem(400, "a line is an object", f"lines[{i}]")
        manage = _identifier(line.get("manage_number"), f"lines[{i}].manage_number", True)
        if isinstance(manage, Response):
            return manage
        variant = _identifier(line.get("variant_id"), f"lines[{i}].variant_id", False)
        if isinstance(variant, Response):
            return variant
        units, price = line.get("units"), line.get("price")
        if not _is_int(units) or units < 1:
            return problem(400, "units must be a positive integer", f"lines[{i}].units")
        if not _is_int(price) or price < 0:
            return problem(400, "price must be a non-negative integer", f"lines[{i}].price")
        parsed.append((manage, variant, units, price))
    progress = body.get("order_progress") if isinstance(body, dict) else None
    if progress is not None and (not _is_int(progress) or progress not in PROGRESS_CODES):
        return problem(400, "order_progress is not a Rakuten progress code", "order_progress")
    ordered_at = body.get("ordered_at") if isinstance(body, dict) else None
    when = None
    if ordered_at is not None:
        try:
            given: datetime | None = datetime.fromisoformat(str(ordered_at))
        except ValueError:
            given = None
        if given is None or given.tzinfo is None:
            return problem(400, "ordered_at must be an ISO 8601 time with an offset", "ordered_at")
        when = given.astimezone(JST).replace(microsecond=0)
    order = shop.place_order(parsed, ordered_at=when, progress=progress)
    return json_response({"order_number": order.order_number}, 201)


def _order(shop: ShopState, number: str) -> Order | Response[bytes]:
    order = shop.orders.get(number)
    return order if order is not None else problem(404, "no such order", "order_number")


@post("/orders/{order_number:str}/cancel", status_code=200)
async def cancel_order(shop: Shop, order_number: FromPath[str]) -> Response[bytes]:
    order = _order(shop, order_number)
    if isinstance(order, Response):
        return order
    shop.cancel(order)
    return json_response({"order_number": order.order_number, "order_progress": 900}, 200)


@post("/orders/{order_number:str}/progress", status_code=200)
async def move_order(
    request: Request[Any, Any, Any], shop: Shop, order_number: FromPath[str]
) -> Response[bytes]:
    order = _order(shop, order_number)
    if isinstance(order, Response):
        return order
    body = await json_body(request)
    progress = body.get("order_progress") if isinstance(body, dict) else None
    if not _is_int(progress) or progress not in PROGRESS_CODES:
        return problem(400, "order_progress is not a Rakuten progress code", "order_progress")
    if progress in (800, 900):
        shop.cancel(order)
        order.progress = progress
    else:
        order.progress = progress
        if progress >= 200 and order.confirmed_at is None:
            order.confirmed_at = shop.now()
    return json_response({"order_number": order.order_number, "order_progress": progress}, 200)


@get("/orders/{order_number:str}")
async def read_order(shop: Shop, order_number: FromPath[str]) -> Response[bytes]:
    order = _order(shop, order_number)
    if isinstance(order, Response):
        return order
    return json_response(render_order(order, version=7), 200)


@get("/orders/{order_number:str}/shipments")
async def shipments(shop: Shop, order_number: FromPath[str]) -> Response[bytes]:
    order = _order(shop, order_number)
    if isinstance(order, Response):
        return order
    recorded = [
        {
            "basket_id": package.basket_id,
            "shipping_detail_id": s.shipping_detail_id,
            "delivery_company": s.delivery_company,
            "shipping_number": s.shipping_number,
            "shipping_date": s.shipping_date,
        }
        for package in order.packages
        for s in package.shippings
    ]
    return json_response(recorded, 200)


@post("/faults")
async def inject(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    body = await json_body(request)
    if not isinstance(body, dict):
        return problem(400, "a JSON object is required")
    fault, count, operation = body.get("fault"), body.get("count", 1), body.get("operation")
    seconds = body.get("seconds")
    if seconds is not None and (
        not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0
    ):
        return problem(400, "seconds must be a positive number", "seconds")
    if not isinstance(fault, str) or fault not in FAULTS:
        return problem(400, f"fault must be one of {sorted(FAULTS)}", "fault")
    if not _is_int(count) or count < 1:
        return problem(400, "count must be a positive integer", "count")
    if operation is not None and (
        not isinstance(operation, str) or operation not in shop.config.limits
    ):
        return problem(400, f"operation must be one of {sorted(shop.config.limits)}", "operation")
    shop.faults.append(PendingFault(fault, count, operation, seconds))
    return Response(content=b"", status_code=204)


@delete("/faults", status_code=204)
async def clear_faults(shop: Shop) -> None:
    shop.faults.clear()


@post("/limits", status_code=200)
async def set_limits(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    """`{"function": {"per_second": r, "burst": b} | null}`; null lifts that function's limit."""
    body = await json_body(request)
    if not isinstance(body, dict):
        return problem(400, "a JSON object is required")
    changed: dict[str, FunctionLimit | None] = {}
    for function, limit in body.items():
        if limit is None:
            changed[function] = None
            continue
        rate = limit.get("per_second") if isinstance(limit, dict) else None
        burst = limit.get("burst") if isinstance(limit, dict) else None
        if not isinstance(rate, int | float) or isinstance(rate, bool) or rate <= 0:
            return problem(400, "per_second must be a positive number", f"{function}.per_second")
        if not _is_int(burst) or burst < 1:
            return problem(400, "burst must be a positive integer", f"{function}.burst")
        changed[function] = FunctionLimit(float(rate), burst)
    for function, new in changed.items():
        if new is None:
            shop.config.limits.pop(function, None)
        else:
            shop.config.limits[function] = new
    return json_response(
        {f: {"per_second": x.per_second, "burst": x.burst} for f, x in shop.config.limits.items()},
        200,
    )


@get("/counters")
async def counters(shop: Shop) -> Response[bytes]:
    return json_response(
        {
            "calls": dict(shop.calls),
            "throttled": dict(shop.throttled),
            "throttled_total": sum(shop.throttled.values()),
            "injected": dict(shop.injected),
        },
        200,
    )


def control_router() -> Router:
    return Router(
        path="/_emulator",
        route_handlers=[
            reset,
            register_listings,
            listing_quantity,
            place_order,
            cancel_order,
            move_order,
            read_order,
            shipments,
            inject,
            clear_faults,
            set_limits,
            counters,
        ],
    )
