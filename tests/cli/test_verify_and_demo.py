from __future__ import annotations

from sqlalchemy import Engine, update

from oms.inventory.domain import Sku, SkuKind, validate_barcode
from oms.inventory.orm import stock_levels
from oms.inventory.services import InventoryService
from tests.builders import a_location, a_sku, receive
from tests.cli.conftest import Oms


def all_skus(inventory: InventoryService) -> list[Sku]:
    skus: list[Sku] = []
    cursor: str | None = None
    while True:
        page = inventory.list_skus(cursor=cursor, limit=500)
        skus += page.items
        if (cursor := page.next_cursor) is None:
            return skus


def test_verify_of_a_consistent_inventory_exits_0(oms: Oms, inventory: InventoryService) -> None:
    a_location(inventory)
    a_sku(inventory)
    receive(inventory, "TEE-BLK-M", "DC-CHIBA", 5)

    result = oms("inventory", "verify")

    assert result.exit_code == 0, result.output
    assert "Checked 1 stock levels against 1 movements" in result.stdout
    assert "Clean" in result.stdout


def test_verify_lists_a_projection_that_drifted_from_the_ledger_and_exits_1(
    oms: Oms, inventory: InventoryService, engine: Engine
) -> None:
    a_location(inventory)
    a_sku(inventory)
    receive(inventory, "TEE-BLK-M", "DC-CHIBA", 5)
    with engine.begin() as conn:  # what a buggy writer would do
        conn.execute(update(stock_levels).values(on_hand=stock_levels.c.on_hand + 2))

    result = oms("inventory", "verify")

    assert result.exit_code == 1
    [row] = [line for line in result.stdout.splitlines() if "TEE-BLK-M" in line]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["TEE-BLK-M", "DC-CHIBA", "on_hand", "7", "5"]  # stock level, ledger


def test_demo_seed_loads_the_catalogue_with_stock_and_a_clean_ledger(
    oms: Oms, inventory: InventoryService
) -> None:
    result = oms("demo", "seed")

    assert result.exit_code == 0, result.output
    skus = all_skus(inventory)
    bundles = [s for s in skus if s.kind is SkuKind.BUNDLE]
    assert 180 <= len(skus) <= 220
    assert len(bundles) == 1
    assert bundles[0].ship_together is False
    assert all(s.barcode and validate_barcode(s.barcode) for s in skus)
    assert all(s.barcode.startswith("45") for s in skus if s.barcode)
    assert {"style", "colour", "size", "category"} <= set(skus[0].attributes)
    locations = {loc.code: loc for loc in inventory.list_locations().items}
    assert set(locations) == {
        "STORE-TOKYO",
        "STORE-OSAKA",
        "DC-CHIBA",
        "FACTORY-OKAYAMA",
        "AMAZON-FC",
    }
    assert locations["FACTORY-OKAYAMA"].ships_to_customers is False
    by_location: dict[str, int] = {}
    for code in locations:
        for level in inventory.stock_levels(location=code, limit=500).items:
            by_location[code] = by_location.get(code, 0) + level.on_hand
    assert max(by_location, key=lambda c: by_location[c]) == "DC-CHIBA"
    assert all(by_location.get(code, 0) > 0 for code in locations)
    bundle_stock = inventory.sku_stock(bundles[0].code)
    assert bundle_stock.total.available > 0
    assert oms("inventory", "verify").exit_code == 0


def test_seeding_the_demo_twice_changes_nothing(oms: Oms, inventory: InventoryService) -> None:
    first = oms("demo", "seed")
    report = inventory.verify()
    export = oms("stock", "export").stdout
    skus = len(all_skus(inventory))

    second = oms("demo", "seed")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert inventory.verify() == report
    assert oms("stock", "export").stdout == export
    assert len(all_skus(inventory)) == skus
    assert "0 units received" in second.stdout
