"""Validators of the values that reach the inventory from people, files and channels."""

from __future__ import annotations

import pytest

from oms.inventory.domain import (
    gtin_check_digit,
    validate_barcode,
    validate_code,
    validate_postal_code,
    validate_prefecture,
    validate_quantity,
)
from oms.shared.errors import InvalidInput
from tests.builders import a_jan

# 4006381333931 and 100-0001 typed with full-width digits, as Japanese IMEs often produce.
FULL_WIDTH_EAN = "".join(chr(0xFF10 + int(d)) for d in "4006381333931")
FULL_WIDTH_POSTAL = "".join(chr(0xFF10 + int(d)) if d.isdigit() else d for d in "100-0001")


@pytest.mark.parametrize(
    "barcode",
    [
        "4006381333931",  # EAN-13, the textbook example
        "4901234567894",  # JAN-13 with a Japanese (49) prefix
        "96385074",  # JAN-8 / EAN-8
        " 4006381333931 ",  # scanners and spreadsheets add blanks
    ],
)
def test_a_barcode_with_the_right_check_digit_is_accepted(barcode: str) -> None:
    assert validate_barcode(barcode) == barcode.strip()


def test_the_check_digit_weighs_digits_three_and_one_from_the_right() -> None:
    assert gtin_check_digit("400638133393") == 1
    assert gtin_check_digit("9638507") == 4
    assert gtin_check_digit("000000000000") == 0


@pytest.mark.parametrize("wrong", ["4006381333932", "4006381333930", "96385075"])
def test_a_barcode_with_a_wrong_check_digit_is_refused(wrong: str) -> None:
    with pytest.raises(InvalidInput, match="check digit") as refused:
        validate_barcode(wrong)
    assert refused.value.field == "barcode"


def test_every_wrong_check_digit_of_a_jan_is_refused() -> None:
    jan = a_jan(1234)
    validate_barcode(jan)
    for digit in "0123456789":
        if digit != jan[-1]:
            with pytest.raises(InvalidInput):
                validate_barcode(jan[:-1] + digit)


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "400638133393",
        "40063813339311",
        "400638133393X",
        "4006-381333931",
        FULL_WIDTH_EAN,
        "²" * 8,
    ],
)
def test_a_barcode_that_is_not_8_or_13_ascii_digits_is_refused(malformed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_barcode(malformed)
    assert refused.value.field == "barcode"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("01", "01"),
        ("1", "01"),
        (1, "01"),
        ("13", "13"),
        (47, "47"),
        (" 47 ", "47"),
        ("\uff11\uff13", "13"),  # full-width 13 is still Tokyo, stored in ASCII
    ],
)
def test_a_prefecture_from_01_to_47_is_stored_as_two_digits(given: str | int, stored: str) -> None:
    assert validate_prefecture(given) == stored


@pytest.mark.parametrize("wrong", [0, "0", "00", 48, "48", "ab", "", "-1", "1.5", "²"])
def test_a_prefecture_outside_01_to_47_is_refused(wrong: str | int) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_prefecture(wrong)
    assert refused.value.field == "prefecture"


@pytest.mark.parametrize("given", ["100-0001", "1000001", " 100-0001 "])
def test_a_postal_code_with_or_without_its_hyphen_is_stored_with_it(given: str) -> None:
    assert validate_postal_code(given) == "100-0001"


@pytest.mark.parametrize(
    "wrong",
    [
        "",
        "100-001",
        "10-00001",
        "100--0001",
        "100 0001",
        "1000-001",
        "abc-defg",
        "〒100-0001",
        FULL_WIDTH_POSTAL,
    ],
)
def test_a_malformed_postal_code_is_refused(wrong: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_postal_code(wrong)
    assert refused.value.field == "postal_code"


@pytest.mark.parametrize("code", ["DC-CHIBA", "tee.blk_m", "A", "9" * 64])
def test_a_code_of_url_safe_characters_is_accepted(code: str) -> None:
    assert validate_code(f" {code} ") == code


@pytest.mark.parametrize("wrong", ["", "-LEADING", "has space", "a|b", "9" * 65, "スキュー"])
def test_a_code_with_other_characters_is_refused_naming_its_field(wrong: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_code(wrong, field_name="source")
    assert refused.value.field == "source"


@pytest.mark.parametrize("wrong", [0, -1, True, 1.0, "3"])
def test_a_quantity_must_be_a_positive_integer(wrong: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_quantity(wrong, field_name="lines[2].quantity")  # type: ignore[arg-type]
    assert refused.value.field == "lines[2].quantity"


def test_zero_is_a_quantity_only_where_allowed() -> None:
    assert validate_quantity(0, allow_zero=True) == 0
    with pytest.raises(InvalidInput):
        validate_quantity(-1, allow_zero=True)
