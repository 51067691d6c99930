"""Hypothesis over the real order, fulfilment and inventory services and a real database.

Whatever the sequence of orders (simple lines, a ship-together set and a set that may ship
apart, to anywhere in Japan), orders taken twice, receipts that source backorders, partial
cancellations, picking, packing, shipping, rejected lines and cycle counts (often below what
is reserved on the shelf):

- no location ever reserves or ships more than it has, and the ledger replays to the projection;
- every unit of every line is backordered, allocated, shipped or cancelled, exactly once, and
  no line holds more of a SKU than its open units need;
- the units reserved at each location are exactly the units of its open shipments, each open
  shipment holding one active reservation of exactly its lines (no leak, no double booking);
- an order taken twice is one order, and the status it is listed by is its real status.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select

from oms.inventory.domain import ReservationStatus
from oms.orders.domain.order import Order, OrderLine, Shipment, ShipmentStatus
from oms.orders.orm import order_lines, orders
from oms.orders.services.fulfilment import RejectedLine
from oms.orders.services.placement import PlaceOrder
from oms.shared.errors import Conflict
from tests.builders import database_state, record
from tests.conftest import clean
from tests.examples import examples
from tests.order_builders import (
    CAP,
    CHANNEL,
    CHIBA,
    COORD,
    DC,
    HOKKAIDO,
    LOCATIONS,
    OPEN,
    OSAKA,
    PANTS,
    SET,
    SHIBUYA,
    SIMPLE,
    TEE,
    TOKYO,
    UMEDA,
    Shop,
    an_order,
    carried,
    reserved_in_stock,
)

OKINAWA = "47"
INITIAL = (
    (TEE, DC, 4),
    (PANTS, DC, 3),
    (CAP, DC, 1),
    (TEE, SHIBUYA, 2),
    (CAP, SHIBUYA, 2),
    (PANTS, UMEDA, 2),
    (CAP, UMEDA, 2),
)

order_lines_st = st.lists(
    st.tuples(st.sampled_from((*SIMPLE, SET, COORD)), st.integers(1, 4)), min_size=1, max_size=3
)
destinations = st.sampled_from((TOKYO, CHIBA, OSAKA, HOKKAIDO, OKINAWA))


def open_shipments(found: list[Order]) -> list[Shipment]:
    return [s for order in found for s in order.shipments if s.status in OPEN]


def cancellable_units(order: Order, line: OrderLine) -> int:
    """Units of `line` not cancelled of which nothing has left: a set shipped apart whose top
    has shipped can no longer be cancelled, even while its bottom waits."""
    shipped: dict[str, int] = {}
    for shipment in order.shipments:
        if shipment.status is ShipmentStatus.SHIPPED:
            for ln in shipment.lines:
                if ln.line_id == line.line_id:
                    shipped[ln.sku] = shipped.get(ln.sku, 0) + ln.quantity
    started = max(-(-shipped.get(sku, 0) // per) for sku, per in line.components.items())
    return max(0, line.quantity - line.cancelled - started)


class OrderMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        clean(engine)  # every example starts from an empty database
        self.engine = engine
        self.shop = Shop(engine).build().stock(*INITIAL)
        self.placed: list[tuple[PlaceOrder, int]] = []
        self.allow_backorder = True

    # ------------------------------------------------------------------ helpers

    def some_order(self, data: st.DataObject) -> Order | None:
        if not self.placed:
            return None
        _, order_id = data.draw(st.sampled_from(self.placed), label="order")
        return self.shop.order(order_id)

    def some_shipment(
        self, data: st.DataObject, statuses: tuple[ShipmentStatus, ...] = OPEN
    ) -> Shipment | None:
        found = [s for o in self.shop.all_orders() for s in o.shipments if s.status in statuses]
        if not found:
            return None
        return data.draw(st.sampled_from(found), label="shipment")

    # ------------------------------------------------------------------ orders

    @rule(lines=order_lines_st, destination=destinations)
    def place_an_order(self, lines: list[tuple[str, int]], destination: str) -> None:
        cmd = an_order(*lines, prefecture=destination)
        if not self.allow_backorder:
            before = database_state(self.engine)
            try:
                placed = self.shop.orders.place_order(cmd)
            except Conflict:  # something cannot ship now: refused, nothing written
                assert database_state(self.engine) == before
                assert self.shop.order_count() == len(self.placed)
                return
            assert not placed.order.backorders()
        else:
            placed = self.shop.orders.place_order(cmd)
        assert placed.created
        assert placed.order.id is not None
        assert {s.location for s in placed.order.shipments} <= set(LOCATIONS)
        self.placed.append((cmd, placed.order.id))

    @rule(data=st.data())
    def place_the_same_order_again(self, data: st.DataObject) -> None:
        if not self.placed:
            return
        cmd, order_id = data.draw(st.sampled_from(self.placed), label="order")
        before = database_state(self.engine)
        again = self.shop.orders.place_order(cmd)
        assert not again.created
        assert again.order.id == order_id
        assert database_state(self.engine) == before

    @rule(data=st.data(), whole=st.booleans(), too_many=st.booleans())
    def cancel_some_units(self, data: st.DataObject, whole: bool, too_many: bool) -> None:
        order = self.some_order(data)
        if order is None or order.id is None:
            return
        cancellable = {line.line_id: cancellable_units(order, line) for line in order.lines}
        if whole:
            if not any(cancellable.values()):
                before = database_state(self.engine)
                with pytest.raises(Conflict, match="nothing left to cancel"):
                    self.shop.orders.cancel(order.id)
                assert database_state(self.engine) == before
                return
            after = self.shop.orders.cancel(order.id)
            for line in order.lines:
                assert (
                    after.line(line.line_id).cancelled == line.cancelled + cancellable[line.line_id]
                )
            return
        line_id = data.draw(st.sampled_from(sorted(cancellable)), label="line")
        if too_many:
            before = database_state(self.engine)
            with pytest.raises(Conflict):
                self.shop.orders.cancel(order.id, {line_id: cancellable[line_id] + 1})
            assert database_state(self.engine) == before
            return
        if cancellable[line_id] == 0:
            return
        units = data.draw(st.integers(1, cancellable[line_id]), label="units")
        after = self.shop.orders.cancel(order.id, {line_id: units})
        assert after.line(line_id).cancelled == order.line(line_id).cancelled + units

    # ------------------------------------------------------------------ stock

    @rule(
        sku=st.sampled_from(SIMPLE),
        location=st.sampled_from(LOCATIONS),
        quantity=st.integers(1, 5),
        then_source=st.booleans(),
    )
    def receive_stock(self, sku: str, location: str, quantity: int, then_source: bool) -> None:
        self.shop.stock((sku, location, quantity))
        if then_source:  # what the worker does on StockChanged
            waiting = sum(1 for o in self.shop.all_orders() if o.backorders())
            assert 0 <= self.shop.orders.source_backorders() <= waiting

    # ------------------------------------------------------------------ settings

    @rule(
        location=st.sampled_from(LOCATIONS),
        priority=st.sampled_from((1, 100)),
        capacity=st.sampled_from((None, 0, 1, 3)),
    )
    def set_location_shipping(self, location: str, priority: int, capacity: int | None) -> None:
        self.shop.settings.set_location_shipping(location, priority, capacity)

    @rule(max_shipments=st.integers(1, 3), allow_backorder=st.booleans())
    def set_sourcing_profile(self, max_shipments: int, allow_backorder: bool) -> None:
        self.shop.settings.set_sourcing_profile(
            CHANNEL, {"max_shipments": max_shipments, "allow_backorder": allow_backorder}
        )
        self.allow_backorder = allow_backorder

    # ------------------------------------------------------------------ the warehouse

    @rule(data=st.data(), to=st.sampled_from(("picking", "packed", "shipped")))
    def work_a_shipment(self, data: st.DataObject, to: str) -> None:
        shipment = self.some_shipment(data)
        if shipment is None or shipment.id is None:
            return
        fulfilment = self.shop.fulfilment
        if to == "picking":
            if shipment.status is ShipmentStatus.PACKED:
                with pytest.raises(Conflict):
                    fulfilment.pick(shipment.id)
            else:
                assert fulfilment.pick(shipment.id).status is ShipmentStatus.PICKING
            return
        fulfilment.pack(shipment.id)
        if to == "packed":
            return
        units = carried([shipment])
        before = {pair: self.shop.level(*pair) for pair in units}
        shipped = fulfilment.ship(shipment.id, "sagawa", f"SGW-{shipment.id:06d}")
        assert shipped.status is ShipmentStatus.SHIPPED
        for pair, quantity in units.items():
            level = self.shop.level(*pair)
            assert level.on_hand == before[pair].on_hand - quantity
            assert level.reserved == before[pair].reserved - quantity

    @rule(data=st.data(), damaged=st.booleans())
    def reject_a_line(self, data: st.DataObject, damaged: bool) -> None:
        shipment = self.some_shipment(data, (ShipmentStatus.PENDING, ShipmentStatus.PICKING))
        if shipment is None or shipment.id is None or not shipment.lines:
            return
        mine = {sku: units for (sku, _), units in carried([shipment]).items()}
        sku = data.draw(st.sampled_from(sorted(mine)), label="sku")
        quantity = data.draw(st.integers(1, mine[sku]), label="quantity")
        level = self.shop.level(sku, shipment.location)
        counted: int | None = None
        if not damaged:
            # Any count: below what other parcels hold there, they lose units too.
            counted = data.draw(st.integers(0, level.on_hand + 2), label="counted")
        reason = "damaged" if damaged else "not_found"
        self.shop.fulfilment.reject(shipment.id, [RejectedLine(sku, quantity, reason, counted)])

        after = self.shop.level(sku, shipment.location)
        if damaged:
            assert after.quarantined == level.quarantined + quantity
        else:
            assert after.on_hand == counted
        # The rejected units left that shipment (a set's other parts may leave with them).
        still = self.shop.fulfilment.get_shipment(shipment.id)
        left = carried([still]).get((sku, shipment.location), 0) if still.open else 0
        assert left <= mine[sku] - quantity

    @rule(data=st.data(), sku=st.sampled_from(SIMPLE), location=st.sampled_from(LOCATIONS))
    def count_a_shelf(self, data: st.DataObject, sku: str, location: str) -> None:
        """A cycle count, often below what is promised there: it is recorded as counted, and
        the parcels whose reservations it cut are re-sourced (the invariants check them)."""
        level = self.shop.level(sku, location)
        counted = data.draw(st.integers(0, level.on_hand + 2), label="counted")
        record(self.shop.inventory, "count", sku, location, counted)
        after = self.shop.level(sku, location)
        assert after.on_hand == counted
        assert after.reserved + after.quarantined <= counted
        missing = max(0, level.reserved + level.quarantined - counted)
        assert after.reserved == level.reserved - min(missing, level.reserved)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def no_location_holds_negative_stock_and_the_ledger_replays(self) -> None:
        for level in self.shop.all_levels():
            assert min(level.on_hand, level.reserved, level.quarantined, level.in_transit) >= 0
            assert level.available >= 0, level
        report = self.shop.inventory.verify()
        assert report.clean, report.differences

    @invariant()
    def every_unit_of_every_line_is_accounted_once(self) -> None:
        for order in self.shop.all_orders():
            for state in order.line_states():
                assert min(state.backordered, state.allocated, state.shipped) >= 0, (order, state)
                assert 0 <= state.cancelled <= state.quantity
                assert (
                    state.backordered + state.allocated + state.shipped + state.cancelled
                    == state.quantity
                )
            for line in order.lines:
                # A line never holds more of a SKU than its open units need.
                held: dict[str, int] = {}
                for shipment in order.shipments:
                    if shipment.status is ShipmentStatus.CANCELLED:
                        continue
                    for ln in shipment.lines:
                        if ln.line_id == line.line_id:
                            held[ln.sku] = held.get(ln.sku, 0) + ln.quantity
                for sku, units in held.items():
                    need = (line.quantity - line.cancelled) * line.components.get(sku, 0)
                    assert units <= need, (order.id, line, held)

    @invariant()
    def reservations_are_exactly_the_open_shipments(self) -> None:
        found = self.shop.all_orders()
        shipments = open_shipments(found)
        assert reserved_in_stock(self.shop.all_levels()) == carried(shipments)
        ids = [s.reservation_id for s in shipments]
        assert None not in ids
        assert len(set(ids)) == len(ids)
        assert self.shop.active_reservation_ids() == set(ids)
        for shipment in shipments:
            assert shipment.reservation_id is not None
            reservation = self.shop.inventory.get_reservation(shipment.reservation_id)
            assert reservation.status is ReservationStatus.ACTIVE
            booked: dict[tuple[str, str], int] = {}
            for line in reservation.lines:
                pair = (line.sku, line.location)
                booked[pair] = booked.get(pair, 0) + line.quantity
            assert booked == carried([shipment])
        for order in found:
            for shipment in order.shipments:
                if shipment.status is ShipmentStatus.SHIPPED:
                    assert shipment.reservation_id is not None
                    shipped = self.shop.inventory.get_reservation(shipment.reservation_id)
                    assert shipped.status is ReservationStatus.SHIPPED

    @invariant()
    def an_order_taken_twice_is_one_order_listed_by_its_real_status(self) -> None:
        with self.engine.connect() as conn:
            per_key = conn.execute(
                select(func.count())
                .select_from(orders)
                .group_by(orders.c.channel, orders.c.external_id)
            ).scalars()
            assert set(per_key) <= {1}
            waiting = {
                (int(r[0]), str(r[1])): int(r[2])
                for r in conn.execute(
                    select(order_lines.c.order_id, order_lines.c.line_id, order_lines.c.backordered)
                )
            }
        assert self.shop.order_count() == len(self.placed)
        statuses = self.shop.stored_statuses()
        for order in self.shop.all_orders():
            assert order.id is not None
            assert statuses[order.id] == order.status.value, order
            for state in order.line_states():
                assert waiting[(order.id, state.line_id)] == max(0, state.backordered)


def test_orders_never_oversell_lose_units_or_leak_reservations(engine: Engine) -> None:
    class OnThisEngine(OrderMachine):
        def __init__(self) -> None:
            super().__init__(engine)

    run_state_machine_as_test(
        OnThisEngine,
        # No shrinking: every step runs on a real database and shrinking a failing run takes
        # minutes; the steps of an unshrunk run are few enough to read.
        settings=settings(
            max_examples=examples(10),
            stateful_step_count=15,
            deadline=None,
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
        ),
    )
