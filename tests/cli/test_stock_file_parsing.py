"""Parsing stock files: pure, no database."""

from __future__ import annotations

import codecs

from oms.inventory.services.stock_file_format import (
    FileEncoding,
    RowError,
    StockRow,
    parse_stock_file,
)

# Written as escapes: ruff flags the look-alike characters themselves.
TWELVE = "\uff11\uff12"  # full-width "12", as a Japanese input method types it
STOCKTAKE = "棚卸し①\uff5e"  # ① and the full-width tilde exist in cp932, not in shift_jis


def _parse(
    text: str, encoding: FileEncoding = FileEncoding.UTF8
) -> tuple[list[StockRow], list[str]]:
    parsed = parse_stock_file(text.encode(encoding.codec), encoding)
    return parsed.rows, [str(e) for e in parsed.errors]


def test_a_row_without_type_is_a_count_and_keeps_its_spreadsheet_row_number() -> None:
    rows, errors = _parse("sku,location,quantity\nTEE-BLK-M,DC-CHIBA,7\n")
    assert errors == []
    [row] = rows
    assert (row.row, row.type, row.sku, row.location, row.quantity) == (
        2,
        "count",
        "TEE-BLK-M",
        "DC-CHIBA",
        7,
    )


def test_every_bad_row_is_reported_with_its_row_and_column() -> None:
    rows, errors = _parse(
        "sku,location,quantity,type,reason\n"
        "TEE-BLK-M,DC-CHIBA,5,receipt,\n"  # row 2: fine
        "TEE-BLK-M,DC-CHIBA,five,receipt,\n"  # row 3
        "TEE-BLK-M,DC-CHIBA,-2,count,\n"  # row 4
        "TEE-BLK-M,DC-CHIBA,-2,adjustment,\n"  # row 5: no reason
        "TEE-BLK-M,DC-CHIBA,3,gift,\n"  # row 6
        ",DC-CHIBA,3,receipt,\n"  # row 7
        "TEE-BLK-M,DC-CHIBA,-2,adjustment,damaged\n"  # row 8: fine
    )
    assert [r.row for r in rows] == [2, 8]
    assert errors[0].startswith("row 3, quantity: must be a whole number")
    assert errors[1].startswith("row 4, quantity: must not be negative")
    assert errors[2].startswith("row 5, reason: an adjustment needs a reason")
    assert errors[3].startswith("row 6, type: type must be one of")
    assert errors[4] == "row 7, sku: missing value"
    assert len(errors) == 5


def test_a_missing_header_column_is_a_row_1_error_and_no_row_is_valid() -> None:
    rows, errors = _parse("sku,quantity\nTEE-BLK-M,3\n")
    assert rows == []
    assert len(errors) == 1
    assert errors[0].startswith("row 1, location: missing column location")


def test_a_quoted_line_break_stays_in_its_row_and_blank_lines_are_skipped() -> None:
    rows, errors = _parse(
        'sku,location,quantity,type,reference\nTEE-BLK-M,DC-CHIBA,1,receipt,"two\nlines"\n'
        ",,,,\nTEE-BLK-M,DC-CHIBA,x,receipt,\n"
    )
    assert rows[0].reference == "two\nlines"
    assert errors == ["row 4, quantity: must be a whole number, got 'x'"]


def test_a_utf8_bom_extra_columns_and_full_width_digits_are_accepted() -> None:
    data = (
        codecs.BOM_UTF8 + f"SKU,Location,Quantity,note\nTEE-BLK-M,DC-CHIBA,{TWELVE},棚A\n".encode()
    )
    parsed = parse_stock_file(data, FileEncoding.UTF8)
    assert parsed.errors == []
    assert parsed.rows[0].quantity == 12


def test_an_export_header_is_read_with_on_hand_as_the_counted_quantity() -> None:
    rows, errors = _parse(
        "sku,location,on_hand,reserved,quarantined,in_transit,available\n"
        "TEE-BLK-M,DC-CHIBA,9,2,0,0,7\n"
    )
    assert errors == []
    assert (rows[0].type, rows[0].quantity) == ("count", 9)


def test_counting_the_same_item_twice_in_one_file_is_refused_on_the_second_row() -> None:
    rows, errors = _parse("sku,location,quantity\nTEE-BLK-M,DC-CHIBA,4\nTEE-BLK-M,DC-CHIBA,5\n")
    assert [r.row for r in rows] == [2]
    assert errors[0].startswith("row 3, sku: TEE-BLK-M at DC-CHIBA is counted again")


def test_shift_jis_is_read_as_cp932_so_windows_only_characters_decode() -> None:
    text = f"sku,location,quantity,reference\nTEE-BLK-M,DC-CHIBA,3,{STOCKTAKE}\n"
    parsed = parse_stock_file(text.encode("cp932"), FileEncoding.SHIFT_JIS)
    assert parsed.errors == []
    assert parsed.rows[0].reference == STOCKTAKE


def test_shift_jis_bytes_read_as_utf8_name_the_row_column_and_encoding_to_try() -> None:
    text = "sku,location,quantity,reference\nTEE-BLK-M,DC-CHIBA,3,ok\nTEE-BLK-M,DC-CHIBA,3,棚卸し\n"
    parsed = parse_stock_file(text.encode("cp932"), FileEncoding.UTF8)
    assert [r.row for r in parsed.rows] == [2]
    [error] = parsed.errors
    assert (error.row, error.column) == (3, "reference")
    assert "--encoding cp932" in error.message


def test_a_utf8_file_read_as_shift_jis_is_refused_rather_than_stored_as_mojibake() -> None:
    text = "sku,location,quantity,reference\nTEE-BLK-M,DC-CHIBA,3,棚卸し\n"
    parsed = parse_stock_file(text.encode(), FileEncoding.CP932)
    assert parsed.rows == []
    assert parsed.errors == [
        RowError(1, None, "the file is UTF-8, not Shift_JIS: use --encoding utf-8")
    ]


def test_the_same_bytes_give_the_same_idempotency_keys() -> None:
    data = b"sku,location,quantity\nTEE-BLK-M,DC-CHIBA,4\n"
    first, second = parse_stock_file(data), parse_stock_file(data)
    assert first.key(first.rows[0]) == second.key(second.rows[0])
    assert first.key(first.rows[0]).endswith(":2")
    other = parse_stock_file(data + b"TEE-BLK-L,DC-CHIBA,1\n")
    assert other.key(other.rows[0]) != first.key(first.rows[0])
