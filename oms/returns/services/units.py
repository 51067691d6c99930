"""Received units: grading (append-only), receipt exceptions, dispositions and their execution.

Each command is one transaction that locks the unit. Executing a disposition books its ledger
movement in the same transaction: RESTOCK releases the quarantine into the original SKU's
sellable stock, RESALE writes the unit off the original SKU and makes it a resale unit of its
own, the others write it off with the disposition as reason. When the last received unit of a
fully received return is graded, the return is `inspected`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from oms.inventory.domain import MovementType
from oms.inventory.services import InventoryService
from oms.inventory.services.commands import SystemMove
from oms.returns.domain import (
    Completeness,
    Defect,
    Disposition,
    Functional,
    Grade,
    ReceiptException,
    ReturnStatus,
)
from oms.returns.domain.grading import MAX_NOTE, Severity, check_grade
from oms.returns.domain.units import HOLDS_THE_RETURN, ReturnedUnit, UnitStatus
from oms.returns.ports import ReturnsUnitOfWork
from oms.returns.services.events import return_event, unit_event
from oms.shared.bounds import bounded_text
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound

MAX_PAGE = 500
MAX_PHOTO_REF = 500
MAX_SHORT = 64


@dataclass(frozen=True, slots=True)
class GradeUnit:
    grade: str
    functional: str
    defects: Sequence[Mapping[str, Any]] = ()
    completeness: Mapping[str, Any] = field(default_factory=dict)
    photos: Sequence[str] = ()
    note: str | None = None
    rubric_version: str = "1"
    # A grading station often decides at once: the disposition, and whether to carry it out,
    # in the grade's own transaction (one scan at the bench).
    disposition: str | None = None
    disposition_reason: str | None = None
    execute: bool = False


@dataclass(frozen=True, slots=True)
class UnitView:
    """A unit with its whole record: every grade, exception and decision, oldest first."""

    unit: ReturnedUnit
    grades: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    resale_code: str | None = None


@dataclass(frozen=True, slots=True)
class UnitOutcome:
    """What a command left: the unit as it now stands (its history: `UnitService.unit`)."""

    unit: ReturnedUnit
    resale_code: str | None = None


class ResaleMaker(Protocol):
    """Makes a dispositioned unit a resale unit of its own, in the caller's transaction (the
    resale context); returns the resale unit's code."""

    def __call__(
        self,
        uow: ReturnsUnitOfWork,
        unit: ReturnedUnit,
        grades: list[dict[str, Any]],
        actor: str,
        now: datetime,
    ) -> str: ...


class UnitService:
    def __init__(
        self,
        uow: Callable[[], ReturnsUnitOfWork],
        inventory: InventoryService,
        *,
        resale: ResaleMaker | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._resale = resale
        self._clock = clock

    def grade(self, unit_id: int, cmd: GradeUnit, grader: str) -> UnitOutcome:
        """A grade, or a regrade (a new record: the unit's grade is its latest)."""
        record = _grade_record(cmd)
        disposition = None
        if cmd.disposition is not None:
            disposition = _disposition(cmd.disposition, cmd.disposition_reason)
        elif cmd.execute:
            raise InvalidInput("execute needs a disposition", field="execute")
        now = self._clock()
        with self._uow() as uow:
            unit = self._locked(uow, unit_id)
            unit.graded(Grade(record["grade"]))
            uow.returns.add_grade(unit_id, {**record, "grader": grader, "graded_at": now})
            what = "graded"
            resale_code = None
            if disposition is not None:
                decision = unit.decide(disposition, cmd.disposition_reason, grader)
                if cmd.execute:
                    resale_code = self._execute_in(uow, unit, grader, now, decided_now=True)
                    what = "executed"
                else:
                    uow.returns.add_decision(unit_id, decision, now)
                    what = "decided"
            uow.returns.save_unit(unit, now, resale_code)
            events = [unit_event(unit, what)]
            if unit.return_id is not None:
                events += self._inspected(uow, unit.return_id, now)
            uow.returns.add_events(events, now)
            uow.publish_changes()
            uow.commit()
        return UnitOutcome(unit, resale_code)

    def _inspected(self, uow: ReturnsUnitOfWork, return_id: int, now: datetime) -> list[Any]:
        """Every unit of a fully received return graded: the return is inspected. Cheap when
        not: the status is read first, and only ungraded units are counted."""
        if uow.returns.return_status(return_id) is not ReturnStatus.RECEIVED:
            return []
        if uow.returns.ungraded_units(return_id):
            return []
        rma = uow.returns.return_by_id(return_id, lock=True)
        if rma is None or rma.status is not ReturnStatus.RECEIVED:
            return []
        rma.inspect()
        uow.returns.save_return(rma, now)
        return [return_event(rma, rma.status.value)]

    def record_exception(
        self,
        unit_id: int,
        kind: str,
        by: str,
        note: str | None = None,
        actual_sku: str | None = None,
    ) -> UnitOutcome:
        """A receipt exception (not a grade). Suspected fraud or a counterfeit puts the return
        on hold: no money moves until a person looks."""
        try:
            parsed = ReceiptException(kind)
        except ValueError:
            known = ", ".join(k.value for k in ReceiptException)
            raise InvalidInput(f"kind must be one of {known}", field="kind") from None
        if note is not None:
            bounded_text(note, "note", MAX_NOTE, multi_line=True)
        if actual_sku is not None:
            bounded_text(actual_sku, "actual_sku", MAX_SHORT)
        now = self._clock()
        with self._uow() as uow:
            unit = self._locked(uow, unit_id)
            unit.exception(parsed)
            uow.returns.add_exception(
                unit_id,
                {
                    "kind": parsed.value,
                    "actual_sku": actual_sku,
                    "note": note,
                    "recorded_by": by,
                    "recorded_at": now,
                },
            )
            uow.returns.save_unit(unit, now)
            events = [unit_event(unit, f"exception:{parsed.value}")]
            if parsed in HOLDS_THE_RETURN and unit.return_id is not None:
                rma = uow.returns.return_by_id(unit.return_id, lock=True)
                if rma is not None and not rma.on_hold:
                    rma.hold(f"unit {unit.barcode}: {parsed.value}")
                    uow.returns.save_return(rma, now)
                    events.append(return_event(rma, "held"))
            uow.returns.add_events(events, now)
            uow.commit()
        return UnitOutcome(unit)

    def decide(
        self,
        unit_id: int,
        disposition: str,
        by: str,
        reason: str | None = None,
        *,
        execute: bool = False,
    ) -> UnitOutcome:
        """A decision (changeable until executed); with `execute`, carried out at once."""
        parsed = _disposition(disposition, reason)
        now = self._clock()
        with self._uow() as uow:
            unit = self._locked(uow, unit_id)
            decision = unit.decide(parsed, reason, by)
            resale_code = None
            if execute:  # the decision is stored already carried out
                resale_code = self._execute_in(uow, unit, by, now, decided_now=True)
            else:
                uow.returns.add_decision(unit_id, decision, now)
            uow.returns.save_unit(unit, now, resale_code)
            uow.returns.add_events([unit_event(unit, "executed" if execute else "decided")], now)
            uow.publish_changes()
            uow.commit()
        return UnitOutcome(unit, resale_code)

    def execute(self, unit_id: int, by: str) -> UnitOutcome:
        """Carry out the unit's decision: its ledger movement, in this transaction."""
        now = self._clock()
        with self._uow() as uow:
            unit = self._locked(uow, unit_id)
            resale_code = self._execute_in(uow, unit, by, now)
            uow.returns.save_unit(unit, now, resale_code)
            uow.returns.add_events([unit_event(unit, "executed")], now)
            uow.publish_changes()
            uow.commit()
        return UnitOutcome(unit, resale_code)

    def _execute_in(
        self,
        uow: ReturnsUnitOfWork,
        unit: ReturnedUnit,
        by: str,
        now: datetime,
        *,
        decided_now: bool = False,
    ) -> str | None:
        decision = unit.execute()
        decision_id = (
            uow.returns.add_decision(unit.id or 0, decision, now)
            if decided_now
            else uow.returns.mark_executed(unit.id or 0, now)
        )
        disposition = decision.disposition
        if disposition is Disposition.REFURBISH:
            return None  # stays quarantined, back to grading once worked on
        move_type = (
            MovementType.QUARANTINE_RELEASE
            if disposition is Disposition.RESTOCK
            else MovementType.WRITE_OFF
        )
        resale_code = None
        if disposition is Disposition.RESALE and self._resale is None:
            raise RuntimeError("RESALE needs the resale service")
        self._inventory.record_system_within(
            uow,
            [SystemMove(move_type, unit.sku, unit.location, 1, disposition.value.lower())],
            key=f"unit:{unit.id}:disposition:{decision_id}",
            reference=f"unit:{unit.barcode}",
            actor=by,
            now=now,
        )
        if disposition is Disposition.RESALE and self._resale is not None:
            resale_code = self._resale(uow, unit, uow.returns.grades_of(unit.id or 0), by, now)
        return resale_code

    # ------------------------------------------------------------------ reading

    def unit(self, unit_id: int) -> UnitView:
        with self._uow() as uow:
            unit = uow.returns.unit_by_id(unit_id)
            if unit is None:
                raise NotFound(f"no unit {unit_id}", field="id")
            return self._view(uow, unit)

    @staticmethod
    def _view(uow: ReturnsUnitOfWork, unit: ReturnedUnit) -> UnitView:
        """The unit's whole record, read in the caller's transaction."""
        unit_id = unit.id or 0
        return UnitView(
            unit,
            uow.returns.grades_of(unit_id),
            uow.returns.exceptions_of(unit_id),
            uow.returns.decisions_of(unit_id),
            uow.returns.resale_code_of(unit_id),
        )

    def unit_by_barcode(self, barcode: str) -> UnitView:
        # Labels are upper-case Crockford base 32, which reads either case alike: a label
        # typed by hand in lower case is the same label.
        with self._uow() as uow:
            unit = uow.returns.unit_by_barcode(barcode.strip().upper())
        if unit is None:
            raise NotFound(f"no unit with the label {barcode!r}", field="barcode")
        return self.unit(unit.id or 0)

    def list_units(
        self,
        status: str | None = None,
        return_id: int | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[ReturnedUnit]:
        if limit < 1 or limit > MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        try:
            wanted = UnitStatus(status) if status is not None else None
        except ValueError:
            known = ", ".join(s.value for s in UnitStatus)
            raise InvalidInput(f"status must be one of {known}", field="status") from None
        with self._uow() as uow:
            return uow.returns.units_page(wanted, return_id, after_id, limit)

    @staticmethod
    def _locked(uow: ReturnsUnitOfWork, unit_id: int) -> ReturnedUnit:
        unit = uow.returns.unit_by_id(unit_id, lock=True)
        if unit is None:
            raise NotFound(f"no unit {unit_id}", field="id")
        return unit


def _disposition(value: str, reason: str | None) -> Disposition:
    if reason is not None:
        bounded_text(reason, "reason", 1000, multi_line=True)
    try:
        return Disposition(value)
    except ValueError:
        known = ", ".join(d.value for d in Disposition)
        raise InvalidInput(f"disposition must be one of {known}", field="disposition") from None


def _choice(enum: Any, value: Any, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(e.value for e in enum)
        raise InvalidInput(f"{field} must be one of {known}", field=field) from None


def _grade_record(cmd: GradeUnit) -> dict[str, Any]:
    """The checked grade as stored: every refusal names its field."""
    grade = _choice(Grade, cmd.grade, "grade")
    functional = _choice(Functional, cmd.functional, "functional")
    defects: list[Defect] = []
    for index, raw in enumerate(cmd.defects):
        where = f"defects[{index}]"
        code, zone = raw.get("code"), raw.get("zone")
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("a defect needs a code", field=f"{where}.code")
        if not isinstance(zone, str) or not zone.strip():
            raise InvalidInput("a defect needs a zone", field=f"{where}.zone")
        note = raw.get("note")
        if note is not None:
            bounded_text(note, f"{where}.note", MAX_NOTE, multi_line=True)
        defects.append(
            Defect(
                bounded_text(code.strip(), f"{where}.code", MAX_SHORT),
                bounded_text(zone.strip(), f"{where}.zone", MAX_SHORT),
                _choice(Severity, raw.get("severity"), f"{where}.severity"),
                note,
            )
        )
    completeness = Completeness(
        **{
            name: _flag(cmd.completeness.get(name, False), f"completeness.{name}")
            for name in ("tags", "box", "manual", "accessories")
        }
    )
    for index, photo in enumerate(cmd.photos):
        bounded_text(photo, f"photos[{index}]", MAX_PHOTO_REF)
    if cmd.note is not None:
        bounded_text(cmd.note, "note", MAX_NOTE, multi_line=True)
    bounded_text(cmd.rubric_version, "rubric_version", 32)
    check_grade(grade, functional, defects, cmd.photos)
    return {
        "grade": grade.value,
        "functional": functional.value,
        "defects": [
            {"code": d.code, "zone": d.zone, "severity": d.severity.value, "note": d.note}
            for d in defects
        ],
        "completeness": {
            "tags": completeness.tags,
            "box": completeness.box,
            "manual": completeness.manual,
            "accessories": completeness.accessories,
        },
        "photos": list(cmd.photos),
        "note": cmd.note,
        "rubric_version": cmd.rubric_version,
    }


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true or false", field=field)
    return value


__all__ = ["GradeUnit", "ResaleMaker", "UnitOutcome", "UnitService", "UnitView"]
