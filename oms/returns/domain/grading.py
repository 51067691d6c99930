"""Grading one physical unit: one canonical scale, append-only records.

Grades (reference §3.1): N 新品, U 未使用, A-D 中古A-D, J ジャンク. A unit whose function is not
full is D or J whatever it looks like. Receipt exceptions (a wrong item, a missing one, fraud,
a counterfeit) are not grades and are recorded apart. A regrade is a new record; the unit's
grade is its latest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from oms.shared.errors import InvalidInput

MAX_DEFECTS = 50
MAX_PHOTOS = 20
MAX_NOTE = 2000


class Grade(StrEnum):
    NEW = "N"
    UNUSED = "U"
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    JUNK = "J"

    @property
    def label_ja(self) -> str:
        return _JA[self]


_JA = {
    Grade.NEW: "新品",
    Grade.UNUSED: "未使用",
    Grade.A: "中古A",
    Grade.B: "中古B",
    Grade.C: "中古C",
    Grade.D: "中古D",
    Grade.JUNK: "ジャンク",
}


class Functional(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"
    NOT_APPLICABLE = "n/a"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class ReceiptException(StrEnum):
    WRONG_ITEM = "WRONG_ITEM"
    MISSING = "MISSING"
    EXTRA = "EXTRA"
    SUSPECTED_FRAUD = "SUSPECTED_FRAUD"
    COUNTERFEIT = "COUNTERFEIT"


@dataclass(frozen=True, slots=True)
class Defect:
    code: str
    zone: str
    severity: Severity
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Completeness:
    tags: bool
    box: bool
    manual: bool
    accessories: bool


@dataclass(frozen=True, slots=True)
class GradeRecord:
    unit_id: int
    grade: Grade
    functional: Functional
    defects: tuple[Defect, ...]
    completeness: Completeness
    photos: tuple[str, ...]
    grader: str
    graded_at: datetime
    rubric_version: str
    note: str | None = None
    previous: Grade | None = None
    extra: dict[str, str] = field(default_factory=dict)


def check_grade(
    grade: Grade, functional: Functional, defects: Sequence[Defect], photos: Sequence[str]
) -> None:
    """The rules a grade must keep, each refusal naming its field."""
    if functional in (Functional.PARTIAL, Functional.NONE) and grade not in (
        Grade.D,
        Grade.JUNK,
    ):
        raise InvalidInput(
            f"a unit whose function is {functional.value} is graded D or J, not {grade.value}",
            field="grade",
        )
    if grade in (Grade.NEW, Grade.UNUSED) and any(
        d.severity is not Severity.MINOR for d in defects
    ):
        raise InvalidInput(
            f"a unit with major or critical defects cannot be {grade.label_ja} ({grade.value})",
            field="grade",
        )
    if len(defects) > MAX_DEFECTS:
        raise InvalidInput(f"at most {MAX_DEFECTS} defects", field="defects")
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"at most {MAX_PHOTOS} photos", field="photos")
