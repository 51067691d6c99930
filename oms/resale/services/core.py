"""What the resale use cases share: the unit of work factory, the inventory, the clock, and
the steps that keep a unit's SKU, stock and price history in line with the unit."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from oms.inventory.domain import MovementType
from oms.inventory.services import InventoryService
from oms.inventory.services.commands import SystemMove
from oms.resale.domain import DEFAULT_FACTORS, Grade, PriceChange, ResaleUnit
from oms.resale.ports import MarketplaceRules, ResaleStore, ResaleUnitOfWork
from oms.shared.clock import utcnow
from oms.shared.errors import NotFound

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")  # as oms.inventory.domain's

# SKU attributes a unit's SKU carries; channel exclusions by attribute act on them.
STAGE_ATTRIBUTE = "resale_stage"
GRADE_ATTRIBUTE = "resale_grade"
PARENT_ATTRIBUTE = "resale_parent"
CONDITION_ATTRIBUTE = "condition"


class ResaleCore:
    def __init__(
        self,
        uow: Callable[[], ResaleUnitOfWork],
        inventory: InventoryService,
        marketplaces: MarketplaceRules | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._marketplaces = marketplaces
        self._clock = clock

    @staticmethod
    def _unit(store: ResaleStore, code: str, *, lock: bool = False) -> ResaleUnit:
        # A code no SKU can have (NUL, spaces, too long) is no unit: never sent to the database.
        unit = store.unit_by_code(code, lock=lock) if _CODE_RE.match(code) else None
        if unit is None:
            raise NotFound(f"no resale unit {code!r}", field="code")
        return unit

    @staticmethod
    def _factors(store: ResaleStore, category: str | None) -> dict[Grade, int]:
        """The built-in defaults, under the stored '*' row, under the category's own."""
        return {**DEFAULT_FACTORS, **store.factors(category)}

    def _move(
        self,
        uow: ResaleUnitOfWork,
        unit: ResaleUnit,
        step: str,
        moves: list[tuple[MovementType, str]],
        actor: str,
        now: datetime,
    ) -> None:
        """Book the unit's own stock movements: one unit, at its location, once per step (the
        ledger's key is unique per step of the unit, and each step happens once)."""
        self._inventory.record_system_within(
            uow,
            [SystemMove(t, unit.code, unit.location, 1, reason) for t, reason in moves],
            key=f"resale:{unit.id}:{step}",
            reference=f"resale unit {unit.code}",
            actor=actor,
            now=now,
        )

    def _show_stage(self, uow: ResaleUnitOfWork, unit: ResaleUnit, now: datetime) -> None:
        """Bring the SKU's `resale_stage` to what the unit's state and times say; the channels'
        numbers follow when the transaction publishes."""
        stage = unit.stage_at(now)
        if stage is unit.stage:
            return
        unit.stage = stage
        self._inventory.set_attributes_within(uow, unit.code, {STAGE_ATTRIBUTE: stage.value}, now)

    @staticmethod
    def _price(
        store: ResaleStore, unit: ResaleUnit, price: int, reason: str, actor: str, now: datetime
    ) -> None:
        """Set the unit's price and keep the change (every one, for 景品表示法)."""
        if unit.pricing.price == price or unit.id is None:
            return
        unit.pricing.price = price
        store.add_price(unit.id, PriceChange(price, reason, actor, now))
