"""Inventory API 2.0 (and 2.1, the same calls): bulk-get, bulk-get/range, bulk-upsert and the
single-SKU get/upsert.

Errors are this API's own family: non-2xx with `{"errors": [{"code", "message", "metadata":
{"propertyPath"}}]}`. An upsert of a SKU the shop never registered is NOT an error: Rakuten keeps
it orphaned and invisible, so the emulator does too (it answers 204 and bulk-get never shows it).
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, Router, get, post, put
from litestar.params import FromPath

from oms.channels.emulators.rakuten.config import (
    BULK_GET,
    BULK_GET_RANGE,
    BULK_UPSERT,
    JST,
    VARIANT_GET,
    VARIANT_UPSERT,
)
from oms.channels.emulators.rakuten.gate import Shop, admit, json_body, json_response
from oms.channels.emulators.rakuten.state import ShopState, Stock

MANAGE_NUMBER = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_ID_BYTES = 32


class InventoryErrors:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, code: str, text: str, path: str) -> None:
        self.errors.append({"code": code, "message": text, "metadata": {"propertyPath": path}})

    def response(self, status: int = 400) -> Response[bytes]:
        return json_response({"errors": self.errors}, status)


def _ids(entry: Any, path: str, errors: InventoryErrors) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        errors.add("IE0002", "Invalid value.", path)
        return None
    manage, variant = entry.get("manageNumber"), entry.get("variantId")
    ok = True
    if not isinstance(manage, str) or not manage:
        errors.add("IE0002", "manageNumber is required.", f"{path}.manageNumber")
        ok = False
    elif len(manage.encode()) > MAX_ID_BYTES:
        errors.add(
            "IE0004", "Max length of manageNumber must be within 32 bytes.", f"{path}.manageNumber"
        )
        ok = False
    elif not MANAGE_NUMBER.match(manage):
        errors.add("IE0002", "manageNumber has invalid characters.", f"{path}.manageNumber")
        ok = False
    if not isinstance(variant, str) or not variant:
        errors.add("IE0002", "variantId is required.", f"{path}.variantId")
        ok = False
    elif len(variant.encode()) > MAX_ID_BYTES:
        errors.add(
            "IE0004", "Max length of variantId must be within 32 bytes.", f"{path}.variantId"
        )
        ok = False
    return (manage, variant) if ok else None  # type: ignore[return-value]


def _stock_json(manage: str, variant: str, stock: Stock) -> dict[str, Any]:
    return {
        "manageNumber": manage,
        "variantId": variant,
        "quantity": stock.quantity,
        # The Inventory API writes offsets WITH a colon, unlike the Order API.
        "created": stock.created.astimezone(JST).isoformat(),
        "updated": stock.updated.astimezone(JST).isoformat(),
    }


def _entries(body: Any, limit: int, errors: InventoryErrors) -> list[Any] | None:
    entries = body.get("inventories") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        errors.add("IE0002", "inventories is required.", "inventories")
        return None
    if len(entries) > limit:
        errors.add("IE0003", f"inventories must be within {limit} items.", "inventories")
        return None
    return entries


def _quantity(
    entry: dict[str, Any], current: int | None, path: str, shop: ShopState, errors: InventoryErrors
) -> int | None:
    mode, quantity = entry.get("mode"), entry.get("quantity")
    if mode not in ("ABSOLUTE", "RELATIVE"):
        errors.add("IE0002", "mode must be ABSOLUTE or RELATIVE.", f"{path}.mode")
        return None
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        errors.add("IE0002", "quantity must be an integer.", f"{path}.quantity")
        return None
    if mode == "RELATIVE":
        if current is None:  # new registrations must be ABSOLUTE
            errors.add("IE0002", "New registration must use ABSOLUTE mode.", f"{path}.mode")
            return None
        quantity = current + quantity
    if not 0 <= quantity <= shop.config.max_quantity:
        errors.add("IE0003", "quantity is out of range (0-99999).", f"{path}.quantity")
        return None
    return quantity


def _current(shop: ShopState, manage: str, variant: str) -> int | None:
    key = (manage.lower(), variant)
    record = shop.stock.get(key) or shop.orphans.get(key)
    return None if record is None else record.quantity


@post("/inventories/bulk-upsert")
async def bulk_upsert(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    refusal = await admit(request, shop, BULK_UPSERT)
    if refusal is not None:
        return refusal
    errors = InventoryErrors()
    entries = _entries(await json_body(request), shop.config.max_bulk_upsert, errors)
    if entries is None:
        return errors.response()
    accepted: list[tuple[str, str, int]] = []
    for i, entry in enumerate(entries):
        path = f"inventories[{i}]"
        ids = _ids(entry, path, errors)
        if ids is None:
            continue
        quantity = _quantity(entry, _current(shop, *ids), path, shop, errors)
        if quantity is not None:
            accepted.append((*ids, quantity))
    if errors.errors:  # one bad record refuses the whole request: nothing is written
        return errors.response()
    for manage, variant, quantity in accepted:
        shop.set_quantity(manage, variant, quantity)
    return Response(content=b"", status_code=204)


@post("/inventories/bulk-get", status_code=200)
async def bulk_get(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    refusal = await admit(request, shop, BULK_GET)
    if refusal is not None:
        return refusal
    errors = InventoryErrors()
    entries = _entries(await json_body(request), shop.config.max_bulk_get, errors)
    if entries is None:
        return errors.response()
    keys = [_ids(entry, f"inventories[{i}]", errors) for i, entry in enumerate(entries)]
    if errors.errors:
        return errors.response()
    found = []
    for key in keys:
        assert key is not None  # noqa: S101 - every key parsed, or errors were answered above
        stock = shop.visible_stock(*key)
        if stock is not None:
            found.append(_stock_json(key[0].lower(), key[1], stock))
    return json_response({"inventories": found}, 200)


@get("/inventories/bulk-get/range")
async def bulk_get_range(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    refusal = await admit(request, shop, BULK_GET_RANGE)
    if refusal is not None:
        return refusal
    errors = InventoryErrors()
    bounds: dict[str, int] = {}
    for name in ("minQuantity", "maxQuantity"):
        raw = request.query_params.get(name)
        if raw in (None, ""):
            continue
        if not raw.isdigit():
            errors.add("IE0002", f"{name} must be an integer.", name)
        else:
            bounds[name] = int(raw)
    if not bounds and not errors.errors:
        errors.add("IE0002", "minQuantity or maxQuantity is required.", "minQuantity")
    if errors.errors:
        return errors.response()
    low, high = bounds.get("minQuantity", 0), bounds.get("maxQuantity", shop.config.max_quantity)
    matching = [(key, stock) for key, stock in shop.stock.items() if low <= stock.quantity <= high]
    if len(matching) > shop.config.max_bulk_get:
        errors.add("IE0003", "Too many inventories match the range.", "minQuantity")
        return errors.response()
    matching.sort(key=lambda pair: pair[1].updated, reverse=True)
    return json_response(
        {"inventories": [_stock_json(m, v, stock) for (m, v), stock in matching]}, 200
    )


_ONE = "/inventories/manage-numbers/{manage_number:str}/variants/{variant_id:str}"


@get(_ONE)
async def variant_get(
    request: Request[Any, Any, Any],
    shop: Shop,
    manage_number: FromPath[str],
    variant_id: FromPath[str],
) -> Response[bytes]:
    refusal = await admit(request, shop, VARIANT_GET)
    if refusal is not None:
        return refusal
    stock = shop.visible_stock(manage_number, variant_id)
    if stock is None:
        errors = InventoryErrors()
        errors.add("GE0014", "Not found.", "variantId")
        return errors.response(404)
    return json_response(_stock_json(manage_number.lower(), variant_id, stock), 200)


@put(_ONE)
async def variant_upsert(
    request: Request[Any, Any, Any],
    shop: Shop,
    manage_number: FromPath[str],
    variant_id: FromPath[str],
) -> Response[bytes]:
    refusal = await admit(request, shop, VARIANT_UPSERT)
    if refusal is not None:
        return refusal
    errors = InventoryErrors()
    ids = _ids({"manageNumber": manage_number, "variantId": variant_id}, "", errors)
    body = await json_body(request)
    if not isinstance(body, dict):
        errors.add("IE0002", "A JSON object is required.", "")
        return errors.response()
    if ids is None:
        return errors.response()
    quantity = _quantity(body, _current(shop, *ids), "", shop, errors)
    if quantity is None:
        return errors.response()
    shop.set_quantity(*ids, quantity)
    return Response(content=b"", status_code=204)


HANDLERS = [bulk_upsert, bulk_get, bulk_get_range, variant_get, variant_upsert]


def inventory_routers() -> list[Router]:
    """Inventory API 2.0 under /es/2.0 and 2.1 (extra optional fields, same calls) under /es/2.1."""
    return [Router(path=f"/es/{v}", route_handlers=HANDLERS) for v in ("2.0", "2.1")]
