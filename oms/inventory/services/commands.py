"""Commands: what the API, the CLI and the workers ask the inventory to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oms.inventory.domain import MovementType, ReservationLine


@dataclass(frozen=True, slots=True)
class CreateLocation:
    code: str
    name: str
    kind: str
    prefecture: str | int
    postal_code: str
    ships_to_customers: bool = True
    active: bool = True


@dataclass(frozen=True, slots=True)
class CreateSku:
    code: str
    name: str
    kind: str = "simple"
    barcode: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    components: list[tuple[str, int]] = field(default_factory=list)
    ship_together: bool = True


@dataclass(frozen=True, slots=True)
class UpdateSku:
    code: str
    name: str | None = None
    barcode: str | None = None
    clear_barcode: bool = False
    attributes: dict[str, Any] | None = None
    components: list[tuple[str, int]] | None = None
    ship_together: bool | None = None


@dataclass(frozen=True, slots=True)
class RecordMovement:
    """A receipt, adjustment, count, quarantine or quarantine release entered by a person."""

    type: str
    sku: str
    location: str
    quantity: int
    idempotency_key: str
    reason: str | None = None
    reference: str | None = None
    actor: str | None = None
    caller: str | None = None  # the API key: an idempotency key is bound to who sent it


@dataclass(frozen=True, slots=True)
class ReserveStock:
    lines: list[ReservationLine]
    reference: str | None = None
    idempotency_key: str | None = None
    actor: str | None = None
    caller: str | None = None  # the API key: an idempotency key is bound to who sent it
    # The sales channel the units are for (its code): feeds that channel's sales velocity.
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class CreateTransfer:
    source: str
    destination: str
    lines: list[tuple[str, int]]
    reference: str | None = None
    idempotency_key: str | None = None
    actor: str | None = None
    caller: str | None = None  # the API key: an idempotency key is bound to who sent it


@dataclass(frozen=True, slots=True)
class ReceiveTransfer:
    transfer_id: int
    lines: list[tuple[str, int]]
    close: bool = False
    idempotency_key: str | None = None
    actor: str | None = None
    caller: str | None = None  # the API key: an idempotency key is bound to who sent it


@dataclass(frozen=True, slots=True)
class SystemMove:
    """A movement another context books in its own transaction (`record_system_within`)."""

    type: MovementType
    sku: str
    location: str
    quantity: int
    reason: str | None = None
