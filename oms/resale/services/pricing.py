"""Prices: set by hand or by schedule, grade factors per category, and the due work that
moves scheduled prices down and flips units from early access to public."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oms.resale.domain import (
    DEFAULT_CATEGORY,
    TERMINAL,
    Grade,
    PricingMode,
    ResaleUnit,
    scheduled_price,
    validate_factors,
    validate_price,
    validate_reason,
    validate_schedule,
)
from oms.resale.services.core import ResaleCore
from oms.shared.bounds import bounded_text
from oms.shared.errors import Conflict, InvalidInput

DUE_BATCH = 200
MAX_CATEGORY = 100


@dataclass(frozen=True, slots=True)
class SetPricing:
    """Either `price` (by hand, markdowns stop) or `steps` and `floor` (by schedule, from the
    grade price), with why."""

    reason: str
    price: int | None = None
    steps: Sequence[tuple[object, object]] | None = None
    floor: object = None


class PricingUseCases(ResaleCore):
    def set_pricing(self, code: str, cmd: SetPricing, actor: str) -> ResaleUnit:
        reason = validate_reason(cmd.reason)
        manual = cmd.price is not None
        if manual == (cmd.steps is not None):
            raise InvalidInput("give either price or schedule, not both", field="price")
        price = validate_price(cmd.price) if manual else None
        schedule = None if manual else validate_schedule(list(cmd.steps or ()), cmd.floor)
        now = self._clock()
        with self._uow() as uow:
            store = uow.resale
            unit = self._unit(store, code, lock=True)
            if unit.status in TERMINAL:
                raise Conflict(
                    f"resale unit {code} is {unit.status}: its price is kept", field="status"
                )
            pricing = unit.pricing
            if price is not None:
                pricing.mode = PricingMode.MANUAL
                self._price(store, unit, price, reason, actor, now)
            else:
                if pricing.start is None or schedule is None:
                    raise Conflict(
                        f"resale unit {code} has no grade price to mark down: set a price",
                        field="schedule",
                    )
                pricing.mode, pricing.schedule = PricingMode.SCHEDULE, schedule
                listed_for = now - (unit.listed_at or now)
                scheduled, why = scheduled_price(pricing.start, schedule, listed_for)
                self._price(store, unit, scheduled, f"{reason} ({why})", actor, now)
            store.save_unit(unit, now)
            uow.commit()
        return unit

    # ------------------------------------------------------------------ grade factors

    def factors(self, category: str) -> dict[Grade, int]:
        """The factors a unit of `category` is priced with ('*': every category's default)."""
        name = _category(category)
        with self._uow() as uow:
            return self._factors(uow.resale, None if name == DEFAULT_CATEGORY else name)

    def set_factors(
        self, category: str, factors: dict[str, object], actor: str
    ) -> dict[Grade, int]:
        """Percent of the base price per grade for new units of the category; units already
        priced keep theirs (their price history says what they were priced with)."""
        name = _category(category)
        parsed = validate_factors(factors)
        now = self._clock()
        with self._uow() as uow:
            uow.resale.set_factors(name, parsed, actor, now)
            found = self._factors(uow.resale, None if name == DEFAULT_CATEGORY else name)
            uow.commit()
        return found

    # ------------------------------------------------------------------ due work

    def run_due(self, actor: str = "oms resale schedule") -> int:
        """Flip units from early access to public at `public_from` and apply markdown steps
        that fell due, each unit in its own transaction; safe to run twice. Returns how many
        units changed."""
        now = self._clock()
        with self._uow() as uow:
            codes = uow.resale.due_codes(now, DUE_BATCH)
            early = uow.resale.any_early()
        if early and self._marketplaces is not None:
            # A marketplace channel made since the last publish gets its exclusion too.
            self._marketplaces.keep_early_units_off_marketplaces(actor)
        changed = 0
        for code in codes:
            with self._uow() as uow:
                unit = self._unit(uow.resale, code, lock=True)
                stage = unit.stage
                before = unit.pricing.price
                self._show_stage(uow, unit, now)
                due = unit.pricing.due(unit.listed_at, now)
                if due is not None:
                    self._price(uow.resale, unit, due[0], due[1], actor, now)
                if unit.stage is stage and unit.pricing.price == before:
                    continue
                uow.resale.save_unit(unit, now)
                uow.publish_changes()
                uow.commit()
                changed += 1
        return changed


def _category(value: str) -> str:
    text = bounded_text(value, "category", MAX_CATEGORY).strip()
    if not text:
        raise InvalidInput(f"category must be 1-{MAX_CATEGORY} characters", field="category")
    return text
