"""Parsing and writing channel rule files: pure, no database."""

from __future__ import annotations

import codecs
import io

import pytest

from oms.channels.availability.domain.rule_rows import (
    BufferRow,
    CapRow,
    DefaultSafetyStockRow,
    ExclusionRow,
    PoolRow,
    RuleRow,
    RulesEncoding,
    SafetyStockRow,
    ShareRow,
    write_rules,
)
from oms.channels.availability.domain.rules import BufferScope, Exclusion, ExclusionKind
from oms.channels.availability.domain.rules_file import (
    parse_rules_file,
)

HEADER = "rule,channel,sku,location,category,attribute,value\n"
# Written as escapes: ruff flags the look-alike characters themselves.
TEN = "\uff11\uff10"  # full-width "10", as a Japanese input method types it
OUTER = "アウター"
SALE = "セール①\uff5e"  # ① and the full-width tilde exist in cp932, not in shift_jis


def _parse(
    text: str, encoding: RulesEncoding = RulesEncoding.AUTO, codec: str = "utf-8"
) -> tuple[list[RuleRow], list[str]]:
    parsed = parse_rules_file(text.encode(codec), encoding)
    return parsed.rows, [str(e) for e in parsed.errors]


def test_each_rule_reads_into_its_own_row_numbered_as_the_spreadsheet_shows_it() -> None:
    rows, errors = _parse(
        HEADER + "safety_stock,,TEE,STORE,,,3\n"
        "default_safety_stock,,,STORE,,,2\n"
        "\n"  # a blank line keeps its number
        "exclusion,RAKUTEN,TEE,,,,add\n"
        "exclusion,RAKUTEN,,STORE,,,Remove\n"
        f"exclusion,RAKUTEN,,,{OUTER},,add\n"
        "exclusion,RAKUTEN,,,,season=2023AW,add\n"
        "pool,RAKUTEN,TEE,,,,4\n"
        "buffer,RAKUTEN,,,,,1\n"
        "buffer,RAKUTEN,TEE,,,,3\n"
        "buffer,RAKUTEN,,,tops,,2\n"
        "share,RAKUTEN,,,,,80%\n"
        "share,RAKUTEN,TEE,,,,12.5\n"
        "cap,RAKUTEN,,,,,100\n"
        f"Cap,RAKUTEN,TEE,,,,{TEN}\n"
    )
    assert errors == []
    assert rows == [
        SafetyStockRow(2, "TEE", "STORE", 3),
        DefaultSafetyStockRow(3, "STORE", 2),
        ExclusionRow(5, "RAKUTEN", Exclusion(ExclusionKind.SKU, sku="TEE"), add=True),
        ExclusionRow(6, "RAKUTEN", Exclusion(ExclusionKind.LOCATION, location="STORE"), add=False),
        ExclusionRow(
            7,
            "RAKUTEN",
            Exclusion(ExclusionKind.ATTRIBUTE, attribute="category", value=OUTER),
            add=True,
        ),
        ExclusionRow(
            8,
            "RAKUTEN",
            Exclusion(ExclusionKind.ATTRIBUTE, attribute="season", value="2023AW"),
            add=True,
        ),
        PoolRow(9, "RAKUTEN", "TEE", 4),
        BufferRow(10, "RAKUTEN", BufferScope.DEFAULT, None, 1),
        BufferRow(11, "RAKUTEN", BufferScope.SKU, "TEE", 3),
        BufferRow(12, "RAKUTEN", BufferScope.CATEGORY, "tops", 2),
        ShareRow(13, "RAKUTEN", None, 80.0),
        ShareRow(14, "RAKUTEN", "TEE", 12.5),
        CapRow(15, "RAKUTEN", None, 100),
        CapRow(16, "RAKUTEN", "TEE", 10),
    ]


def test_an_empty_value_removes_the_rule() -> None:
    rows, errors = _parse(
        HEADER + "safety_stock,,TEE,STORE,,,\n"
        "pool,RAKUTEN,TEE,,,,\n"
        "buffer,RAKUTEN,,,tops,,\n"
        "share,RAKUTEN,,,,,\n"
        "cap,RAKUTEN,TEE,,,,\n"
    )
    assert errors == []
    assert rows == [
        SafetyStockRow(2, "TEE", "STORE", None),
        PoolRow(3, "RAKUTEN", "TEE", None),
        BufferRow(4, "RAKUTEN", BufferScope.CATEGORY, "tops", None),
        ShareRow(5, "RAKUTEN", None, None),
        CapRow(6, "RAKUTEN", "TEE", None),
    ]


def test_columns_may_come_in_any_order_and_case_and_only_rule_and_value_are_required() -> None:
    rows, errors = _parse("Value,SKU,Location,Rule,Note\n3,TEE,STORE,safety_stock,for walk-ins\n")
    assert errors == []
    assert rows == [SafetyStockRow(2, "TEE", "STORE", 3)]


def test_every_bad_row_is_reported_with_its_line_and_column() -> None:
    rows, errors = _parse(
        HEADER + "cap,RAKUTEN,TEE,,,,5\n"  # line 2: fine
        "buffer,RAKUTEN,,,,,-1\n"  # line 3
        "share,RAKUTEN,,,,,100.5\n"  # line 4
        "share,RAKUTEN,,,,,eighty\n"  # line 5
        "quota,RAKUTEN,,,,,1\n"  # line 6
        "pool,RAKUTEN,,,,,1\n"  # line 7: no SKU
        "cap,,TEE,,,,1\n"  # line 8: no channel
        "cap,RAKUTEN,TEE,STORE,,,1\n"  # line 9: a cap has no location
        "pool,RAKUTEN,TEE,,,,1.5\n"  # line 10
        "exclusion,RAKUTEN,TEE,,,,yes\n"  # line 11
        "exclusion,RAKUTEN,TEE,STORE,,,add\n"  # line 12: two things at once
        "exclusion,RAKUTEN,,,,season,add\n"  # line 13: not name=value
        "safety_stock,RAKUTEN,TEE,STORE,,,1\n"  # line 14: safety stock has no channel
        "cap,RAKUTEN,bad sku,,,,1\n"  # line 15
        "buffer,RAKUTEN,TEE,,tops,,1\n"  # line 16: a SKU and a category
        "cap,RAKUTEN,TEE,,,,6\n"  # line 17: line 2's rule again
    )
    assert rows == [CapRow(2, "RAKUTEN", "TEE", 5)]
    assert errors == [
        "line 3: value: a buffer must be zero or more, got -1",
        "line 4: value: a share must be from 0 to 100 percent, got 100.5",
        "line 5: value: a share is a percent from 0 to 100, got 'eighty'",
        "line 6: rule: must be one of safety_stock, default_safety_stock, exclusion, pool, "
        "buffer, share, cap, got 'quota'",
        "line 7: sku: missing: a pool rule needs a sku",
        "line 8: channel: missing: a cap rule needs a channel",
        "line 9: location: must be empty: a cap rule has no location",
        "line 10: value: a pool is a whole number of units, got '1.5'",
        "line 11: value: an exclusion's value is add or remove, got 'yes'",
        "line 12: an exclusion names exactly one of sku, location, category or attribute",
        "line 13: attribute: must be name=value, e.g. season=2023AW, got 'season'",
        "line 14: channel: must be empty: a safety_stock rule has no channel",
        "line 15: sku: must be 1-64 characters of letters, digits, '.', '_' or '-' starting "
        "with a letter or digit, got 'bad sku'",
        "line 16: a buffer is for a sku, a category, or (neither) the channel's default",
        "line 17: the same rule as line 2: keep one line per rule",
    ]


def test_an_exclusion_and_a_category_exclusion_written_as_an_attribute_are_the_same_rule() -> None:
    rows, errors = _parse(
        HEADER + "exclusion,RAKUTEN,,,outlet,,add\nexclusion,RAKUTEN,,,,category=outlet,remove\n"
    )
    assert len(rows) == 1
    assert errors == ["line 3: the same rule as line 2: keep one line per rule"]


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (
            "rule,channel,sku,value,colour\n",
            "line 1: colour: unknown column 'colour': the columns are rule, channel, sku, "
            "location, category, attribute, value, note",
        ),
        ("rule,channel,sku\n", "line 1: value: missing column value: the header must name "),
        ("rule,value,value\n", "line 1: value: column value appears twice in the header"),
        ("", "line 1: the file is empty: the first line must be a header like rule,"),
    ],
)
def test_a_bad_header_is_a_line_1_error_and_no_row_is_read(header: str, error: str) -> None:
    rows, errors = _parse(header + "cap,RAKUTEN,TEE,1\n" if header else "")
    assert rows == []
    assert len(errors) == 1
    assert errors[0].startswith(error)


def test_a_row_longer_than_the_header_is_an_error() -> None:
    rows, errors = _parse("rule,channel,value\ncap,RAKUTEN,1,TEE\n")
    assert rows == []
    assert errors == ["line 2: has 4 values but the header has 3 columns"]


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "cp932"])
def test_utf8_with_or_without_bom_and_shift_jis_are_recognised(codec: str) -> None:
    text = HEADER + f"exclusion,RAKUTEN,,,{SALE},,add\nbuffer,RAKUTEN,,,{OUTER},,2\n"
    rows, errors = _parse(text, codec=codec)
    assert errors == []
    assert [r.exclusion.value for r in rows if isinstance(r, ExclusionRow)] == [SALE]
    assert [r.key for r in rows if isinstance(r, BufferRow)] == [OUTER]


@pytest.mark.parametrize("encoding", [RulesEncoding.SHIFT_JIS, RulesEncoding.CP932])
def test_a_file_said_to_be_shift_jis_is_read_as_cp932(encoding: RulesEncoding) -> None:
    rows, errors = _parse(HEADER + f"buffer,RAKUTEN,,,{SALE},,2\n", encoding, "cp932")
    assert errors == []
    assert rows == [BufferRow(2, "RAKUTEN", BufferScope.CATEGORY, SALE, 2)]


def test_a_utf8_file_said_to_be_shift_jis_is_refused_rather_than_garbled() -> None:
    rows, errors = _parse(HEADER + f"buffer,RAKUTEN,,,{OUTER},,2\n", RulesEncoding.SHIFT_JIS)
    assert rows == []
    assert errors == ["line 1: the file is UTF-8, not Shift_JIS"]
    bom = parse_rules_file(codecs.BOM_UTF8 + HEADER.encode(), RulesEncoding.CP932)
    assert [e.line for e in bom.errors] == [1]


def test_a_shift_jis_file_said_to_be_utf8_names_each_unreadable_line() -> None:
    text = HEADER + "cap,RAKUTEN,TEE,,,,1\n" + f"buffer,RAKUTEN,,,{OUTER},,2\n"
    rows, errors = _parse(text, RulesEncoding.UTF8, "cp932")
    assert rows == [CapRow(2, "RAKUTEN", "TEE", 1)]
    assert errors == [
        "line 3: unreadable bytes: the file is not UTF-8; it reads as Shift_JIS (cp932)"
    ]


def test_written_rows_read_back_as_the_same_rules() -> None:
    rows: list[RuleRow] = [
        SafetyStockRow(0, "TEE", "STORE", 3),
        DefaultSafetyStockRow(0, "STORE", 0),
        ExclusionRow(0, "RAKUTEN", Exclusion(ExclusionKind.SKU, sku="TEE"), add=True),
        ExclusionRow(0, "RAKUTEN", Exclusion(ExclusionKind.LOCATION, location="DC"), add=True),
        ExclusionRow(
            0,
            "RAKUTEN",
            Exclusion(ExclusionKind.ATTRIBUTE, attribute="category", value=OUTER),
            True,
        ),
        ExclusionRow(
            0, "RAKUTEN", Exclusion(ExclusionKind.ATTRIBUTE, attribute="size", value="a=b"), True
        ),
        PoolRow(0, "RAKUTEN", "TEE", 4),
        BufferRow(0, "RAKUTEN", BufferScope.DEFAULT, None, 1),
        BufferRow(0, "RAKUTEN", BufferScope.SKU, "TEE", 3),
        BufferRow(0, "RAKUTEN", BufferScope.CATEGORY, "tops", 2),
        ShareRow(0, "RAKUTEN", None, 50.0),
        ShareRow(0, "RAKUTEN", "TEE", 0.00001),
        ShareRow(0, "AMAZON", "TEE", 33.333333333333336),
        CapRow(0, "RAKUTEN", None, 100),
        CapRow(0, "RAKUTEN", "TEE", 0),
    ]
    out = io.StringIO()
    assert write_rules(rows, out) == len(rows)
    written = out.getvalue()
    assert "\r\nshare,RAKUTEN,,,,,50\r\nshare,RAKUTEN,TEE,,,,0.00001\r\n" in written
    assert f"\r\nexclusion,RAKUTEN,,,{OUTER},,add\r\n" in written
    assert "\r\nexclusion,RAKUTEN,,,,size=a=b,add\r\n" in written
    parsed = parse_rules_file(written.encode())
    assert parsed.errors == []
    assert [_without_line(r) for r in parsed.rows] == [_without_line(r) for r in rows]


def _without_line(row: RuleRow) -> tuple[object, ...]:
    fields = [getattr(row, name) for name in row.__slots__ if name != "line"]
    return (type(row), *fields)
