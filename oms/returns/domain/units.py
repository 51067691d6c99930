"""One physical item that came back: received into quarantine, graded, then dispositioned.

```
awaiting_inspection --grade--> graded --decide--> dispositioned --execute--> done (T)
        ^                        ^  '--grade (a regrade)--'  |  '--decide (changed)
        '---- execute REFURBISH -+---------------------------'
exception (fraud, counterfeit, wrong item): escalated until graded
```
A unit never leaves quarantine but by an executed disposition; `done` never changes. A HOLD
decision is never executed: the unit stays quarantined, awaiting a decision. REFURBISH keeps the
unit in quarantine and sends it back to grading once it has been worked on (it never left the
building, so no movement).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from oms.returns.domain.disposition import Disposition, allowed_dispositions
from oms.returns.domain.grading import Grade, ReceiptException
from oms.shared.errors import Conflict, InvalidInput

# Crockford's base 32: no I, L, O or U, so a label read aloud or typed is not misread.
_LABEL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LABEL_LENGTH = 12  # 60 random bits: a clash among millions of units is not a concern


class UnitStatus(StrEnum):
    AWAITING_INSPECTION = "awaiting_inspection"
    GRADED = "graded"
    DISPOSITIONED = "dispositioned"  # decided, not yet executed
    DONE = "done"
    ESCALATED = "escalated"  # a receipt exception waits for a person


# Exceptions that stop the money: the return goes on hold with the unit's exception as reason.
HOLDS_THE_RETURN = frozenset({ReceiptException.SUSPECTED_FRAUD, ReceiptException.COUNTERFEIT})


def new_barcode() -> str:
    """A unit's printable label: 'U' and 12 characters of Crockford base 32 (Code 128 B)."""
    return "U" + "".join(secrets.choice(_LABEL_ALPHABET) for _ in range(_LABEL_LENGTH))


@dataclass(frozen=True, slots=True)
class Decision:
    disposition: Disposition
    reason: str | None
    decided_by: str
    executed: bool = False


@dataclass(slots=True)
class ReturnedUnit:
    sku: str
    location: str
    barcode: str
    status: UnitStatus = UnitStatus.AWAITING_INSPECTION
    grade: Grade | None = None
    decision: Decision | None = None
    return_id: int | None = None
    line_id: str | None = None
    id: int | None = None

    def _refuse(self, doing: str) -> Conflict:
        return Conflict(
            f"unit {self.barcode} is {self.status.value}: it cannot be {doing}",
            field="status",
            extra={"status": self.status.value},
        )

    def graded(self, grade: Grade) -> None:
        """A grade or a regrade; a pending decision no longer fits and is dropped."""
        if self.status is UnitStatus.DONE:
            raise self._refuse("graded")
        self.grade = grade
        self.decision = None
        self.status = UnitStatus.GRADED

    def exception(self, kind: ReceiptException) -> None:
        if self.status is UnitStatus.DONE:
            raise self._refuse("given an exception")
        if self.grade is None:
            self.status = UnitStatus.ESCALATED

    def decide(self, disposition: Disposition, reason: str | None, by: str) -> Decision:
        """A decision, changeable until executed. Only what the grade allows."""
        if self.status not in (UnitStatus.GRADED, UnitStatus.DISPOSITIONED) or self.grade is None:
            raise self._refuse("dispositioned before it is graded")
        if disposition not in allowed_dispositions(self.grade):
            raise InvalidInput(
                f"a unit graded {self.grade.value} cannot be {disposition.value}",
                field="disposition",
            )
        self.decision = Decision(disposition, reason, by)
        self.status = UnitStatus.DISPOSITIONED
        return self.decision

    def execute(self) -> Decision:
        """Carry out the decision: the caller books the ledger movement it returns."""
        if self.status is not UnitStatus.DISPOSITIONED or self.decision is None:
            raise self._refuse("executed without a decision")
        decision = self.decision
        if decision.disposition is Disposition.HOLD:
            raise Conflict(
                "a HOLD is not executed: the unit stays quarantined until another decision",
                field="disposition",
            )
        if decision.disposition is Disposition.REFURBISH:
            self.status = UnitStatus.AWAITING_INSPECTION
            self.decision = None
            return Decision(decision.disposition, decision.reason, decision.decided_by, True)
        self.decision = Decision(decision.disposition, decision.reason, decision.decided_by, True)
        self.status = UnitStatus.DONE
        return self.decision
