"""The return's state machine, driven by hypothesis with any sequence of commands: no
transition outside the diagram, terminal states never change, receipts never exceed what a
line expects, and a hold always blocks resolution."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from oms.returns.domain import (
    TERMINAL,
    Resolution,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    returnable,
)
from oms.returns.domain.rma import TRANSITIONS, ReturnAction
from oms.shared.errors import Conflict, DomainError, InvalidInput
from tests.examples import examples

LINES = ("L1", "L2")


class ReturnMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rma = ReturnRequest(
            order_id=1,
            lines=[ReturnLine("L1", "TEE", 2, "size"), ReturnLine("L2", "CAP", 1, "damaged")],
        )

    def attempt(self, action: ReturnAction, run: object) -> None:
        before = self.rma.status
        try:
            run()  # type: ignore[operator]
        except DomainError:
            assert self.rma.status is before  # a refusal changes nothing
            return
        assert before not in TERMINAL, f"{action} changed a {before} return"
        allowed, _ = TRANSITIONS[action]
        assert before in allowed, f"{action} from {before}"

    @rule()
    def approve(self) -> None:
        self.attempt(ReturnAction.APPROVE, self.rma.approve)

    @rule()
    def decline(self) -> None:
        self.attempt(ReturnAction.DECLINE, self.rma.decline)

    @rule()
    def cancel(self) -> None:
        self.attempt(ReturnAction.CANCEL, self.rma.cancel)

    @rule()
    def ship(self) -> None:
        self.attempt(ReturnAction.SHIP, self.rma.ship)

    @rule()
    def expire(self) -> None:
        self.attempt(ReturnAction.EXPIRE, self.rma.expire)

    @rule(line=st.sampled_from(LINES), quantity=st.integers(-1, 3))
    def receive(self, line: str, quantity: int) -> None:
        self.attempt(ReturnAction.RECEIVE, lambda: self.rma.receive({line: quantity}))

    @rule()
    def inspect(self) -> None:
        self.attempt(ReturnAction.INSPECT, self.rma.inspect)

    @rule(resolution=st.sampled_from(Resolution))
    def resolve(self, resolution: Resolution) -> None:
        held = self.rma.on_hold
        before = self.rma.status
        self.attempt(
            ReturnAction.RESOLVE, lambda: self.rma.resolve(dict.fromkeys(LINES, resolution))
        )
        if held:
            assert self.rma.status is before  # a hold always blocks resolution

    @rule()
    def close(self) -> None:
        self.attempt(ReturnAction.CLOSE, self.rma.close)

    @rule(reason=st.sampled_from(["fraud check", "", "exchange item out of stock"]))
    def hold(self, reason: str) -> None:
        with contextlib.suppress(DomainError):
            self.rma.hold(reason)

    @rule()
    def release(self) -> None:
        terminal, held = self.rma.status in TERMINAL, self.rma.hold_reason
        with contextlib.suppress(DomainError):
            self.rma.release_hold()
        if terminal:
            assert self.rma.hold_reason == held, "a terminal return's hold changed"

    @invariant()
    def receipts_stay_within_what_each_line_expects(self) -> None:
        for line in self.rma.lines:
            assert 0 <= line.received <= line.quantity
        if self.rma.status is ReturnStatus.RECEIVED:
            assert all(line.expected == 0 for line in self.rma.lines)
        if self.rma.status is ReturnStatus.RECEIVING:
            assert any(line.expected > 0 for line in self.rma.lines)

    @invariant()
    def every_step_is_in_the_diagram(self) -> None:
        for action, before, after in self.rma.history:
            allowed, target = TRANSITIONS[action]
            assert before in allowed
            if action is ReturnAction.RECEIVE:
                assert after in (ReturnStatus.RECEIVING, ReturnStatus.RECEIVED)
            else:
                assert after is target


ReturnMachine.TestCase.settings = ReturnMachine.TestCase.settings.__class__(
    max_examples=examples(60), stateful_step_count=25, deadline=None
)
TestReturnMachine = ReturnMachine.TestCase


def status_of(rma: ReturnRequest) -> ReturnStatus:
    return rma.status


def test_returnable_is_shipped_minus_returned_per_line() -> None:
    returnable({"L1": 3}, {"L1": 1}, [("L1", 2)])
    with pytest.raises(Conflict) as refused:
        returnable({"L1": 3}, {"L1": 1}, [("L1", 1), ("L1", 2)])
    assert refused.value.field == "lines[0].quantity"
    assert refused.value.extra == {"returnable": 2}
    with pytest.raises(InvalidInput) as unknown:
        returnable({"L1": 3}, {}, [("L9", 1)])
    assert unknown.value.field == "lines[0].line_id"


def test_a_whole_return_from_request_to_close() -> None:
    rma = ReturnRequest(order_id=7, lines=[ReturnLine("L1", "TEE", 2, "size")])
    rma.approve()
    rma.ship()
    rma.receive({"L1": 1})
    assert status_of(rma) is ReturnStatus.RECEIVING
    rma.receive({"L1": 1})
    assert status_of(rma) is ReturnStatus.RECEIVED
    rma.inspect()
    rma.hold("suspected fraud")
    with pytest.raises(Conflict, match="on hold: suspected fraud"):
        rma.resolve({"L1": Resolution.REFUND})
    rma.release_hold()
    rma.resolve({"L1": Resolution.EXCHANGE})
    rma.close()
    assert rma.status is ReturnStatus.CLOSED
    with pytest.raises(Conflict, match="closed cannot be approved"):
        rma.approve()


def test_a_return_closed_on_hold_keeps_its_hold() -> None:
    rma = ReturnRequest(
        order_id=7, lines=[ReturnLine("L1", "TEE", 1, "size")], status=ReturnStatus.IN_TRANSIT
    )
    rma.resolve({"L1": Resolution.REFUND})
    rma.hold("chargeback opened")
    rma.close()
    with pytest.raises(Conflict, match="closed"):
        rma.release_hold()
    assert rma.hold_reason == "chargeback opened"
