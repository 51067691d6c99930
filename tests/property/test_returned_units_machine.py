"""Received units as a hypothesis state machine over the real services and database: any
sequence of receipts, grades, exceptions, decisions and executions.

Throughout: a refused command changes nothing; a unit moves only along its diagram; a `done`
unit never changes again; the ledger replays to the projection; what is quarantined is exactly
the units not yet out of quarantine (never sellable); what is available grows only by the units
restocked.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import Engine

from oms.bootstrap import Services, bootstrap
from oms.returns.domain import Disposition, ReturnStatus
from oms.returns.domain.units import UnitStatus
from oms.returns.services.rma import NewReturnLine, OpenReturn
from oms.returns.services.units import GradeUnit
from oms.shared.errors import DomainError
from tests.conftest import clean
from tests.examples import examples
from tests.order_builders import DC, TEE, Shop, open_shipments

UNITS = 4
# Every move a unit may make: (status before, status after) for each command.
ALLOWED = {
    "grade": {
        (UnitStatus.AWAITING_INSPECTION, UnitStatus.GRADED),
        (UnitStatus.ESCALATED, UnitStatus.GRADED),
        (UnitStatus.GRADED, UnitStatus.GRADED),
        (UnitStatus.DISPOSITIONED, UnitStatus.GRADED),
    },
    "exception": {
        (UnitStatus.AWAITING_INSPECTION, UnitStatus.ESCALATED),
        (UnitStatus.AWAITING_INSPECTION, UnitStatus.AWAITING_INSPECTION),  # graded, refurbished
        (UnitStatus.ESCALATED, UnitStatus.ESCALATED),
        (UnitStatus.GRADED, UnitStatus.GRADED),
        (UnitStatus.DISPOSITIONED, UnitStatus.DISPOSITIONED),
    },
    "decide": {
        (UnitStatus.GRADED, UnitStatus.DISPOSITIONED),
        (UnitStatus.DISPOSITIONED, UnitStatus.DISPOSITIONED),
    },
    "execute": {
        (UnitStatus.DISPOSITIONED, UnitStatus.DONE),
        (UnitStatus.DISPOSITIONED, UnitStatus.AWAITING_INSPECTION),  # REFURBISH
    },
}
DISPOSITIONS = [d.value for d in Disposition]


def returned_units_machine(engine: Engine) -> type[RuleBasedStateMachine]:
    class ReturnedUnits(RuleBasedStateMachine):
        services: Services
        return_id: int
        line_id: str
        base_available: int

        @initialize()
        def a_shipped_order_and_its_return(self) -> None:
            clean(engine)
            shop = Shop(engine).build().stock((TEE, DC, 10))
            order = shop.place((TEE, UNITS))
            [parcel] = open_shipments(order)
            shop.ship(parcel.id or 0)
            self.services = bootstrap(engine=engine)
            self.line_id = order.lines[0].line_id
            rma = self.services.returns.open_return(
                OpenReturn(order.id or 0, [NewReturnLine(self.line_id, UNITS, "defective")]),
                "cs",
            )
            self.return_id = rma.id or 0
            self.base_available = self.level()[2]
            self.services.returns.receive(self.return_id, DC, {self.line_id: 2}, "wh")
            self.restocked = 0
            self.done: dict[int, Any] = {}

        def level(self) -> tuple[int, int, int]:
            [level] = self.services.inventory.stock_levels(sku=TEE, location=DC).items
            return level.on_hand, level.quarantined, level.available

        def units(self) -> list[Any]:
            return self.services.returns.units_of(self.return_id)

        def attempt(self, command: str, unit_index: int, run: Any) -> None:
            units = self.units()
            if not units:
                return
            unit = units[unit_index % len(units)]
            before = unit.status
            try:
                run(unit.id)
            except DomainError:
                after = self.services.units.unit(unit.id).unit
                assert after.status is before, f"a refused {command} moved the unit"
                return
            after = self.services.units.unit(unit.id).unit
            assert before is not UnitStatus.DONE, f"{command} changed a done unit"
            assert (before, after.status) in ALLOWED[command], (command, before, after.status)
            if after.status is UnitStatus.DONE:
                decision = after.decision
                if decision is not None and decision.disposition is Disposition.RESTOCK:
                    self.restocked += 1

        @rule(quantity=st.integers(1, UNITS))
        def receive(self, quantity: int) -> None:
            try:
                self.services.returns.receive(self.return_id, DC, {self.line_id: quantity}, "wh")
            except DomainError:
                return

        @rule(
            unit=st.integers(0, UNITS - 1),
            grade=st.sampled_from("NNUABCDJ"),
            functional=st.sampled_from(["full", "full", "full", "partial", "none", "n/a"]),
        )
        def grade(self, unit: int, grade: str, functional: str) -> None:
            self.attempt(
                "grade",
                unit,
                lambda uid: self.services.units.grade(uid, GradeUnit(grade, functional), "wh"),
            )

        @rule(unit=st.integers(0, UNITS - 1), kind=st.sampled_from(["WRONG_ITEM", "EXTRA"]))
        def exception(self, unit: int, kind: str) -> None:
            self.attempt(
                "exception", unit, lambda uid: self.services.units.record_exception(uid, kind, "wh")
            )

        @rule(
            unit=st.integers(0, UNITS - 1),
            disposition=st.sampled_from(DISPOSITIONS),
            execute=st.booleans(),
        )
        def decide(self, unit: int, disposition: str, execute: bool) -> None:
            self.attempt(
                "decide_execute" if execute else "decide",
                unit,
                lambda uid: self.services.units.decide(uid, disposition, "wh", execute=execute),
            )

        @rule(unit=st.integers(0, UNITS - 1))
        def execute(self, unit: int) -> None:
            self.attempt("execute", unit, lambda uid: self.services.units.execute(uid, "wh"))

        @invariant()
        def the_books_hold(self) -> None:
            if not hasattr(self, "services"):
                return
            units = self.units()
            _, quarantined, available = self.level()
            in_quarantine = sum(1 for u in units if u.status is not UnitStatus.DONE)
            assert quarantined == in_quarantine
            assert available == self.base_available + self.restocked
            assert self.services.inventory.verify().clean
            for unit in units:
                if unit.id in self.done:
                    assert (unit.status, unit.grade, unit.decision) == self.done[unit.id]
                elif unit.status is UnitStatus.DONE:
                    self.done[unit.id] = (unit.status, unit.grade, unit.decision)
            rma = self.services.returns.get_return(self.return_id)
            if rma.status is ReturnStatus.INSPECTED:
                assert all(u.grade is not None for u in units)

    return ReturnedUnits


# `decide` with `execute` is a decision and its execution in one command.
ALLOWED["decide_execute"] = {
    (UnitStatus.GRADED, UnitStatus.DONE),
    (UnitStatus.DISPOSITIONED, UnitStatus.DONE),
    (UnitStatus.GRADED, UnitStatus.AWAITING_INSPECTION),
    (UnitStatus.DISPOSITIONED, UnitStatus.AWAITING_INSPECTION),
}


def test_returned_units_keep_their_diagram_and_the_books(engine: Engine) -> None:
    machine = returned_units_machine(engine)
    machine.TestCase.settings = settings(
        max_examples=examples(12),
        stateful_step_count=14,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    machine.TestCase().runTest()
