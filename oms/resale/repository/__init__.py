"""All SQL of resale, for SQLite and PostgreSQL alike: `SqlResale` implements
`oms.resale.ports.ResaleStore` over one session (one transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oms.resale.domain import (
    DEFAULT_CATEGORY,
    BaseSource,
    EarlyAccess,
    Grade,
    PriceChange,
    PricingMode,
    ResaleStatus,
    ResaleUnit,
    Schedule,
    Stage,
    UnitPricing,
)
from oms.resale.orm import resale_early_access, resale_grade_factors, resale_prices, resale_units
from oms.resale.ports import UnitFilter

_ON_SALE = (ResaleStatus.LISTED.value, ResaleStatus.RESERVED.value)


class SqlResale:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------------ units

    def add_unit(self, unit: ResaleUnit, created_by: str, now: datetime) -> int:
        new_id = int(
            self.session.execute(
                insert(resale_units)
                .values(
                    code=unit.code,
                    returns_unit_id=unit.returns_unit_id,
                    barcode=unit.barcode,
                    parent_sku=unit.parent_sku,
                    category=unit.category,
                    location=unit.location,
                    grade=unit.grade.value,
                    functional=unit.functional,
                    defects=unit.defects,
                    order_id=unit.order_id,
                    channel=unit.channel,
                    return_id=unit.return_id,
                    created_by=created_by,
                    created_at=now,
                    **self._mutable(unit, now),
                )
                .returning(resale_units.c.id)
            ).scalar_one()
        )
        unit.id, unit.created_at, unit.updated_at = new_id, now, now
        self._write_windows(unit)
        return new_id

    @staticmethod
    def _mutable(unit: ResaleUnit, now: datetime) -> dict[str, Any]:
        p = unit.pricing
        return {
            "status": unit.status.value,
            "stage": unit.stage.value,
            "public_from": unit.public_from,
            "listed_at": unit.listed_at,
            "due_at": unit.next_due(now),
            "photos": unit.photos,
            "base_price": p.base,
            "base_source": p.base_source.value if p.base_source else None,
            "factor": p.factor,
            "start_price": p.start,
            "pricing_mode": p.mode.value,
            "schedule": p.schedule.as_json() if p.schedule else None,
            "price": p.price,
            "updated_at": now,
        }

    def _write_windows(self, unit: ResaleUnit) -> None:
        self.session.execute(
            delete(resale_early_access).where(resale_early_access.c.unit_id == unit.id)
        )
        if unit.early_access:
            self.session.execute(
                insert(resale_early_access),
                [
                    {"unit_id": unit.id, "segment": e.segment, "visible_from": e.visible_from}
                    for e in unit.early_access
                ],
            )

    def save_unit(self, unit: ResaleUnit, now: datetime) -> None:
        self.session.execute(
            update(resale_units)
            .where(resale_units.c.id == unit.id)
            .values(**self._mutable(unit, now))
        )
        self._write_windows(unit)
        unit.updated_at = now

    def unit_by_code(self, code: str, *, lock: bool = False) -> ResaleUnit | None:
        query = select(resale_units).where(resale_units.c.code == code)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).mappings().first()
        return None if row is None else self._with_windows([row])[0]

    def unit_for_returns_unit(self, returns_unit_id: int) -> ResaleUnit | None:
        row = (
            self.session.execute(
                select(resale_units).where(resale_units.c.returns_unit_id == returns_unit_id)
            )
            .mappings()
            .first()
        )
        return None if row is None else self._with_windows([row])[0]

    def units_page(self, where: UnitFilter, after_id: int, limit: int) -> list[ResaleUnit]:
        query = select(resale_units).where(resale_units.c.id > after_id)
        if where.parent_sku is not None:
            query = query.where(resale_units.c.parent_sku == where.parent_sku)
        if where.grade is not None:
            query = query.where(resale_units.c.grade == where.grade.value)
        if where.status is not None:
            query = query.where(resale_units.c.status == where.status.value)
        rows = self.session.execute(query.order_by(resale_units.c.id).limit(limit)).mappings()
        return self._with_windows(list(rows))

    def listed_after(self, after_id: int, limit: int) -> list[ResaleUnit]:
        return self.units_page(UnitFilter(status=ResaleStatus.LISTED), after_id, limit)

    def units_with_codes(self, codes: Sequence[str]) -> list[ResaleUnit]:
        if not codes:
            return []
        rows = self.session.execute(
            select(resale_units)
            .where(resale_units.c.code.in_(sorted(set(codes))))
            .order_by(resale_units.c.id)
        ).mappings()
        return self._with_windows(list(rows))

    def due_codes(self, now: datetime, limit: int) -> list[str]:
        query = (
            select(resale_units.c.code)
            .where(resale_units.c.due_at <= now, resale_units.c.status.in_(_ON_SALE))
            .order_by(resale_units.c.due_at, resale_units.c.id)
            .limit(limit)
        )
        return list(self.session.execute(query).scalars())

    def any_early(self) -> bool:
        found = self.session.execute(
            select(resale_units.c.id)
            .where(resale_units.c.stage == Stage.EARLY.value, resale_units.c.status.in_(_ON_SALE))
            .limit(1)
        ).first()
        return found is not None

    def _with_windows(self, rows: list[Any]) -> list[ResaleUnit]:
        ids = [r["id"] for r in rows]
        windows: dict[int, list[EarlyAccess]] = {}
        if ids:
            found = self.session.execute(
                select(resale_early_access)
                .where(resale_early_access.c.unit_id.in_(ids))
                .order_by(resale_early_access.c.unit_id, resale_early_access.c.segment)
            ).mappings()
            for w in found:
                windows.setdefault(w["unit_id"], []).append(
                    EarlyAccess(w["segment"], w["visible_from"])
                )
        return [_unit(r, windows.get(r["id"], [])) for r in rows]

    # ------------------------------------------------------------------ prices

    def add_price(self, unit_id: int, change: PriceChange) -> None:
        self.session.execute(
            insert(resale_prices).values(
                unit_id=unit_id,
                price=change.price,
                reason=change.reason,
                actor=change.actor,
                at=change.at,
            )
        )

    def prices(self, unit_id: int) -> list[PriceChange]:
        rows = self.session.execute(
            select(resale_prices)
            .where(resale_prices.c.unit_id == unit_id)
            .order_by(resale_prices.c.id)
        ).mappings()
        return [PriceChange(r["price"], r["reason"], r["actor"], r["at"]) for r in rows]

    # ------------------------------------------------------------------ grade factors

    def factors(self, category: str | None) -> dict[Grade, int]:
        wanted = [DEFAULT_CATEGORY] + ([category] if category else [])
        rows = self.session.execute(
            select(resale_grade_factors).where(resale_grade_factors.c.category.in_(wanted))
        ).mappings()
        default: dict[Grade, int] = {}
        own: dict[Grade, int] = {}
        for r in rows:
            target = default if r["category"] == DEFAULT_CATEGORY else own
            target[Grade(r["grade"])] = r["percent"]
        return {**default, **own}

    def set_factors(
        self, category: str, factors: dict[Grade, int], actor: str, now: datetime
    ) -> None:
        for grade, percent in sorted(factors.items()):
            where = and_(
                resale_grade_factors.c.category == category,
                resale_grade_factors.c.grade == grade.value,
            )
            values = {"percent": percent, "updated_by": actor, "updated_at": now}
            if self._update_factor(where, values):
                continue
            try:
                # Two admins adding the same category at once: the second updates instead.
                with self.session.begin_nested():
                    self.session.execute(
                        insert(resale_grade_factors).values(
                            category=category, grade=grade.value, **values
                        )
                    )
            except IntegrityError:
                self._update_factor(where, values)

    def _update_factor(self, where: Any, values: dict[str, Any]) -> bool:
        result = self.session.execute(update(resale_grade_factors).where(where).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _unit(r: Any, windows: list[EarlyAccess]) -> ResaleUnit:
    pricing = UnitPricing(
        base=r["base_price"],
        base_source=BaseSource(r["base_source"]) if r["base_source"] else None,
        factor=r["factor"],
        start=r["start_price"],
        mode=PricingMode(r["pricing_mode"]),
        schedule=Schedule.from_json(r["schedule"]) if r["schedule"] else None,
        price=r["price"],
    )
    return ResaleUnit(
        code=r["code"],
        returns_unit_id=r["returns_unit_id"],
        barcode=r["barcode"],
        parent_sku=r["parent_sku"],
        category=r["category"],
        location=r["location"],
        grade=Grade(r["grade"]),
        functional=r["functional"],
        defects=list(r["defects"] or []),
        photos=list(r["photos"] or []),
        order_id=r["order_id"],
        channel=r["channel"],
        return_id=r["return_id"],
        status=ResaleStatus(r["status"]),
        stage=Stage(r["stage"]),
        public_from=r["public_from"],
        early_access=windows,
        pricing=pricing,
        listed_at=r["listed_at"],
        id=r["id"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )
