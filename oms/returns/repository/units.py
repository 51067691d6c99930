"""SQL of received units: the units, their append-only grades, exceptions and dispositions,
and the channels' return policies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from oms.returns.domain import Disposition, Grade, ReturnStatus
from oms.returns.domain.policy import ReturnPolicy, ReturnReason
from oms.returns.domain.units import Decision, ReturnedUnit, UnitStatus
from oms.returns.orm import (
    return_policies,
    returns,
    unit_dispositions,
    unit_exceptions,
    unit_grades,
    units,
)

_DECIDED = frozenset({UnitStatus.DISPOSITIONED.value, UnitStatus.DONE.value})


class SqlUnits:
    session: Session

    def add_units(self, new: Sequence[ReturnedUnit], now: datetime) -> None:
        """Insert the units in one statement; each gets its id."""
        if not new:
            return
        ids = self.session.scalars(
            insert(units).returning(units.c.id, sort_by_parameter_order=True),
            [
                {
                    "barcode": u.barcode,
                    "return_id": u.return_id,
                    "line_id": u.line_id,
                    "sku": u.sku,
                    "location": u.location,
                    "status": u.status.value,
                    "created_at": now,
                    "updated_at": now,
                }
                for u in new
            ],
        ).all()
        for unit, unit_id in zip(new, ids, strict=True):
            unit.id = int(unit_id)

    def unit_by_id(self, unit_id: int, *, lock: bool = False) -> ReturnedUnit | None:
        query = select(units).where(units.c.id == unit_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return self._units([row])[0] if row is not None else None

    def unit_by_barcode(self, barcode: str) -> ReturnedUnit | None:
        row = self.session.execute(select(units).where(units.c.barcode == barcode)).first()
        return self._units([row])[0] if row is not None else None

    def units_page(
        self, status: UnitStatus | None, return_id: int | None, after_id: int, limit: int
    ) -> list[ReturnedUnit]:
        conditions = [units.c.id > after_id]
        if status is not None:
            conditions.append(units.c.status == status.value)
        if return_id is not None:
            conditions.append(units.c.return_id == return_id)
        rows = self.session.execute(
            select(units).where(and_(*conditions)).order_by(units.c.id).limit(limit)
        ).all()
        return self._units(rows)

    def save_unit(self, unit: ReturnedUnit, now: datetime, resale_code: str | None = None) -> None:
        values: dict[str, Any] = {
            "status": unit.status.value,
            "grade": unit.grade.value if unit.grade else None,
            "updated_at": now,
        }
        if resale_code is not None:
            values["resale_code"] = resale_code
        self.session.execute(update(units).where(units.c.id == unit.id).values(**values))

    def add_grade(self, unit_id: int, record: dict[str, Any]) -> None:
        self.session.execute(insert(unit_grades).values(unit_id=unit_id, **record))

    def grades_of(self, unit_id: int) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(unit_grades).where(unit_grades.c.unit_id == unit_id).order_by(unit_grades.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def add_exception(self, unit_id: int, record: dict[str, Any]) -> None:
        self.session.execute(insert(unit_exceptions).values(unit_id=unit_id, **record))

    def exceptions_of(self, unit_id: int) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(unit_exceptions)
            .where(unit_exceptions.c.unit_id == unit_id)
            .order_by(unit_exceptions.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def add_decision(self, unit_id: int, decision: Decision, now: datetime) -> int:
        return int(
            self.session.execute(
                insert(unit_dispositions)
                .values(
                    unit_id=unit_id,
                    disposition=decision.disposition.value,
                    reason=decision.reason,
                    decided_by=decision.decided_by,
                    decided_at=now,
                    executed_at=now if decision.executed else None,
                )
                .returning(unit_dispositions.c.id)
            ).scalar_one()
        )

    def mark_executed(self, unit_id: int, now: datetime) -> int:
        """Mark the unit's latest decision executed; its id."""
        latest = (
            select(func.max(unit_dispositions.c.id))
            .where(unit_dispositions.c.unit_id == unit_id)
            .scalar_subquery()
        )
        done = self.session.execute(
            update(unit_dispositions)
            .where(unit_dispositions.c.id == latest)
            .values(executed_at=now)
            .returning(unit_dispositions.c.id)
        ).scalar()
        if done is None:
            raise ValueError(f"unit {unit_id} has no decision")
        return int(done)

    def decisions_of(self, unit_id: int) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(unit_dispositions)
            .where(unit_dispositions.c.unit_id == unit_id)
            .order_by(unit_dispositions.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def return_status(self, return_id: int) -> ReturnStatus | None:
        found = self.session.execute(
            select(returns.c.status).where(returns.c.id == return_id)
        ).scalar()
        return ReturnStatus(found) if found is not None else None

    def ungraded_units(self, return_id: int) -> int:
        return int(
            self.session.execute(
                select(func.count())
                .select_from(units)
                .where(units.c.return_id == return_id, units.c.grade.is_(None))
            ).scalar_one()
        )

    def resale_code_of(self, unit_id: int) -> str | None:
        return self.session.execute(
            select(units.c.resale_code).where(units.c.id == unit_id)
        ).scalar()

    def units_of_return(self, return_id: int) -> list[ReturnedUnit]:
        rows = self.session.execute(
            select(units).where(units.c.return_id == return_id).order_by(units.c.id)
        ).all()
        return self._units(rows)

    def _units(self, rows: Sequence[Any]) -> list[ReturnedUnit]:
        # Only a dispositioned or done unit has a decision that stands (a regrade drops one).
        ids = [r.id for r in rows if r.status in _DECIDED]
        decisions: dict[int, Decision] = {}
        if ids:
            # The latest decision of each unit: later rows overwrite earlier ones.
            for d in self.session.execute(
                select(unit_dispositions)
                .where(unit_dispositions.c.unit_id.in_(ids))
                .order_by(unit_dispositions.c.id)
            ):
                decisions[d.unit_id] = Decision(
                    Disposition(d.disposition), d.reason, d.decided_by, d.executed_at is not None
                )
        found = []
        for r in rows:
            status = UnitStatus(r.status)
            decision = decisions.get(r.id)
            found.append(
                ReturnedUnit(
                    sku=r.sku,
                    location=r.location,
                    barcode=r.barcode,
                    status=status,
                    grade=Grade(r.grade) if r.grade else None,
                    decision=decision,
                    return_id=r.return_id,
                    line_id=r.line_id,
                    id=r.id,
                )
            )
        return found

    # ------------------------------------------------------------------ policies

    def policy(self, channel: str) -> ReturnPolicy | None:
        row = self.session.execute(
            select(return_policies).where(return_policies.c.channel == channel)
        ).first()
        if row is None:
            return None
        return ReturnPolicy(
            channel=row.channel,
            window_days=row.window_days,
            reasons=frozenset(ReturnReason(r) for r in row.reasons),
            auto_approve=row.auto_approve,
            exchange_channel=row.exchange_channel,
        )

    def put_policy(self, policy: ReturnPolicy, by: str, now: datetime) -> None:
        values = {
            "window_days": policy.window_days,
            "reasons": sorted(r.value for r in policy.reasons),
            "auto_approve": policy.auto_approve,
            "exchange_channel": policy.exchange_channel,
            "updated_by": by,
            "updated_at": now,
        }
        changed = self.session.execute(
            update(return_policies)
            .where(return_policies.c.channel == policy.channel)
            .values(**values)
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            self.session.execute(insert(return_policies).values(channel=policy.channel, **values))
