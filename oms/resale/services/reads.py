"""Reading units: one with its lineage and price history, pages of them, and what a customer
segment may see now."""

from __future__ import annotations

from dataclasses import dataclass

from oms.inventory.domain import validate_code
from oms.resale.domain import (
    PriceChange,
    ResaleStatus,
    ResaleUnit,
    parse_grade,
    validate_segment,
)
from oms.resale.ports import UnitFilter
from oms.resale.services.core import ResaleCore
from oms.shared.errors import InvalidInput

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class UnitView:
    unit: ResaleUnit
    prices: list[PriceChange]


@dataclass(frozen=True, slots=True)
class UnitPage:
    items: list[ResaleUnit]
    next_cursor: str | None


class ReadUseCases(ResaleCore):
    def get_unit(self, code: str) -> UnitView:
        with self._uow() as uow:
            unit = self._unit(uow.resale, code)
            return UnitView(unit, uow.resale.prices(unit.id or 0))

    def list_units(
        self,
        *,
        parent_sku: str | None = None,
        grade: str | None = None,
        status: str | None = None,
        segment: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> UnitPage:
        """Oldest first. With `segment`: only the listed units that segment may see now
        (from its early-access time, or everyone's `public_from`)."""
        where = UnitFilter(
            parent_sku=validate_code(parent_sku, field_name="parent_sku") if parent_sku else None,
            grade=parse_grade(grade) if grade else None,
            status=_status(status) if status else None,
        )
        chosen = validate_segment(segment) if segment is not None else None
        if chosen is not None:
            if where.status not in (None, ResaleStatus.LISTED):
                raise InvalidInput("a segment sees listed units only", field="status")
            where = UnitFilter(where.parent_sku, where.grade, ResaleStatus.LISTED)
        after = _cursor(cursor)
        limit = max(1, min(limit, MAX_PAGE))
        now = self._clock()
        found: list[ResaleUnit] = []
        with self._uow() as uow:
            while len(found) <= limit:
                batch = uow.resale.units_page(where, after, limit + 1)
                if not batch:
                    break
                after = batch[-1].id or after
                found.extend(u for u in batch if chosen is None or u.visible_to(chosen, now))
                if len(batch) <= limit:
                    break
        more = len(found) > limit
        items = found[:limit]
        return UnitPage(items, str(items[-1].id) if more and items else None)


def _status(value: str) -> ResaleStatus:
    try:
        return ResaleStatus(value)
    except ValueError:
        states = ", ".join(s.value for s in ResaleStatus)
        raise InvalidInput(
            f"status must be one of {states}, got {value!r}", field="status"
        ) from None


def _cursor(value: str | None) -> int:
    if value is None:
        return 0
    if not value.isdecimal() or len(value) > 18:
        raise InvalidInput("cursor is not one this API gave", field="cursor")
    return int(value)
