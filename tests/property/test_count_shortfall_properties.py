"""Hypothesis over the real services and database: random reservations (orders' parcels and
standalone holds) at one location, some quarantine, then a random count there.

Whatever they are: the count is what was counted; what is reserved and quarantined fits in
it; the newest reservations lost their units first (every reservation older than the last one
cut is whole); the ledger replays to the projection; every order's units are backordered,
allocated or shipped exactly once, and what is reserved is what the open parcels and the
standalone holds carry.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from oms.inventory.domain import ReservationStatus
from tests.builders import record, reserve
from tests.conftest import clean
from tests.examples import examples
from tests.order_builders import DC, TEE, Shop, carried, open_shipments

holds = st.lists(st.tuples(st.booleans(), st.integers(1, 4)), min_size=1, max_size=6)


def test_a_random_count_after_random_reservations_keeps_the_books(engine: Engine) -> None:
    @settings(
        max_examples=examples(8),
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(holds=holds, quarantined=st.integers(0, 3), data=st.data())
    def run(holds: list[tuple[bool, int]], quarantined: int, data: st.DataObject) -> None:
        clean(engine)
        shop = Shop(engine).build().stock((TEE, DC, 30))
        if quarantined:
            record(shop.inventory, "quarantine", TEE, DC, quarantined)
        placed: list[tuple[int, int, int | None]] = []  # (reservation id, units, order id)
        for by_order, units in holds:
            if by_order:
                order = shop.place((TEE, units), prefecture="12")
                [parcel] = open_shipments(order)
                placed.append((parcel.reservation_id or 0, units, order.id))
            else:
                placed.append((reserve(shop.inventory, (TEE, DC, units)), units, None))
        before = shop.level(TEE, DC)
        counted = data.draw(st.integers(0, before.on_hand), label="counted")

        record(shop.inventory, "count", TEE, DC, counted)

        after = shop.level(TEE, DC)
        assert after.on_hand == counted
        assert 0 <= after.reserved + after.quarantined <= after.on_hand
        assert shop.inventory.verify().clean
        # Newest first: once a reservation is cut, every older one is whole.
        left = {
            rid: sum(ln.quantity for ln in r.lines) if r.status is ReservationStatus.ACTIVE else 0
            for rid, _, order_id in placed
            if order_id is None and (r := shop.inventory.get_reservation(rid))
        }
        kept = []
        for rid, _, order_id in sorted(placed):
            if order_id is None:
                kept.append(left[rid])
            else:
                parcels = open_shipments(shop.order(order_id), DC)
                kept.append(sum(carried(parcels).values()))
        cut = [k < units for k, (_, units, _) in zip(kept, sorted(placed), strict=True)]
        if any(cut):
            newer = kept[cut.index(True) + 1 :]
            assert all(k == 0 for k in newer), (kept, placed, counted)
        # The books: what is reserved is what the parcels and the holds carry.
        orders = shop.all_orders()
        parcels_at_dc = carried(s for o in orders for s in open_shipments(o)).get((TEE, DC), 0)
        assert after.reserved == parcels_at_dc + sum(left.values())
        for order in orders:
            for state in order.line_states():
                assert state.backordered + state.allocated + state.shipped == state.quantity

    run()
