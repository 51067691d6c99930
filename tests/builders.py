"""Builders for test data: one call, sensible defaults, override what the test is about."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from oms.bootstrap import bootstrap
from oms.idempotency import idempotency_records
from oms.inventory.domain import ReservationLine, StockLevel, gtin_check_digit
from oms.inventory.orm import movements, reservations, stock_levels
from oms.inventory.services import (
    CreateLocation,
    CreateSku,
    InventoryService,
    MovementResult,
    RecordMovement,
    ReserveStock,
)
from oms.outbox import outbox

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


def a_bundle(
    service: InventoryService, code: str, components: list[tuple[str, int]], **kw: Any
) -> str:
    service.create_sku(
        CreateSku(code=code, name=f"Set {code}", kind="bundle", components=components, **kw)
    )
    return code


def receive(service: InventoryService, sku: str, location: str, quantity: int) -> None:
    service.record_movement(
        RecordMovement(
            type="receipt", sku=sku, location=location, quantity=quantity, idempotency_key=a_key()
        )
    )


# --------------------------------------------------------------------------- movements


def a_movement(
    movement_type: str = "receipt",
    sku: str = "TEE-BLK-M",
    location: str = "DC-CHIBA",
    quantity: int = 1,
    **overrides: Any,
) -> RecordMovement:
    fields: dict[str, Any] = {
        "type": movement_type,
        "sku": sku,
        "location": location,
        "quantity": quantity,
        "idempotency_key": a_key(),
    }
    if movement_type == "adjustment":
        fields["reason"] = "correction"
    fields.update(overrides)
    return RecordMovement(**fields)


def record(
    service: InventoryService,
    movement_type: str,
    sku: str,
    location: str,
    quantity: int,
    **overrides: Any,
) -> MovementResult:
    return service.record_movement(a_movement(movement_type, sku, location, quantity, **overrides))


def reserve(service: InventoryService, *lines: tuple[str, str, int], key: str | None = None) -> int:
    """Reserve (sku, location, quantity) lines; returns the reservation id."""
    result = service.reserve(
        ReserveStock([ReservationLine(*line) for line in lines], idempotency_key=key)
    )
    return result.reservation.id


def level_of(service: InventoryService, sku: str, location: str) -> StockLevel:
    """The projection of one SKU at one location (all zero when it has no row yet)."""
    for level in service.stock_levels(sku=sku, location=location).items:
        return level
    return StockLevel(sku, location)


def buckets(level: StockLevel) -> tuple[int, int, int, int]:
    return (level.on_hand, level.reserved, level.quarantined, level.in_transit)


# --------------------------------------------------------------------------- domain


def a_stock_level(**overrides: Any) -> StockLevel:
    fields: dict[str, Any] = {"sku": "TEE-BLK-M", "location": "DC-CHIBA"}
    fields.update(overrides)
    return StockLevel(**fields)


# --------------------------------------------------------------------------- time


class SteppingClock:
    """A clock the test moves by hand: every call returns `now` until `advance` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 4, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def a_service(engine: Engine, clock: SteppingClock | None = None) -> InventoryService:
    """The inventory service as the composition root wires it, over the test's engine."""
    if clock is None:
        return bootstrap(engine=engine).inventory
    return bootstrap(engine=engine, clock=clock).inventory


# --------------------------------------------------------------------------- raw rows


def database_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a stock command can write, to prove a refused command changed nothing."""
    tables = {
        "stock_levels": select(
            stock_levels.c.sku_id,
            stock_levels.c.location_id,
            stock_levels.c.on_hand,
            stock_levels.c.reserved,
            stock_levels.c.quarantined,
            stock_levels.c.in_transit,
            stock_levels.c.version,
        ).order_by(stock_levels.c.sku_id, stock_levels.c.location_id),
        "movements": select(movements.c.id).order_by(movements.c.id),
        "idempotency_records": select(idempotency_records.c.key).order_by(
            idempotency_records.c.key
        ),
        "reservations": select(reservations.c.id, reservations.c.status).order_by(
            reservations.c.id
        ),
        "outbox": select(outbox.c.id).order_by(outbox.c.id),
    }
    with engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(query)] for name, query in tables.items()}


def stock_events(engine: Engine) -> list[tuple[str, int, dict[str, Any]]]:
    """The outbox's StockChanged rows in insertion order: (sku, sequence, payload)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.partition_key, outbox.c.sequence, outbox.c.payload)
            .where(outbox.c.event == "StockChanged")
            .order_by(outbox.c.id)
        )
        return [(r.partition_key, int(r.sequence), r.payload) for r in rows]
