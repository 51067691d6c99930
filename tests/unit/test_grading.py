"""Grading rules and what each grade may become."""

from __future__ import annotations

import pytest

from oms.returns.domain import Disposition, Functional, Grade, allowed_dispositions
from oms.returns.domain.grading import Defect, Severity, check_grade
from oms.shared.errors import InvalidInput


@pytest.mark.parametrize("functional", [Functional.PARTIAL, Functional.NONE])
@pytest.mark.parametrize("grade", [Grade.NEW, Grade.UNUSED, Grade.A, Grade.B, Grade.C])
def test_a_unit_that_does_not_fully_work_is_d_or_junk(grade: Grade, functional: Functional) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_grade(grade, functional, [], [])
    assert refused.value.field == "grade"
    check_grade(Grade.D, functional, [], [])
    check_grade(Grade.JUNK, functional, [], [])


def test_a_new_unit_has_no_major_defect() -> None:
    scratch = Defect("scratch", "front", Severity.MAJOR)
    with pytest.raises(InvalidInput, match="新品"):
        check_grade(Grade.NEW, Functional.FULL, [scratch], [])
    check_grade(Grade.B, Functional.FULL, [scratch], ["photo-1"])


def test_only_new_units_restock_and_junk_is_never_sold() -> None:
    assert Disposition.RESTOCK in allowed_dispositions(Grade.NEW)
    assert Disposition.RESTOCK not in allowed_dispositions(Grade.UNUSED)
    assert Disposition.RESTOCK in allowed_dispositions(Grade.UNUSED, restock_unused=True)
    assert Disposition.RESALE in allowed_dispositions(Grade.C)
    assert not {Disposition.RESTOCK, Disposition.RESALE} & allowed_dispositions(Grade.JUNK)
    assert Grade.JUNK.label_ja == "ジャンク"
