"""A count below what is reserved: the physical truth is recorded, and the promises it breaks are
taken by the stated policy (newest reservations first, then the quarantine), on both databases.

The shop (tests/order_builders.py) wires the orders' fulfilment as the inventory's shortfall
handler, as `oms.app` does: the parcels that lose units are re-sourced in the count's
transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from oms.inventory.domain import COUNT_SHORTFALL, MovementType, ReservationStatus
from oms.inventory.services import InventoryService
from oms.orders.domain.order import OrderStatus, ShipmentStatus
from oms.orders.services.fulfilment import RejectedLine
from oms.outbox import outbox
from oms.shared.errors import Conflict, NotFound
from tests.builders import buckets, record, reserve
from tests.integration.test_orders_service import assert_books_balance
from tests.order_builders import (
    DC,
    SET,
    SHIBUYA,
    TEE,
    UMEDA,
    Shop,
    carried,
    open_shipments,
    states_of,
)


@pytest.fixture
def shop(engine: Engine) -> Shop:
    return Shop(engine).build()


def events(engine: Engine, name: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.payload).where(outbox.c.event == name).order_by(outbox.c.id)
        )
        return [dict(r.payload) for r in rows]


def count(inventory: InventoryService, sku: str, location: str, counted: int) -> None:
    record(inventory, "count", sku, location, counted, reference="cycle count A3")


def test_a_count_below_two_orders_reservations_is_recorded_and_the_newest_promise_is_cut_first(
    shop: Shop, engine: Engine
) -> None:
    shop.stock((TEE, DC, 10))
    older = shop.place((TEE, 5))
    newer = shop.place((TEE, 3))
    shop.stock((TEE, SHIBUYA, 2))  # somewhere else to source from; no worker in these tests

    count(shop.inventory, TEE, DC, 3)

    # The count is what was counted; 5 promised units had to go, the newest order's first.
    assert buckets(shop.level(TEE, DC)) == (3, 3, 0, 0)
    older, newer = shop.order(older.id), shop.order(newer.id)
    assert carried(open_shipments(older)) == {(TEE, DC): 3, (TEE, SHIBUYA): 2}
    assert older.status is OrderStatus.ALLOCATED
    assert carried(open_shipments(newer)) == {}
    assert [s.status for s in newer.shipments] == [ShipmentStatus.CANCELLED]
    assert (newer.status, states_of(newer)) == (OrderStatus.BACKORDERED, {"1": (3, 0, 0, 0)})
    # Each effect is in the ledger: two releases with their reason, then the count.
    ledger = shop.inventory.ledger(sku=TEE, location=DC, limit=4).items
    count_row, older_cut, newer_cut = ledger[0], ledger[1], ledger[2]
    assert (count_row.type, count_row.counted, count_row.quantity) == (MovementType.COUNT, 3, -7)
    assert count_row.reference == "cycle count A3"
    assert [(m.type, m.quantity, m.reason) for m in (newer_cut, older_cut)] == [
        (MovementType.RELEASE, 3, COUNT_SHORTFALL),
        (MovementType.RELEASE, 2, COUNT_SHORTFALL),
    ]
    assert f"order:{newer.id} " in (newer_cut.reference or "")
    assert f"order:{older.id} " in (older_cut.reference or "")
    # ...and in the events and the recorded decisions.
    resourced = [e["order_id"] for e in events(engine, "OrderResourced")]
    assert resourced == [older.id, newer.id]
    for order in (older, newer):
        last = shop.orders.sourcing(order.id or 0)[-1]
        assert last.trigger == "count_shortfall"
        [exclusion] = last.decision["exclusions"]
        assert (exclusion["location"], exclusion["sku"]) == (DC, TEE)
        assert "counted 3 TEE at DC-CHIBA" in exclusion["reason"]
    changed = [e for e in events(engine, "StockChanged") if "count" in e["movement_types"]]
    assert changed[-1]["movement_types"] == ["count", "release"]
    assert_books_balance(shop)


def test_a_not_found_reject_counted_below_what_other_orders_hold_is_recorded_and_resourced(
    shop: Shop,
) -> None:
    shop.stock((TEE, DC, 10))
    first = shop.place((TEE, 3))
    second = shop.place((TEE, 3))
    picked = shop.place((TEE, 1))
    shop.stock((TEE, SHIBUYA, 4))
    [at_dc] = open_shipments(picked, DC)

    after = shop.fulfilment.reject(
        at_dc.id or 0, [RejectedLine(TEE, 1, "not_found", counted=3)], actor="picker"
    )

    # The rejected parcel gave its unit back; the shelf holds 3, so 3 of the 6 the others
    # hold had to go: all of the newer order's, none of the oldest's.
    assert buckets(shop.level(TEE, DC)) == (3, 3, 0, 0)
    assert carried(open_shipments(shop.order(first.id))) == {(TEE, DC): 3}
    assert carried(open_shipments(shop.order(second.id))) == {(TEE, SHIBUYA): 3}
    assert carried(open_shipments(after)) == {(TEE, SHIBUYA): 1}
    assert shop.level(TEE, SHIBUYA).reserved == 4
    assert_books_balance(shop)


def test_a_standalone_reservation_placed_last_is_reduced_and_the_orders_keep_their_units(
    shop: Shop,
) -> None:
    shop.stock((TEE, DC, 10))
    order = shop.place((TEE, 4))
    hold = reserve(shop.inventory, (TEE, DC, 4))

    count(shop.inventory, TEE, DC, 5)

    assert buckets(shop.level(TEE, DC)) == (5, 5, 0, 0)
    kept = shop.inventory.get_reservation(hold)
    assert (kept.status, [ln.quantity for ln in kept.lines]) == (ReservationStatus.ACTIVE, [1])
    assert carried(open_shipments(shop.order(order.id))) == {(TEE, DC): 4}
    assert_books_balance_with_standalone(shop, {(TEE, DC): 1})


def test_a_count_of_nothing_releases_a_standalone_reservation_and_backorders_the_order(
    shop: Shop,
) -> None:
    shop.stock((TEE, DC, 6))
    hold = reserve(shop.inventory, (TEE, DC, 2))
    order = shop.place((TEE, 4))

    count(shop.inventory, TEE, DC, 0)

    assert buckets(shop.level(TEE, DC)) == (0, 0, 0, 0)
    assert shop.inventory.get_reservation(hold).status is ReservationStatus.RELEASED
    assert shop.order(order.id).status is OrderStatus.BACKORDERED
    assert_books_balance(shop)


def test_the_quarantine_is_cut_only_when_the_count_is_below_it_alone(shop: Shop) -> None:
    shop.stock((TEE, DC, 10))
    record(shop.inventory, "quarantine", TEE, DC, 2)
    order = shop.place((TEE, 6))

    count(shop.inventory, TEE, DC, 3)
    assert buckets(shop.level(TEE, DC)) == (3, 1, 2, 0)  # 5 of the 6 promised units cut

    count(shop.inventory, TEE, DC, 1)
    assert buckets(shop.level(TEE, DC)) == (1, 0, 1, 0)
    unheld = shop.inventory.ledger(sku=TEE, location=DC, limit=2).items[1]
    assert (unheld.type, unheld.quantity, unheld.reason) == (
        MovementType.QUARANTINE_RELEASE,
        1,
        COUNT_SHORTFALL,
    )
    assert shop.order(order.id).status is OrderStatus.BACKORDERED
    assert_books_balance(shop)


def test_a_set_shipped_together_loses_whole_sets_and_they_leave_together_from_elsewhere(
    shop: Shop,
) -> None:
    shop.stock((TEE, DC, 2), ("CAP", DC, 2), (TEE, UMEDA, 1), ("CAP", UMEDA, 1))
    order = shop.place((SET, 2), prefecture="12")  # Chiba: the DC is closest
    assert carried(open_shipments(order)) == {(TEE, DC): 2, ("CAP", DC): 2}

    count(shop.inventory, TEE, DC, 1)

    after = shop.order(order.id)
    assert carried(open_shipments(after)) == {
        (TEE, DC): 1,
        ("CAP", DC): 1,
        (TEE, UMEDA): 1,
        ("CAP", UMEDA): 1,
    }
    assert buckets(shop.level("CAP", DC)) == (2, 1, 0, 0)  # the cut set's cap goes back
    assert_books_balance(shop)


def test_a_count_at_or_above_what_is_promised_cuts_nothing(shop: Shop, engine: Engine) -> None:
    shop.stock((TEE, DC, 10))
    order = shop.place((TEE, 4))

    count(shop.inventory, TEE, DC, 4)

    assert buckets(shop.level(TEE, DC)) == (4, 4, 0, 0)
    assert carried(open_shipments(shop.order(order.id))) == {(TEE, DC): 4}
    assert events(engine, "OrderResourced") == []


def test_a_replayed_count_cuts_nothing_more(shop: Shop) -> None:
    shop.stock((TEE, DC, 10))
    shop.place((TEE, 5))
    again = record(shop.inventory, "count", TEE, DC, 3, idempotency_key="count-1")
    movements = shop.inventory.verify().movements

    replayed = record(shop.inventory, "count", TEE, DC, 3, idempotency_key="count-1")

    assert (again.replayed, replayed.replayed) == (False, True)
    assert shop.inventory.verify().movements == movements
    assert buckets(shop.level(TEE, DC)) == (3, 3, 0, 0)


# --------------------------------------------------------------------------- re-sourcing


def test_resourcing_a_backordered_order_books_the_stock_that_came_and_records_the_decision(
    shop: Shop, engine: Engine
) -> None:
    order = shop.place((TEE, 2))
    assert order.status is OrderStatus.BACKORDERED
    shop.stock((TEE, DC, 5))  # no worker here: nothing sources it on its own

    after = shop.orders.resource(order.id or 0, actor="cs-sato")

    assert after.status is OrderStatus.ALLOCATED
    assert carried(open_shipments(shop.order(order.id))) == {(TEE, DC): 2}
    assert [d.trigger for d in shop.orders.sourcing(order.id or 0)] == ["placed", "manual"]
    [resourced] = events(engine, "OrderResourced")
    assert (resourced["order_id"], resourced["status"]) == (order.id, "allocated")
    assert_books_balance(shop)


def test_resourcing_an_order_with_nothing_waiting_is_a_conflict_that_changes_nothing(
    shop: Shop, engine: Engine
) -> None:
    shop.stock((TEE, DC, 5))
    order = shop.place((TEE, 2))

    with pytest.raises(Conflict, match="nothing to re-source"):
        shop.orders.resource(order.id or 0)
    with pytest.raises(NotFound):
        shop.orders.resource(9_999)

    assert [d.trigger for d in shop.orders.sourcing(order.id or 0)] == ["placed"]
    assert events(engine, "OrderResourced") == []


def assert_books_balance_with_standalone(
    shop: Shop, standalone: dict[tuple[str, str], int]
) -> None:
    """The books balance when some stock is held by reservations that are no order's."""
    everything_open = [s for o in shop.all_orders() for s in open_shipments(o)]
    expected = carried(everything_open)
    for pair, units in standalone.items():
        expected[pair] = expected.get(pair, 0) + units
    assert {(lv.sku, lv.location): lv.reserved for lv in shop.all_levels() if lv.reserved} == (
        expected
    )
    assert shop.inventory.verify().clean
