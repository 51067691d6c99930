"""The repair order's state machine, driven by hypothesis with any sequence of actions and any
waits between them: no transition outside the diagram, final repairs never change, and the SLA
clock counts exactly the time spent in states that are ours to act on, never a paused one."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from oms.repairs.domain import (
    PAUSED,
    STOPPED,
    TERMINAL,
    TRANSITIONS,
    Outcome,
    PartLine,
    Quote,
    Repair,
    RepairAction,
    RepairStatus,
    RequestedBy,
    compute_warranty,
)
from oms.shared.errors import Conflict, DomainError, InvalidInput
from tests.examples import examples

START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
A = RepairAction
S = RepairStatus


def a_repair(*, in_warranty: bool = True) -> Repair:
    bought = date(2026, 1, 10) if in_warranty else date(2020, 1, 10)
    repair = Repair(
        requested_by=RequestedBy.CONSUMER,
        sku="KETTLE",
        channel="web",
        purchase_date=bought,
        symptom="does not heat",
        contact={"name": "Hanako Yamada"},
        warranty=compute_warranty(bought, date(2026, 5, 1), {}, None),
    )
    repair.start(START, "cs")
    return repair


class RepairMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.repair = a_repair(in_warranty=False)
        self.now = START
        self.counted = 0.0  # seconds the model says the SLA clock ran
        self.paused = 0.0

    @rule(in_warranty=st.booleans(), reason=st.sampled_from(["goodwill", "", "receipt found"]))
    def override_warranty(self, in_warranty: bool, reason: str) -> None:
        final = self.repair.final
        try:
            self.repair.override_warranty(in_warranty, reason, self.now, "cs")
        except DomainError:
            return
        assert not final
        assert reason
        assert self.repair.warranty.in_warranty is in_warranty

    @rule(minutes=st.integers(0, 60 * 24 * 3))
    def time_passes(self, minutes: int) -> None:
        seconds = minutes * 60.0
        if self.repair.status in PAUSED:
            self.paused += seconds
        elif self.repair.status not in STOPPED:
            self.counted += seconds
        self.now += timedelta(minutes=minutes)

    def attempt(self, action: RepairAction, run: Callable[[], None]) -> None:
        before = self.repair.status
        final = self.repair.final
        periods = len(self.repair.periods)
        try:
            run()
        except DomainError:
            assert self.repair.status is before  # a refusal changes nothing
            assert len(self.repair.periods) == periods
            return
        assert not final, f"{action} changed a final ({before}) repair"
        allowed, target = TRANSITIONS[action]
        assert before in allowed, f"{action} from {before}"
        after = self.repair.status
        if action is A.TEST_RESULT:
            assert after in (S.REPAIRED, S.IN_REPAIR)
        else:
            assert after is target
        if action is A.APPROVE and before is S.DIAGNOSING:
            assert self.repair.warranty.in_warranty  # out of warranty only via a quote
        if action is A.RETURNING and before is S.UNREPAIRABLE:
            assert self.repair.outcome is Outcome.RETURN
        assert self.repair.periods[-1].status is after
        assert self.repair.periods[-1].entered_at == self.now

    @rule()
    def await_item(self) -> None:
        self.attempt(A.AWAIT_ITEM, lambda: self.repair.await_item(self.now, "cs"))

    @rule()
    def receive(self) -> None:
        self.attempt(A.RECEIVE, lambda: self.repair.receive("REPAIR-CENTER", self.now, "wh"))

    @rule()
    def diagnose(self) -> None:
        self.attempt(A.DIAGNOSE, lambda: self.repair.diagnose(self.now, "wh", "heater"))

    @rule(amount=st.integers(-1, 50_000))
    def quote(self, amount: int) -> None:
        self.attempt(A.QUOTE, lambda: self.repair.make_quote(Quote(amount), self.now, "cs"))

    @rule()
    def approve(self) -> None:
        self.attempt(A.APPROVE, lambda: self.repair.approve(self.now, "cs"))

    @rule(reason=st.sampled_from(["too expensive", " "]))
    def decline(self, reason: str) -> None:
        self.attempt(A.DECLINE, lambda: self.repair.decline(reason, self.now, "cs"))

    @rule()
    def await_parts(self) -> None:
        self.attempt(A.AWAIT_PARTS, lambda: self.repair.await_parts(self.now, "wh"))

    @rule()
    def in_repair(self) -> None:
        self.attempt(A.IN_REPAIR, lambda: self.repair.start_repair(self.now, "wh"))

    @rule(quantity=st.integers(0, 3))
    def parts(self, quantity: int) -> None:
        before = (self.repair.status, self.repair.parts_batches)
        try:
            batch = self.repair.use_parts([PartLine("HEATER", quantity)])
        except DomainError:
            assert (self.repair.status, self.repair.parts_batches) == before
            return
        assert before[0] is S.IN_REPAIR
        assert quantity >= 1
        assert batch == before[1] + 1
        assert self.repair.status is S.IN_REPAIR

    @rule()
    def testing(self) -> None:
        self.attempt(A.TESTING, lambda: self.repair.start_testing(self.now, "wh"))

    @rule(passed=st.booleans())
    def test_result(self, passed: bool) -> None:
        self.attempt(A.TEST_RESULT, lambda: self.repair.test_result(passed, self.now, "wh"))

    @rule()
    def returning(self) -> None:
        self.attempt(A.RETURNING, lambda: self.repair.ship_back(self.now, "wh"))

    @rule()
    def complete(self) -> None:
        self.attempt(A.COMPLETE, lambda: self.repair.complete(self.now, "cs"))

    @rule(outcome=st.sampled_from(Outcome), reason=st.sampled_from(["no parts", ""]))
    def unrepairable(self, outcome: Outcome, reason: str) -> None:
        self.attempt(
            A.UNREPAIRABLE, lambda: self.repair.unrepairable(outcome, reason, self.now, "wh")
        )

    @rule(reason=st.sampled_from(["changed their mind", "", " ", ""]))
    def cancel(self, reason: str) -> None:
        self.attempt(A.CANCEL, lambda: self.repair.cancel(reason, self.now, "cs"))

    # The next step of the usual path, twice as likely as any other rule: without it most runs
    # end early (a cancel) and the states near the end are seldom reached.
    NEXT: ClassVar[dict[RepairStatus, RepairAction]] = {
        S.REQUESTED: A.AWAIT_ITEM,
        S.AWAITING_ITEM: A.RECEIVE,
        S.RECEIVED: A.DIAGNOSE,
        S.DIAGNOSING: A.QUOTE,
        S.QUOTE_PENDING: A.APPROVE,
        S.APPROVED: A.IN_REPAIR,
        S.AWAITING_PARTS: A.IN_REPAIR,
        S.IN_REPAIR: A.TESTING,
        S.TESTING: A.TEST_RESULT,
        S.REPAIRED: A.RETURNING,
        S.UNREPAIRABLE: A.RETURNING,
        S.RETURNING: A.COMPLETE,
    }

    @rule()
    def next_step(self) -> None:
        self._next()

    @rule()
    def next_step_again(self) -> None:
        self._next()

    def _next(self) -> None:
        action = self.NEXT.get(self.repair.status)
        run: dict[RepairAction, Callable[[], None]] = {
            A.AWAIT_ITEM: self.await_item,
            A.RECEIVE: self.receive,
            A.DIAGNOSE: self.diagnose,
            A.QUOTE: lambda: self.quote(1_000),
            A.APPROVE: self.approve,
            A.IN_REPAIR: self.in_repair,
            A.TESTING: self.testing,
            A.TEST_RESULT: lambda: self.test_result(True),
            A.RETURNING: self.returning,
            A.COMPLETE: self.complete,
        }
        if action is not None:
            run[action]()

    @invariant()
    def the_sla_clock_never_counts_paused_or_stopped_time(self) -> None:
        assert self.repair.sla_seconds(self.now) == pytest.approx(self.counted)
        assert self.repair.paused_seconds(self.now) == pytest.approx(self.paused)
        total = (self.now - START).total_seconds()
        spent = self.repair.seconds_in_states(self.now)
        assert sum(spent.values()) == pytest.approx(total)

    @invariant()
    def periods_follow_each_other_without_gaps(self) -> None:
        periods = self.repair.periods
        assert periods[0].status is S.REQUESTED
        for earlier, later in itertools.pairwise(periods):
            assert earlier.left_at == later.entered_at
        assert periods[-1].left_at is None
        assert periods[-1].status is self.repair.status

    @invariant()
    def terminal_states_are_final(self) -> None:
        if self.repair.status in TERMINAL:
            assert self.repair.final


RepairMachine.TestCase.settings = RepairMachine.TestCase.settings.__class__(
    max_examples=examples(100), stateful_step_count=60, deadline=None
)
TestRepairMachine = RepairMachine.TestCase


def test_a_repair_in_warranty_from_request_to_completion() -> None:
    repair = a_repair()
    now = START
    steps: list[Callable[[datetime], None]] = [
        lambda t: repair.await_item(t, "cs"),
        lambda t: repair.receive("REPAIR-CENTER", t, "wh"),
        lambda t: repair.diagnose(t, "wh", "the heater is broken"),
        lambda t: repair.approve(t, "cs"),
        lambda t: repair.start_repair(t, "wh"),
        lambda t: repair.start_testing(t, "wh"),
        lambda t: repair.test_result(False, t, "wh", "still cold"),
        lambda t: repair.start_testing(t, "wh"),
        lambda t: repair.test_result(True, t, "wh"),
        lambda t: repair.ship_back(t, "wh"),
        lambda t: repair.complete(t, "cs"),
    ]
    for step in steps:
        now += timedelta(hours=1)
        step(now)
    assert repair.status is S.COMPLETED
    # 12 hours from request to delivery, 1 of them waiting for the item.
    assert repair.sla_seconds(now) == 10 * 3600
    assert repair.paused_seconds(now) == 3600
    with pytest.raises(Conflict) as refused:
        repair.cancel("too late", now, "cs")
    assert refused.value.extra["status"] == "completed"


def test_out_of_warranty_the_work_waits_for_an_approved_quote() -> None:
    repair = a_repair(in_warranty=False)
    repair.await_item(START, "cs")
    repair.receive("REPAIR-CENTER", START, "wh")
    repair.diagnose(START, "wh")
    with pytest.raises(Conflict, match="needs a quote"):
        repair.approve(START, "cs")
    with pytest.raises(InvalidInput) as bad:
        repair.make_quote(Quote(-1), START, "cs")
    assert bad.value.field == "amount"
    repair.make_quote(Quote(8_800), START, "cs")
    repair.decline("too expensive", START, "cs")
    assert (repair.status, repair.outcome) == (S.RETURNING, Outcome.RETURN)


def test_an_unrepairable_item_goes_back_only_when_its_outcome_is_return() -> None:
    sold = a_repair()
    kept = a_repair()
    for repair, outcome in ((sold, Outcome.RESALE), (kept, Outcome.RETURN)):
        repair.await_item(START, "cs")
        repair.receive("REPAIR-CENTER", START, "wh")
        repair.diagnose(START, "wh")
        repair.unrepairable(outcome, "the board is burnt", START, "wh")
    with pytest.raises(Conflict):
        sold.ship_back(START, "wh")
    kept.ship_back(START, "wh")
    assert sold.final
    assert kept.status is S.RETURNING
