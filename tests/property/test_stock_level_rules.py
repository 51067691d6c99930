"""Hypothesis over the pure StockLevel: whatever the movements, no bucket goes negative."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from oms.inventory.domain import (
    InsufficientStock,
    MovementType,
    StockDelta,
    StockRuleBroken,
    count_shortfall,
    delta_for,
)
from tests.builders import a_stock_level
from tests.examples import examples

quantities = st.integers(1, 30)


class StockLevelMachine(RuleBasedStateMachine):
    """Drives one StockLevel; a plain tuple of ints is the model it must agree with."""

    def __init__(self) -> None:
        super().__init__()
        self.level = a_stock_level()
        self.on_hand = self.reserved = self.quarantined = self.in_transit = 0
        self.applied = 0

    def _apply(self, delta: StockDelta, allowed: bool) -> None:
        """Apply through the domain; `allowed` is the model's own verdict."""
        version = self.level.version
        try:
            self.level.apply(delta)
        except (InsufficientStock, StockRuleBroken):
            assert not allowed, f"refused {delta} that the model allows"
            assert self.level.version == version
            return
        assert allowed, f"applied {delta} that the model refuses"
        self.on_hand += delta.on_hand
        self.reserved += delta.reserved
        self.quarantined += delta.quarantined
        self.in_transit += delta.in_transit
        self.applied += 1

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.quarantined

    @rule(qty=quantities)
    def receive(self, qty: int) -> None:
        self._apply(delta_for(MovementType.RECEIPT, qty), True)

    @rule(qty=st.integers(-30, 30).filter(bool))
    def adjust(self, qty: int) -> None:
        self._apply(delta_for(MovementType.ADJUSTMENT, qty), qty > 0 or -qty <= self.available)

    @rule(counted=st.integers(0, 60), holds=st.lists(st.integers(1, 10), max_size=4))
    def count(self, counted: int, holds: list[int]) -> None:
        """A count is always recorded: what it finds missing comes off the reservations (the
        model splits `reserved` into holds), then the quarantine."""
        split = [(i, h) for i, h in enumerate(holds, start=1)]
        rest = self.reserved - sum(h for _, h in split)
        if rest < 0:
            split = [(1, self.reserved)] if self.reserved else []
        elif rest:
            split.append((len(split) + 1, rest))
        shortfall = count_shortfall(self.level, counted, split)
        missing = max(0, self.reserved + self.quarantined - counted)
        assert shortfall.reserved == min(missing, self.reserved)
        assert shortfall.quarantine == missing - shortfall.reserved
        if shortfall.reserved:
            self._apply(delta_for(MovementType.RELEASE, shortfall.reserved), True)
        if shortfall.quarantine:
            self._apply(delta_for(MovementType.QUARANTINE_RELEASE, shortfall.quarantine), True)
        self._apply(delta_for(MovementType.COUNT, counted, level=self.level), True)
        assert self.on_hand == counted

    @rule(qty=quantities)
    def reserve(self, qty: int) -> None:
        self._apply(delta_for(MovementType.RESERVE, qty), qty <= self.available)

    @rule(qty=quantities)
    def release(self, qty: int) -> None:
        self._apply(delta_for(MovementType.RELEASE, qty), qty <= self.reserved)

    @rule(qty=quantities)
    def ship(self, qty: int) -> None:
        self._apply(delta_for(MovementType.SHIP, qty), qty <= self.reserved)

    @rule(qty=quantities)
    def quarantine(self, qty: int) -> None:
        self._apply(delta_for(MovementType.QUARANTINE, qty), qty <= self.available)

    @rule(qty=quantities)
    def release_quarantine(self, qty: int) -> None:
        self._apply(delta_for(MovementType.QUARANTINE_RELEASE, qty), qty <= self.quarantined)

    @rule(qty=quantities)
    def dispatch_to_here(self, qty: int) -> None:
        self._apply(delta_for(MovementType.TRANSFER_DISPATCHED, qty), True)

    @rule(qty=quantities)
    def write_off_in_transit(self, qty: int) -> None:
        self._apply(delta_for(MovementType.TRANSFER_SHORTFALL, qty), qty <= self.in_transit)

    @invariant()
    def every_bucket_and_available_stay_non_negative(self) -> None:
        level = self.level
        assert min(level.on_hand, level.reserved, level.quarantined, level.in_transit) >= 0
        assert level.available >= 0

    @invariant()
    def the_level_agrees_with_the_model(self) -> None:
        level = self.level
        assert (level.on_hand, level.reserved, level.quarantined, level.in_transit) == (
            self.on_hand,
            self.reserved,
            self.quarantined,
            self.in_transit,
        )
        assert level.version == self.applied


StockLevelMachine.TestCase.settings = settings(
    max_examples=examples(200), stateful_step_count=40, deadline=None
)
TestStockLevelRules = StockLevelMachine.TestCase
