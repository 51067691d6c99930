"""Personal data through the API, on both databases: channels' PII policies, legal holds, and
the audit log of every read of personal data by a person (none for channel_sync, which sees
none). Bad input is a problem naming the field, and nothing is written."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from oms.bootstrap import Services
from oms.privacy.domain import PLACEHOLDER
from tests.api.channel_builders import a_channel
from tests.api.http_builders import Client, assert_problem, ok
from tests.api.order_builders import (
    DC,
    TOKYO_ADDRESS,
    TOP,
    a_world,
    an_order,
    an_order_body,
    place,
    send,
    ship_instructions,
    shipment_from,
)

AMZ = "AMZ"
_serial = itertools.count(1)
Keys = Callable[[str], dict[str, str]]
AUDIT = "/v1/audit/personal-data"


def a_marketplace(client: Client) -> None:
    a_world(client, {(TOP, DC): 20})
    a_channel(client, AMZ, [DC], kind="amazon")


def an_amazon_order(client: Client, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = {
        "channel": AMZ,
        "external_id": f"503-{next(_serial):07d}",
        "gift_note": "Happy birthday, Taro",
    }
    if headers is None:
        return an_order(client, **body)
    return ok(place(client, an_order_body(**body), headers=headers), 201)  # type: ignore[no-any-return]


def reads(client: Client, **params: Any) -> list[dict[str, Any]]:
    return ok(client.get(AUDIT, params={"limit": 200, **params}))["items"]  # type: ignore[no-any-return]


def services_of(client: Client) -> Services:
    return client.app.state.services  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- the audit log


def test_a_persons_read_is_audited_and_channel_sync_sees_and_leaves_nothing(
    client: Client, key_for: Keys
) -> None:
    a_marketplace(client)
    sync, cs = key_for("channel_sync"), key_for("customer_service")
    order = an_amazon_order(client, headers=sync)
    assert (order["ship_to"], order["gift_note"]) == (None, None)

    as_sync = ok(client.get(f"/v1/orders/{order['id']}", headers=sync))
    listed = ok(client.get("/v1/orders", headers=sync))["items"]
    assert (as_sync["ship_to"], as_sync["gift_note"]) == (None, None)
    assert [o["ship_to"] for o in listed] == [None]
    assert reads(client) == []

    as_cs = ok(client.get(f"/v1/orders/{order['id']}", headers=cs))

    assert as_cs["ship_to"]["name"] == TOKYO_ADDRESS["name"]
    [entry] = reads(client)
    assert entry["actor"] == "customer_service key"
    assert entry["role"] == "customer_service"
    assert entry["purpose"] == "GET /v1/orders/{id}"
    assert (entry["order_id"], entry["subject"], entry["subject_id"]) == (
        order["id"],
        "order",
        None,
    )
    assert entry["fields"] == sorted(
        ["name", "phone", "street", "city", "postal_code", "prefecture", "notes"]
    )


def test_lists_and_ship_instructions_record_one_read_per_record_shown(
    client: Client, key_for: Keys
) -> None:
    a_marketplace(client)
    first, second = an_amazon_order(client), an_amazon_order(client)
    cs, warehouse = key_for("customer_service"), key_for("warehouse")

    ok(client.get("/v1/orders", params={"channel": AMZ}, headers=cs))
    pick_list = ship_instructions(client, DC, headers=warehouse, format="csv")
    assert pick_list.status_code == 200
    assert TOKYO_ADDRESS["name"] not in pick_list.text
    assert reads(client, actor="warehouse key") == []  # the CSV shows no one's data
    slips = ship_instructions(client, DC, headers=warehouse, format="html")
    assert slips.status_code == 200
    assert TOKYO_ADDRESS["name"] in slips.text

    listed = reads(client, actor="customer_service key")
    assert [(r["order_id"], r["purpose"]) for r in listed] == [
        (first["id"], "GET /v1/orders"),
        (second["id"], "GET /v1/orders"),
    ]
    slips = reads(client, actor="warehouse key")
    assert [(r["order_id"], r["subject"], r["subject_id"]) for r in slips] == [
        (o["id"], "shipment", shipment_from(o, DC)["id"]) for o in (first, second)
    ]
    assert {r["purpose"] for r in slips} == {
        "GET /v1/locations/{code}/ship-instructions?format=html"
    }
    # The admin who placed them saw them in the responses too.
    assert [r["order_id"] for r in reads(client, actor="bootstrap-admin")] == [
        first["id"],
        second["id"],
    ]


def test_placing_an_order_records_its_read_with_it_and_a_refused_one_records_nothing(
    client: Client,
) -> None:
    a_marketplace(client)
    body = an_order_body(channel=AMZ, external_id="503-PLACED", gift_note="For Hanako")
    placed = ok(place(client, body), 201)  # the admin sees what it sent: recorded with it
    replayed = ok(place(client, body), 200)  # the same order again: recorded on its own
    unknown_sku = {"line_id": "1", "sku": "NO-SUCH-SKU", "quantity": 1, "unit_price": 1000}
    refused = place(client, {**body, "external_id": "503-REFUSED", "lines": [unknown_sku]})
    assert_problem(refused, 422, field="lines[0].sku")

    assert replayed["id"] == placed["id"]
    recorded = reads(client, actor="bootstrap-admin")
    assert [(r["order_id"], r["purpose"]) for r in recorded] == [
        (placed["id"], "POST /v1/orders"),
        (placed["id"], "POST /v1/orders"),
    ]
    assert "notes" in recorded[0]["fields"]


def test_an_anonymised_order_reads_as_placeholders_and_is_not_audited(
    client: Client, key_for: Keys
) -> None:
    a_marketplace(client)
    order = an_amazon_order(client)
    shipped = send(client, shipment_from(order, DC)["id"])
    left = shipped["shipped_at"]
    services_of(client).anonymisation.anonymise(
        now=datetime.fromisoformat(left) + timedelta(days=30)
    )
    cs = key_for("customer_service")
    before = len(reads(client))

    seen = ok(client.get(f"/v1/orders/{order['id']}", headers=cs))

    assert seen["ship_to"]["name"] == PLACEHOLDER
    assert seen["ship_to"]["phone"] is None
    assert seen["ship_to"]["postal_code"] == TOKYO_ADDRESS["postal_code"]
    assert seen["gift_note"] == PLACEHOLDER
    assert len(reads(client)) == before
    assert reads(client, actor="customer_service key") == []


def test_the_audit_log_filters_and_pages(client: Client, key_for: Keys) -> None:
    a_marketplace(client)
    first, second = an_amazon_order(client), an_amazon_order(client)
    cs = key_for("customer_service")
    for order in (first, second, first):
        ok(client.get(f"/v1/orders/{order['id']}", headers=cs))

    by_order = reads(client, order=first["id"], actor="customer_service key")
    assert len(by_order) == 2
    page = ok(client.get(AUDIT, params={"actor": "customer_service key", "limit": 2}))
    rest = ok(
        client.get(
            AUDIT,
            params={"actor": "customer_service key", "limit": 2, "cursor": page["next_cursor"]},
        )
    )
    assert [r["order_id"] for r in page["items"] + rest["items"]] == [
        first["id"],
        second["id"],
        first["id"],
    ]
    assert rest["next_cursor"] is None
    at = page["items"][0]["read_at"]
    assert reads(client, actor="customer_service key", until=at) == []
    assert len(reads(client, actor="customer_service key", since=at)) == 3


# One app for all the cases: building one per case is most of what such a test costs.
BAD_AUDIT_QUERIES: list[tuple[Any, ...]] = [
    ({"limit": 0}, "limit"),
    ({"limit": 201}, "limit"),
    ({"order": 0}, "order"),
    ({"order": "x"}, "order"),
    ({"since": "yesterday"}, "since"),
    ({"cursor": "abc"}, "cursor"),
    ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ({"actor": "x" * 101}, "actor"),
    # Year 1 at +09:00 is year 0 in UTC, which no datetime holds.
    ({"since": "0001-01-01T00:00:00+09:00"}, "since"),
    ({"until": "0001-01-01T00:00:00+09:00"}, "until"),
]


def test_bad_audit_queries_are_problems_naming_the_parameter(client: Client) -> None:
    for params, field in BAD_AUDIT_QUERIES:
        assert_problem(client.get(AUDIT, params=params), 422, field)


@pytest.mark.parametrize("role", ["customer_service", "warehouse", "channel_sync"])
def test_only_admins_read_the_audit_log(client: Client, key_for: Keys, role: str) -> None:
    assert_problem(client.get(AUDIT, headers=key_for(role)), 403)


# --------------------------------------------------------------------------- policies


def policy_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enabled": True,
        "fields": ["name", "kana", "phone", "email", "street"],
        "days_after_delivery": 14,
        "days_after_cancellation": 7,
    }
    body.update(overrides)
    return body


def test_a_channel_without_a_policy_shows_its_kinds_default(client: Client) -> None:
    a_marketplace(client)

    amazon = ok(client.get(f"/v1/channels/{AMZ}/pii-policy"))
    rakuten = ok(client.get("/v1/channels/RAKUTEN/pii-policy"))

    assert amazon == {
        "channel": AMZ,
        "enabled": True,
        "fields": ["email", "kana", "name", "notes", "phone", "street"],
        "days_after_delivery": 30,
        "days_after_cancellation": 30,
        "source": "default",
    }
    assert (rakuten["enabled"], rakuten["source"]) == (False, "default")


def test_a_stored_policy_replaces_the_default(client: Client) -> None:
    a_marketplace(client)

    saved = ok(client.put("/v1/channels/RAKUTEN/pii-policy", json=policy_body()))

    assert saved == ok(client.get("/v1/channels/RAKUTEN/pii-policy"))
    assert saved["source"] == "stored"
    assert saved["fields"] == ["email", "kana", "name", "phone", "street"]
    assert saved["days_after_delivery"] == 14


# One app for all the cases: building one per case is most of what such a test costs.
BAD_POLICIES: list[tuple[Any, ...]] = [
    (policy_body(fields=["name", "shoe_size"]), "fields[1]"),
    (policy_body(fields=["postal_code"]), "fields[0]"),
    (policy_body(fields=[]), "fields"),
    (policy_body(fields="name"), "fields"),
    (policy_body(days_after_delivery=-1), "days_after_delivery"),
    (policy_body(days_after_delivery=3651), "days_after_delivery"),
    (policy_body(days_after_delivery="30"), "days_after_delivery"),
    (policy_body(days_after_cancellation=1.5), "days_after_cancellation"),
    (policy_body(enabled="yes"), "enabled"),
    ({k: v for k, v in policy_body().items() if k != "days_after_cancellation"}, None),
]


def test_a_bad_policy_is_a_problem_naming_the_field_and_changes_nothing(client: Client) -> None:
    a_marketplace(client)

    for body, field in BAD_POLICIES:
        response = client.put(f"/v1/channels/{AMZ}/pii-policy", json=body)

        assert_problem(response, 422, field or "days_after_cancellation")
        assert ok(client.get(f"/v1/channels/{AMZ}/pii-policy"))["source"] == "default"


def test_policies_of_unknown_channels_and_by_other_roles_are_refused(
    client: Client, key_for: Keys
) -> None:
    a_marketplace(client)
    assert_problem(client.get("/v1/channels/NOPE/pii-policy"), 404)
    assert_problem(client.put("/v1/channels/NOPE/pii-policy", json=policy_body()), 404)
    for role in ("customer_service", "warehouse", "channel_sync"):
        headers = key_for(role)
        assert_problem(client.get(f"/v1/channels/{AMZ}/pii-policy", headers=headers), 403)
        assert_problem(
            client.put(f"/v1/channels/{AMZ}/pii-policy", json=policy_body(), headers=headers),
            403,
        )
    assert ok(client.get(f"/v1/channels/{AMZ}/pii-policy"))["source"] == "default"


# --------------------------------------------------------------------------- legal holds


def test_a_hold_is_placed_refused_twice_released_and_kept_in_the_history(
    client: Client, key_for: Keys
) -> None:
    a_marketplace(client)
    order = an_amazon_order(client)
    cs = key_for("customer_service")
    url = f"/v1/orders/{order['id']}/legal-hold"

    hold = ok(client.post(url, json={"reason": "古物台帳"}, headers=cs), 201)
    assert (hold["reason"], hold["placed_by"], hold["active"]) == (
        "古物台帳",
        "customer_service key",
        True,
    )
    assert_problem(client.post(url, json={"reason": "again"}, headers=cs), 409, "order_id")
    assert_problem(client.post(f"{url}/release", json={"reason": "done"}, headers=cs), 403)

    released = ok(client.post(f"{url}/release", json={"reason": "ledger period over"}))

    assert (released["id"], released["active"], released["released_by"]) == (
        hold["id"],
        False,
        "bootstrap-admin",
    )
    state = ok(client.get(f"/v1/orders/{order['id']}/privacy", headers=cs))
    assert (state["held"], state["anonymised_at"]) == (False, None)
    assert [(h["reason"], h["release_reason"]) for h in state["holds"]] == [
        ("古物台帳", "ledger period over")
    ]
    assert_problem(client.post(f"{url}/release", json={"reason": "twice"}), 409, "order_id")


# One app for all the cases: building one per case is most of what such a test costs.
BAD_HOLDS: list[tuple[Any, ...]] = [
    ({}, "reason"),
    ({"reason": ""}, "reason"),
    ({"reason": "   "}, "reason"),
    ({"reason": 5}, "reason"),
    ({"reason": "x" * 1001}, "reason"),
    ({"reason": "tab\x00nul"}, "reason"),
]


def test_a_bad_hold_is_a_problem_naming_the_field_and_writes_nothing(client: Client) -> None:
    a_marketplace(client)
    order = an_amazon_order(client)

    for body, field in BAD_HOLDS:
        assert_problem(client.post(f"/v1/orders/{order['id']}/legal-hold", json=body), 422, field)

        assert ok(client.get(f"/v1/orders/{order['id']}/privacy"))["holds"] == []


def test_holds_on_unknown_orders_and_by_other_roles_are_refused(
    client: Client, key_for: Keys
) -> None:
    a_marketplace(client)
    order = an_amazon_order(client)
    assert_problem(client.post("/v1/orders/999999/legal-hold", json={"reason": "x"}), 404)
    assert_problem(client.get("/v1/orders/999999/privacy"), 404)
    assert_problem(
        client.post(f"/v1/orders/{2**63}/legal-hold", json={"reason": "x"}), 422, "order_id"
    )
    for role in ("warehouse", "channel_sync"):
        url = f"/v1/orders/{order['id']}/legal-hold"
        assert_problem(client.post(url, json={"reason": "x"}, headers=key_for(role)), 403)
    assert ok(client.get(f"/v1/orders/{order['id']}/privacy"))["holds"] == []
