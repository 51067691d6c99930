from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from oms.inventory.domain import ReservationLine
from oms.inventory.services import InventoryService, ReserveStock
from tests.builders import a_location, a_sku, database_state, receive
from tests.cli.conftest import Oms

HEADER = "sku,location,quantity,type,reason,reference\n"
ARRIVAL = "入荷①\uff5e渋谷"  # ① and the full-width tilde: cp932 has them, strict shift_jis not


@pytest.fixture
def shop(inventory: InventoryService) -> InventoryService:
    """Two SKUs at the DC (10 and 4 on hand) and a store with nothing yet."""
    a_location(inventory, "DC-CHIBA")
    a_location(inventory, "STORE-TOKYO", kind="store", prefecture="13", postal_code="150-0041")
    a_sku(inventory, "TS-ORG-BLK-M")
    a_sku(inventory, "TS-ORG-BLK-L")
    receive(inventory, "TS-ORG-BLK-M", "DC-CHIBA", 10)
    receive(inventory, "TS-ORG-BLK-L", "DC-CHIBA", 4)
    return inventory


def on_hand(inventory: InventoryService, sku: str, location: str) -> int:
    levels = inventory.stock_levels(sku=sku, location=location).items
    return levels[0].on_hand if levels else 0


def stock_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "stock.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_counts_set_on_hand_and_receipts_add_to_it(
    oms: Oms, shop: InventoryService, tmp_path: Path
) -> None:
    path = stock_file(
        tmp_path,
        HEADER + "TS-ORG-BLK-M,DC-CHIBA,7,count,,棚卸し 2024-04\n"
        "TS-ORG-BLK-L,DC-CHIBA,5,receipt,,PO-1001\n"
        "TS-ORG-BLK-L,STORE-TOKYO,2,receipt,,\n",
    )

    result = oms("stock", "import", path)

    assert result.exit_code == 0, result.output
    assert "3 rows applied, 0 already applied, 0 skipped" in result.stdout
    assert on_hand(shop, "TS-ORG-BLK-M", "DC-CHIBA") == 7
    assert on_hand(shop, "TS-ORG-BLK-L", "DC-CHIBA") == 9
    assert on_hand(shop, "TS-ORG-BLK-L", "STORE-TOKYO") == 2
    [count] = shop.ledger(sku="TS-ORG-BLK-M", location="DC-CHIBA", limit=1).items
    assert (count.type.value, count.counted, count.quantity) == ("count", 7, -3)
    assert count.reference == "棚卸し 2024-04"


@pytest.mark.parametrize("encoding", ["shift_jis", "cp932"])
def test_a_shift_jis_file_decodes_japanese_text_including_windows_characters(
    oms: Oms, shop: InventoryService, tmp_path: Path, encoding: str
) -> None:
    path = stock_file(tmp_path, HEADER + f"TS-ORG-BLK-M,DC-CHIBA,3,receipt,,{ARRIVAL}\n", "cp932")

    result = oms("stock", "import", path, "--encoding", encoding)

    assert result.exit_code == 0, result.output
    assert on_hand(shop, "TS-ORG-BLK-M", "DC-CHIBA") == 13
    [receipt] = shop.ledger(sku="TS-ORG-BLK-M", location="DC-CHIBA", limit=1).items
    assert receipt.reference == ARRIVAL


def test_a_shift_jis_file_read_as_utf8_applies_nothing_and_says_which_encoding_to_try(
    oms: Oms, shop: InventoryService, tmp_path: Path
) -> None:
    path = stock_file(tmp_path, HEADER + "TS-ORG-BLK-M,DC-CHIBA,3,receipt,,入荷\n", "cp932")

    result = oms("stock", "import", path)

    assert result.exit_code == 1
    assert "row 2, reference: unreadable bytes" in result.stderr
    assert "--encoding cp932" in result.stderr
    assert on_hand(shop, "TS-ORG-BLK-M", "DC-CHIBA") == 10


def test_a_utf8_file_with_a_bom_is_accepted(
    oms: Oms, shop: InventoryService, tmp_path: Path
) -> None:
    path = stock_file(tmp_path, "\ufeffsku,location,quantity\nTS-ORG-BLK-M,DC-CHIBA,8\n")

    result = oms("stock", "import", path)

    assert result.exit_code == 0, result.output
    assert on_hand(shop, "TS-ORG-BLK-M", "DC-CHIBA") == 8


def test_a_file_with_one_bad_row_applies_nothing_and_names_the_row_and_column(
    oms: Oms, shop: InventoryService, tmp_path: Path
) -> None:
    path = stock_file(
        tmp_path,
        HEADER + "TS-ORG-BLK-M,DC-CHIBA,1,count,,\n"
        "TS-ORG-BLK-L,DC-CHIBA,3,receipt,,\n"
        "TS-ORG-BLK-L,DC-OSAKA,3,receipt,,\n"  # row 4: no such location
        "TS-ORG-BLK-XL,DC-CHIBA,3,receipt,,\n",  # row 5: no such SKU
    )

    result = oms("stock", "import", path)

    assert result.exit_code == 1
    assert "row 4, location: location 'DC-OSAKA' does not exist" in result.stderr
    assert "row 5, sku: SKU 'TS-ORG-BLK-XL' does not exist" in result.stderr
    assert "nothing was applied" in result.stderr
    assert on_hand(shop, "TS-ORG-BLK-M", "DC-CHIBA") == 10
    assert on_hand(shop, "TS-ORG-BLK-L", "DC-CHIBA") == 4


def test_skip_invalid_applies_the_good_rows_and_reports_the_bad(
    oms: Oms, shop: InventoryService, tmp_path: Path
) -> None:
    path = stock_file(
        tmp_path,
        HEADER + "TS-ORG-BLK-M,DC-CHIBA,1,count,,\n"
        "TS-ORG-BLK-L,DC-CHIBA,-3,adjustment,,\n"  # row 3: an adjustment needs a reason
        "TS-ORG-BLK-L,DC-CHIBA,-1,adjustment,damaged,\n",
    )

    result = oms("stock", "import", path, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "row 3, reason: an adjustment needs a reason" in result.stderr
    assert "2 rows applied, 0 already applied, 1 skipped" in result.stdout
    assert on_hand(shop, "TS-ORG-BLK-M", "DC-CHIBA") == 1
    assert on_hand(shop, "TS-ORG-BLK-L", "DC-CHIBA") == 3


def test_importing_the_same_file_again_changes_nothing(
    oms: Oms, shop: InventoryService, tmp_path: Path
) -> None:
    path = stock_file(tmp_path, HEADER + "TS-ORG-BLK-L,DC-CHIBA,5,receipt,,PO-1002\n")

    first = oms("stock", "import", path)
    movements = shop.verify().movements
    second = oms("stock", "import", path)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "0 rows applied, 1 already applied" in second.stdout
    assert "already applied" in second.stdout
    assert on_hand(shop, "TS-ORG-BLK-L", "DC-CHIBA") == 9
    assert shop.verify().movements == movements


def test_a_row_the_service_refuses_is_named_and_nothing_is_applied(
    oms: Oms, shop: InventoryService, tmp_path: Path
) -> None:
    shop.reserve(ReserveStock([ReservationLine("TS-ORG-BLK-M", "DC-CHIBA", 6)]))
    path = stock_file(
        tmp_path,
        HEADER + "TS-ORG-BLK-L,DC-CHIBA,2,receipt,,\nTS-ORG-BLK-M,DC-CHIBA,-5,adjustment,lost,\n",
    )

    refused = oms("stock", "import", path)
    skipped = oms("stock", "import", path, "--skip-invalid")

    assert refused.exit_code == 1
    assert "row 3, quantity: not enough available stock for TS-ORG-BLK-M@DC-CHIBA" in (
        refused.stderr
    )
    assert "Traceback" not in refused.output
    assert skipped.exit_code == 0, skipped.output
    assert "1 row applied, 0 already applied, 1 skipped" in skipped.stdout
    assert on_hand(shop, "TS-ORG-BLK-L", "DC-CHIBA") == 6
    assert on_hand(shop, "TS-ORG-BLK-M", "DC-CHIBA") == 10


def test_a_count_below_what_is_reserved_is_recorded_and_the_reservation_reduced(
    oms: Oms, shop: InventoryService, tmp_path: Path
) -> None:
    held = shop.reserve(ReserveStock([ReservationLine("TS-ORG-BLK-M", "DC-CHIBA", 6)]))
    path = stock_file(tmp_path, HEADER + "TS-ORG-BLK-M,DC-CHIBA,5,count,,棚卸し\n")

    result = oms("stock", "import", path)

    assert result.exit_code == 0, result.output
    assert "1 row applied" in result.stdout
    level = shop.stock_levels(sku="TS-ORG-BLK-M", location="DC-CHIBA").items[0]
    assert (level.on_hand, level.reserved) == (5, 5)
    [line] = shop.get_reservation(held.reservation.id).lines
    assert line.quantity == 5
    assert shop.verify().clean


def test_a_dry_run_refuses_the_file_the_real_import_refuses_with_the_same_words(
    oms: Oms, shop: InventoryService, tmp_path: Path, engine: Engine
) -> None:
    # The file is well formed and names known SKUs and locations: only applying it shows
    # that the adjustment takes more than is available (6 of the 10 are reserved).
    shop.reserve(ReserveStock([ReservationLine("TS-ORG-BLK-M", "DC-CHIBA", 6)]))
    path = stock_file(
        tmp_path,
        HEADER + "TS-ORG-BLK-L,DC-CHIBA,2,receipt,,\nTS-ORG-BLK-M,DC-CHIBA,-5,adjustment,lost,\n",
    )
    before = database_state(engine)

    dry = oms("stock", "import", path, "--dry-run")
    real = oms("stock", "import", path)

    assert (dry.exit_code, real.exit_code) == (1, 1)
    assert dry.stderr == real.stderr
    assert "row 3, quantity: not enough available stock" in dry.stderr
    assert database_state(engine) == before


def test_a_dry_run_answers_what_the_import_does_and_changes_nothing(
    oms: Oms, shop: InventoryService, tmp_path: Path, engine: Engine
) -> None:
    shop.reserve(ReserveStock([ReservationLine("TS-ORG-BLK-M", "DC-CHIBA", 6)]))
    path = stock_file(
        tmp_path, HEADER + "TS-ORG-BLK-L,DC-CHIBA,5,receipt,,\nTS-ORG-BLK-M,DC-CHIBA,3,count,,\n"
    )
    before = database_state(engine)

    result = oms("stock", "import", path, "--dry-run")
    unchanged = database_state(engine)
    applied = oms("stock", "import", path)

    assert result.exit_code == 0, result.output
    assert "Dry run: stock.csv: 2 rows would be applied, 0 already applied, 0 skipped" in (
        result.stdout
    )
    assert unchanged == before
    assert "stock.csv: 2 rows applied, 0 already applied, 0 skipped" in applied.stdout
    assert on_hand(shop, "TS-ORG-BLK-L", "DC-CHIBA") == 9
    assert on_hand(shop, "TS-ORG-BLK-M", "DC-CHIBA") == 3


def test_a_long_import_is_one_transaction(oms: Oms, shop: InventoryService, tmp_path: Path) -> None:
    rows = "".join("TS-ORG-BLK-L,DC-CHIBA,1,receipt,,\n" for _ in range(250))
    path = stock_file(tmp_path, HEADER + rows + "TS-ORG-BLK-M,DC-CHIBA,-11,adjustment,lost,\n")

    refused = oms("stock", "import", path)

    assert refused.exit_code == 1
    assert "row 252, quantity: not enough available stock" in refused.stderr
    assert on_hand(shop, "TS-ORG-BLK-L", "DC-CHIBA") == 4
