"""Builders for test data: one call, sensible defaults, override what the test is about."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from oms.inventory.domain import gtin_check_digit
from oms.inventory.services import (
    CreateLocation,
    CreateSku,
    InventoryService,
    RecordMovement,
)

_serial = itertools.count(1)


def a_key() -> str:
    return f"test-{uuid.uuid4()}"


def a_jan(n: int | None = None) -> str:
    body = f"45{(n if n is not None else next(_serial)):010d}"
    return body + str(gtin_check_digit(body))


def a_location(service: InventoryService, code: str = "DC-CHIBA", **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "code": code,
        "name": f"Location {code}",
        "kind": "warehouse",
        "prefecture": "12",
        "postal_code": "270-0000",
    }
    fields.update(overrides)
    service.create_location(CreateLocation(**fields))
    return code


def a_sku(service: InventoryService, code: str = "TEE-BLK-M", **overrides: Any) -> str:
    fields: dict[str, Any] = {"code": code, "name": f"Item {code}"}
    fields.update(overrides)
    service.create_sku(CreateSku(**fields))
    return code


def a_bundle(service: InventoryService, code: str, components: list[tuple[str, int]], **kw: Any) -> str:
    service.create_sku(CreateSku(code=code, name=f"Set {code}", kind="bundle", components=components, **kw))
    return code


def receive(service: InventoryService, sku: str, location: str, quantity: int) -> None:
    service.record_movement(
        RecordMovement(type="receipt", sku=sku, location=location, quantity=quantity, idempotency_key=a_key())
    )
