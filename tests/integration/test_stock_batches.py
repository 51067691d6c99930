"""A batch of movements (a stock file) is one transaction with one StockChanged per SKU."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.inventory.domain import ReservationLine
from oms.inventory.services import InventoryService, ReserveStock
from oms.shared.errors import InvalidInput
from tests.builders import (
    a_location,
    a_movement,
    a_sku,
    database_state,
    level_of,
    receive,
    stock_events,
)

TEE, CAP = "TEE-BLK-M", "CAP-RED"
DC, STORE = "DC-CHIBA", "STORE-TOKYO"


@pytest.fixture
def shop(inventory: InventoryService) -> InventoryService:
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0041")
    a_sku(inventory, TEE)
    a_sku(inventory, CAP)
    return inventory


def test_a_batch_writes_one_event_per_sku_with_every_level_it_touched(
    shop: InventoryService, engine: Engine
) -> None:
    shop.record_movements(
        [
            a_movement("receipt", TEE, STORE, 4),
            a_movement("receipt", CAP, DC, 2),
            a_movement("receipt", TEE, DC, 10),
            a_movement("count", TEE, DC, 7),
        ]
    )
    events = stock_events(engine)
    assert [(sku, seq) for sku, seq, _ in events] == [(CAP, 1), (TEE, 1)]
    tee_levels = events[1][2]["levels"]
    assert [(lv["location"], lv["on_hand"]) for lv in tee_levels] == [(DC, 7), (STORE, 4)]
    assert events[1][2]["movement_types"] == ["count", "receipt"]


def test_a_batch_returns_results_in_the_order_it_was_given(shop: InventoryService) -> None:
    results = shop.record_movements(
        [a_movement("receipt", TEE, STORE, 1), a_movement("receipt", CAP, DC, 2)]
    )
    assert [(r.movements[0].sku, r.movements[0].quantity) for r in results] == [(TEE, 1), (CAP, 2)]


def test_a_bad_row_anywhere_in_a_batch_applies_nothing_and_is_named(
    shop: InventoryService, engine: Engine
) -> None:
    receive(shop, TEE, DC, 3)
    before = database_state(engine)
    with pytest.raises(InvalidInput) as refused:
        shop.record_movements(
            [
                a_movement("receipt", TEE, DC, 5),
                a_movement("receipt", "NO-SUCH-SKU", DC, 1),
                a_movement("receipt", CAP, DC, 2),
            ]
        )
    assert refused.value.extra["index"] == 1
    assert refused.value.field == "sku"
    assert database_state(engine) == before


def test_replaying_a_batch_changes_nothing(shop: InventoryService, engine: Engine) -> None:
    batch = [a_movement("receipt", TEE, DC, 5), a_movement("count", CAP, DC, 9)]
    shop.record_movements(batch)
    before = database_state(engine)
    replay = shop.record_movements(batch)
    assert all(r.replayed for r in replay)
    assert database_state(engine) == before
    assert level_of(shop, CAP, DC).on_hand == 9


def test_a_reservation_writes_one_event_with_its_levels(
    shop: InventoryService, engine: Engine
) -> None:
    """One reservation of two lines: one StockChanged with both levels, on both databases."""
    receive(shop, TEE, STORE, 2)
    receive(shop, TEE, DC, 3)
    shop.reserve(ReserveStock([ReservationLine(TEE, STORE, 1), ReservationLine(TEE, DC, 2)]))
    sku, seq, payload = stock_events(engine)[-1]
    assert (sku, seq) == (TEE, 3)
    assert payload["movement_types"] == ["reserve"]
    assert payload["reference"].startswith("reservation:")
    assert [(lv["location"], lv["reserved"], lv["available"]) for lv in payload["levels"]] == [
        (DC, 2, 1),
        (STORE, 1, 1),
    ]
