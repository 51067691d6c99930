"""Listings follow each channel's identifier rules; the listings file is checked row by row."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms.channels.sync.domain.listings import (
    ListingsEncoding,
    check_listing,
    parse_listings_file,
)
from oms.channels.sync.domain.model import ChannelKind, ListingRef
from oms.shared.errors import InvalidInput


def test_identifiers_are_stored_as_each_channel_knows_them() -> None:
    assert check_listing(ChannelKind.RAKUTEN, "S", "TShirt_001", "Red-M") == ListingRef(
        "S", "tshirt_001", "Red-M"
    )
    assert check_listing(ChannelKind.STOREFRONT, "S", "0042").remote_id == (
        "gid://shopify/InventoryItem/42"
    )
    assert check_listing(ChannelKind.AMAZON, "S", "A" * 40) == ListingRef("S", "A" * 40)


@given(st.text(max_size=60))
def test_any_text_is_a_listing_or_an_error_naming_its_field(remote_id: str) -> None:
    for kind in ChannelKind:
        variant = "v" if kind is ChannelKind.RAKUTEN else None
        refused: InvalidInput | None = None
        try:
            ref = check_listing(kind, "S", remote_id, variant)
        except InvalidInput as error:
            refused = error
        if refused is not None:
            assert refused.field == "remote_id"
            continue
        assert ref.remote_id
        assert ref.remote_id.isprintable()


@pytest.mark.parametrize("encoding", [ListingsEncoding.AUTO, ListingsEncoding.SHIFT_JIS])
def test_a_shift_jis_file_reads_as_it_was_written(encoding: ListingsEncoding) -> None:
    data = "SKU,Remote_ID,remote_variant\r\nS1,t-1,赤-M\r\n\r\nS2,t-1,白-\uff2c\r\n".encode("cp932")

    parsed = parse_listings_file(data, ChannelKind.RAKUTEN, encoding)

    assert parsed.errors == []
    assert [(r.line, r.ref) for r in parsed.rows] == [
        (2, ListingRef("S1", "t-1", "赤-M")),
        (4, ListingRef("S2", "t-1", "白-\uff2c")),
    ]


def test_a_utf8_file_given_as_shift_jis_is_refused_not_read_as_mojibake() -> None:
    data = "sku,remote_id,remote_variant\nS1,t-1,赤-M\n".encode()

    parsed = parse_listings_file(data, ChannelKind.RAKUTEN, ListingsEncoding.SHIFT_JIS)

    assert parsed.rows == []
    assert [str(e) for e in parsed.errors] == ["line 1: the file is UTF-8, not Shift_JIS"]


def test_the_same_sku_or_channel_item_twice_names_the_later_line() -> None:
    data = b"sku,remote_id\nS1,A\nS1,B\nS2,A\n"

    parsed = parse_listings_file(data, ChannelKind.AMAZON)

    assert [(e.line, e.column) for e in parsed.errors] == [(3, "sku"), (4, "remote_id")]
    assert [r.ref for r in parsed.rows] == [ListingRef("S1", "A")]
