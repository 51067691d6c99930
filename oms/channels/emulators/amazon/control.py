"""The emulator's own endpoints, under /_emulator/: what a test or a demo does to the channel.

Seed listings and orders, cancel or move an order, read quantities and recorded shipments,
inject faults for the next calls, move the clock, change settings, read counters. A wrong input
is a 400 problem detail naming the field; nothing changes then.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, Response, get, post, put

from oms.channels.emulators.amazon.feeds import process_due
from oms.channels.emulators.amazon.orders import V0_STATUSES
from oms.channels.emulators.amazon.settings import FAULTS, EmulatorSettings
from oms.channels.emulators.amazon.state import AmazonWorld, Emulator, Order


class ControlError(Exception):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


def problem(error: ControlError) -> Response[Any]:
    body = {"title": "Invalid control request", "status": 400, "detail": error.detail}
    body["field"] = error.field
    return Response(content=body, status_code=400, media_type="application/problem+json")


def _emulator(request: Request[Any, Any, Any]) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


async def _json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ControlError("body", "not JSON") from None
    if not isinstance(body, dict):
        raise ControlError("body", "a JSON object is expected")
    return body


def _int(body: dict[str, Any], name: str, default: int, low: int = 0) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ControlError(name, f"an integer >= {low}")
    return value


def _order(world: AmazonWorld, order_id: str) -> Order:
    order = world.orders.get(order_id)
    if order is None:
        raise ControlError("orderId", f"no order {order_id}")
    return order


def _settings(changes: Any, base: EmulatorSettings) -> EmulatorSettings:
    if not isinstance(changes, dict):
        raise ControlError("settings", "an object of setting -> value")
    try:
        return base.updated(changes)
    except (ValueError, TypeError) as exc:
        raise ControlError("settings", str(exc)) from None


@post("/_emulator/reset", status_code=200)
async def reset(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """A fresh world: default settings with `settings` on top, `seed_orders` seeded orders."""
    body = await _json(request)
    emulator = _emulator(request)
    settings = _settings(body.get("settings", {}), EmulatorSettings())
    emulator.reset(settings, _int(body, "seed_orders", emulator.seed_orders))
    return {"orders": len(emulator.world.orders)}


@put("/_emulator/settings", status_code=200)
async def change_settings(request: Request[Any, Any, Any]) -> dict[str, Any]:
    world = _emulator(request).world
    world.settings = _settings(await _json(request), world.settings)
    return asdict(world.settings)


@post("/_emulator/listings", status_code=200)
async def seed_listing(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await _json(request)
    sku, product_type = body.get("sku"), body.get("product_type", "PRODUCT")
    if not isinstance(sku, str) or not sku or len(sku) > 40:
        raise ControlError("sku", "a seller SKU of 1 to 40 characters")
    if not isinstance(product_type, str) or not product_type:
        raise ControlError("product_type", "a product type such as PRODUCT or SHIRT")
    world = _emulator(request).world
    listing = world.listing(sku, product_type)
    if "quantity" in body:
        listing.quantity = _int(body, "quantity", 0)
    return {"sku": listing.sku, "productType": listing.product_type, "asin": listing.asin}


@get("/_emulator/listings/{sku:str}")
async def read_listing(request: Request[Any, Any, Any]) -> dict[str, Any]:
    sku = str(request.path_params["sku"])
    world = _emulator(request).world
    process_due(world)  # a feed due by now has changed its listings, asked or not
    listing = world.listings.get(sku)
    if listing is None:
        return {"sku": sku, "known": False, "quantity": None}
    return {"sku": sku, "known": True, "quantity": world.settle(listing).quantity}


@post("/_emulator/orders", status_code=200)
async def seed_order(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """`lines`: [{sku, quantity, unit_price}] (a decimal string or integer, major units)."""
    body = await _json(request)
    world = _emulator(request).world
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise ControlError("lines", "a non-empty list of {sku, quantity, unit_price}")
    lines = []
    for i, line in enumerate(raw_lines):
        if not isinstance(line, dict) or not isinstance(line.get("sku"), str):
            raise ControlError(f"lines[{i}].sku", "a seller SKU")
        quantity = _int(line, "quantity", 0, low=1)
        try:
            price = Decimal(str(line.get("unit_price")))
        except InvalidOperation:
            raise ControlError(f"lines[{i}].unit_price", "a decimal amount") from None
        if not price.is_finite() or price < 0:
            raise ControlError(f"lines[{i}].unit_price", "a non-negative amount")
        lines.append((line["sku"], quantity, price))
    status = body.get("status", "Unshipped")
    if status not in V0_STATUSES:
        raise ControlError("status", f"one of {sorted(V0_STATUSES)}")
    placed = world.now() - timedelta(seconds=_int(body, "age_seconds", 0))
    order = world.place_order(lines, status, placed)
    return {"AmazonOrderId": order.order_id}


@post("/_emulator/orders/{order_id:str}/status", status_code=200)
async def move_order(request: Request[Any, Any, Any]) -> dict[str, Any]:
    order_id = str(request.path_params["order_id"])
    body = await _json(request)
    world = _emulator(request).world
    status = body.get("status")
    if status not in V0_STATUSES:
        raise ControlError("status", f"one of {sorted(V0_STATUSES)}")
    order = _order(world, order_id)
    world.touch(order, status)
    return {"AmazonOrderId": order_id, "OrderStatus": status}


@post("/_emulator/orders/{order_id:str}/cancel", status_code=200)
async def cancel_order(request: Request[Any, Any, Any]) -> dict[str, Any]:
    order_id = str(request.path_params["order_id"])
    world = _emulator(request).world
    world.touch(_order(world, order_id), "Canceled")
    return {"AmazonOrderId": order_id, "OrderStatus": "Canceled"}


@get("/_emulator/orders/{order_id:str}/shipments")
async def read_shipments(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    order_id = str(request.path_params["order_id"])
    return [dict(p) for p in _order(_emulator(request).world, order_id).packages]


@post("/_emulator/faults", status_code=200)
async def inject(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The next `count` calls answer with `fault`; "feed_partial" arms the next `count` feeds."""
    body = await _json(request)
    fault, count = body.get("fault"), _int(body, "count", 1, low=1)
    if fault not in FAULTS:
        raise ControlError("fault", f"one of {sorted(FAULTS)}")
    world = _emulator(request).world
    if fault == "feed_partial":
        world.partial_feeds += count
    else:
        world.faults.extend([fault] * count)
    return {"pending": len(world.faults), "partial_feeds": world.partial_feeds}


@post("/_emulator/clock", status_code=200)
async def move_clock(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Let time pass (the 2-minute rule, token expiry, feed processing, bucket refills)."""
    body = await _json(request)
    seconds = body.get("advance_seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise ControlError("advance_seconds", "a non-negative number of seconds")
    world = _emulator(request).world
    world.offset += timedelta(seconds=seconds)
    return {"now": world.now().isoformat()}


@get("/_emulator/counters")
async def counters(request: Request[Any, Any, Any]) -> dict[str, Any]:
    world = _emulator(request).world
    return {
        "calls": dict(world.calls),
        "throttled": dict(world.throttled),
        "throttled_total": sum(world.throttled.values()),
        "faults_served": world.faults_served,
    }


@get("/_emulator/feeds")
async def feeds(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    world = _emulator(request).world
    return [
        {"feedId": f.feed_id, "feedType": f.feed_type, "done": f.result_document_id is not None}
        for f in world.feeds.values()
    ]


CONTROL_HANDLERS = [
    reset,
    change_settings,
    seed_listing,
    read_listing,
    seed_order,
    move_order,
    cancel_order,
    read_shipments,
    inject,
    move_clock,
    counters,
    feeds,
]
