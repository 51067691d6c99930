"""What the inventory use cases return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from oms.inventory.domain import Movement, Reservation, SkuKind, StockDelta, StockLevel, Transfer

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MovementResult:
    movements: list[Movement]
    levels: list[StockLevel]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class ReservationResult:
    reservation: Reservation
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class TransferResult:
    transfer: Transfer
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class LocationStock:
    location: str
    on_hand: int
    reserved: int
    quarantined: int
    in_transit: int
    available: int


@dataclass(frozen=True, slots=True)
class SkuStock:
    """A SKU's stock everywhere. For a bundle, `available` is derived from its components."""

    sku: str
    kind: SkuKind
    locations: list[LocationStock]
    total: LocationStock
    components: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LedgerDifference:
    sku: str
    location: str
    projection: StockDelta
    ledger: StockDelta


@dataclass(frozen=True, slots=True)
class VerifyReport:
    levels: int
    movements: int
    differences: list[LedgerDifference]

    @property
    def clean(self) -> bool:
        return not self.differences


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
