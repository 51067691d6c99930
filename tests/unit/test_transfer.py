"""Transfer: draft, ship, (partial) receipts, excess and shortfall discrepancies."""

from __future__ import annotations

import pytest

from oms.inventory.domain import (
    Discrepancy,
    DiscrepancyKind,
    MovementRequest,
    MovementType,
    StockDelta,
    Transfer,
    TransferStatus,
)
from oms.shared.errors import Conflict, InvalidInput


def a_transfer(*lines: tuple[str, int], shipped: bool = True) -> Transfer:
    transfer = Transfer.draft("DC-CHIBA", "STORE-SHIBUYA", list(lines) or [("TEE", 10)], None)
    if shipped:
        transfer.ship()
    return transfer


def effects(moves: list[MovementRequest]) -> list[tuple[MovementType, str, str, StockDelta]]:
    return [(m.type, m.sku, m.location, m.delta) for m in moves]


def test_a_draft_needs_two_different_locations() -> None:
    with pytest.raises(InvalidInput) as refused:
        Transfer.draft("DC-CHIBA", "DC-CHIBA", [("TEE", 1)], None)
    assert refused.value.field == "destination"


def test_a_draft_needs_at_least_one_line() -> None:
    with pytest.raises(InvalidInput) as refused:
        Transfer.draft("DC-CHIBA", "STORE-SHIBUYA", [], None)
    assert refused.value.field == "lines"


@pytest.mark.parametrize("quantity", [0, -2])
def test_a_draft_refuses_a_line_without_a_positive_quantity(quantity: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        Transfer.draft("DC-CHIBA", "STORE-SHIBUYA", [("TEE", 1), ("CAP", quantity)], None)
    assert refused.value.field == "lines[1].quantity"


def test_a_draft_merges_repeated_skus_and_sorts_its_lines() -> None:
    transfer = Transfer.draft(
        "DC-CHIBA", "STORE-SHIBUYA", [("TEE", 2), ("CAP", 1), ("TEE", 3)], "r"
    )
    assert [(ln.sku, ln.quantity, ln.shipped) for ln in transfer.lines] == [
        ("CAP", 1, 0),
        ("TEE", 5, 0),
    ]
    assert transfer.status is TransferStatus.DRAFT


def test_shipping_takes_units_out_at_the_source_and_puts_them_in_transit_at_the_destination() -> (
    None
):
    transfer = a_transfer(("CAP", 2), ("TEE", 10), shipped=False)
    moves = transfer.ship()
    assert effects(moves) == [
        (MovementType.TRANSFER_OUT, "CAP", "DC-CHIBA", StockDelta(on_hand=-2)),
        (MovementType.TRANSFER_DISPATCHED, "CAP", "STORE-SHIBUYA", StockDelta(in_transit=2)),
        (MovementType.TRANSFER_OUT, "TEE", "DC-CHIBA", StockDelta(on_hand=-10)),
        (MovementType.TRANSFER_DISPATCHED, "TEE", "STORE-SHIBUYA", StockDelta(in_transit=10)),
    ]
    assert transfer.status is TransferStatus.SHIPPED
    assert [ln.shipped for ln in transfer.lines] == [2, 10]


def test_a_transfer_ships_only_once() -> None:
    transfer = a_transfer()
    with pytest.raises(Conflict):
        transfer.ship()


def test_a_draft_cannot_be_received() -> None:
    transfer = a_transfer(shipped=False)
    with pytest.raises(Conflict):
        transfer.receive([("TEE", 1)], close=False)


def test_a_partial_receipt_moves_in_transit_to_on_hand_and_keeps_the_transfer_open() -> None:
    transfer = a_transfer(("TEE", 10))
    effect = transfer.receive([("TEE", 4)], close=False)
    assert effects(effect.movements) == [
        (MovementType.TRANSFER_IN, "TEE", "STORE-SHIBUYA", StockDelta(on_hand=4, in_transit=-4))
    ]
    assert effect.discrepancies == []
    assert transfer.status is TransferStatus.PARTIALLY_RECEIVED
    assert transfer.lines[0].outstanding == 6


def test_receiving_the_rest_closes_the_transfer_without_discrepancies() -> None:
    transfer = a_transfer(("TEE", 10))
    transfer.receive([("TEE", 4)], close=False)
    effect = transfer.receive([("TEE", 6)], close=False)
    assert effect.discrepancies == []
    assert transfer.status is TransferStatus.RECEIVED
    assert transfer.discrepancies == []


def test_receiving_more_than_shipped_books_the_excess_and_records_it() -> None:
    transfer = a_transfer(("TEE", 10))
    transfer.receive([("TEE", 4)], close=False)
    effect = transfer.receive([("TEE", 9)], close=False)
    assert effects(effect.movements) == [
        (MovementType.TRANSFER_IN, "TEE", "STORE-SHIBUYA", StockDelta(on_hand=9, in_transit=-6))
    ]
    assert effect.discrepancies == [Discrepancy("TEE", DiscrepancyKind.EXCESS, 3, 10, 13)]
    assert transfer.status is TransferStatus.RECEIVED


def test_a_sku_that_was_not_on_the_transfer_is_booked_as_excess() -> None:
    transfer = a_transfer(("TEE", 10))
    effect = transfer.receive([("CAP", 2)], close=False)
    assert effects(effect.movements) == [
        (MovementType.TRANSFER_IN, "CAP", "STORE-SHIBUYA", StockDelta(on_hand=2))
    ]
    assert effect.discrepancies == [Discrepancy("CAP", DiscrepancyKind.EXCESS, 2, 0, 2)]
    assert transfer.status is TransferStatus.PARTIALLY_RECEIVED
    assert transfer.line("CAP") is not None


def test_closing_writes_off_what_never_arrived_as_a_shortfall() -> None:
    transfer = a_transfer(("CAP", 2), ("TEE", 10))
    transfer.receive([("TEE", 4)], close=False)
    effect = transfer.receive([("TEE", 3)], close=True)
    assert effects(effect.movements) == [
        (MovementType.TRANSFER_IN, "TEE", "STORE-SHIBUYA", StockDelta(on_hand=3, in_transit=-3)),
        (MovementType.TRANSFER_SHORTFALL, "CAP", "STORE-SHIBUYA", StockDelta(in_transit=-2)),
        (MovementType.TRANSFER_SHORTFALL, "TEE", "STORE-SHIBUYA", StockDelta(in_transit=-3)),
    ]
    assert effect.discrepancies == [
        Discrepancy("CAP", DiscrepancyKind.SHORTFALL, 2, 2, 0),
        Discrepancy("TEE", DiscrepancyKind.SHORTFALL, 3, 10, 7),
    ]
    assert transfer.status is TransferStatus.RECEIVED
    assert transfer.discrepancies == effect.discrepancies


def test_closing_with_nothing_in_hand_writes_off_everything_outstanding() -> None:
    transfer = a_transfer(("TEE", 10))
    effect = transfer.receive([], close=True)
    assert [(m.type, m.quantity) for m in effect.movements] == [
        (MovementType.TRANSFER_SHORTFALL, 10)
    ]


def test_an_empty_receipt_that_does_not_close_is_refused() -> None:
    transfer = a_transfer()
    with pytest.raises(InvalidInput):
        transfer.receive([], close=False)


def test_a_closed_transfer_cannot_be_received_again() -> None:
    transfer = a_transfer()
    transfer.receive([("TEE", 1)], close=True)
    with pytest.raises(Conflict):
        transfer.receive([("TEE", 1)], close=False)


def test_a_receipt_line_without_a_positive_quantity_is_refused() -> None:
    transfer = a_transfer()
    with pytest.raises(InvalidInput) as refused:
        transfer.receive([("TEE", 1), ("TEE", 0)], close=False)
    assert refused.value.field == "lines[1].quantity"
    assert transfer.status is TransferStatus.SHIPPED


def test_only_a_draft_can_be_cancelled() -> None:
    draft = a_transfer(shipped=False)
    draft.cancel()
    assert draft.status is TransferStatus.CANCELLED
    with pytest.raises(Conflict):
        a_transfer().cancel()
