"""Every list pages the same way: `cursor` + `limit` in, `items` + `next_cursor` out; following
`next_cursor` visits every row exactly once and ends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.channel_builders import a_channel
from tests.api.http_builders import Client, a_location, a_sku, ok, receive
from tests.api.order_builders import a_line, an_order

LOCATIONS = ("DC-CHIBA", "DC-KOBE", "DC-SENDAI")
SKUS = ("TEE-BLK-M", "TEE-WHT-M", "TEE-GRY-M")
# path -> what identifies an item (no page may repeat or skip one)
LISTS: dict[str, tuple[str, ...]] = {
    "/v1/locations": ("code",),
    "/v1/skus": ("code",),
    "/v1/stock": ("sku", "location"),
    "/v1/stock/ledger": ("id",),
    "/v1/channels": ("code",),
    "/v1/rules/safety-stock": ("sku", "location"),
    "/v1/rules/changes": ("id",),
    "/v1/orders": ("id",),
}


def _a_world_with_several_of_everything(client: Client) -> None:
    for code in LOCATIONS:
        a_location(client, code)
    for sku in SKUS:
        a_sku(client, sku)
        for location in LOCATIONS:
            receive(client, sku, location, 3)
            ok(
                client.put(
                    "/v1/rules/safety-stock",
                    json={"sku": sku, "location": location, "quantity": 1},
                )
            )
    for code in ("RAKUTEN", "AMAZON", "STOREFRONT"):
        a_channel(client, code, list(LOCATIONS), kind=code.lower())
    for _ in range(3):
        an_order(client, channel="RAKUTEN", lines=[a_line(SKUS[0], 1)])


@pytest.mark.parametrize("path", list(LISTS))
def test_following_next_cursor_visits_every_item_once_and_ends(client: Client, path: str) -> None:
    _a_world_with_several_of_everything(client)
    everything = ok(client.get(path, params={"limit": 200}))
    assert everything["next_cursor"] is None
    expected = [tuple(item[k] for k in LISTS[path]) for item in everything["items"]]
    assert len(expected) >= 3, "the world must need several pages"

    seen: list[tuple[Any, ...]] = []
    params: dict[str, Any] = {"limit": 1}
    for _ in range(len(expected)):  # bounded: a list that ignores `cursor` fails, not hangs
        page = ok(client.get(path, params=params))
        assert len(page["items"]) <= 1
        seen += [tuple(item[k] for k in LISTS[path]) for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    else:
        pytest.fail(f"{path}: next_cursor never ran out after {len(expected)} pages")
    assert seen == expected


@pytest.mark.parametrize("path", list(LISTS))
def test_a_cursor_no_page_handed_out_is_a_422_naming_it(client: Client, path: str) -> None:
    response = client.get(path, params={"cursor": "not-a-cursor"})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "cursor"
