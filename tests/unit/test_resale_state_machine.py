"""The resale unit's state machine (reference §4.3), driven by hypothesis with any sequence
of actions: no transition outside the diagram, terminal states never change, a refusal
changes nothing, and only a listed unit is ever visible to a segment; plus the pricing rules
(markdowns never below the floor nor above the start, never rising with time)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oms.resale.domain import (
    ON_SALE,
    TERMINAL,
    TRANSITIONS,
    EarlyAccess,
    Grade,
    MarkdownStep,
    ResaleAction,
    ResaleStatus,
    ResaleUnit,
    Schedule,
    Stage,
    scheduled_price,
)
from oms.shared.errors import Conflict
from tests.examples import examples

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def a_unit() -> ResaleUnit:
    return ResaleUnit(
        code="TEE-U1",
        returns_unit_id=1,
        barcode="RU1",
        parent_sku="TEE",
        category=None,
        location="DC",
        grade=Grade.B,
        functional="full",
        defects=[],
        photos=["p.jpg"],
        order_id=1,
        channel="web",
        return_id=1,
    )


class ResaleUnitMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.unit = a_unit()
        self.unit.public_from = T0 + timedelta(days=2)
        self.unit.early_access = [EarlyAccess("gold", T0)]
        self.now = T0
        self.steps: list[tuple[ResaleStatus, ResaleAction, ResaleStatus]] = []

    @rule(action=st.sampled_from(ResaleAction))
    def act(self, action: ResaleAction) -> None:
        before = self.unit.status
        try:
            after = self.unit.apply(action)
        except Conflict:
            assert self.unit.status is before  # a refusal changes nothing
            assert (before, action) not in TRANSITIONS
            return
        assert before not in TERMINAL, f"{action} changed a {before} unit"
        assert TRANSITIONS[(before, action)] is after
        self.steps.append((before, action, after))

    @rule(hours=st.integers(0, 72))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @precondition(lambda self: self.unit.status in TERMINAL)
    @rule(action=st.sampled_from(ResaleAction))
    def terminal_units_never_move(self, action: ResaleAction) -> None:
        before = self.unit.status
        with contextlib.suppress(Conflict):
            self.unit.apply(action)
        assert self.unit.status is before

    @invariant()
    def every_step_is_in_the_diagram(self) -> None:
        for before, action, after in self.steps:
            assert TRANSITIONS[(before, action)] is after

    @invariant()
    def only_a_listed_unit_is_offered(self) -> None:
        for segment in ("gold", "other"):
            if self.unit.visible_to(segment, self.now):
                assert self.unit.status is ResaleStatus.LISTED
        if self.unit.status not in ON_SALE:
            assert self.unit.stage_at(self.now) is Stage.HIDDEN
        if self.unit.status is ResaleStatus.LISTED and self.now < (self.unit.public_from or T0):
            assert self.unit.stage_at(self.now) is Stage.EARLY
            assert not self.unit.visible_to("other", self.now)


ResaleUnitMachine.TestCase.settings = ResaleUnitMachine.TestCase.settings.__class__(
    max_examples=examples(80), stateful_step_count=30, deadline=None
)
TestResaleUnit = ResaleUnitMachine.TestCase


@given(
    start=st.integers(1, 1_000_000),
    offs=st.lists(st.integers(1, 99), min_size=1, max_size=5, unique=True),
    floor=st.integers(1, 1_000_000),
    days=st.lists(st.integers(0, 400), min_size=2, max_size=6),
)
def test_markdowns_stay_between_floor_and_start_and_never_rise(
    start: int, offs: list[int], floor: int, days: list[int]
) -> None:
    steps = tuple(MarkdownStep(10 * (i + 1), off) for i, off in enumerate(sorted(offs)))
    schedule = Schedule(steps, floor)
    prices = [scheduled_price(start, schedule, timedelta(days=d))[0] for d in sorted(days)]
    for price in prices:
        assert min(floor, start) <= price <= start
    assert prices == sorted(prices, reverse=True)
