"""The ledger: history (stock as of a time), pagination, verification, outbox events."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import Engine, text

from oms.inventory.domain import MovementType, ReservationLine, StockDelta
from oms.inventory.services import (
    CreateTransfer,
    InventoryService,
    LedgerDifference,
    LocationStock,
    ReserveStock,
)
from oms.shared.errors import InvalidInput, NotFound
from tests.builders import (
    SteppingClock,
    a_bundle,
    a_location,
    a_service,
    a_sku,
    receive,
    record,
    reserve,
    stock_events,
)

DC, STORE = "DC-CHIBA", "STORE-SHIBUYA"
TEE, CAP = "TEE-BLK-M", "CAP-RED"
JST = timezone(timedelta(hours=9))


def a_shop(inventory: InventoryService) -> InventoryService:
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0002")
    a_sku(inventory, TEE)
    a_sku(inventory, CAP)
    return inventory


# --------------------------------------------------------------------------- stock as of


def test_stock_as_of_a_past_time_shows_the_stock_then(engine: Engine) -> None:
    clock = SteppingClock()
    inventory = a_shop(a_service(engine, clock))
    before_anything = clock.advance(minutes=1)
    clock.advance(hours=1)
    receive(inventory, TEE, DC, 10)
    after_receipt = clock.now
    clock.advance(hours=1)
    reservation_id = reserve(inventory, (TEE, DC, 4))
    receive(inventory, TEE, STORE, 2)
    after_reserve = clock.now
    clock.advance(hours=1)
    inventory.ship_reservation(reservation_id)

    assert inventory.stock_as_of(TEE, before_anything).locations == []
    assert inventory.stock_as_of(TEE, after_receipt).locations == [
        LocationStock(DC, 10, 0, 0, 0, 10)
    ]
    assert inventory.stock_as_of(TEE, after_reserve + timedelta(minutes=59)).total == (
        LocationStock("*", 12, 4, 0, 0, 8)
    )
    assert inventory.stock_as_of(TEE, clock.now).locations == [
        LocationStock(DC, 6, 0, 0, 0, 6),
        LocationStock(STORE, 2, 0, 0, 0, 2),
    ]
    assert inventory.stock_as_of(TEE, clock.now) == inventory.sku_stock(TEE)


def test_stock_as_of_treats_a_time_in_another_zone_as_the_same_instant(engine: Engine) -> None:
    clock = SteppingClock()
    inventory = a_shop(a_service(engine, clock))
    receive(inventory, TEE, DC, 10)
    in_tokyo = clock.now.astimezone(JST)
    assert inventory.stock_as_of(TEE, in_tokyo).total.on_hand == 10
    assert inventory.stock_as_of(TEE, in_tokyo - timedelta(microseconds=1)).total.on_hand == 0
    naive_utc = clock.now.replace(tzinfo=None)
    assert inventory.stock_as_of(TEE, naive_utc).total.on_hand == 10


def test_a_bundles_stock_as_of_a_past_time_is_derived_from_its_components_then(
    engine: Engine,
) -> None:
    clock = SteppingClock()
    inventory = a_shop(a_service(engine, clock))
    a_bundle(inventory, "SET", [(TEE, 2), (CAP, 1)])
    receive(inventory, TEE, DC, 6)
    receive(inventory, CAP, DC, 5)
    then = clock.now
    clock.advance(days=1)
    receive(inventory, TEE, DC, 10)
    assert inventory.stock_as_of("SET", then).total.available == 3
    assert inventory.stock_as_of("SET", clock.now).total.available == 5


def test_stock_as_of_an_unknown_sku_is_not_found(inventory: InventoryService) -> None:
    with pytest.raises(NotFound):
        inventory.stock_as_of("NO-SUCH-SKU", SteppingClock().now)


# --------------------------------------------------------------------------- ledger pages


def test_the_ledger_pages_newest_first_without_gaps_or_repeats(
    inventory: InventoryService,
) -> None:
    a_shop(inventory)
    for quantity in range(1, 8):
        receive(inventory, TEE, DC, quantity)
    receive(inventory, CAP, DC, 100)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = inventory.ledger(sku=TEE, cursor=cursor, limit=3)
        seen += [m.quantity for m in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3


def test_the_ledger_filters_by_location(inventory: InventoryService) -> None:
    a_shop(inventory)
    receive(inventory, TEE, DC, 1)
    receive(inventory, TEE, STORE, 2)
    receive(inventory, CAP, STORE, 3)
    assert [m.quantity for m in inventory.ledger(location=STORE).items] == [3, 2]
    assert [m.quantity for m in inventory.ledger(sku=TEE, location=STORE).items] == [2]


def test_an_exact_last_page_has_no_next_cursor(inventory: InventoryService) -> None:
    a_shop(inventory)
    for _ in range(4):
        receive(inventory, TEE, DC, 1)
    first = inventory.ledger(limit=2)
    assert first.next_cursor is not None
    assert inventory.ledger(cursor=first.next_cursor, limit=2).next_cursor is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"cursor": "abc"}, "cursor")],
)
def test_a_bad_ledger_page_request_is_refused(
    inventory: InventoryService, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        inventory.ledger(**kwargs)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_stock_levels_page_by_sku_then_location(inventory: InventoryService) -> None:
    a_shop(inventory)
    for sku in (TEE, CAP):
        for location in (DC, STORE):
            receive(inventory, sku, location, 1)
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    while True:
        page = inventory.stock_levels(cursor=cursor, limit=3)
        seen += [(lv.sku, lv.location) for lv in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [(CAP, DC), (CAP, STORE), (TEE, DC), (TEE, STORE)]


# --------------------------------------------------------------------------- verify


def test_verify_is_clean_after_every_kind_of_movement(inventory: InventoryService) -> None:
    a_shop(inventory)
    receive(inventory, TEE, DC, 20)
    record(inventory, "adjustment", TEE, DC, -1, reason="damaged")
    record(inventory, "count", TEE, DC, 18)
    record(inventory, "quarantine", TEE, DC, 2)
    record(inventory, "quarantine_release", TEE, DC, 1)
    inventory.release(reserve(inventory, (TEE, DC, 3)))
    inventory.ship_reservation(reserve(inventory, (TEE, DC, 4)))
    transfer = inventory.create_transfer(CreateTransfer(DC, STORE, [(TEE, 5)])).transfer
    assert transfer.id is not None
    inventory.ship_transfer(transfer.id)
    report = inventory.verify()
    assert report.clean
    assert report.differences == []
    assert report.levels == 2
    assert report.movements == 11


def test_verify_detects_a_projection_changed_behind_the_ledgers_back(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    receive(inventory, TEE, DC, 10)
    receive(inventory, CAP, DC, 5)
    reserve(inventory, (TEE, DC, 2))
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE stock_levels SET on_hand = on_hand + 3, reserved = reserved + 1"
                " WHERE sku_id = (SELECT id FROM skus WHERE code = :sku)"
            ),
            {"sku": TEE},
        )
    report = inventory.verify()
    assert not report.clean
    assert report.differences == [
        LedgerDifference(
            TEE, DC, projection=StockDelta(13, 3, 0, 0), ledger=StockDelta(10, 2, 0, 0)
        )
    ]


def test_verify_detects_a_ledger_row_without_a_projection(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    receive(inventory, TEE, DC, 10)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM stock_levels"))
    [difference] = inventory.verify().differences
    assert (difference.sku, difference.location) == (TEE, DC)
    assert difference.projection == StockDelta()
    assert difference.ledger == StockDelta(on_hand=10)


# --------------------------------------------------------------------------- outbox


def test_each_transaction_writes_one_stock_changed_per_sku_numbered_per_sku(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    receive(inventory, TEE, DC, 10)  # TEE 1
    receive(inventory, TEE, STORE, 2)  # TEE 2
    receive(inventory, CAP, DC, 5)  # CAP 1
    inventory.reserve(  # TEE 3 (two locations, one event), CAP 2
        ReserveStock(
            [
                ReservationLine(TEE, DC, 1),
                ReservationLine(TEE, STORE, 1),
                ReservationLine(CAP, DC, 1),
            ]
        )
    )
    transfer = inventory.create_transfer(CreateTransfer(DC, STORE, [(TEE, 3)])).transfer
    assert transfer.id is not None
    inventory.ship_transfer(transfer.id)  # TEE 4: out at DC and in transit at STORE
    events = stock_events(engine)
    assert [(sku, seq) for sku, seq, _ in events] == [
        (TEE, 1),
        (TEE, 2),
        (CAP, 1),
        (CAP, 2),
        (TEE, 3),
        (TEE, 4),
    ]
    _, _, reserved = events[4]
    assert reserved["sku"] == TEE
    assert reserved["sequence"] == 3
    assert reserved["movement_types"] == [MovementType.RESERVE.value]
    assert [(lv["location"], lv["reserved"]) for lv in reserved["levels"]] == [(DC, 1), (STORE, 1)]
    _, _, shipped = events[5]
    assert sorted(shipped["movement_types"]) == ["transfer_dispatched", "transfer_out"]
    assert [(lv["location"], lv["on_hand"], lv["in_transit"]) for lv in shipped["levels"]] == [
        (DC, 7, 0),
        (STORE, 2, 3),
    ]


def test_refused_and_replayed_commands_write_no_events(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    receive(inventory, TEE, DC, 1)
    reserve(inventory, (TEE, DC, 1), key="k1")
    reserve(inventory, (TEE, DC, 1), key="k1")
    with pytest.raises(InvalidInput):
        reserve(inventory, (TEE, DC, 1), (CAP, "NOWHERE", 1))
    assert [(sku, seq) for sku, seq, _ in stock_events(engine)] == [(TEE, 1), (TEE, 2)]


def test_a_count_that_changes_nothing_leaves_no_gap_in_the_sequence(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    receive(inventory, TEE, DC, 5)
    record(inventory, "count", TEE, DC, 5)
    receive(inventory, TEE, DC, 1)
    assert [seq for _, seq, _ in stock_events(engine)] == [1, 2]
