"""A repair order: one customer's item, from the request to its way back, and where it stands.

```
requested --await_item--> awaiting_item --receive--> received --diagnose--> diagnosing
    '--cancel--> cancelled (T) <--cancel--'
diagnosing --quote--> quote_pending --approve--> approved
    |                       '--decline--> returning (outcome: return, unrepaired)
    '--approve (only in warranty)--> approved
approved --await_parts--> awaiting_parts <--await_parts-- in_repair
approved | awaiting_parts --in_repair--> in_repair --testing--> testing
testing --test_result(passed)--> repaired --returning--> returning --complete--> completed (T)
testing --test_result(failed)--> in_repair
diagnosing | awaiting_parts | in_repair | testing --unrepairable(outcome)--> unrepairable
    outcome replacement | refund | disposal | resale: final
    outcome return: --returning--> returning
```
Where this differs from the reference (§4.4) and why:
- A declined quote goes to `returning` with the outcome `return` (the reference has its own
  `returning_unrepaired` and `closed`): the parcel's way back is the same either way, and the
  outcome says it comes back unrepaired. A quote nobody answers is declined by a person (or a
  job) with that reason; there is no timer state.
- `approved` may go straight to `in_repair` (the reference waits for parts first): most repairs
  need none, and `awaiting_parts` is then a state nobody is in.
- `unrepairable` may also be reached from `awaiting_parts` (a part that can no longer be had)
  and from `testing` (a fault found only there).
- Testing's result is one action, `test_result`: passed leads to `repaired`, failed back to
  `in_repair` ("don't mark ready before testing").
Terminal states never change, nor does an unrepairable repair whose outcome is not `return`.

Each state entered is a period (entered, left): the SLA clock is the time spent in states that
are ours to act on. It pauses while we wait on the customer (`awaiting_item`,
`quote_pending`) and stops when the repair is over (completed, cancelled, unrepairable: what
follows a replacement or refund runs on its own clock; `returning` after it starts it again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from oms.repairs.domain.warranty import Warranty
from oms.shared.errors import Conflict, InvalidInput

MAX_NOTE = 1000
MAX_SYMPTOM = 2000
MAX_QUOTE = 10_000_000  # yen: more than any repair of the goods this brand sells


class RepairStatus(StrEnum):
    REQUESTED = "requested"
    AWAITING_ITEM = "awaiting_item"
    RECEIVED = "received"
    DIAGNOSING = "diagnosing"
    QUOTE_PENDING = "quote_pending"
    APPROVED = "approved"
    AWAITING_PARTS = "awaiting_parts"
    IN_REPAIR = "in_repair"
    TESTING = "testing"
    REPAIRED = "repaired"
    RETURNING = "returning"
    COMPLETED = "completed"
    UNREPAIRABLE = "unrepairable"
    CANCELLED = "cancelled"


S = RepairStatus
TERMINAL = frozenset({S.COMPLETED, S.CANCELLED})
# Waiting on the customer (the item, an answer to the quote): the SLA clock pauses.
PAUSED = frozenset({S.AWAITING_ITEM, S.QUOTE_PENDING})
# Over (for us): the SLA clock stops.
STOPPED = frozenset({S.COMPLETED, S.CANCELLED, S.UNREPAIRABLE})


class RepairAction(StrEnum):
    AWAIT_ITEM = "await_item"  # the request is accepted: the customer sends the item
    RECEIVE = "receive"
    DIAGNOSE = "diagnose"
    QUOTE = "quote"
    APPROVE = "approve"  # the customer accepts the quote, or the repair is in warranty
    DECLINE = "decline"  # the customer declines the quote: the item goes back unrepaired
    AWAIT_PARTS = "await_parts"
    IN_REPAIR = "in_repair"
    PARTS = "parts"  # parts used: no change of state (see `Repair.use_parts`)
    TESTING = "testing"
    TEST_RESULT = "test_result"
    RETURNING = "returning"  # shipped back to the customer
    COMPLETE = "complete"  # delivered
    UNREPAIRABLE = "unrepairable"
    CANCEL = "cancel"
    OVERRIDE_WARRANTY = "override_warranty"  # no change of state


# action -> (states it may be taken from, the state it leads to). TEST_RESULT leads to
# REPAIRED or IN_REPAIR: `Repair.test_result` decides. PARTS and OVERRIDE_WARRANTY change no
# state and are not listed.
TRANSITIONS: Mapping[RepairAction, tuple[frozenset[RepairStatus], RepairStatus]] = {
    RepairAction.AWAIT_ITEM: (frozenset({S.REQUESTED}), S.AWAITING_ITEM),
    RepairAction.RECEIVE: (frozenset({S.AWAITING_ITEM}), S.RECEIVED),
    RepairAction.DIAGNOSE: (frozenset({S.RECEIVED}), S.DIAGNOSING),
    RepairAction.QUOTE: (frozenset({S.DIAGNOSING}), S.QUOTE_PENDING),
    RepairAction.APPROVE: (frozenset({S.DIAGNOSING, S.QUOTE_PENDING}), S.APPROVED),
    RepairAction.DECLINE: (frozenset({S.QUOTE_PENDING}), S.RETURNING),
    RepairAction.AWAIT_PARTS: (frozenset({S.APPROVED, S.IN_REPAIR}), S.AWAITING_PARTS),
    RepairAction.IN_REPAIR: (frozenset({S.APPROVED, S.AWAITING_PARTS}), S.IN_REPAIR),
    RepairAction.TESTING: (frozenset({S.IN_REPAIR}), S.TESTING),
    RepairAction.TEST_RESULT: (frozenset({S.TESTING}), S.REPAIRED),
    RepairAction.RETURNING: (frozenset({S.REPAIRED, S.UNREPAIRABLE}), S.RETURNING),
    RepairAction.COMPLETE: (frozenset({S.RETURNING}), S.COMPLETED),
    RepairAction.UNREPAIRABLE: (
        frozenset({S.DIAGNOSING, S.AWAITING_PARTS, S.IN_REPAIR, S.TESTING}),
        S.UNREPAIRABLE,
    ),
    RepairAction.CANCEL: (frozenset({S.REQUESTED, S.AWAITING_ITEM}), S.CANCELLED),
}


class RequestedBy(StrEnum):
    CONSUMER = "consumer"
    WHOLESALE = "wholesale"  # a wholesale partner, on behalf of its end customer
    CUSTOMER_SERVICE = "customer_service"


class Outcome(StrEnum):
    """What happens to an item that will not be repaired."""

    REPLACEMENT = "replacement"  # offer a replacement (an order through the ordinary ingest)
    REFUND = "refund"
    RETURN = "return"  # the item goes back to the customer as it is
    DISPOSAL = "disposal"
    RESALE = "resale"  # the unit goes to resale (the customer agreed to give it up)


@dataclass(slots=True)
class StatePeriod:
    """A stay in one state: entered, and left (None while it lasts)."""

    status: RepairStatus
    entered_at: datetime
    left_at: datetime | None = None
    actor: str = ""
    note: str | None = None

    def seconds(self, now: datetime) -> float:
        end = self.left_at or now
        return max(0.0, (end - self.entered_at).total_seconds())


@dataclass(frozen=True, slots=True)
class Quote:
    amount: int  # yen, no minor units
    currency: str = "JPY"


@dataclass(frozen=True, slots=True)
class PartLine:
    sku: str
    quantity: int


@dataclass(slots=True)
class Repair:
    requested_by: RequestedBy
    sku: str
    channel: str
    purchase_date: date
    symptom: str
    contact: dict[str, Any]
    warranty: Warranty
    order_id: int | None = None
    line_id: str | None = None
    partner: str | None = None
    serial: str | None = None
    status: RepairStatus = RepairStatus.REQUESTED
    location: str | None = None
    diagnosis: str | None = None
    quote: Quote | None = None
    outcome: Outcome | None = None
    outcome_reason: str | None = None
    periods: list[StatePeriod] = field(default_factory=list)
    parts_batches: int = 0  # how many `parts` actions booked parts (ledger keys use it)
    id: int | None = None

    @property
    def final(self) -> bool:
        """Nothing more can happen to it: terminal, or unrepairable with nothing to send back."""
        if self.status in TERMINAL:
            return True
        return self.status is S.UNREPAIRABLE and self.outcome is not Outcome.RETURN

    # ------------------------------------------------------------------ clocks

    def start(self, now: datetime, actor: str) -> None:
        """The request is made: its first period begins."""
        if not self.periods:
            self.periods.append(StatePeriod(self.status, now, actor=actor))

    def seconds_in_states(self, now: datetime) -> dict[RepairStatus, float]:
        spent: dict[RepairStatus, float] = {}
        for period in self.periods:
            spent[period.status] = spent.get(period.status, 0.0) + period.seconds(now)
        return spent

    def sla_seconds(self, now: datetime) -> float:
        """Time that was ours to act on: paused and stopped states do not count."""
        return sum(p.seconds(now) for p in self.periods if p.status not in PAUSED | STOPPED)

    def paused_seconds(self, now: datetime) -> float:
        return sum(p.seconds(now) for p in self.periods if p.status in PAUSED)

    # ------------------------------------------------------------------ transitions

    def _check(self, action: RepairAction) -> RepairStatus:
        allowed, target = TRANSITIONS[action]
        if self.final or self.status not in allowed:
            raise Conflict(
                f"a repair that is {self.status.value} cannot take {action.value}",
                field="status",
                extra={"status": self.status.value, "action": action.value},
            )
        return target

    def _move(self, to: RepairStatus, now: datetime, actor: str, note: str | None = None) -> None:
        if self.periods and self.periods[-1].left_at is None:
            self.periods[-1].left_at = now
        self.status = to
        self.periods.append(StatePeriod(to, now, actor=actor, note=note))

    def await_item(self, now: datetime, actor: str) -> None:
        self._move(self._check(RepairAction.AWAIT_ITEM), now, actor)

    def receive(self, location: str, now: datetime, actor: str) -> None:
        target = self._check(RepairAction.RECEIVE)
        self.location = location
        self._move(target, now, actor)

    def diagnose(self, now: datetime, actor: str, note: str | None = None) -> None:
        target = self._check(RepairAction.DIAGNOSE)
        if note is not None:
            self.diagnosis = _note(note, "note")
        self._move(target, now, actor, self.diagnosis)

    def make_quote(self, quote: Quote, now: datetime, actor: str) -> None:
        target = self._check(RepairAction.QUOTE)
        if not 0 <= quote.amount <= MAX_QUOTE:
            raise InvalidInput(f"amount must be between 0 and {MAX_QUOTE}", field="amount")
        if quote.currency != "JPY":
            raise InvalidInput("currency must be JPY", field="currency")
        self.quote = quote
        self._move(target, now, actor)

    def approve(self, now: datetime, actor: str) -> None:
        target = self._check(RepairAction.APPROVE)
        if self.status is S.DIAGNOSING and not self.warranty.in_warranty:
            # Out of warranty, the customer pays: only an accepted quote lets the work begin.
            raise Conflict(
                "a repair out of warranty needs a quote the customer approves",
                field="status",
                extra={"status": self.status.value, "action": RepairAction.APPROVE.value},
            )
        self._move(target, now, actor)

    def decline(self, reason: str, now: datetime, actor: str) -> None:
        target = self._check(RepairAction.DECLINE)
        self.outcome = Outcome.RETURN
        self.outcome_reason = _reason(reason)
        self._move(target, now, actor, self.outcome_reason)

    def await_parts(self, now: datetime, actor: str, note: str | None = None) -> None:
        self._move(self._check(RepairAction.AWAIT_PARTS), now, actor, _optional(note))

    def start_repair(self, now: datetime, actor: str, note: str | None = None) -> None:
        self._move(self._check(RepairAction.IN_REPAIR), now, actor, _optional(note))

    def use_parts(self, lines: list[PartLine]) -> int:
        """Parts used while in repair: the batch number their ledger rows are keyed by."""
        if self.final or self.status is not S.IN_REPAIR:
            raise Conflict(
                f"a repair that is {self.status.value} cannot use parts (only in_repair)",
                field="status",
                extra={"status": self.status.value, "action": RepairAction.PARTS.value},
            )
        if self.location is None:  # received without a location: cannot happen via receive
            raise Conflict("the repair has no location to take parts from", field="location")
        if not lines:
            raise InvalidInput("at least one part", field="lines")
        for index, line in enumerate(lines):
            if line.quantity < 1:
                raise InvalidInput("quantity must be at least 1", field=f"lines[{index}].quantity")
        self.parts_batches += 1
        return self.parts_batches

    def start_testing(self, now: datetime, actor: str, note: str | None = None) -> None:
        self._move(self._check(RepairAction.TESTING), now, actor, _optional(note))

    def test_result(self, passed: bool, now: datetime, actor: str, note: str | None = None) -> None:
        target = self._check(RepairAction.TEST_RESULT)
        self._move(target if passed else S.IN_REPAIR, now, actor, _optional(note))

    def ship_back(self, now: datetime, actor: str, note: str | None = None) -> None:
        target = self._check(RepairAction.RETURNING)
        self._move(target, now, actor, _optional(note))

    def complete(self, now: datetime, actor: str) -> None:
        self._move(self._check(RepairAction.COMPLETE), now, actor)

    def unrepairable(self, outcome: Outcome, reason: str, now: datetime, actor: str) -> None:
        target = self._check(RepairAction.UNREPAIRABLE)
        self.outcome = outcome
        self.outcome_reason = _reason(reason)
        self._move(target, now, actor, self.outcome_reason)

    def cancel(self, reason: str, now: datetime, actor: str) -> None:
        target = self._check(RepairAction.CANCEL)
        self._move(target, now, actor, _reason(reason))

    def override_warranty(self, in_warranty: bool, reason: str, now: datetime, actor: str) -> None:
        if self.final:
            raise Conflict(
                f"the warranty of a {self.status.value} repair can no longer change",
                field="status",
                extra={
                    "status": self.status.value,
                    "action": RepairAction.OVERRIDE_WARRANTY.value,
                },
            )
        self.warranty = self.warranty.overridden(in_warranty, _reason(reason), actor, now)


def _reason(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("a reason is needed", field="reason")
    return _note(cleaned, "reason")


def _note(text: str, where: str) -> str:
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"{where} must be at most {MAX_NOTE} characters", field=where)
    return text


def _optional(note: str | None) -> str | None:
    return None if note is None or not note.strip() else _note(note.strip(), "note")
