"""What the resale services need: their store, the inventory and orders they read, and the
channels' exclusions that keep early-access units off the marketplaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from oms.inventory.ports import InventoryStore
from oms.orders.ports import OrderStore
from oms.resale.domain import Grade, PriceChange, ResaleStatus, ResaleUnit
from oms.shared.transaction import Transaction


@dataclass(frozen=True, slots=True)
class UnitFilter:
    parent_sku: str | None = None
    grade: Grade | None = None
    status: ResaleStatus | None = None


class ResaleStore(Protocol):
    def add_unit(self, unit: ResaleUnit, created_by: str, now: datetime) -> int: ...
    def unit_by_code(self, code: str, *, lock: bool = False) -> ResaleUnit | None: ...
    def unit_for_returns_unit(self, returns_unit_id: int) -> ResaleUnit | None: ...
    def save_unit(self, unit: ResaleUnit, now: datetime) -> None:
        """Status, stage, listing windows and pricing."""
        ...

    def add_price(self, unit_id: int, change: PriceChange) -> None: ...
    def prices(self, unit_id: int) -> list[PriceChange]: ...
    def units_page(self, where: UnitFilter, after_id: int, limit: int) -> list[ResaleUnit]: ...
    def listed_after(self, after_id: int, limit: int) -> list[ResaleUnit]:
        """Listed units (for a segment's view, filtered by the service)."""
        ...

    def units_with_codes(self, codes: Sequence[str]) -> list[ResaleUnit]: ...
    def due_codes(self, now: datetime, limit: int) -> list[str]:
        """Units on sale whose stage or scheduled price has to move by `now`, soonest first."""
        ...

    def any_early(self) -> bool:
        """Whether some unit on sale is in early access."""
        ...

    def factors(self, category: str | None) -> dict[Grade, int]:
        """Stored factors: the category's, over the '*' default's (not the built-in ones)."""
        ...

    def set_factors(
        self, category: str, factors: dict[Grade, int], actor: str, now: datetime
    ) -> None: ...


class MarketplaceRules(Protocol):
    """The channels' part: every marketplace channel (Amazon, Rakuten) excludes SKUs whose
    `resale_stage` is `early`, since a marketplace cannot show an item to some customers only.
    Implemented by the channels context, which sits above resale, and passed in by the
    composition root. Idempotent; runs in transactions of its own."""

    def keep_early_units_off_marketplaces(self, actor: str) -> None: ...


class ResaleUnitOfWork(Transaction, Protocol):
    @property
    def resale(self) -> ResaleStore: ...
    @property
    def inventory(self) -> InventoryStore: ...
    @property
    def orders(self) -> OrderStore: ...

    def commit(self) -> None: ...
