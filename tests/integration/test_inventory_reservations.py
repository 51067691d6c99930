"""Reservations: all lines or none, release, ship, idempotency; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.inventory.domain import InsufficientStock, ReservationLine, ReservationStatus
from oms.inventory.services import InventoryService, ReserveStock
from oms.shared.errors import Conflict, IdempotencyKeyReused, InvalidInput, NotFound
from tests.builders import (
    a_bundle,
    a_key,
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
    """Two locations, three SKUs: TEE 10 at DC and 2 at STORE, CAP 5 at DC, SOCKS 1 at DC."""
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0002")
    for sku in (TEE, CAP, SOCKS):
        a_sku(inventory, sku)
    receive(inventory, TEE, DC, 10)
    receive(inventory, TEE, STORE, 2)
    receive(inventory, CAP, DC, 5)
    receive(inventory, SOCKS, DC, 1)
    return inventory


def test_a_reservation_holds_units_back_on_every_line(inventory: InventoryService) -> None:
    a_shop(inventory)
    result = inventory.reserve(
        ReserveStock(
            [ReservationLine(TEE, DC, 3), ReservationLine(CAP, DC, 5)],
            reference="ORDER-1",
            idempotency_key=a_key(),
        )
    )
    assert result.reservation.status is ReservationStatus.ACTIVE
    assert result.reservation.lines == [ReservationLine(CAP, DC, 5), ReservationLine(TEE, DC, 3)]
    assert buckets(level_of(inventory, TEE, DC)) == (10, 3, 0, 0)
    assert level_of(inventory, CAP, DC).available == 0
    assert inventory.get_reservation(result.reservation.id) == result.reservation
    assert inventory.verify().clean


def test_repeated_lines_are_reserved_as_one(inventory: InventoryService) -> None:
    a_shop(inventory)
    reservation_id = reserve(inventory, (TEE, DC, 2), (TEE, DC, 3))
    assert inventory.get_reservation(reservation_id).lines == [ReservationLine(TEE, DC, 5)]
    assert level_of(inventory, TEE, DC).reserved == 5


def test_one_short_line_reserves_nothing_and_names_only_the_short_lines(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    before = database_state(engine)
    with pytest.raises(InsufficientStock) as refused:
        reserve(inventory, (TEE, DC, 4), (CAP, DC, 6), (SOCKS, DC, 1), (TEE, STORE, 3))
    assert sorted(refused.value.shortages, key=lambda s: (s["sku"], s["location"])) == [
        {"sku": CAP, "location": DC, "requested": 6, "available": 5},
        {"sku": TEE, "location": STORE, "requested": 3, "available": 2},
    ]
    assert refused.value.field == "lines"
    assert database_state(engine) == before
    assert level_of(inventory, TEE, DC).reserved == 0
    assert level_of(inventory, SOCKS, DC).reserved == 0


def test_reserving_where_the_sku_was_never_stocked_is_insufficient_stock(
    inventory: InventoryService,
) -> None:
    a_shop(inventory)
    with pytest.raises(InsufficientStock) as refused:
        reserve(inventory, (CAP, STORE, 1))
    assert refused.value.shortages == [
        {"sku": CAP, "location": STORE, "requested": 1, "available": 0}
    ]


def test_a_refused_reservation_can_be_retried_with_the_same_key(
    inventory: InventoryService,
) -> None:
    a_shop(inventory)
    key = a_key()
    with pytest.raises(InsufficientStock):
        reserve(inventory, (CAP, DC, 8), key=key)
    receive(inventory, CAP, DC, 3)
    reserve(inventory, (CAP, DC, 8), key=key)
    assert level_of(inventory, CAP, DC).available == 0


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (ReservationLine("NO-SUCH-SKU", DC, 1), "lines[1].sku"),
        (ReservationLine(CAP, "NO-SUCH-PLACE", 1), "lines[1].location"),
        (ReservationLine(CAP, DC, 0), "lines[1].quantity"),
        (ReservationLine(CAP, DC, -1), "lines[1].quantity"),
    ],
)
def test_a_bad_line_is_refused_by_position_and_reserves_nothing(
    inventory: InventoryService, engine: Engine, line: ReservationLine, field: str
) -> None:
    a_shop(inventory)
    before = database_state(engine)
    with pytest.raises(InvalidInput) as refused:
        inventory.reserve(ReserveStock([ReservationLine(TEE, DC, 1), line]))
    assert refused.value.field == field
    assert database_state(engine) == before


def test_a_bundle_cannot_be_reserved_directly(inventory: InventoryService) -> None:
    a_shop(inventory)
    a_bundle(inventory, "SET-TEE-CAP", [(TEE, 1), (CAP, 1)])
    with pytest.raises(InvalidInput, match="bundle") as refused:
        reserve(inventory, ("SET-TEE-CAP", DC, 1))
    assert refused.value.field == "lines[0].sku"


def test_repeating_a_reservation_key_returns_the_same_reservation_and_reserves_once(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    command = ReserveStock([ReservationLine(TEE, DC, 4)], reference="ORDER-7", idempotency_key="k1")
    first = inventory.reserve(command)
    after_first = database_state(engine)
    again = inventory.reserve(command)
    assert again.replayed
    assert not first.replayed
    assert again.reservation == first.reservation
    assert database_state(engine) == after_first
    assert level_of(inventory, TEE, DC).reserved == 4


def test_a_reservation_key_reused_for_other_lines_is_refused(inventory: InventoryService) -> None:
    a_shop(inventory)
    reserve(inventory, (TEE, DC, 4), key="k1")
    with pytest.raises(IdempotencyKeyReused):
        reserve(inventory, (TEE, DC, 5), key="k1")
    assert level_of(inventory, TEE, DC).reserved == 4


@pytest.mark.parametrize("key", ["   ", "k" * 201])
def test_a_blank_or_overlong_reservation_key_is_refused(
    inventory: InventoryService, key: str
) -> None:
    a_shop(inventory)
    with pytest.raises(InvalidInput) as refused:
        reserve(inventory, (TEE, DC, 1), key=key)
    assert refused.value.field == "Idempotency-Key"
    assert level_of(inventory, TEE, DC).reserved == 0


def test_reservations_without_a_key_are_each_applied(inventory: InventoryService) -> None:
    a_shop(inventory)
    first = reserve(inventory, (TEE, DC, 1))
    second = reserve(inventory, (TEE, DC, 1))
    assert first != second
    assert level_of(inventory, TEE, DC).reserved == 2


def test_releasing_gives_the_units_back(inventory: InventoryService) -> None:
    a_shop(inventory)
    reservation_id = reserve(inventory, (TEE, DC, 4), (CAP, DC, 2))
    released = inventory.release(reservation_id)
    assert released.status is ReservationStatus.RELEASED
    assert released.closed_at is not None
    assert level_of(inventory, TEE, DC).available == 10
    assert level_of(inventory, CAP, DC).available == 5
    assert inventory.get_reservation(reservation_id).status is ReservationStatus.RELEASED
    assert inventory.verify().clean


def test_releasing_twice_is_harmless(inventory: InventoryService, engine: Engine) -> None:
    a_shop(inventory)
    reservation_id = reserve(inventory, (TEE, DC, 4))
    inventory.release(reservation_id)
    after_first = database_state(engine)
    again = inventory.release(reservation_id)
    assert again.status is ReservationStatus.RELEASED
    assert database_state(engine) == after_first
    assert level_of(inventory, TEE, DC).reserved == 0


def test_shipping_a_reservation_takes_its_units_out_of_on_hand_and_reserved(
    inventory: InventoryService,
) -> None:
    a_shop(inventory)
    reserve(inventory, (TEE, DC, 1))
    reservation_id = reserve(inventory, (TEE, DC, 4), (TEE, STORE, 2))
    shipped = inventory.ship_reservation(reservation_id)
    assert shipped.status is ReservationStatus.SHIPPED
    assert buckets(level_of(inventory, TEE, DC)) == (6, 1, 0, 0)
    assert buckets(level_of(inventory, TEE, STORE)) == (0, 0, 0, 0)
    assert inventory.verify().clean


def test_shipping_twice_ships_once(inventory: InventoryService, engine: Engine) -> None:
    a_shop(inventory)
    reservation_id = reserve(inventory, (TEE, DC, 4))
    inventory.ship_reservation(reservation_id)
    after_first = database_state(engine)
    assert inventory.ship_reservation(reservation_id).status is ReservationStatus.SHIPPED
    assert database_state(engine) == after_first


def test_a_released_reservation_cannot_ship_and_a_shipped_one_cannot_be_released(
    inventory: InventoryService, engine: Engine
) -> None:
    a_shop(inventory)
    released = reserve(inventory, (TEE, DC, 4))
    inventory.release(released)
    shipped = reserve(inventory, (TEE, DC, 3))
    inventory.ship_reservation(shipped)
    before = database_state(engine)
    with pytest.raises(Conflict):
        inventory.ship_reservation(released)
    with pytest.raises(Conflict):
        inventory.release(shipped)
    assert database_state(engine) == before
    assert buckets(level_of(inventory, TEE, DC)) == (7, 0, 0, 0)


def test_an_unknown_reservation_is_not_found(inventory: InventoryService) -> None:
    with pytest.raises(NotFound):
        inventory.release(404)
    with pytest.raises(NotFound):
        inventory.ship_reservation(404)
    with pytest.raises(NotFound):
        inventory.get_reservation(404)
