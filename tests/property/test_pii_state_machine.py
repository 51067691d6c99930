"""The PII state of orders (reference §4.5: identifiable -> due -> anonymised, a legal hold
blocking), driven by hypothesis through the services on both databases: orders, holds,
releases, time passing and runs of the job in any order. An order is anonymised exactly when
a run finds it past its deadline and not held; an anonymised order never changes again and
takes no hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.privacy.domain import PLACEHOLDER
from oms.shared.errors import Conflict
from tests.conftest import clean
from tests.examples import examples
from tests.order_builders import ORDERED_AT, Shop
from tests.privacy_builders import (
    AMAZON_ADDRESS,
    amazon_shop,
    an_amazon_order,
    cancelled,
    services,
    stored_order,
)

DEADLINE = timedelta(days=30)  # Amazon's default, cancelled orders from the order date


@dataclass
class Known:
    ordered_at: datetime
    held: bool = False
    anonymised: dict[str, Any] | None = None  # the row as anonymised: it never changes again


class PiiMachine(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        clean(engine)  # every example starts from an empty database
        self.shop: Shop = amazon_shop(engine)
        self.svc: Services = services(engine)
        self.now = ORDERED_AT + timedelta(days=60)
        self.known: dict[int, Known] = {}

    # Days around the 30-day deadline, its edges included: past it at once, or once time passes.
    @rule(target=orders, days_ago=st.sampled_from([0, 1, 29, 30, 31, 60]))
    def cancelled_order(self, days_ago: int) -> int:
        ordered_at = self.now - timedelta(days=days_ago)
        order = cancelled(self.shop, an_amazon_order(ordered_at=ordered_at))
        self.known[order.id or 0] = Known(ordered_at)
        return order.id or 0

    @rule(order_id=orders)
    def hold(self, order_id: int) -> None:
        known = self.known[order_id]
        try:
            self.svc.legal_holds.place_hold(order_id, "a reason", "cs")
        except Conflict:
            assert known.held or known.anonymised is not None
            return
        assert not known.held
        assert known.anonymised is None
        known.held = True

    @rule(order_id=orders)
    def release(self, order_id: int) -> None:
        known = self.known[order_id]
        try:
            self.svc.legal_holds.release_hold(order_id, "over", "admin")
        except Conflict:
            assert not known.held
            return
        assert known.held
        known.held = False

    @rule(days=st.sampled_from([1, 29, 30, 31]))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule()
    def run_the_job(self) -> None:
        due = {
            i
            for i, k in self.known.items()
            if k.anonymised is None and not k.held and k.ordered_at + DEADLINE <= self.now
        }

        report = self.svc.anonymisation.anonymise(now=self.now)

        assert report.anonymised == len(due)
        for i in due:
            self.known[i].anonymised = stored_order(self.engine, i)

    @invariant()
    def anonymised_exactly_when_recorded_and_never_again_changed(self) -> None:
        for i, known in self.known.items():
            row = stored_order(self.engine, i)
            if known.anonymised is None:
                assert row["ship_to"] == AMAZON_ADDRESS
            else:
                assert row == known.anonymised
                assert row["ship_to"]["name"] == PLACEHOLDER
                assert row["ship_to"]["postal_code"] == AMAZON_ADDRESS["postal_code"]
            state = self.svc.legal_holds.order_privacy(i)
            assert (state.anonymised_at is not None) == (known.anonymised is not None)
            assert state.held == known.held


def test_pii_states_follow_deadlines_and_holds(engine: Engine) -> None:
    class OnThisEngine(PiiMachine):
        def __init__(self) -> None:
            super().__init__(engine)

    run_state_machine_as_test(
        OnThisEngine,
        settings=settings(
            max_examples=examples(8),
            stateful_step_count=20,
            deadline=None,
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
        ),
    )
