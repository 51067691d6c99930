"""Listings over HTTP, on both databases: one at a time, paged, and as a CSV file in UTF-8 or
Shift_JIS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.channel_builders import a_channel
from tests.api.http_builders import Client, a_location, a_sku, assert_problem, ok

SKUS = ("TEE-BLK-M", "TEE-BLK-L", "TEE-WHT-M")
HEADER = "sku,remote_id,remote_variant\r\n"
RED_M = "赤-M"  # a Rakuten variant id may be Japanese: 5 bytes in UTF-8


@pytest.fixture
def shop(client: Client) -> Client:
    """Three SKUs, and a channel of each kind."""
    a_location(client, "DC-CHIBA")
    for sku in SKUS:
        a_sku(client, sku)
    a_channel(client, "AMAZON", kind="amazon")
    a_channel(client, "RAKUTEN", kind="rakuten")
    a_channel(client, "SHOP", kind="storefront")
    return client


def put(client: Client, code: str, sku: str, **body: Any) -> Any:
    return client.put(f"/v1/channels/{code}/listings/{sku}", json=body)


def listed(client: Client, code: str) -> list[tuple[str, str, str | None]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = ok(client.get(f"/v1/channels/{code}/listings", params=params))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return [(i["sku"], i["remote_id"], i["remote_variant"]) for i in items]


def import_csv(client: Client, code: str, data: bytes, content_type: str = "text/csv") -> Any:
    return client.post(
        f"/v1/channels/{code}/listings/import",
        content=data,
        headers={"Content-Type": content_type},
    )


def test_a_listing_is_made_then_changed_then_removed(shop: Client) -> None:
    made = put(shop, "AMAZON", "TEE-BLK-M", remote_id="TS-BLK-M-JP")
    changed = put(shop, "AMAZON", "TEE-BLK-M", remote_id="TS-BLK-M-JP2")

    assert made.status_code == 201, made.text
    assert changed.status_code == 200, changed.text
    assert listed(shop, "AMAZON") == [("TEE-BLK-M", "TS-BLK-M-JP2", None)]
    removed = ok(shop.delete("/v1/channels/AMAZON/listings/TEE-BLK-M"))
    assert removed["remote_id"] == "TS-BLK-M-JP2"
    assert listed(shop, "AMAZON") == []
    assert_problem(shop.delete("/v1/channels/AMAZON/listings/TEE-BLK-M"), 404, "sku")


def test_listings_page_by_sku(shop: Client) -> None:
    for n, sku in enumerate(SKUS):
        ok(put(shop, "SHOP", sku, remote_id=str(1000 + n)), 201)

    assert listed(shop, "SHOP") == [
        ("TEE-BLK-L", "gid://shopify/InventoryItem/1001", None),
        ("TEE-BLK-M", "gid://shopify/InventoryItem/1000", None),
        ("TEE-WHT-M", "gid://shopify/InventoryItem/1002", None),
    ]


def test_a_rakuten_listing_has_a_lower_cased_manage_number_and_a_variant(shop: Client) -> None:
    made = ok(put(shop, "RAKUTEN", "TEE-BLK-M", remote_id="TShirt-001", remote_variant=RED_M), 201)

    assert (made["remote_id"], made["remote_variant"]) == ("tshirt-001", RED_M)


BAD_LISTINGS: list[tuple[str, str, dict[str, Any], str]] = [
    ("amazon seller SKU over 40", "AMAZON", {"remote_id": "A" * 41}, "remote_id"),
    (
        "amazon with a variant",
        "AMAZON",
        {"remote_id": "A", "remote_variant": "x"},
        "remote_variant",
    ),
    ("rakuten without variant", "RAKUTEN", {"remote_id": "tshirt-001"}, "remote_variant"),
    (
        "rakuten manage number with a dot",
        "RAKUTEN",
        {"remote_id": "tshirt.001", "remote_variant": "m"},
        "remote_id",
    ),
    (
        "rakuten manage number over 32",
        "RAKUTEN",
        {"remote_id": "a" * 33, "remote_variant": "m"},
        "remote_id",
    ),
    (
        "rakuten variant over 32 bytes",
        "RAKUTEN",
        {"remote_id": "t", "remote_variant": "赤" * 11},
        "remote_variant",
    ),
    ("storefront not an item", "SHOP", {"remote_id": "gid://shopify/Product/1"}, "remote_id"),
    ("storefront item zero", "SHOP", {"remote_id": "0"}, "remote_id"),
    ("control character", "AMAZON", {"remote_id": "A\u0007B"}, "remote_id"),
    ("line separator", "AMAZON", {"remote_id": "A\u2028B"}, "remote_id"),
    ("empty", "AMAZON", {"remote_id": ""}, "remote_id"),
    ("over 200", "AMAZON", {"remote_id": "A" * 201}, "remote_id"),
    ("unknown field", "AMAZON", {"remote_id": "A", "asin": "B0"}, "asin"),
    ("missing", "AMAZON", {}, "remote_id"),
]


@pytest.mark.parametrize(
    ("code", "body", "field"),
    [(c, b, f) for _, c, b, f in BAD_LISTINGS],
    ids=[i for i, _, _, _ in BAD_LISTINGS],
)
def test_a_bad_listing_is_refused_naming_the_field_and_changes_nothing(
    shop: Client, code: str, body: dict[str, Any], field: str
) -> None:
    assert_problem(put(shop, code, "TEE-BLK-M", **body), 422, field)

    assert listed(shop, code) == []


def test_an_unknown_sku_or_channel_is_a_404(shop: Client) -> None:
    assert_problem(put(shop, "AMAZON", "NO-SUCH", remote_id="X"), 404, "sku")
    assert_problem(put(shop, "NOWHERE", "TEE-BLK-M", remote_id="X"), 404, "code")
    assert_problem(shop.get("/v1/channels/NOWHERE/listings"), 404, "code")
    assert_problem(import_csv(shop, "NOWHERE", HEADER.encode()), 404, "code")


def test_a_channel_item_listed_for_another_sku_is_a_409(shop: Client) -> None:
    ok(put(shop, "AMAZON", "TEE-BLK-M", remote_id="TS-1"), 201)

    assert_problem(put(shop, "AMAZON", "TEE-BLK-L", remote_id="TS-1"), 409, "remote_id")
    assert listed(shop, "AMAZON") == [("TEE-BLK-M", "TS-1", None)]


def test_every_role_reads_listings_and_only_admins_write_them(
    shop: Client, key_for: Callable[[str], dict[str, str]]
) -> None:
    ok(put(shop, "AMAZON", "TEE-BLK-M", remote_id="TS-1"), 201)
    for role in ("warehouse", "channel_sync", "customer_service"):
        headers = key_for(role)
        assert ok(shop.get("/v1/channels/AMAZON/listings", headers=headers))["items"]
        exported = shop.get("/v1/channels/AMAZON/listings/export", headers=headers)
        assert exported.status_code == 200, exported.text
        refused = shop.put(
            "/v1/channels/AMAZON/listings/TEE-BLK-L", json={"remote_id": "TS-2"}, headers=headers
        )
        assert_problem(refused, 403)
        assert_problem(shop.delete("/v1/channels/AMAZON/listings/TEE-BLK-M", headers=headers), 403)
        bad = shop.post(
            "/v1/channels/AMAZON/listings/import",
            content=(HEADER + "TEE-BLK-L,TS-2,\r\n").encode(),
            headers={"Content-Type": "text/csv", **headers},
        )
        assert_problem(bad, 403)
    assert listed(shop, "AMAZON") == [("TEE-BLK-M", "TS-1", None)]


# --------------------------------------------------------------------------- CSV


def test_a_file_sets_the_listings_it_names_and_again_changes_nothing(shop: Client) -> None:
    ok(put(shop, "RAKUTEN", "TEE-WHT-M", remote_id="old", remote_variant="w"), 201)
    data = (
        HEADER + f"TEE-BLK-M,TShirt-001,{RED_M}\r\nTEE-BLK-L,tshirt-001,赤-L\r\nTEE-WHT-M,tee,w\r\n"
    ).encode()

    first = ok(import_csv(shop, "RAKUTEN", data))
    again = ok(import_csv(shop, "RAKUTEN", data))

    assert first == {"created": 2, "updated": 1, "unchanged": 0}
    assert again == {"created": 0, "updated": 0, "unchanged": 3}
    assert listed(shop, "RAKUTEN") == [
        ("TEE-BLK-L", "tshirt-001", "赤-L"),
        ("TEE-BLK-M", "tshirt-001", RED_M),
        ("TEE-WHT-M", "tee", "w"),
    ]


def test_two_skus_may_swap_their_channel_items_in_one_file(shop: Client) -> None:
    ok(put(shop, "AMAZON", "TEE-BLK-M", remote_id="A"), 201)
    ok(put(shop, "AMAZON", "TEE-BLK-L", remote_id="B"), 201)

    outcome = ok(import_csv(shop, "AMAZON", (HEADER + "TEE-BLK-M,B,\nTEE-BLK-L,A,\n").encode()))

    assert outcome == {"created": 0, "updated": 2, "unchanged": 0}
    assert listed(shop, "AMAZON") == [("TEE-BLK-L", "A", None), ("TEE-BLK-M", "B", None)]


def test_a_file_with_bad_rows_names_each_line_and_column_and_changes_nothing(
    shop: Client,
) -> None:
    ok(put(shop, "AMAZON", "TEE-WHT-M", remote_id="HELD"), 201)
    data = (
        HEADER
        + "TEE-BLK-M,OK-1,\r\n"  # line 2: fine
        + "NO-SUCH,OK-2,\r\n"  # line 3: no such SKU
        + f"TEE-BLK-L,{'A' * 41},\r\n"  # line 4: seller SKU too long
        + "TEE-BLK-M,OK-3,\r\n"  # line 5: the same SKU twice
        + "TEE-BLK-L,HELD,\r\n"  # line 6: another SKU's item
    ).encode()

    problem = assert_problem(import_csv(shop, "AMAZON", data), 422, "line 3: sku")

    assert [e["field"] for e in problem["errors"]] == [
        "line 3: sku",
        "line 4: remote_id",
        "line 5: sku",
        "line 6: remote_id",
    ]
    assert listed(shop, "AMAZON") == [("TEE-WHT-M", "HELD", None)]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"", "line 1"),
        (b"sku,asin\r\nTEE-BLK-M,B0\r\n", "line 1: asin"),
        (b"remote_id\r\nX\r\n", "line 1: sku"),
        (b"sku,remote_id\r\nTEE-BLK-M,X,extra\r\n", "line 2"),
        (b"sku,remote_id\r\nTEE-BLK-M,A\x81\r\n", "line 2"),  # neither UTF-8 nor cp932
    ],
    ids=["empty", "unknown column", "missing column", "too many values", "broken bytes"],
)
def test_a_malformed_file_is_refused_naming_the_line(shop: Client, data: bytes, field: str) -> None:
    assert_problem(import_csv(shop, "AMAZON", data), 422, field)
    assert listed(shop, "AMAZON") == []


def test_a_body_that_is_not_csv_is_a_415(shop: Client) -> None:
    refused = import_csv(shop, "AMAZON", b"{}", content_type="application/json")
    assert_problem(refused, 415)
    unknown_charset = import_csv(shop, "AMAZON", HEADER.encode(), "text/csv; charset=latin-1")
    assert_problem(unknown_charset, 415)


def test_a_shift_jis_file_round_trips_with_its_japanese_text(shop: Client) -> None:
    data = (HEADER + f"TEE-BLK-M,tshirt-001,{RED_M}\r\nTEE-BLK-L,tshirt-001,白-\uff2c\r\n").encode(
        "cp932"
    )
    # Recognised without a charset, and with one.
    ok(import_csv(shop, "RAKUTEN", data))
    assert ok(import_csv(shop, "RAKUTEN", data, "text/csv; charset=Shift_JIS")) == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
    }

    exported = shop.get("/v1/channels/RAKUTEN/listings/export", params={"encoding": "shift_jis"})

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert "shift_jis" in exported.headers["content-type"]
    assert exported.content.decode("cp932") == (
        HEADER + "TEE-BLK-L,tshirt-001,白-\uff2c\r\n" + f"TEE-BLK-M,tshirt-001,{RED_M}\r\n"
    )
    assert ok(import_csv(shop, "RAKUTEN", exported.content)) == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
    }
    utf8 = shop.get("/v1/channels/RAKUTEN/listings/export")
    assert utf8.content.decode("utf-8") == exported.content.decode("cp932")


def test_a_utf8_file_with_a_bom_is_read_as_utf8(shop: Client) -> None:
    data = "\ufeff".encode() + (HEADER + f"TEE-BLK-M,tshirt-001,{RED_M}\r\n").encode()

    ok(import_csv(shop, "RAKUTEN", data))

    assert listed(shop, "RAKUTEN") == [("TEE-BLK-M", "tshirt-001", RED_M)]


def test_an_export_that_shift_jis_cannot_hold_is_refused_naming_the_encoding(
    shop: Client,
) -> None:
    ok(put(shop, "RAKUTEN", "TEE-BLK-M", remote_id="t", remote_variant="🙂"), 201)

    refused = shop.get("/v1/channels/RAKUTEN/listings/export", params={"encoding": "shift_jis"})

    assert_problem(refused, 422, "encoding")
    assert_problem(
        shop.get("/v1/channels/RAKUTEN/listings/export", params={"encoding": "latin-1"}),
        422,
        "encoding",
    )
