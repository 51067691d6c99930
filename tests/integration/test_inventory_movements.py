"""Person-entered movements (receipt, adjustment, count, quarantine) on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from oms.inventory.domain import (
    InsufficientStock,
    MovementType,
    ReservationStatus,
    StockDelta,
    StockRuleBroken,
)
from oms.inventory.services import InventoryService
from oms.shared.errors import IdempotencyKeyReused, InvalidInput
from tests.builders import (
    a_location,
    a_movement,
    a_sku,
    buckets,
    database_state,
    level_of,
    receive,
    record,
    reserve,
)

SKU, DC = "TEE-BLK-M", "DC-CHIBA"


@pytest.fixture
def stocked(inventory: InventoryService) -> InventoryService:
    """One SKU with 10 units at one warehouse."""
    a_location(inventory, DC)
    a_sku(inventory, SKU)
    receive(inventory, SKU, DC, 10)
    return inventory


def test_a_receipt_adds_to_on_hand_and_writes_one_ledger_row(inventory: InventoryService) -> None:
    a_location(inventory, DC)
    a_sku(inventory, SKU)
    result = record(inventory, "receipt", SKU, DC, 7, reference="PO-1", actor="hanako")
    [movement] = result.movements
    assert (movement.type, movement.quantity, movement.delta) == (
        MovementType.RECEIPT,
        7,
        StockDelta(on_hand=7),
    )
    assert (movement.reference, movement.actor) == ("PO-1", "hanako")
    assert [buckets(lv) for lv in result.levels] == [(7, 0, 0, 0)]
    assert not result.replayed
    assert buckets(level_of(inventory, SKU, DC)) == (7, 0, 0, 0)
    assert [m.id for m in inventory.ledger(sku=SKU).items] == [movement.id]


def test_receipts_accumulate(stocked: InventoryService) -> None:
    receive(stocked, SKU, DC, 5)
    assert level_of(stocked, SKU, DC).on_hand == 15
    assert stocked.verify().clean


def test_an_adjustment_changes_on_hand_by_its_signed_quantity(stocked: InventoryService) -> None:
    record(stocked, "adjustment", SKU, DC, -3, reason="damaged")
    record(stocked, "adjustment", SKU, DC, 1, reason="found")
    assert level_of(stocked, SKU, DC).on_hand == 8
    reasons = [m.reason for m in stocked.ledger(sku=SKU).items]
    assert reasons[:2] == ["found", "damaged"]


@pytest.mark.parametrize("reason", [None, ""])
def test_an_adjustment_without_a_reason_is_refused(
    stocked: InventoryService, engine: Engine, reason: str | None
) -> None:
    before = database_state(engine)
    with pytest.raises(InvalidInput) as refused:
        record(stocked, "adjustment", SKU, DC, -1, reason=reason)
    assert refused.value.field == "reason"
    assert database_state(engine) == before


def test_an_adjustment_with_an_unknown_reason_is_refused(stocked: InventoryService) -> None:
    with pytest.raises(InvalidInput) as refused:
        record(stocked, "adjustment", SKU, DC, -1, reason="gremlins")
    assert refused.value.field == "reason"


def test_an_adjustment_of_zero_is_refused(stocked: InventoryService) -> None:
    with pytest.raises(InvalidInput) as refused:
        record(stocked, "adjustment", SKU, DC, 0, reason="correction")
    assert refused.value.field == "quantity"


def test_writing_off_reserved_units_is_refused_and_changes_nothing(
    stocked: InventoryService, engine: Engine
) -> None:
    reserve(stocked, (SKU, DC, 8))
    before = database_state(engine)
    with pytest.raises(InsufficientStock) as refused:
        record(stocked, "adjustment", SKU, DC, -3, reason="lost")
    assert refused.value.shortages == [{"sku": SKU, "location": DC, "requested": 3, "available": 2}]
    assert database_state(engine) == before


def test_a_count_records_what_was_counted_and_books_the_variance(
    stocked: InventoryService,
) -> None:
    result = record(stocked, "count", SKU, DC, 7)
    [movement] = result.movements
    assert (movement.type, movement.counted, movement.quantity) == (MovementType.COUNT, 7, -3)
    assert movement.delta == StockDelta(on_hand=-3)
    assert level_of(stocked, SKU, DC).on_hand == 7
    up = record(stocked, "count", SKU, DC, 9).movements[0]
    assert (up.counted, up.quantity) == (9, 2)
    assert level_of(stocked, SKU, DC).on_hand == 9
    assert stocked.verify().clean


def test_a_count_that_matches_the_books_is_recorded_without_changing_stock(
    stocked: InventoryService,
) -> None:
    result = record(stocked, "count", SKU, DC, 10)
    assert [(m.counted, m.quantity) for m in result.movements] == [(10, 0)]
    assert buckets(level_of(stocked, SKU, DC)) == (10, 0, 0, 0)
    assert stocked.ledger(sku=SKU).items[0].type is MovementType.COUNT


def test_a_count_of_zero_at_a_new_location_is_recorded(stocked: InventoryService) -> None:
    a_location(stocked, "STORE-SHIBUYA", kind="store", prefecture="13", postal_code="150-0002")
    record(stocked, "count", SKU, "STORE-SHIBUYA", 0)
    assert buckets(level_of(stocked, SKU, "STORE-SHIBUYA")) == (0, 0, 0, 0)
    assert stocked.verify().clean


def test_a_count_below_what_is_reserved_is_recorded_and_cuts_the_newest_reservation_first(
    stocked: InventoryService,
) -> None:
    older = reserve(stocked, (SKU, DC, 4))
    newer = reserve(stocked, (SKU, DC, 2))
    command = a_movement("count", SKU, DC, 3)

    result = stocked.record_movement(command)

    assert buckets(level_of(stocked, SKU, DC)) == (3, 3, 0, 0)
    assert stocked.get_reservation(newer).status is ReservationStatus.RELEASED
    assert [ln.quantity for ln in stocked.get_reservation(older).lines] == [3]
    assert [(m.type, m.quantity, m.reason) for m in result.movements] == [
        (MovementType.RELEASE, 2, "count_shortfall"),
        (MovementType.RELEASE, 1, "count_shortfall"),
        (MovementType.COUNT, -7, None),
    ]
    replayed = stocked.record_movement(command)
    assert replayed.replayed
    assert replayed.movements == result.movements
    assert stocked.verify().clean


def test_a_negative_count_is_refused(stocked: InventoryService) -> None:
    with pytest.raises(InvalidInput) as refused:
        record(stocked, "count", SKU, DC, -1)
    assert refused.value.field == "quantity"


def test_quarantine_holds_units_back_from_available_until_released(
    stocked: InventoryService,
) -> None:
    record(stocked, "quarantine", SKU, DC, 4, reason="water damage")
    level = level_of(stocked, SKU, DC)
    assert (level.on_hand, level.quarantined, level.available) == (10, 4, 6)
    record(stocked, "quarantine_release", SKU, DC, 3)
    level = level_of(stocked, SKU, DC)
    assert (level.on_hand, level.quarantined, level.available) == (10, 1, 9)
    assert stocked.verify().clean


def test_quarantining_more_than_available_is_refused(stocked: InventoryService) -> None:
    reserve(stocked, (SKU, DC, 7))
    with pytest.raises(InsufficientStock):
        record(stocked, "quarantine", SKU, DC, 4)
    assert level_of(stocked, SKU, DC).quarantined == 0


def test_releasing_more_than_is_quarantined_breaks_a_stock_rule(
    stocked: InventoryService, engine: Engine
) -> None:
    record(stocked, "quarantine", SKU, DC, 2)
    before = database_state(engine)
    with pytest.raises(StockRuleBroken):
        record(stocked, "quarantine_release", SKU, DC, 3)
    assert database_state(engine) == before


@pytest.mark.parametrize("movement_type", ["reserve", "ship", "transfer_in", "teleport"])
def test_only_person_entered_movement_types_are_recorded(
    stocked: InventoryService, movement_type: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        record(stocked, movement_type, SKU, DC, 1)
    assert refused.value.field == "type"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sku": "NO-SUCH-SKU"}, "sku"),
        ({"location": "NO-SUCH-PLACE"}, "location"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -4}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"idempotency_key": "  "}, "Idempotency-Key"),
        ({"idempotency_key": "k" * 201}, "Idempotency-Key"),
    ],
)
def test_bad_input_is_refused_naming_its_field_and_changes_nothing(
    stocked: InventoryService, engine: Engine, overrides: dict[str, Any], field: str
) -> None:
    before = database_state(engine)
    with pytest.raises(InvalidInput) as refused:
        stocked.record_movement(a_movement(**{"sku": SKU, "quantity": 3, **overrides}))
    assert refused.value.field == field
    assert database_state(engine) == before


# --------------------------------------------------------------------------- idempotency


def test_repeating_a_key_returns_the_first_result_and_changes_nothing(
    stocked: InventoryService, engine: Engine
) -> None:
    command = a_movement("adjustment", SKU, DC, -2, reason="damaged")
    first = stocked.record_movement(command)
    after_first = database_state(engine)
    again = stocked.record_movement(command)
    assert again.replayed
    assert not first.replayed
    assert again.movements == first.movements
    assert again.levels == first.levels
    assert database_state(engine) == after_first
    assert level_of(stocked, SKU, DC).on_hand == 8


def test_a_replayed_count_does_not_count_again(stocked: InventoryService) -> None:
    command = a_movement("count", SKU, DC, 4)
    stocked.record_movement(command)
    receive(stocked, SKU, DC, 5)
    replayed = stocked.record_movement(command)
    assert replayed.replayed
    assert replayed.movements[0].counted == 4
    assert level_of(stocked, SKU, DC).on_hand == 9


def test_a_key_reused_for_a_different_movement_is_refused(
    stocked: InventoryService, engine: Engine
) -> None:
    command = a_movement("receipt", SKU, DC, 2)
    stocked.record_movement(command)
    before = database_state(engine)
    with pytest.raises(IdempotencyKeyReused) as refused:
        stocked.record_movement(
            a_movement("receipt", SKU, DC, 3, idempotency_key=command.idempotency_key)
        )
    assert refused.value.field == "Idempotency-Key"
    with pytest.raises(IdempotencyKeyReused):
        reserve(stocked, (SKU, DC, 1), key=command.idempotency_key)
    assert database_state(engine) == before


def test_a_refused_movement_leaves_no_trace_so_its_retry_can_succeed(
    stocked: InventoryService, engine: Engine
) -> None:
    reserve(stocked, (SKU, DC, 9))
    command = a_movement("adjustment", SKU, DC, -5, reason="theft")
    before = database_state(engine)
    with pytest.raises(InsufficientStock):
        stocked.record_movement(command)
    assert database_state(engine) == before  # no ledger row, no idempotency record
    receive(stocked, SKU, DC, 10)
    retried = stocked.record_movement(command)
    assert not retried.replayed
    assert level_of(stocked, SKU, DC).on_hand == 15
    assert stocked.verify().clean


def test_a_movement_refused_for_an_unknown_sku_can_be_retried_once_the_sku_exists(
    stocked: InventoryService,
) -> None:
    command = a_movement("receipt", "CAP-RED", DC, 3)
    with pytest.raises(InvalidInput):
        stocked.record_movement(command)
    a_sku(stocked, "CAP-RED")
    assert not stocked.record_movement(command).replayed
    assert level_of(stocked, "CAP-RED", DC).on_hand == 3


def test_a_batch_is_all_or_nothing_and_names_the_refused_line(
    stocked: InventoryService, engine: Engine
) -> None:
    before = database_state(engine)
    with pytest.raises(InsufficientStock) as refused:
        stocked.record_movements(
            [
                a_movement("receipt", SKU, DC, 5),
                a_movement("adjustment", SKU, DC, -20, reason="lost"),
            ]
        )
    assert refused.value.extra["index"] == 1
    assert database_state(engine) == before
