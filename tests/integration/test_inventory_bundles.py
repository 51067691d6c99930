"""Bundles hold no stock; their availability is derived from their components."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.inventory.domain import SkuKind
from oms.inventory.services import InventoryService, LocationStock, UpdateSku
from oms.shared.errors import InvalidInput, NotFound
from tests.builders import (
    a_bundle,
    a_location,
    a_movement,
    a_sku,
    database_state,
    receive,
    record,
    reserve,
)

DC, STORE, OSAKA = "DC-CHIBA", "STORE-SHIBUYA", "STORE-UMEDA"
TEE, CAP, SOCKS = "TEE-BLK-M", "CAP-RED", "SOCKS-3P"


def a_catalogue(inventory: InventoryService) -> None:
    """SET = 2 TEE + 1 CAP; GIFT = 1 SET + 3 SOCKS (a bundle inside a bundle)."""
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0002")
    a_location(inventory, OSAKA, kind="store", prefecture="27", postal_code="530-0017")
    for sku in (TEE, CAP, SOCKS):
        a_sku(inventory, sku)
    a_bundle(inventory, "SET", [(TEE, 2), (CAP, 1)])
    a_bundle(inventory, "GIFT", [("SET", 1), (SOCKS, 3)])


@pytest.mark.parametrize("movement_type", ["receipt", "adjustment", "count", "quarantine"])
def test_a_movement_on_a_bundle_is_refused_because_it_holds_no_stock(
    inventory: InventoryService, engine: Engine, movement_type: str
) -> None:
    a_catalogue(inventory)
    before = database_state(engine)
    with pytest.raises(InvalidInput, match="bundle") as refused:
        inventory.record_movement(a_movement(movement_type, "SET", DC, 1))
    assert refused.value.field == "sku"
    assert database_state(engine) == before


def test_a_bundle_is_available_where_all_its_components_are(inventory: InventoryService) -> None:
    a_catalogue(inventory)
    receive(inventory, TEE, DC, 7)
    receive(inventory, CAP, DC, 10)
    receive(inventory, TEE, STORE, 4)  # no CAP at the store
    receive(inventory, CAP, OSAKA, 1)  # no TEE in Osaka
    reserve(inventory, (CAP, DC, 8))
    stock = inventory.sku_stock("SET")
    assert stock.kind is SkuKind.BUNDLE
    assert stock.components == {TEE: 2, CAP: 1}
    assert {ls.location: ls.available for ls in stock.locations} == {DC: 2, STORE: 0, OSAKA: 0}
    # In total: 11 TEE (5 bundles) and 3 CAP anywhere.
    assert stock.total == LocationStock("*", 0, 0, 0, 0, 3)


def test_a_nested_bundle_counts_the_components_of_its_inner_bundles(
    inventory: InventoryService,
) -> None:
    a_catalogue(inventory)
    receive(inventory, TEE, DC, 9)
    receive(inventory, CAP, DC, 4)
    receive(inventory, SOCKS, DC, 13)
    receive(inventory, TEE, STORE, 2)
    receive(inventory, CAP, STORE, 1)
    receive(inventory, SOCKS, STORE, 3)
    stock = inventory.sku_stock("GIFT")
    assert stock.components == {TEE: 2, CAP: 1, SOCKS: 3}
    assert {ls.location: ls.available for ls in stock.locations} == {DC: 4, STORE: 1}
    assert stock.total.available == 5  # 11 TEE, 5 CAP, 16 SOCKS
    record(inventory, "quarantine", SOCKS, DC, 2)
    assert {ls.location: ls.available for ls in inventory.sku_stock("GIFT").locations} == {
        DC: 3,
        STORE: 1,
    }


def test_a_bundle_of_components_never_stocked_is_unavailable(inventory: InventoryService) -> None:
    a_catalogue(inventory)
    stock = inventory.sku_stock("GIFT")
    assert stock.locations == []
    assert stock.total.available == 0


def test_a_simple_skus_stock_lists_each_location_and_the_total(
    inventory: InventoryService,
) -> None:
    a_catalogue(inventory)
    receive(inventory, TEE, DC, 7)
    receive(inventory, TEE, STORE, 3)
    reserve(inventory, (TEE, DC, 2))
    record(inventory, "quarantine", TEE, STORE, 1)
    stock = inventory.sku_stock(TEE)
    assert stock.locations == [
        LocationStock(DC, 7, 2, 0, 0, 5),
        LocationStock(STORE, 3, 0, 1, 0, 2),
    ]
    assert stock.total == LocationStock("*", 10, 2, 1, 0, 7)


def test_the_stock_of_an_unknown_sku_is_not_found(inventory: InventoryService) -> None:
    with pytest.raises(NotFound):
        inventory.sku_stock("NO-SUCH-SKU")


def test_a_bundle_that_would_contain_itself_through_another_is_refused(
    inventory: InventoryService,
) -> None:
    a_catalogue(inventory)
    with pytest.raises(InvalidInput, match="contain itself"):
        inventory.update_sku(UpdateSku("SET", components=[(TEE, 2), ("GIFT", 1)]))
    assert inventory.sku_stock("SET").components == {TEE: 2, CAP: 1}


def test_a_bundle_of_an_unknown_component_is_refused(inventory: InventoryService) -> None:
    a_catalogue(inventory)
    with pytest.raises(InvalidInput) as refused:
        a_bundle(inventory, "DUO", [(TEE, 1), ("NO-SUCH-SKU", 1)])
    assert refused.value.field == "components[1].sku"
