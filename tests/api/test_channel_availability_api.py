"""Channel availability through the HTTP API: real stock and rules in, the pipeline's numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.channel_builders import a_channel
from tests.api.http_builders import (
    Client,
    a_location,
    a_sku,
    assert_problem,
    ok,
    receive,
)

DC, STORE, FBA = "DC-CHIBA", "STORE-SHIBUYA", "FBA-NRT"
TEE, CAP = "TEE-BLK-M", "CAP-NVY"


def availability(client: Client, channel: str, *skus: str) -> dict[str, int]:
    body = ok(client.get(f"/v1/channels/{channel}/availability", params={"sku": list(skus)}))
    return {item["sku"]: item["available"] for item in body["items"]}


def available(client: Client, channel: str, sku: str = TEE) -> int:
    return availability(client, channel, sku)[sku]


def explain(client: Client, channel: str, sku: str = TEE) -> dict[str, Any]:
    return ok(client.get(f"/v1/channels/{channel}/availability/{sku}/explain"))  # type: ignore[no-any-return]


def rule(client: Client, channel: str, path: str, body: dict[str, Any]) -> None:
    ok(client.put(f"/v1/channels/{channel}/rules/{path}", json=body))


def exclude(client: Client, channel: str, **body: Any) -> None:
    ok(client.post(f"/v1/channels/{channel}/rules/exclusions", json=body), 201)


def safety_stock(client: Client, location: str, quantity: int, sku: str | None = None) -> None:
    if sku is None:
        body: dict[str, Any] = {"location": location, "quantity": quantity}
        ok(client.put("/v1/rules/safety-stock/default", json=body))
    else:
        body = {"sku": sku, "location": location, "quantity": quantity}
        ok(client.put("/v1/rules/safety-stock", json=body))


def a_network(client: Client, dc: int = 10, store: int = 4, fba: int = 6) -> None:
    """The DC, a store and Amazon's FC holding TEE; the worked example of the pipeline."""
    a_location(client, DC)
    a_location(client, STORE, kind="store", prefecture="13", postal_code="150-0002")
    a_location(client, FBA, kind="marketplace_fc")
    a_sku(client, TEE, attributes={"category": "tops"})
    for location, quantity in ((DC, dc), (STORE, store), (FBA, fba)):
        if quantity:
            receive(client, TEE, location, quantity)


def test_the_worked_example_publishes_the_pipelines_numbers_to_each_channel(
    client: Client,
) -> None:
    a_network(client)
    safety_stock(client, STORE, 3, sku=TEE)
    a_channel(client, "amazon", [DC, FBA], kind="amazon")
    a_channel(client, "rakuten", [DC])
    a_channel(client, "storefront", [DC, STORE], kind="storefront", auto_buffer=True)
    rule(client, "amazon", "buffers", {"scope": "default", "units": 2})
    rule(client, "rakuten", "buffers", {"scope": "default", "units": 1})
    rule(client, "rakuten", "share", {"percent": 50})
    rule(client, "rakuten", f"pools/{TEE}", {"quantity": 4})
    rule(client, "storefront", "caps", {"cap": 4})

    body = ok(client.get("/v1/channels/rakuten/availability", params={"sku": TEE}))
    assert body == {
        "channel": "rakuten",
        "pipeline_version": 1,
        "items": [{"sku": TEE, "available": 6}],
    }
    # DC 10, store 4 - 3, FBA 6. amazon: (10 - 4 pooled) + 6 - 2 = 10. rakuten: pool 4 +
    # floor((6 - 1) x 50%) = 6. storefront: 6 + 1 = 7, auto buffer 0 (no velocity yet), cap 4.
    assert available(client, "amazon") == 10
    assert available(client, "storefront") == 4
    for channel, expected in (("amazon", 10), ("rakuten", 6), ("storefront", 4)):
        trace = explain(client, channel)
        assert trace["available"] == expected == trace["steps"][-1]["output"]


def test_the_explanation_reads_step_by_step_with_the_rule_and_each_location(
    client: Client,
) -> None:
    a_network(client)
    a_channel(client, "rakuten", [DC, STORE])
    safety_stock(client, STORE, 3)
    rule(client, "rakuten", f"pools/{TEE}", {"quantity": 2})
    rule(client, "rakuten", "buffers", {"scope": "category", "key": "tops", "units": 1})
    rule(client, "rakuten", "caps", {"sku": TEE, "cap": 3})

    trace = explain(client, "rakuten")

    names = [step["name"] for step in trace["steps"]]
    assert names == [
        "physical",
        "safety_stock",
        "exclusions",
        "pools",
        "buffer",
        "share",
        "cap",
        "publish",
    ]
    assert trace["available"] == 3
    assert trace["summary"].startswith(f"rakuten shows 3 of {TEE}: physical 14 -> ")
    safety = trace["steps"][1]
    assert {
        row["location"]: (row["input"], row["output"], row["rule"]) for row in safety["locations"]
    } == {
        DC: (10, 10, "no safety stock"),
        STORE: (4, 1, "safety stock 3"),
    }
    assert "pool of 2 ring-fenced for rakuten" in trace["steps"][3]["rule"]
    assert trace["steps"][4]["rule"].startswith("buffer 1 off the shared part")
    assert trace["steps"][6] == {
        "name": "cap",
        "rule": "cap 3",
        "input": 10,
        "output": 3,
        "locations": [],
    }
    assert trace["pooled"] == 2
    assert trace["bundle"] is False


def test_safety_stock_lowers_a_stores_contribution_and_a_sku_override_beats_the_default(
    client: Client,
) -> None:
    a_network(client, dc=10, store=5, fba=0)
    a_channel(client, "storefront", [DC, STORE], kind="storefront")
    assert available(client, "storefront") == 15
    safety_stock(client, STORE, 2)
    assert available(client, "storefront") == 13
    safety_stock(client, STORE, 4, sku=TEE)
    assert available(client, "storefront") == 11
    safety_stock(client, STORE, 9, sku=TEE)  # more than the store holds: floor 0 there
    assert available(client, "storefront") == 10


def test_an_excluded_location_contributes_nothing_to_that_channel_only(client: Client) -> None:
    a_network(client, dc=10, store=5, fba=0)
    a_channel(client, "storefront", [DC, STORE], kind="storefront")
    a_channel(client, "rakuten", [DC, STORE])
    exclude(client, "storefront", kind="location", location=STORE)

    assert available(client, "storefront") == 10
    assert available(client, "rakuten") == 15
    rows = explain(client, "storefront")["steps"][2]["locations"]
    assert [r["rule"] for r in rows if r["location"] == STORE] == [
        f"location {STORE} excluded from storefront"
    ]


def test_an_excluded_sku_or_category_publishes_0(client: Client) -> None:
    a_network(client, dc=10, store=0, fba=0)
    a_sku(client, CAP, attributes={"category": "outlet"})
    receive(client, CAP, DC, 7)
    a_channel(client, "amazon", [DC], kind="amazon")
    a_channel(client, "rakuten", [DC])
    exclude(client, "amazon", kind="sku", sku=TEE)
    exclude(client, "amazon", kind="attribute", attribute="category", value="outlet")

    assert availability(client, "amazon", TEE, CAP) == {TEE: 0, CAP: 0}
    assert availability(client, "rakuten", TEE, CAP) == {TEE: 10, CAP: 7}


def test_a_pool_on_rakuten_is_hidden_from_amazon(client: Client) -> None:
    a_network(client, dc=10, store=0, fba=0)
    a_channel(client, "amazon", [DC], kind="amazon")
    a_channel(client, "rakuten", [DC])
    rule(client, "rakuten", f"pools/{TEE}", {"quantity": 4})

    assert available(client, "amazon") == 6
    assert available(client, "rakuten") == 10
    amazon_pools = explain(client, "amazon")["steps"][3]
    assert amazon_pools["locations"][0]["rule"] == "4 ring-fenced for other channels"


def test_a_pool_of_an_inactive_channel_holds_nothing_and_the_channel_publishes_0(
    client: Client,
) -> None:
    a_network(client, dc=10, store=0, fba=0)
    a_channel(client, "amazon", [DC], kind="amazon")
    a_channel(client, "rakuten", [DC])
    rule(client, "rakuten", f"pools/{TEE}", {"quantity": 4})
    ok(client.patch("/v1/channels/rakuten", json={"active": False}))

    assert available(client, "amazon") == 10
    trace = explain(client, "rakuten")
    assert trace["available"] == 0
    assert trace["steps"] == [
        {
            "name": "inactive",
            "rule": "channel rakuten is inactive: it publishes 0",
            "input": 0,
            "output": 0,
            "locations": [],
        }
    ]


def test_an_inactive_location_feeds_no_channel_and_the_explanation_says_so(
    client: Client,
) -> None:
    a_location(client, DC)
    a_location(client, STORE, kind="store", prefecture="13", postal_code="150-0002", active=False)
    a_sku(client, TEE)
    receive(client, TEE, DC, 10)
    receive(client, TEE, STORE, 5)
    a_channel(client, "storefront", [DC, STORE], kind="storefront")

    trace = explain(client, "storefront")
    assert trace["available"] == 10
    assert (
        f"location {STORE} feeds storefront but is inactive: it feeds no channel" in trace["notes"]
    )


def test_a_cap_per_sku_beats_the_channel_cap(client: Client) -> None:
    a_network(client, dc=10, store=0, fba=0)
    a_sku(client, CAP)
    receive(client, CAP, DC, 10)
    a_channel(client, "rakuten", [DC])
    rule(client, "rakuten", "caps", {"cap": 5})
    rule(client, "rakuten", "caps", {"sku": TEE, "cap": 3})

    assert availability(client, "rakuten", TEE, CAP) == {TEE: 3, CAP: 5}


def test_buffers_resolve_per_sku_then_category_then_channel_default(client: Client) -> None:
    a_network(client, dc=10, store=0, fba=0)
    a_sku(client, CAP, attributes={"category": "hats"})
    a_sku(client, "SOCK-WHT")
    for sku in (CAP, "SOCK-WHT"):
        receive(client, sku, DC, 10)
    a_channel(client, "amazon", [DC], kind="amazon")
    rule(client, "amazon", "buffers", {"scope": "default", "units": 1})
    rule(client, "amazon", "buffers", {"scope": "category", "key": "tops", "units": 2})
    rule(client, "amazon", "buffers", {"scope": "category", "key": "hats", "units": 3})
    rule(client, "amazon", "buffers", {"scope": "sku", "key": CAP, "units": 4})

    assert availability(client, "amazon", TEE, CAP, "SOCK-WHT") == {TEE: 8, CAP: 6, "SOCK-WHT": 9}


@pytest.mark.parametrize(("ship_together", "expected"), [(True, 2), (False, 3)])
def test_a_bundle_is_derived_from_its_components_and_its_ship_together_policy(
    client: Client, ship_together: bool, expected: int
) -> None:
    a_network(client, dc=4, store=4, fba=0)
    a_sku(client, CAP)
    receive(client, CAP, DC, 1)
    receive(client, CAP, STORE, 2)
    components = [{"sku": TEE, "quantity": 2}, {"sku": CAP, "quantity": 1}]
    a_sku(client, "SET-1", kind="bundle", components=components, ship_together=ship_together)
    a_channel(client, "storefront", [DC, STORE], kind="storefront")
    rule(client, "storefront", "caps", {"sku": "SET-1", "cap": 10})

    # The store keeps 1 TEE back: DC has TEE 4, CAP 1; the store TEE 3, CAP 2.
    # Together: DC min(4//2, 1) + store min(3//2, 2) = 1 + 1 = 2. Apart: min(7//2, 3) = 3.
    safety_stock(client, STORE, 1, sku=TEE)
    assert available(client, "storefront", "SET-1") == expected
    trace = explain(client, "storefront", "SET-1")
    assert trace["bundle"] is True
    assert trace["available"] == expected == trace["steps"][-1]["output"]
    assert [s["name"] for s in trace["steps"]][:3] == [
        f"component {CAP}",
        f"component {TEE}",
        "bundle",
    ]


def test_many_skus_are_answered_in_the_order_asked_once_each(client: Client) -> None:
    a_network(client, dc=10, store=0, fba=0)
    a_sku(client, CAP)
    a_channel(client, "rakuten", [DC])
    body = ok(client.get("/v1/channels/rakuten/availability", params={"sku": [CAP, TEE, CAP]}))
    assert body["items"] == [{"sku": CAP, "available": 0}, {"sku": TEE, "available": 10}]


def test_every_role_reads_availability(
    client: Client, key_for: Callable[[str], dict[str, str]]
) -> None:
    a_network(client, dc=10, store=0, fba=0)
    a_channel(client, "rakuten", [DC])
    for role in ("warehouse", "channel_sync", "customer_service"):
        headers = key_for(role)
        url = "/v1/channels/rakuten/availability"
        assert (
            ok(client.get(url, params={"sku": TEE}, headers=headers))["items"][0]["available"] == 10
        )
        assert ok(client.get(f"{url}/{TEE}/explain", headers=headers))["available"] == 10


def test_an_unknown_channel_is_a_404(client: Client) -> None:
    a_network(client, dc=10, store=0, fba=0)
    assert_problem(client.get("/v1/channels/nope/availability", params={"sku": TEE}), 404, "code")
    assert_problem(client.get(f"/v1/channels/nope/availability/{TEE}/explain"), 404, "code")


def test_an_unknown_or_missing_sku_is_a_422_naming_sku(client: Client) -> None:
    a_network(client, dc=10, store=0, fba=0)
    a_channel(client, "rakuten", [DC])
    url = "/v1/channels/rakuten/availability"
    assert_problem(client.get(url, params={"sku": [TEE, "NOPE"]}), 422, "sku")
    assert_problem(client.get(url), 422, "sku")
    assert_problem(client.get(f"{url}/NOPE/explain"), 422, "sku")
    too_many = [TEE] + [f"SKU-{i}" for i in range(100)]
    assert_problem(client.get(url, params={"sku": too_many}), 422, "sku")
