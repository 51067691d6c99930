"""StockLevel: the four buckets, the rules that keep them sane, and what each movement does."""

from __future__ import annotations

import pytest

from oms.inventory.domain import (
    CountShortfall,
    InsufficientStock,
    MovementType,
    StockDelta,
    StockRuleBroken,
    count_shortfall,
    delta_for,
    replay,
)
from tests.builders import a_stock_level, buckets


def test_available_is_on_hand_less_reserved_and_quarantined() -> None:
    level = a_stock_level(on_hand=10, reserved=3, quarantined=2, in_transit=7)
    assert level.available == 5


def test_applying_a_delta_moves_every_bucket_and_the_version() -> None:
    level = a_stock_level(on_hand=10, reserved=3, quarantined=2, in_transit=7, version=4)
    level.apply(StockDelta(on_hand=-1, reserved=-1, quarantined=1, in_transit=-7))
    assert buckets(level) == (9, 2, 3, 0)
    assert level.version == 5


def test_reserving_more_than_available_is_refused_and_changes_nothing() -> None:
    level = a_stock_level(on_hand=10, reserved=4, quarantined=1)
    with pytest.raises(InsufficientStock) as refused:
        level.apply(delta_for(MovementType.RESERVE, 6))
    assert refused.value.shortages == [
        {"sku": "TEE-BLK-M", "location": "DC-CHIBA", "requested": 6, "available": 5}
    ]
    assert refused.value.extra["short_lines"] == refused.value.shortages
    assert buckets(level) == (10, 4, 1, 0)
    assert level.version == 0


def test_reserving_exactly_what_is_available_is_allowed() -> None:
    level = a_stock_level(on_hand=10, reserved=4, quarantined=1)
    level.apply(delta_for(MovementType.RESERVE, 5))
    assert level.available == 0


def test_quarantining_reserved_units_is_refused() -> None:
    level = a_stock_level(on_hand=5, reserved=5)
    with pytest.raises(InsufficientStock):
        level.check(delta_for(MovementType.QUARANTINE, 1))


def test_writing_off_units_that_are_promised_is_refused() -> None:
    level = a_stock_level(on_hand=5, reserved=4)
    with pytest.raises(InsufficientStock) as refused:
        level.check(delta_for(MovementType.ADJUSTMENT, -2))
    assert refused.value.shortages[0]["requested"] == 2
    assert refused.value.shortages[0]["available"] == 1


def test_releasing_more_than_is_reserved_breaks_a_stock_rule() -> None:
    level = a_stock_level(on_hand=5, reserved=2)
    with pytest.raises(StockRuleBroken, match="reserved would become -1"):
        level.apply(delta_for(MovementType.RELEASE, 3))
    assert buckets(level) == (5, 2, 0, 0)


def test_shipping_more_than_is_reserved_breaks_a_stock_rule() -> None:
    level = a_stock_level(on_hand=10, reserved=2)
    with pytest.raises(StockRuleBroken):
        level.check(delta_for(MovementType.SHIP, 3))


def test_releasing_from_quarantine_more_than_is_held_breaks_a_stock_rule() -> None:
    level = a_stock_level(on_hand=10, quarantined=1)
    with pytest.raises(StockRuleBroken):
        level.check(delta_for(MovementType.QUARANTINE_RELEASE, 2))


def test_writing_off_more_in_transit_than_travels_breaks_a_stock_rule() -> None:
    level = a_stock_level(in_transit=3)
    with pytest.raises(StockRuleBroken):
        level.check(delta_for(MovementType.TRANSFER_SHORTFALL, 4))


def test_a_delta_that_only_frees_stock_is_allowed_even_when_available_was_negative() -> None:
    # Rows written before a rule existed may be over-committed; releasing must still work.
    level = a_stock_level(on_hand=2, reserved=3)
    level.apply(delta_for(MovementType.RELEASE, 1))
    assert level.available == 0


@pytest.mark.parametrize(
    ("movement_type", "quantity", "delta"),
    [
        (MovementType.RECEIPT, 5, StockDelta(on_hand=5)),
        (MovementType.ADJUSTMENT, -3, StockDelta(on_hand=-3)),
        (MovementType.ADJUSTMENT, 3, StockDelta(on_hand=3)),
        (MovementType.RESERVE, 2, StockDelta(reserved=2)),
        (MovementType.RELEASE, 2, StockDelta(reserved=-2)),
        (MovementType.SHIP, 2, StockDelta(on_hand=-2, reserved=-2)),
        (MovementType.TRANSFER_OUT, 4, StockDelta(on_hand=-4)),
        (MovementType.TRANSFER_DISPATCHED, 4, StockDelta(in_transit=4)),
        (MovementType.TRANSFER_SHORTFALL, 1, StockDelta(in_transit=-1)),
        (MovementType.QUARANTINE, 1, StockDelta(quarantined=1)),
        (MovementType.QUARANTINE_RELEASE, 1, StockDelta(quarantined=-1)),
    ],
)
def test_each_movement_type_changes_its_own_buckets(
    movement_type: MovementType, quantity: int, delta: StockDelta
) -> None:
    assert delta_for(movement_type, quantity) == delta


def test_a_count_changes_on_hand_by_the_variance() -> None:
    level = a_stock_level(on_hand=10)
    assert delta_for(MovementType.COUNT, 7, level=level) == StockDelta(on_hand=-3)
    assert delta_for(MovementType.COUNT, 12, level=level) == StockDelta(on_hand=2)
    assert delta_for(MovementType.COUNT, 10, level=level).is_zero


def test_a_count_without_the_current_level_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="current level"):
        delta_for(MovementType.COUNT, 7)


def test_a_transfer_receipt_is_computed_by_the_transfer_not_delta_for() -> None:
    with pytest.raises(ValueError, match="use Transfer"):
        delta_for(MovementType.TRANSFER_IN, 1)


def test_a_count_at_or_above_what_is_reserved_and_quarantined_cuts_nothing() -> None:
    level = a_stock_level(on_hand=10, reserved=4, quarantined=2)
    assert count_shortfall(level, 6, [(1, 4)]) == CountShortfall()
    assert count_shortfall(level, 12, [(1, 4)]) == CountShortfall()


def test_a_short_count_cuts_the_newest_reservations_first_and_only_what_is_missing() -> None:
    level = a_stock_level(on_hand=10, reserved=8, quarantined=0)
    # Reservation 7 is the newest: it loses all 3, then 5 (the next newest) loses 2 of 4.
    shortfall = count_shortfall(level, 3, [(2, 1), (7, 3), (5, 4)])
    assert shortfall == CountShortfall(cuts=((7, 3), (5, 2)), quarantine=0)
    assert shortfall.reserved == 5


def test_the_quarantine_is_cut_only_below_the_quarantined_units_alone() -> None:
    level = a_stock_level(on_hand=10, reserved=4, quarantined=2)
    assert count_shortfall(level, 1, [(1, 4)]) == CountShortfall(cuts=((1, 4),), quarantine=1)
    assert count_shortfall(level, 3, [(1, 4)]) == CountShortfall(cuts=((1, 3),), quarantine=0)


def test_deltas_add_up_bucket_by_bucket() -> None:
    total = StockDelta(1, 2, 3, 4) + StockDelta(-1, -2, 0, 1)
    assert total == StockDelta(0, 0, 3, 5)
    assert StockDelta().is_zero
    assert not StockDelta(in_transit=1).is_zero


def test_replaying_the_ledger_sums_per_sku_and_location() -> None:
    totals = replay(
        [
            ("A", "X", StockDelta(on_hand=5)),
            ("A", "X", StockDelta(reserved=2)),
            ("A", "Y", StockDelta(in_transit=3)),
            ("B", "X", StockDelta(on_hand=1)),
        ]
    )
    assert totals == {
        ("A", "X"): StockDelta(on_hand=5, reserved=2),
        ("A", "Y"): StockDelta(in_transit=3),
        ("B", "X"): StockDelta(on_hand=1),
    }
