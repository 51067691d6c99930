from __future__ import annotations

import csv
import io
from pathlib import Path

from oms.inventory.domain import ReservationLine
from oms.inventory.services import InventoryService, ReserveStock
from tests.builders import a_location, a_sku, receive
from tests.cli.conftest import Oms, messages


def a_shop(inventory: InventoryService) -> None:
    a_location(inventory, "DC-CHIBA")
    a_location(inventory, "STORE-OSAKA", kind="store", prefecture="27", postal_code="530-0001")
    for sku in ("DN-SEL-IND-30", "DN-SEL-IND-32", "TS-ORG-WHT-S"):
        a_sku(inventory, sku)
    receive(inventory, "DN-SEL-IND-30", "DC-CHIBA", 12)
    receive(inventory, "DN-SEL-IND-32", "DC-CHIBA", 3)
    receive(inventory, "TS-ORG-WHT-S", "STORE-OSAKA", 5)
    inventory.reserve(ReserveStock([ReservationLine("DN-SEL-IND-30", "DC-CHIBA", 2)]))


def test_export_writes_every_stock_level_with_its_buckets(
    oms: Oms, inventory: InventoryService
) -> None:
    a_shop(inventory)

    result = oms("stock", "export")

    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [
        ["sku", "location", "on_hand", "reserved", "quarantined", "in_transit", "available"],
        ["DN-SEL-IND-30", "DC-CHIBA", "12", "2", "0", "0", "10"],
        ["DN-SEL-IND-32", "DC-CHIBA", "3", "0", "0", "0", "3"],
        ["TS-ORG-WHT-S", "STORE-OSAKA", "5", "0", "0", "0", "5"],
    ]


def test_export_of_one_location_to_a_shift_jis_file(
    oms: Oms, inventory: InventoryService, tmp_path: Path
) -> None:
    a_shop(inventory)
    path = tmp_path / "osaka.csv"

    result = oms(
        "stock",
        "export",
        "--location",
        "STORE-OSAKA",
        "--encoding",
        "shift_jis",
        "--output",
        str(path),
    )

    assert result.exit_code == 0, result.output
    assert path.read_bytes().decode("cp932").splitlines()[1:] == [
        "TS-ORG-WHT-S,STORE-OSAKA,5,0,0,0,5"
    ]
    assert not (tmp_path / "osaka.csv.part").exists()


def test_exporting_an_unknown_location_is_a_one_line_error(
    oms: Oms, inventory: InventoryService
) -> None:
    result = oms("stock", "export", "--location", "STORE-NAGOYA")

    assert result.exit_code == 1
    assert messages(result) == "error: location: no location 'STORE-NAGOYA'"


def test_an_export_imported_back_as_counts_changes_no_stock(
    oms: Oms, inventory: InventoryService, tmp_path: Path
) -> None:
    a_shop(inventory)
    path = tmp_path / "stock.csv"
    before = oms("stock", "export", "--encoding", "cp932", "--output", str(path))

    imported = oms("stock", "import", str(path), "--encoding", "cp932")
    after = oms("stock", "export", "--encoding", "cp932")

    assert before.exit_code == 0, before.output
    assert imported.exit_code == 0, imported.output
    assert "3 rows applied, 0 already applied, 0 skipped" in imported.stdout
    assert after.stdout_bytes == path.read_bytes()
    assert inventory.verify().clean
