"""Orders through the real services, story by story, on both databases.

The shop (tests/order_builders.py): DC-CHIBA, STORE-SHIBUYA (Tokyo) and STORE-UMEDA (Osaka)
feed the channel `web`; most orders go to Tokyo, where SHIBUYA is closest. After every story the
books balance: every stock level's `reserved` is what the open shipments carry, and every line's
units are backordered, allocated, shipped or cancelled, exactly once.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from oms.orders.domain.order import Order, OrderStatus, ShipmentStatus
from oms.orders.orm import order_lines, shipments, sourcing_decisions
from oms.orders.services.fulfilment import RejectedLine
from oms.shared.errors import Conflict
from tests.builders import buckets, database_state
from tests.order_builders import (
    CAP,
    COORD,
    DC,
    OSAKA,
    PANTS,
    SET,
    SHIBUYA,
    TEE,
    UMEDA,
    Shop,
    an_order,
    carried,
    open_shipments,
    reserved_in_stock,
    states_of,
)


@pytest.fixture
def shop(engine: Engine) -> Shop:
    return Shop(engine).build()


def assert_books_balance(shop: Shop) -> None:
    orders = shop.all_orders()
    everything_open = [s for order in orders for s in open_shipments(order)]
    assert reserved_in_stock(shop.all_levels()) == carried(everything_open)
    assert shop.active_reservation_ids() == {s.reservation_id for s in everything_open}
    for order in orders:
        for state in order.line_states():
            assert min(state.backordered, state.allocated, state.shipped, state.cancelled) >= 0
            assert (
                state.backordered + state.allocated + state.shipped + state.cancelled
                == state.quantity
            )
    assert shop.inventory.verify().clean


def shipment_at(order: Order, location: str) -> int:
    [found] = open_shipments(order, location)
    assert found.id is not None
    return found.id


# --------------------------------------------------------------------------- ingest


def test_the_same_order_taken_twice_is_one_order(shop: Shop) -> None:
    shop.stock((TEE, DC, 5))
    cmd = an_order((TEE, 2))

    first = shop.place_again(cmd)
    again = shop.place_again(cmd)

    assert (first.created, again.created) == (True, False)
    assert again.order.id == first.order.id
    assert shop.order_count() == 1
    assert shop.level(TEE, DC).reserved == 2
    assert_books_balance(shop)


def test_the_same_external_id_with_other_content_is_a_conflict(shop: Shop) -> None:
    shop.stock((TEE, DC, 5))
    shop.place_again(an_order((TEE, 2), external_id="WEB-1"))

    with pytest.raises(Conflict, match="different content"):
        shop.place_again(an_order((TEE, 3), external_id="WEB-1"))

    assert shop.order_count() == 1
    assert shop.level(TEE, DC).reserved == 2


# --------------------------------------------------------------------------- sourcing


def test_a_location_that_has_the_whole_order_ships_it_alone(shop: Shop) -> None:
    # SHIBUYA is closer to Tokyo but has only the tee: one parcel from the DC beats two.
    shop.stock((TEE, SHIBUYA, 5), (TEE, DC, 5), (PANTS, DC, 5))

    order = shop.place((TEE, 1), (PANTS, 1))

    assert order.status is OrderStatus.ALLOCATED
    assert [s.location for s in order.shipments] == [DC]
    assert carried(order.shipments) == {(TEE, DC): 1, (PANTS, DC): 1}
    assert reserved_in_stock(shop.all_levels()) == {(TEE, DC): 1, (PANTS, DC): 1}
    [decision] = shop.orders.sourcing(order.id or 0)
    assert decision.trigger == "placed"
    assert_books_balance(shop)


def test_the_closest_location_ships_when_several_have_the_whole_order(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 5), (TEE, DC, 5), (TEE, UMEDA, 5))

    tokyo = shop.place((TEE, 1))
    osaka = shop.place((TEE, 1), prefecture=OSAKA)

    assert [s.location for s in tokyo.shipments] == [SHIBUYA]
    assert [s.location for s in osaka.shipments] == [UMEDA]
    assert_books_balance(shop)


def test_a_set_that_may_ship_apart_takes_tops_from_a_store_and_bottoms_from_the_dc(
    shop: Shop,
) -> None:
    shop.stock((TEE, SHIBUYA, 5), (PANTS, DC, 5))

    order = shop.place((COORD, 1))

    assert order.status is OrderStatus.ALLOCATED
    assert carried(open_shipments(order)) == {(TEE, SHIBUYA): 1, (PANTS, DC): 1}
    assert len(order.shipments) == 2
    assert states_of(order) == {"1": (0, 1, 0, 0)}
    assert_books_balance(shop)

    for location in (SHIBUYA, DC):
        shop.ship(shipment_at(order, location))

    shipped = shop.order(order.id)
    assert shipped.status is OrderStatus.SHIPPED
    assert states_of(shipped) == {"1": (0, 0, 1, 0)}
    assert buckets(shop.level(TEE, SHIBUYA)) == (4, 0, 0, 0)
    assert buckets(shop.level(PANTS, DC)) == (4, 0, 0, 0)
    assert_books_balance(shop)


def test_a_ship_together_set_leaves_whole_from_one_location(shop: Shop) -> None:
    # The DC has tops, SHIBUYA has caps, only UMEDA (far away) has both: one kit, from UMEDA.
    shop.stock((TEE, DC, 5), (CAP, SHIBUYA, 5), (TEE, UMEDA, 1), (CAP, UMEDA, 1))

    order = shop.place((SET, 2))

    assert carried(order.shipments) == {(TEE, UMEDA): 1, (CAP, UMEDA): 1}
    assert states_of(order) == {"1": (1, 1, 0, 0)}  # the second kit waits: never half a kit
    assert order.status is OrderStatus.BACKORDERED
    assert shop.level(TEE, DC).reserved == 0
    assert shop.level(CAP, SHIBUYA).reserved == 0
    assert_books_balance(shop)


def test_a_location_with_no_capacity_left_today_is_not_used(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 5), (TEE, DC, 5))
    shop.settings.set_location_shipping(SHIBUYA, priority=100, daily_capacity=0)

    order = shop.place((TEE, 1))

    assert [s.location for s in order.shipments] == [DC]
    [decision] = shop.orders.sourcing(order.id or 0)
    [line] = decision.decision["lines"]
    not_chosen = {c["location"]: c["reason"] for c in line["not_chosen"]}
    assert "capacity" in not_chosen[SHIBUYA]
    assert shop.level(TEE, SHIBUYA).reserved == 0
    assert_books_balance(shop)


def test_a_location_ships_no_more_parcels_a_day_than_its_capacity(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 5), (TEE, DC, 5))
    shop.settings.set_location_shipping(SHIBUYA, priority=100, daily_capacity=1)

    first, second = shop.place((TEE, 1)), shop.place((TEE, 1))

    assert [s.location for s in first.shipments] == [SHIBUYA]
    assert [s.location for s in second.shipments] == [DC]
    assert_books_balance(shop)


# --------------------------------------------------------------------------- backorders


def test_stock_of_one_sku_sources_only_the_orders_waiting_for_it_or_a_set_of_it(
    shop: Shop,
) -> None:
    for_pants = shop.place((PANTS, 1))
    for_set = shop.place((SET, 1))
    shop.stock((PANTS, DC, 1), (TEE, DC, 1), (CAP, DC, 1))

    assert shop.orders.source_backorders([CAP]) == 1  # CAP is in SET; PANTS is not asked
    assert shop.order(for_set.id).status is OrderStatus.ALLOCATED
    assert shop.order(for_pants.id).status is OrderStatus.BACKORDERED
    assert shop.orders.source_backorders([PANTS]) == 1
    assert shop.order(for_pants.id).status is OrderStatus.ALLOCATED
    assert_books_balance(shop)


def test_backorders_are_sourced_oldest_first_when_stock_arrives(shop: Shop) -> None:
    older = shop.place((TEE, 2))
    newer = shop.place((TEE, 1))
    assert shop.stored_statuses() == {older.id: "backordered", newer.id: "backordered"}
    assert (older.shipments, newer.shipments) == ([], [])

    shop.stock((TEE, DC, 2))
    served = shop.orders.source_backorders()

    assert served == 1
    assert states_of(shop.order(older.id)) == {"1": (0, 2, 0, 0)}
    assert states_of(shop.order(newer.id)) == {"1": (1, 0, 0, 0)}
    assert shop.stored_statuses() == {older.id: "allocated", newer.id: "backordered"}
    assert [d.trigger for d in shop.orders.sourcing(older.id or 0)] == ["placed", "backorder"]
    assert_books_balance(shop)

    shop.stock((TEE, DC, 1))
    assert shop.orders.source_backorders() == 1
    assert shop.order(newer.id).status is OrderStatus.ALLOCATED
    assert buckets(shop.level(TEE, DC)) == (3, 3, 0, 0)
    assert_books_balance(shop)


def test_a_partly_sourced_line_waits_only_for_what_is_missing(shop: Shop) -> None:
    shop.stock((TEE, DC, 2))
    order = shop.place((TEE, 3))
    assert states_of(order) == {"1": (1, 2, 0, 0)}

    shop.stock((TEE, DC, 5))
    shop.orders.source_backorders()

    after = shop.order(order.id)
    assert states_of(after) == {"1": (0, 3, 0, 0)}
    assert carried(open_shipments(after)) == {(TEE, DC): 3}  # folded into the one parcel
    assert len(after.shipments) == 1
    assert_books_balance(shop)


def test_a_set_that_may_ship_apart_reserves_each_component_once_across_backorders(
    shop: Shop,
) -> None:
    # Tops are in SHIBUYA, bottoms are out: the top is reserved now, the bottom waits.
    shop.stock((TEE, SHIBUYA, 3))
    order = shop.place((COORD, 1))
    assert carried(open_shipments(order)) == {(TEE, SHIBUYA): 1}

    shop.stock((PANTS, DC, 1))
    shop.orders.source_backorders()

    after = shop.order(order.id)
    assert states_of(after) == {"1": (0, 1, 0, 0)}
    # One set needs one top: the backorder must source only the missing bottom.
    assert carried(open_shipments(after)) == {(TEE, SHIBUYA): 1, (PANTS, DC): 1}
    assert shop.level(TEE, SHIBUYA).reserved == 1
    assert_books_balance(shop)


# --------------------------------------------------------------------------- rejections


def test_a_line_not_found_is_counted_there_and_sourced_at_another_location(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 2), (TEE, DC, 5))
    order = shop.place((TEE, 1))
    rejected_at = shipment_at(order, SHIBUYA)

    after = shop.fulfilment.reject(
        rejected_at, [RejectedLine(TEE, 1, "not_found", counted=0)], actor="picker"
    )

    assert buckets(shop.level(TEE, SHIBUYA)) == (0, 0, 0, 0)
    assert buckets(shop.level(TEE, DC)) == (5, 1, 0, 0)
    statuses = {s.location: s.status for s in shop.order(order.id).shipments}
    assert statuses == {SHIBUYA: ShipmentStatus.CANCELLED, DC: ShipmentStatus.PENDING}
    assert after.status is OrderStatus.ALLOCATED
    decision = shop.orders.sourcing(order.id or 0)[-1]
    assert decision.trigger == "rejected"
    [line] = decision.decision["lines"]
    assert [c["location"] for c in line["chosen"]] == [DC]
    not_chosen = {c["location"]: c["reason"] for c in line["not_chosen"]}
    assert "rejected" in not_chosen[SHIBUYA]
    assert "not_found" in not_chosen[SHIBUYA]
    [exclusion] = decision.decision["exclusions"]
    assert (exclusion["location"], exclusion["sku"]) == (SHIBUYA, TEE)
    assert "not_found" in exclusion["reason"]
    assert_books_balance(shop)


def test_a_damaged_unit_is_quarantined_and_the_line_sourced_elsewhere(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 3), (TEE, DC, 5))
    order = shop.place((TEE, 1))

    shop.fulfilment.reject(shipment_at(order, SHIBUYA), [RejectedLine(TEE, 1, "damaged")])

    assert buckets(shop.level(TEE, SHIBUYA)) == (3, 0, 1, 0)
    assert shop.level(TEE, SHIBUYA).available == 2
    assert carried(open_shipments(shop.order(order.id))) == {(TEE, DC): 1}
    assert shop.orders.sourcing(order.id or 0)[-1].trigger == "rejected"
    assert_books_balance(shop)


def test_a_rejected_line_nobody_else_has_waits_as_a_backorder(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 3), (PANTS, SHIBUYA, 3))
    order = shop.place((TEE, 1), (PANTS, 1))

    shop.fulfilment.reject(shipment_at(order, SHIBUYA), [RejectedLine(TEE, 1, "damaged")])

    after = shop.order(order.id)
    assert states_of(after) == {"1": (1, 0, 0, 0), "2": (0, 1, 0, 0)}
    assert carried(open_shipments(after)) == {(PANTS, SHIBUYA): 1}  # the rest still ships
    assert shop.stored_statuses()[order.id or 0] == "backordered"
    assert_books_balance(shop)


def test_rejecting_one_part_of_a_ship_together_set_sends_the_whole_set_elsewhere(
    shop: Shop,
) -> None:
    shop.stock((TEE, SHIBUYA, 2), (CAP, SHIBUYA, 2), (TEE, DC, 2), (CAP, DC, 2))
    order = shop.place((SET, 1))

    shop.fulfilment.reject(shipment_at(order, SHIBUYA), [RejectedLine(CAP, 1, "damaged")])

    assert carried(open_shipments(shop.order(order.id))) == {(TEE, DC): 1, (CAP, DC): 1}
    assert buckets(shop.level(TEE, SHIBUYA)) == (2, 0, 0, 0)
    assert buckets(shop.level(CAP, SHIBUYA)) == (2, 0, 1, 0)
    assert_books_balance(shop)


def test_rejecting_one_part_of_a_set_shipped_apart_takes_it_off_that_shipment(
    shop: Shop,
) -> None:
    shop.stock((TEE, SHIBUYA, 3), (PANTS, DC, 3), (TEE, UMEDA, 3))
    order = shop.place((COORD, 1))
    assert carried(open_shipments(order)) == {(TEE, SHIBUYA): 1, (PANTS, DC): 1}

    shop.fulfilment.reject(shipment_at(order, SHIBUYA), [RejectedLine(TEE, 1, "damaged")])

    after = shop.order(order.id)
    # The damaged top is quarantined at SHIBUYA and must not be picked there again.
    assert buckets(shop.level(TEE, SHIBUYA)) == (3, 0, 1, 0)
    assert open_shipments(after, SHIBUYA) == []
    assert carried(open_shipments(after)) == {(TEE, UMEDA): 1, (PANTS, DC): 1}
    assert_books_balance(shop)


# --------------------------------------------------------------------------- cancellation


def test_cancelling_part_of_a_line_gives_its_units_back(shop: Shop) -> None:
    shop.stock((TEE, DC, 5))
    order = shop.place((TEE, 3))

    after = shop.orders.cancel(order.id or 0, {"1": 2}, actor="cs")

    assert states_of(after) == {"1": (0, 1, 0, 2)}
    assert buckets(shop.level(TEE, DC)) == (5, 1, 0, 0)
    assert shop.level(TEE, DC).available == 4
    assert carried(open_shipments(shop.order(order.id))) == {(TEE, DC): 1}
    assert_books_balance(shop)


def test_cancelling_takes_backordered_units_before_reserved_ones(shop: Shop) -> None:
    shop.stock((TEE, DC, 2))
    order = shop.place((TEE, 3))

    after = shop.orders.cancel(order.id or 0, {"1": 1})

    assert states_of(after) == {"1": (0, 2, 0, 1)}
    assert shop.level(TEE, DC).reserved == 2
    assert shop.stored_statuses()[order.id or 0] == "allocated"
    assert_books_balance(shop)


def test_cancelling_a_whole_order_releases_every_shipment(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 1), (PANTS, DC, 1))
    order = shop.place((TEE, 2), (PANTS, 1))

    after = shop.orders.cancel(order.id or 0)

    assert after.status is OrderStatus.CANCELLED
    assert reserved_in_stock(shop.all_levels()) == {}
    assert {s.status for s in shop.order(order.id).shipments} == {ShipmentStatus.CANCELLED}
    assert shop.orders.source_backorders() == 0  # nothing waits any more
    assert_books_balance(shop)


def test_cancelling_a_set_shipped_apart_releases_both_parts(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 3), (PANTS, DC, 3))
    order = shop.place((COORD, 1))

    after = shop.orders.cancel(order.id or 0, {"1": 1})

    assert states_of(after) == {"1": (0, 0, 0, 1)}
    assert reserved_in_stock(shop.all_levels()) == {}
    assert open_shipments(shop.order(order.id)) == []
    assert_books_balance(shop)


def test_a_set_shipped_apart_cannot_be_cancelled_once_a_part_of_it_has_left(shop: Shop) -> None:
    shop.stock((TEE, SHIBUYA, 3), (PANTS, DC, 3))
    order = shop.place((COORD, 2))
    shop.ship(shipment_at(order, SHIBUYA))  # both tops have left; the bottoms wait at the DC
    assert shop.order(order.id).status is OrderStatus.PARTIALLY_SHIPPED
    before = database_state(shop.engine)

    with pytest.raises(Conflict):
        shop.orders.cancel(order.id or 0, {"1": 1})

    assert database_state(shop.engine) == before
    assert carried(open_shipments(shop.order(order.id))) == {(PANTS, DC): 2}
    assert_books_balance(shop)


def test_cancelling_shipped_units_is_a_conflict_and_changes_nothing(shop: Shop) -> None:
    shop.stock((TEE, DC, 5))
    order = shop.place((TEE, 2))
    shop.ship(shipment_at(order, DC))
    before = database_state(shop.engine)

    with pytest.raises(Conflict, match="shipped"):
        shop.orders.cancel(order.id or 0, {"1": 1})
    with pytest.raises(Conflict):
        shop.orders.cancel(order.id or 0)

    assert database_state(shop.engine) == before
    assert states_of(shop.order(order.id)) == {"1": (0, 0, 2, 0)}
    assert_books_balance(shop)


# --------------------------------------------------------------------------- refusals


def test_a_channel_that_takes_no_backorders_refuses_what_it_cannot_ship_and_writes_nothing(
    shop: Shop, engine: Engine
) -> None:
    shop.stock((TEE, DC, 1))
    shop.settings.set_sourcing_profile("web", {"allow_backorder": False})
    before = database_state(engine)

    with pytest.raises(Conflict, match="cannot ship now"):
        shop.place_again(an_order((TEE, 2)))

    assert database_state(engine) == before
    assert shop.order_count() == 0
    with engine.connect() as conn:
        for table in (order_lines, shipments, sourcing_decisions):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    # What it can ship, it takes.
    assert shop.place((TEE, 1)).status is OrderStatus.ALLOCATED
    assert_books_balance(shop)
