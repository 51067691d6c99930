"""Grades as resale sees them (reference §3.1) and the channel conditions they map to.

The returns context owns grading; resale receives the grade as its code and keeps its own
copy of the scale, because a context does not import one above it (returns sits above resale).
"""

from __future__ import annotations

from enum import StrEnum

from oms.shared.errors import InvalidInput


class Grade(StrEnum):
    N = "N"  # 新品 new
    U = "U"  # 未使用 unused / open box
    A = "A"  # 中古A like new
    B = "B"  # 中古B very good
    C = "C"  # 中古C good
    D = "D"  # 中古D acceptable
    J = "J"  # ジャンク for parts: never listed


# Amazon's conditions (data, not code, per §3.1): an open box is "Used - Like New" there.
CONDITIONS: dict[Grade, str] = {
    Grade.N: "new",
    Grade.U: "used_like_new",
    Grade.A: "used_like_new",
    Grade.B: "used_very_good",
    Grade.C: "used_good",
    Grade.D: "used_acceptable",
    Grade.J: "unsellable",
}

# The reference (Trove) asks for at least one photo of a used item before it is offered.
NEEDS_PHOTOS = frozenset({Grade.A, Grade.B, Grade.C, Grade.D})


def parse_grade(value: object, field_name: str = "grade") -> Grade:
    if isinstance(value, str) and value in Grade.__members__:
        return Grade(value)
    codes = ", ".join(g.value for g in Grade)
    raise InvalidInput(f"{field_name} must be one of {codes}, got {value!r}", field=field_name)
