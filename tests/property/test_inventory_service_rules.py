"""Hypothesis over the real service and a real database, against an in-memory model.

Whatever the sequence of receipts, adjustments, counts, reservations, releases, quarantines,
shipments and replayed keys: available never goes negative, the projection equals the model,
the ledger replays to the projection, and a replayed key changes nothing.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from oms.inventory.domain import (
    InsufficientStock,
    ReservationLine,
    ReservationStatus,
    StockRuleBroken,
)
from oms.inventory.services import (
    InventoryService,
    MovementResult,
    RecordMovement,
    ReservationResult,
    ReserveStock,
)
from oms.shared.errors import Conflict
from tests.builders import (
    a_key,
    a_location,
    a_movement,
    a_service,
    a_sku,
    database_state,
    receive,
)
from tests.conftest import clean
from tests.examples import examples as examples_scaled

SKUS = ("TEE", "CAP")
LOCATIONS = ("DC", "STORE")
INITIAL = 10
Pair = tuple[str, str]

skus = st.sampled_from(SKUS)
locations = st.sampled_from(LOCATIONS)
quantities = st.integers(1, 12)


class InventoryMachine(RuleBasedStateMachine):
    reservations = Bundle("reservations")

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        clean(engine)  # every example starts from an empty database
        self.engine = engine
        self.inventory: InventoryService = a_service(engine)
        for location in LOCATIONS:
            a_location(self.inventory, location)
        for sku in SKUS:
            a_sku(self.inventory, sku)
        # The model: (sku, location) -> [on_hand, reserved, quarantined]. Every example starts
        # with some stock, or most reservations would be refused.
        self.model: dict[Pair, list[int]] = {}
        for pair in itertools.product(SKUS, LOCATIONS):
            receive(self.inventory, *pair, INITIAL)
            self.model[pair] = [INITIAL, 0, 0]
        self.status: dict[int, ReservationStatus] = {}
        self.lines: dict[int, list[ReservationLine]] = {}
        self.accepted: list[tuple[RecordMovement, MovementResult]] = []
        self.refused: list[RecordMovement] = []
        self.reserved_with: list[tuple[ReserveStock, ReservationResult]] = []

    # ------------------------------------------------------------------ model

    def available(self, pair: Pair) -> int:
        on_hand, reserved, quarantined = self.model[pair]
        return on_hand - reserved - quarantined

    def expect(self, cmd: RecordMovement) -> tuple[type[Exception] | None, int, int]:
        """What the model says a movement does: (refusal, on_hand change, quarantined change)."""
        pair = (cmd.sku, cmd.location)
        on_hand, _, quarantined = self.model[pair]
        q = cmd.quantity
        match cmd.type:
            case "receipt":
                return None, q, 0
            case "adjustment":
                return (InsufficientStock if -q > self.available(pair) else None), q, 0
            case "count":  # always recorded; see cut_for_count for what it takes
                return None, q - on_hand, 0
            case "quarantine":
                return (InsufficientStock if q > self.available(pair) else None), 0, q
            case "quarantine_release":
                return (StockRuleBroken if q > quarantined else None), 0, -q
        raise AssertionError(cmd.type)

    def cut_for_count(self, pair: Pair, counted: int) -> None:
        """The count policy on the model: what is missing comes off the newest reservations
        holding the pair first (their lines shrink, a reservation left with none is
        released), then off the quarantine."""
        _, reserved, quarantined = self.model[pair]
        missing = max(0, reserved + quarantined - counted)
        from_reservations = min(missing, reserved)
        self.model[pair][1] -= from_reservations
        self.model[pair][2] -= missing - from_reservations
        for reservation_id in sorted(self.lines, reverse=True):
            if from_reservations == 0:
                break
            if self.status[reservation_id] is not ReservationStatus.ACTIVE:
                continue
            kept: list[ReservationLine] = []
            for line in self.lines[reservation_id]:
                taken = 0
                if (line.sku, line.location) == pair:
                    taken = min(line.quantity, from_reservations)
                    from_reservations -= taken
                if line.quantity > taken:
                    kept.append(ReservationLine(line.sku, line.location, line.quantity - taken))
            self.lines[reservation_id] = kept
            if not kept:
                self.status[reservation_id] = ReservationStatus.RELEASED

    def send(self, cmd: RecordMovement) -> None:
        refusal, d_on_hand, d_quarantined = self.expect(cmd)
        if refusal is not None:
            with pytest.raises(refusal):
                self.inventory.record_movement(cmd)
            self.refused.append(cmd)
            return
        result = self.inventory.record_movement(cmd)
        assert not result.replayed
        if cmd.type == "count":
            self.cut_for_count((cmd.sku, cmd.location), cmd.quantity)
        self.model[(cmd.sku, cmd.location)][0] += d_on_hand
        self.model[(cmd.sku, cmd.location)][2] += d_quarantined
        self.accepted.append((cmd, result))

    # ------------------------------------------------------------------ movements

    @rule(sku=skus, location=locations, qty=st.integers(1, 30))
    def receive(self, sku: str, location: str, qty: int) -> None:
        self.send(a_movement("receipt", sku, location, qty))

    @rule(sku=skus, location=locations, qty=st.integers(-12, 12).filter(bool))
    def adjust(self, sku: str, location: str, qty: int) -> None:
        self.send(a_movement("adjustment", sku, location, qty, reason="correction"))

    @rule(sku=skus, location=locations, counted=st.integers(0, 20))
    def count(self, sku: str, location: str, counted: int) -> None:
        self.send(a_movement("count", sku, location, counted))

    @rule(sku=skus, location=locations, qty=quantities, release=st.booleans())
    def quarantine(self, sku: str, location: str, qty: int, release: bool) -> None:
        kind = "quarantine_release" if release else "quarantine"
        self.send(a_movement(kind, sku, location, qty))

    @precondition(lambda self: self.refused)
    @rule(data=st.data())
    def retry_a_refused_movement(self, data: st.DataObject) -> None:
        """A refusal left no idempotency record: the same key is judged afresh."""
        cmd = data.draw(st.sampled_from(self.refused))
        self.refused.remove(cmd)
        self.send(cmd)

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def replay_an_earlier_movement(self, data: st.DataObject) -> None:
        cmd, first = data.draw(st.sampled_from(self.accepted))
        before = database_state(self.engine)
        again = self.inventory.record_movement(cmd)
        assert again.replayed
        assert again.movements == first.movements
        assert again.levels == first.levels
        assert database_state(self.engine) == before

    # ------------------------------------------------------------------ reservations

    @rule(target=reservations, data=st.data())
    def reserve(self, data: st.DataObject) -> object:
        # Quantities up to one more than available: mostly granted, sometimes one unit short.
        lines = [
            ReservationLine(
                sku, location, data.draw(st.integers(1, self.available((sku, location)) + 1))
            )
            for sku, location in data.draw(
                st.lists(st.tuples(skus, locations), min_size=1, max_size=3)
            )
        ]
        wanted: dict[Pair, int] = {}
        for line in lines:
            wanted[(line.sku, line.location)] = (
                wanted.get((line.sku, line.location), 0) + line.quantity
            )
        short = {pair for pair, qty in wanted.items() if qty > self.available(pair)}
        cmd = ReserveStock(lines, idempotency_key=a_key())
        if short:
            with pytest.raises(InsufficientStock) as refused:
                self.inventory.reserve(cmd)
            assert {(s["sku"], s["location"]) for s in refused.value.shortages} == short
            return multiple()
        result = self.inventory.reserve(cmd)
        for pair, qty in wanted.items():
            self.model[pair][1] += qty
        reservation_id = result.reservation.id
        self.status[reservation_id] = ReservationStatus.ACTIVE
        self.lines[reservation_id] = result.reservation.lines
        self.reserved_with.append((cmd, result))
        return reservation_id

    @rule(reservation_id=reservations)
    def release(self, reservation_id: int) -> None:
        status = self.status[reservation_id]
        if status is ReservationStatus.SHIPPED:
            with pytest.raises(Conflict):
                self.inventory.release(reservation_id)
            return
        released = self.inventory.release(reservation_id)
        assert released.status is ReservationStatus.RELEASED
        if status is ReservationStatus.ACTIVE:  # releasing twice changes nothing
            self.status[reservation_id] = ReservationStatus.RELEASED
            for line in self.lines[reservation_id]:
                self.model[(line.sku, line.location)][1] -= line.quantity

    @rule(reservation_id=reservations)
    def ship(self, reservation_id: int) -> None:
        status = self.status[reservation_id]
        if status is ReservationStatus.RELEASED:
            with pytest.raises(Conflict):
                self.inventory.ship_reservation(reservation_id)
            return
        shipped = self.inventory.ship_reservation(reservation_id)
        assert shipped.status is ReservationStatus.SHIPPED
        if status is ReservationStatus.ACTIVE:
            self.status[reservation_id] = ReservationStatus.SHIPPED
            for line in self.lines[reservation_id]:
                self.model[(line.sku, line.location)][0] -= line.quantity
                self.model[(line.sku, line.location)][1] -= line.quantity

    @precondition(lambda self: self.reserved_with)
    @rule(data=st.data())
    def replay_an_earlier_reservation(self, data: st.DataObject) -> None:
        cmd, first = data.draw(st.sampled_from(self.reserved_with))
        before = database_state(self.engine)
        again = self.inventory.reserve(cmd)
        assert again.replayed
        assert again.reservation.id == first.reservation.id
        # A replay answers with the reservation as it is now: a count may have cut its lines.
        assert again.reservation.lines == self.lines[first.reservation.id]
        assert again.reservation.status is self.status[first.reservation.id]
        assert database_state(self.engine) == before

    # ------------------------------------------------------------------ invariants

    @invariant()
    def the_projection_equals_the_model_and_nothing_is_oversold(self) -> None:
        levels = self.inventory.stock_levels(limit=500).items
        for level in levels:
            assert level.available >= 0
            assert min(level.on_hand, level.reserved, level.quarantined, level.in_transit) >= 0
        projection = {
            (lv.sku, lv.location): [lv.on_hand, lv.reserved, lv.quarantined]
            for lv in levels
            if (lv.on_hand, lv.reserved, lv.quarantined, lv.in_transit) != (0, 0, 0, 0)
        }
        model = {pair: buckets for pair, buckets in self.model.items() if any(buckets)}
        assert projection == model

    @invariant()
    def the_ledger_replays_to_the_projection(self) -> None:
        report = self.inventory.verify()
        assert report.clean, report.differences


@pytest.mark.parametrize(
    ("backend", "examples"),
    [("sqlite", 25), ("postgresql", 8)],
    indirect=["backend"],
)
def test_the_service_never_oversells_and_its_ledger_replays_to_its_projection(
    engine: Engine, examples: int
) -> None:
    class OnThisEngine(InventoryMachine):
        def __init__(self) -> None:
            super().__init__(engine)

    run_state_machine_as_test(
        OnThisEngine,
        settings=settings(
            max_examples=examples_scaled(examples), stateful_step_count=20, deadline=None
        ),
    )
