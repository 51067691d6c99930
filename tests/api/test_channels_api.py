"""Channels and their rules over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.channel_builders import a_channel, a_shop, changes, rules
from tests.api.http_builders import Client, a_location, assert_problem, ok, receive

DC, STORE = "DC-CHIBA", "STORE-SHIBUYA"
TEE = "TEE-BLK-M"

# --------------------------------------------------------------------------- channels


def test_a_created_channel_is_answered_201_with_defaults_and_can_be_read_back(
    client: Client,
) -> None:
    a_location(client, DC)
    a_location(client, STORE, kind="store", prefecture="13", postal_code="150-0002")
    created = a_channel(client, "AMAZON-JP", [STORE, DC], kind="amazon", settings={"x": [1]})
    assert created["locations"] == [STORE, DC]
    assert (created["active"], created["auto_buffer"]) == (True, False)
    assert created["push_latency_seconds"] == 300
    assert created["settings"] == {"x": [1]}
    assert ok(client.get("/v1/channels/AMAZON-JP")) == created


def test_channels_are_listed_page_by_page(client: Client) -> None:
    a_location(client, DC)
    for code in ("A", "B", "C"):
        a_channel(client, code)
    first = ok(client.get("/v1/channels", params={"limit": 2}))
    assert [c["code"] for c in first["items"]] == ["A", "B"]
    second = ok(client.get("/v1/channels", params={"limit": 2, "cursor": first["next_cursor"]}))
    assert [c["code"] for c in second["items"]] == ["C"]
    assert second["next_cursor"] is None


def test_patch_changes_the_feeding_locations_and_only_the_fields_sent(client: Client) -> None:
    a_location(client, DC)
    a_location(client, STORE, kind="store", prefecture="13", postal_code="150-0002")
    a_channel(client, "SHOP", [DC], kind="storefront")
    patched = ok(
        client.patch(
            "/v1/channels/SHOP",
            json={"locations": [STORE, DC], "auto_buffer": True, "push_latency_seconds": 42.5},
        )
    )
    assert patched["locations"] == [STORE, DC]
    assert (patched["auto_buffer"], patched["push_latency_seconds"]) == (True, 42.5)
    assert (patched["name"], patched["kind"]) == ("Channel SHOP", "storefront")
    assert ok(client.get("/v1/channels/SHOP")) == patched
    assert ok(client.patch("/v1/channels/SHOP", json={"locations": []}))["locations"] == []


def test_a_second_channel_with_the_same_code_is_a_409(client: Client) -> None:
    a_location(client, DC)
    a_channel(client, "RAKUTEN")
    response = client.post(
        "/v1/channels", json={"code": "RAKUTEN", "name": "Again", "kind": "amazon"}
    )
    assert_problem(response, 409, "code")
    assert ok(client.get("/v1/channels/RAKUTEN"))["name"] == "Channel RAKUTEN"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"locations": ["DC-CHIBA", "NOWHERE"]}, "locations[1]"),
        ({"locations": ["DC-CHIBA", "DC-CHIBA"]}, "locations[1]"),
        ({"kind": "yahoo"}, "kind"),
        ({"code": "bad code"}, "code"),
        ({"name": "  "}, "name"),
        ({"push_latency_seconds": -1}, "push_latency_seconds"),
        ({"push_latency_seconds": "300"}, "push_latency_seconds"),
        ({"active": "yes"}, "active"),
        ({"settings": [1]}, "settings"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_channel_is_refused_naming_the_field_and_nothing_is_created(
    client: Client, overrides: dict[str, Any], field: str
) -> None:
    a_location(client, DC)
    body = {"code": "RAKUTEN", "name": "Rakuten", "kind": "rakuten", "locations": [DC]}
    body.update(overrides)
    assert_problem(client.post("/v1/channels", json=body), 422, field)
    assert ok(client.get("/v1/channels"))["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"locations": ["NOWHERE"]}, "locations[0]"),
        ({"locations": [DC, DC]}, "locations[1]"),
        ({"name": None}, "name"),
        ({"push_latency_seconds": -0.5}, "push_latency_seconds"),
    ],
)
def test_a_bad_patch_is_refused_naming_the_field_and_changes_nothing(
    client: Client, body: dict[str, Any], field: str
) -> None:
    a_location(client, DC)
    before = a_channel(client, "RAKUTEN")
    assert_problem(client.patch("/v1/channels/RAKUTEN", json=body), 422, field)
    assert ok(client.get("/v1/channels/RAKUTEN")) == before


def test_an_unknown_channel_is_a_404(client: Client) -> None:
    assert_problem(client.get("/v1/channels/NOPE"), 404, "code")
    assert_problem(client.patch("/v1/channels/NOPE", json={"active": False}), 404, "code")
    assert_problem(client.get("/v1/channels/NOPE/rules"), 404, "code")
    assert_problem(client.put("/v1/channels/NOPE/rules/caps", json={"cap": 1}), 404, "code")


def test_only_admins_write_channels_and_every_role_reads_them(
    client: Client, key_for: Callable[[str], dict[str, str]]
) -> None:
    a_location(client, DC)
    a_channel(client, "RAKUTEN")
    for role in ("warehouse", "channel_sync", "customer_service"):
        headers = key_for(role)
        body = {"code": "X", "name": "X", "kind": "amazon"}
        assert_problem(client.post("/v1/channels", json=body, headers=headers), 403)
        assert_problem(client.patch("/v1/channels/RAKUTEN", json=body, headers=headers), 403)
        assert ok(client.get("/v1/channels/RAKUTEN", headers=headers))["code"] == "RAKUTEN"
        assert ok(client.get("/v1/channels/RAKUTEN/rules", headers=headers))["pools"] == []
        ok(client.get("/v1/rules/changes", headers=headers))


# --------------------------------------------------------------------------- safety stock


def test_safety_stock_is_set_read_and_removed_with_null(client: Client) -> None:
    a_shop(client)
    put = client.put("/v1/rules/safety-stock", json={"sku": TEE, "location": DC, "quantity": 2})
    assert ok(put) == {"sku": TEE, "location": DC, "quantity": 2}
    default = {"location": STORE, "quantity": 3}
    assert ok(client.put("/v1/rules/safety-stock/default", json=default)) == default
    listed = ok(client.get("/v1/rules/safety-stock", params={"location": DC}))["items"]
    assert listed == [{"sku": TEE, "location": DC, "quantity": 2}]
    assert ok(client.get("/v1/rules/safety-stock/default")) == [default]
    body = {"sku": TEE, "location": DC, "quantity": None}
    assert ok(client.put("/v1/rules/safety-stock", json=body))["quantity"] is None
    assert ok(client.get("/v1/rules/safety-stock"))["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": TEE, "location": DC, "quantity": -1}, "quantity"),
        ({"sku": TEE, "location": DC, "quantity": 1.5}, "quantity"),
        ({"sku": "NOPE", "location": DC, "quantity": 1}, "sku"),
        ({"sku": TEE, "location": "NOWHERE", "quantity": 1}, "location"),
        ({"sku": TEE, "location": DC}, "quantity"),
    ],
)
def test_bad_safety_stock_is_refused_naming_the_field_and_changes_nothing(
    client: Client, body: dict[str, Any], field: str
) -> None:
    a_shop(client)
    assert_problem(client.put("/v1/rules/safety-stock", json=body), 422, field)
    default = {"location": "NOWHERE", "quantity": 1}
    assert_problem(client.put("/v1/rules/safety-stock/default", json=default), 422, "location")
    assert ok(client.get("/v1/rules/safety-stock"))["items"] == []
    assert changes(client) == []


def test_the_warehouse_sets_safety_stock_but_channel_sync_may_not(
    client: Client, key_for: Callable[[str], dict[str, str]]
) -> None:
    a_shop(client)
    body = {"sku": TEE, "location": DC, "quantity": 1}
    ok(client.put("/v1/rules/safety-stock", json=body, headers=key_for("warehouse")))
    assert changes(client)[0]["actor"] == "warehouse key"
    sync = key_for("channel_sync")
    assert_problem(client.put("/v1/rules/safety-stock", json=body, headers=sync), 403)
    body = {"location": DC, "quantity": 1}
    assert_problem(client.put("/v1/rules/safety-stock/default", json=body, headers=sync), 403)


# --------------------------------------------------------------------------- channel rules


def test_every_rule_of_a_channel_is_set_and_read_in_one_document(client: Client) -> None:
    channel = a_shop(client)
    base = f"/v1/channels/{channel}/rules"
    exclusion = ok(
        client.post(f"{base}/exclusions", json={"kind": "location", "location": STORE}), 201
    )
    assert exclusion["kind"] == "location"
    attr = {"kind": "attribute", "attribute": "category", "value": "outer"}
    ok(client.post(f"{base}/exclusions", json=attr), 201)
    assert ok(client.put(f"{base}/pools/{TEE}", json={"quantity": 4})) == {
        "sku": TEE,
        "quantity": 4,
    }
    ok(client.put(f"{base}/buffers", json={"scope": "default", "units": 1}))
    ok(client.put(f"{base}/buffers", json={"scope": "category", "key": "tops", "units": 2}))
    ok(client.put(f"{base}/buffers", json={"scope": "sku", "key": TEE, "units": 3}))
    ok(client.put(f"{base}/share", json={"percent": 50}))
    ok(client.put(f"{base}/share", json={"sku": TEE, "percent": 12.5}))
    ok(client.put(f"{base}/caps", json={"cap": 100}))
    ok(client.put(f"{base}/caps", json={"sku": TEE, "cap": 5}))
    document = rules(client)
    assert document["channel"] == channel
    assert [x["kind"] for x in document["exclusions"]] == ["location", "attribute"]
    assert document["pools"] == [{"sku": TEE, "quantity": 4}]
    assert document["buffers"] == [
        {"scope": "category", "key": "tops", "units": 2},
        {"scope": "default", "key": None, "units": 1},
        {"scope": "sku", "key": TEE, "units": 3},
    ]
    assert document["shares"] == [{"sku": None, "percent": 50}, {"sku": TEE, "percent": 12.5}]
    assert document["caps"] == [{"sku": None, "cap": 100}, {"sku": TEE, "cap": 5}]
    assert ok(client.get(f"{base}/exclusions")) == document["exclusions"]


def test_rules_are_removed_with_null_and_exclusions_with_delete(client: Client) -> None:
    channel = a_shop(client)
    base = f"/v1/channels/{channel}/rules"
    exclusion = ok(client.post(f"{base}/exclusions", json={"kind": "sku", "sku": TEE}), 201)
    again = ok(client.post(f"{base}/exclusions", json={"kind": "sku", "sku": TEE}), 201)
    assert again["id"] == exclusion["id"]
    ok(client.put(f"{base}/pools/{TEE}", json={"quantity": 4}))
    ok(client.put(f"{base}/buffers", json={"scope": "default", "units": 1}))
    ok(client.put(f"{base}/share", json={"percent": 50}))
    ok(client.put(f"{base}/caps", json={"sku": TEE, "cap": 5}))
    assert ok(client.delete(f"{base}/exclusions/{exclusion['id']}"))["sku"] == TEE
    assert_problem(client.delete(f"{base}/exclusions/{exclusion['id']}"), 404)
    assert ok(client.put(f"{base}/pools/{TEE}", json={"quantity": None}))["quantity"] is None
    ok(client.put(f"{base}/buffers", json={"scope": "default", "units": None}))
    ok(client.put(f"{base}/share", json={"percent": None}))
    ok(client.put(f"{base}/caps", json={"sku": TEE, "cap": None}))
    document = rules(client)
    assert [document[k] for k in ("exclusions", "pools", "buffers", "shares", "caps")] == [[]] * 5


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("buffers", {"scope": "default", "units": -1}, "units"),
        ("buffers", {"scope": "sku", "key": "NOPE", "units": 1}, "key"),
        ("buffers", {"scope": "sku", "units": 1}, "key"),
        ("buffers", {"scope": "default", "key": "x", "units": 1}, "key"),
        ("buffers", {"scope": "brand", "units": 1}, "scope"),
        ("caps", {"cap": -1}, "cap"),
        ("caps", {"sku": "NOPE", "cap": 1}, "sku"),
        ("share", {"percent": 100.5}, "percent"),
        ("share", {"percent": -1}, "percent"),
        ("share", {"sku": "NOPE", "percent": 5}, "sku"),
        ("pools/TEE-BLK-M", {"quantity": 11}, "quantity"),
        ("pools/TEE-BLK-M", {"quantity": -1}, "quantity"),
        ("pools/NOPE", {"quantity": 1}, "sku"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field_and_changes_nothing(
    client: Client, path: str, body: dict[str, Any], field: str
) -> None:
    channel = a_shop(client, stock=10)
    before = rules(client)
    assert_problem(client.put(f"/v1/channels/{channel}/rules/{path}", json=body), 422, field)
    assert rules(client) == before
    assert changes(client) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "sku", "sku": "NOPE"}, "sku"),
        ({"kind": "location", "location": "NOWHERE"}, "location"),
        ({"kind": "sku", "location": DC}, "location"),
        ({"kind": "attribute", "attribute": "category"}, "value"),
        ({"kind": "brand"}, "kind"),
    ],
)
def test_a_bad_exclusion_is_refused_naming_the_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    channel = a_shop(client)
    response = client.post(f"/v1/channels/{channel}/rules/exclusions", json=body)
    assert_problem(response, 422, field)
    assert rules(client)["exclusions"] == []


def test_a_pool_counts_only_the_stock_of_the_feeding_locations(client: Client) -> None:
    channel = a_shop(client, stock=3)
    receive(client, TEE, STORE, 50)  # the store does not feed RAKUTEN
    path = f"/v1/channels/{channel}/rules/pools/{TEE}"
    problem = assert_problem(client.put(path, json={"quantity": 4}), 422, "quantity")
    assert problem["available"] == 3
    assert ok(client.put(path, json={"quantity": 3}))["quantity"] == 3


def test_channel_sync_may_not_write_rules(
    client: Client, key_for: Callable[[str], dict[str, str]]
) -> None:
    channel = a_shop(client)
    base = f"/v1/channels/{channel}/rules"
    for role in ("channel_sync", "warehouse"):
        headers = key_for(role)
        for method, path, body in [
            ("PUT", f"{base}/pools/{TEE}", {"quantity": 1}),
            ("PUT", f"{base}/buffers", {"scope": "default", "units": 1}),
            ("PUT", f"{base}/share", {"percent": 1}),
            ("PUT", f"{base}/caps", {"cap": 1}),
            ("POST", f"{base}/exclusions", {"kind": "sku", "sku": TEE}),
        ]:
            response = client.request(method, path, json=body, headers=headers)
            assert_problem(response, 403)
    assert_problem(client.delete(f"{base}/exclusions/1", headers=key_for("channel_sync")), 403)
    assert changes(client) == []


# --------------------------------------------------------------------------- audit


def test_each_rule_change_is_recorded_with_who_and_when(client: Client) -> None:
    channel = a_shop(client)
    start = datetime.now(UTC) - timedelta(seconds=5)
    base = f"/v1/channels/{channel}/rules"
    ok(client.put(f"{base}/caps", json={"cap": 7}))
    ok(client.put(f"{base}/caps", json={"cap": 7}))  # unchanged: not recorded
    ok(client.put(f"{base}/caps", json={"cap": 9}))
    ok(client.put(f"{base}/caps", json={"cap": None}))
    ok(client.put("/v1/rules/safety-stock", json={"sku": TEE, "location": DC, "quantity": 1}))
    recorded = changes(client)
    assert [(c["kind"], c["channel"], c["key"], c["old"], c["new"]) for c in recorded] == [
        ("safety_stock", None, f"{TEE}@{DC}", None, 1),
        ("cap", channel, "default", 9, None),
        ("cap", channel, "default", 7, 9),
        ("cap", channel, "default", None, 7),
    ]
    assert {c["actor"] for c in recorded} == {"bootstrap-admin"}
    for change in recorded:
        at = datetime.fromisoformat(change["at"])
        assert start <= at <= datetime.now(UTC) + timedelta(seconds=5)
    only_channel = changes(client, channel=channel)
    assert len(only_channel) == 3
    page = ok(client.get("/v1/rules/changes", params={"limit": 2}))
    rest = ok(client.get("/v1/rules/changes", params={"limit": 2, "cursor": page["next_cursor"]}))
    assert page["items"] + rest["items"] == recorded
    assert_problem(client.get("/v1/rules/changes", params={"channel": "NOPE"}), 404, "channel")


def test_exclusion_changes_are_recorded_with_the_exclusion(client: Client) -> None:
    channel = a_shop(client)
    base = f"/v1/channels/{channel}/rules/exclusions"
    exclusion = ok(client.post(base, json={"kind": "location", "location": DC}), 201)
    ok(client.delete(f"{base}/{exclusion['id']}"))
    removed, added = changes(client, channel=channel)
    assert added["new"] == {"kind": "location", "location": DC}
    assert (added["old"], added["key"]) == (None, f"location:{DC}")
    assert (removed["old"], removed["new"]) == (added["new"], None)
