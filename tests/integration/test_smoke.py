from __future__ import annotations

from oms.inventory.domain import ReservationLine
from oms.inventory.services import InventoryService, ReserveStock
from tests.builders import a_location, a_sku, receive


def test_receipt_then_reservation_leaves_the_rest_available(inventory: InventoryService) -> None:
    a_location(inventory)
    a_sku(inventory)
    receive(inventory, "TEE-BLK-M", "DC-CHIBA", 10)
    inventory.reserve(ReserveStock([ReservationLine("TEE-BLK-M", "DC-CHIBA", 4)]))
    [level] = inventory.stock_levels(sku="TEE-BLK-M").items
    assert (level.on_hand, level.reserved, level.available) == (10, 4, 6)
    assert inventory.verify().clean
