"""Transfers between locations: draft, ship, partial receipts, close; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.inventory.domain import (
    Discrepancy,
    DiscrepancyKind,
    InsufficientStock,
    MovementType,
    TransferStatus,
)
from oms.inventory.services import CreateTransfer, InventoryService, ReceiveTransfer
from oms.shared.errors import Conflict, IdempotencyKeyReused, InvalidInput, NotFound
from tests.builders import (
    a_bundle,
    a_location,
    a_sku,
    buckets,
    database_state,
    level_of,
    receive,
    reserve,
)

DC, STORE = "DC-CHIBA", "STORE-SHIBUYA"
TEE, CAP, SOCKS = "TEE-BLK-M", "CAP-RED", "SOCKS-3P"


def a_shop(inventory: InventoryService) -> InventoryService:
    """TEE 20 and CAP 5 at the warehouse; SOCKS exist but are not on any transfer."""
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0002")
    for sku in (TEE, CAP, SOCKS):
        a_sku(inventory, sku)
    receive(inventory, TEE, DC, 20)
    receive(inventory, CAP, DC, 5)
    return inventory


def a_draft(inventory: InventoryService, *lines: tuple[str, int], key: str | None = None) -> int:
    result = inventory.create_transfer(
        CreateTransfer(DC, STORE, list(lines), reference="TR-1", idempotency_key=key)
    )
    assert result.transfer.id is not None
    return result.transfer.id


def test_a_transfer_moves_stock_step_by_step_and_records_its_discrepancies(
    inventory: InventoryService,
) -> None:
    a_shop(inventory)
    transfer_id = a_draft(inventory, (TEE, 10), (CAP, 4))
    assert inventory.get_transfer(transfer_id).status is TransferStatus.DRAFT
    assert buckets(level_of(inventory, TEE, DC)) == (20, 0, 0, 0)

    shipped = inventory.ship_transfer(transfer_id).transfer
    assert shipped.status is TransferStatus.SHIPPED
    assert buckets(level_of(inventory, TEE, DC)) == (10, 0, 0, 0)
    assert buckets(level_of(inventory, CAP, DC)) == (1, 0, 0, 0)
    assert buckets(level_of(inventory, TEE, STORE)) == (0, 0, 0, 10)
    assert buckets(level_of(inventory, CAP, STORE)) == (0, 0, 0, 4)
    assert level_of(inventory, TEE, STORE).available == 0  # in transit is not sellable

    partial = inventory.receive_transfer(ReceiveTransfer(transfer_id, [(TEE, 6)])).transfer
    assert partial.status is TransferStatus.PARTIALLY_RECEIVED
    assert buckets(level_of(inventory, TEE, STORE)) == (6, 0, 0, 4)
    assert partial.discrepancies == []

    closed = inventory.receive_transfer(
        ReceiveTransfer(transfer_id, [(TEE, 3), (CAP, 5), (SOCKS, 2)], close=True)
    ).transfer
    assert closed.status is TransferStatus.RECEIVED
    assert closed.closed_at is not None
    assert buckets(level_of(inventory, TEE, STORE)) == (9, 0, 0, 0)
    assert buckets(level_of(inventory, CAP, STORE)) == (5, 0, 0, 0)
    assert buckets(level_of(inventory, SOCKS, STORE)) == (2, 0, 0, 0)
    assert buckets(level_of(inventory, TEE, DC)) == (10, 0, 0, 0)

    stored = inventory.get_transfer(transfer_id)
    assert stored.status is TransferStatus.RECEIVED
    assert sorted(stored.discrepancies, key=lambda d: (d.sku, d.kind)) == [
        Discrepancy(CAP, DiscrepancyKind.EXCESS, 1, 4, 5),
        Discrepancy(SOCKS, DiscrepancyKind.EXCESS, 2, 0, 2),
        Discrepancy(TEE, DiscrepancyKind.SHORTFALL, 1, 10, 9),
    ]
    assert [(ln.sku, ln.shipped, ln.received) for ln in stored.lines] == [
        (CAP, 4, 5),
        (SOCKS, 0, 2),
        (TEE, 10, 9),
    ]
    shortfall = [
        m for m in inventory.ledger(sku=TEE).items if m.type is MovementType.TRANSFER_SHORTFALL
    ]
    assert [(m.location, m.quantity, m.reference) for m in shortfall] == [
        (STORE, 1, f"transfer:{transfer_id}")
    ]
    assert inventory.verify().clean


def test_receiving_everything_closes_the_transfer_by_itself(inventory: InventoryService) -> None:
    a_shop(inventory)
    transfer_id = a_draft(inventory, (TEE, 10))
    inventory.ship_transfer(transfer_id)
    inventory.receive_transfer(ReceiveTransfer(transfer_id, [(TEE, 4)]))
    done = inventory.receive_transfer(ReceiveTransfer(transfer_id, [(TEE, 6)])).transfer
    assert done.status is TransferStatus.RECEIVED
    assert done.discrepancies == []
    assert buckets(level_of(inventory, TEE, STORE)) == (10, 0, 0, 0)


def test_a_transfer_ships_only_once(inventory: InventoryService, engine: Engine) -> None:
    a_shop(inventory)
    transfer_id = a_draft(inventory, (TEE, 10))
    inventory.ship_transfer(transfer_id)
    before = database_state(engine)
    with pytest.raises(Conflict):
        inventory.ship_transfer(transfer_id)
    assert database_state(engine) == before
    assert buckets(level_of(inventory, TEE, DC)) == (10, 0, 0, 0)


def test_shipping_with_the_same_key_twice_ships_once(inventory: InventoryService) -> None:
    a_shop(inventory)
    transfer_id = a_draft(inventory, (TEE, 10))
    assert not inventory.ship_transfer(transfer_id, idempotency_key="ship-1").replayed
    again = inventory.ship_transfer(transfer_id, idempotency_key="ship-1")
    assert again.replayed
    assert again.transfer.status is TransferStatus.SHIPPED
    assert buckets(level_of(inventory, TEE, DC)) == (10, 0, 0, 0)


def test_shipping_more_than_is_available_at_the_source_is_refused(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    reserve(inventory, (CAP, DC, 3))
    transfer_id = a_draft(inventory, (TEE, 10), (CAP, 4))
    before = database_state(engine)
    with pytest.raises(InsufficientStock) as refused:
        inventory.ship_transfer(transfer_id)
    assert [(s["sku"], s["location"]) for s in refused.value.shortages] == [(CAP, DC)]
    assert database_state(engine) == before
    assert inventory.get_transfer(transfer_id).status is TransferStatus.DRAFT


def test_a_receipt_repeated_with_its_key_is_booked_once(inventory: InventoryService) -> None:
    a_shop(inventory)
    transfer_id = a_draft(inventory, (TEE, 10))
    inventory.ship_transfer(transfer_id)
    command = ReceiveTransfer(transfer_id, [(TEE, 4)], idempotency_key="rcv-1")
    inventory.receive_transfer(command)
    again = inventory.receive_transfer(command)
    assert again.replayed
    assert buckets(level_of(inventory, TEE, STORE)) == (4, 0, 0, 6)
    with pytest.raises(IdempotencyKeyReused):
        inventory.receive_transfer(
            ReceiveTransfer(transfer_id, [(TEE, 5)], idempotency_key="rcv-1")
        )


def test_creating_with_the_same_key_twice_creates_one_transfer(inventory: InventoryService) -> None:
    a_shop(inventory)
    first = a_draft(inventory, (TEE, 10), key="tr-1")
    assert a_draft(inventory, (TEE, 10), key="tr-1") == first
    with pytest.raises(NotFound):
        inventory.get_transfer(first + 1)


def test_a_draft_can_be_cancelled_but_a_shipped_transfer_cannot(
    inventory: InventoryService,
) -> None:
    a_shop(inventory)
    cancelled = a_draft(inventory, (TEE, 1))
    assert inventory.cancel_transfer(cancelled).status is TransferStatus.CANCELLED
    with pytest.raises(Conflict):
        inventory.ship_transfer(cancelled)
    shipped = a_draft(inventory, (TEE, 1))
    inventory.ship_transfer(shipped)
    with pytest.raises(Conflict):
        inventory.cancel_transfer(shipped)


def test_a_closed_transfer_cannot_be_received_again(inventory: InventoryService) -> None:
    a_shop(inventory)
    transfer_id = a_draft(inventory, (TEE, 10))
    inventory.ship_transfer(transfer_id)
    inventory.receive_transfer(ReceiveTransfer(transfer_id, [], close=True))
    assert buckets(level_of(inventory, TEE, STORE)) == (0, 0, 0, 0)
    with pytest.raises(Conflict):
        inventory.receive_transfer(ReceiveTransfer(transfer_id, [(TEE, 10)]))
    assert buckets(level_of(inventory, TEE, STORE)) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("source", "destination", "lines", "field"),
    [
        (DC, DC, [(TEE, 1)], "destination"),
        (DC, STORE, [], "lines"),
        (DC, STORE, [(TEE, 0)], "lines[0].quantity"),
        (DC, STORE, [(TEE, 1), (CAP, -1)], "lines[1].quantity"),
        (DC, STORE, [(TEE, 1), ("NO-SUCH-SKU", 1)], "lines[1].sku"),
        ("NOWHERE", STORE, [(TEE, 1)], "source"),
        (DC, "NOWHERE", [(TEE, 1)], "destination"),
    ],
)
def test_a_bad_transfer_is_refused_naming_its_field(
    inventory: InventoryService,
    engine: Engine,
    source: str,
    destination: str,
    lines: list[tuple[str, int]],
    field: str,
) -> None:
    a_shop(inventory)
    before = database_state(engine)
    with pytest.raises(InvalidInput) as refused:
        inventory.create_transfer(CreateTransfer(source, destination, lines))
    assert refused.value.field == field
    assert database_state(engine) == before


def test_a_bundle_cannot_be_transferred(inventory: InventoryService) -> None:
    a_shop(inventory)
    a_bundle(inventory, "SET", [(TEE, 1), (CAP, 1)])
    with pytest.raises(InvalidInput) as refused:
        a_draft(inventory, (TEE, 1), ("SET", 1))
    assert refused.value.field == "lines[1].sku"


def test_receiving_an_unknown_sku_is_refused_and_changes_nothing(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    transfer_id = a_draft(inventory, (TEE, 10))
    inventory.ship_transfer(transfer_id)
    before = database_state(engine)
    with pytest.raises(InvalidInput) as refused:
        inventory.receive_transfer(ReceiveTransfer(transfer_id, [(TEE, 2), ("NO-SUCH-SKU", 1)]))
    assert refused.value.field == "lines[1].sku"
    assert database_state(engine) == before
    assert inventory.get_transfer(transfer_id).status is TransferStatus.SHIPPED


def test_an_unknown_transfer_is_not_found(inventory: InventoryService) -> None:
    with pytest.raises(NotFound):
        inventory.ship_transfer(404)
    with pytest.raises(NotFound):
        inventory.receive_transfer(ReceiveTransfer(404, [(TEE, 1)]))


def test_a_blank_key_is_refused_naming_it_and_makes_no_transfer(
    inventory: InventoryService, engine: Engine
) -> None:
    # Taken as "no key" before: a caller whose key variable was unset got a second transfer on
    # every retry instead of a replay.
    a_shop(inventory)
    before = database_state(engine)
    with pytest.raises(InvalidInput) as refused:
        a_draft(inventory, (TEE, 1), key="")
    assert refused.value.field == "Idempotency-Key"
    assert database_state(engine) == before
