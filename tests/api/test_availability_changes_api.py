"""What a sync job calls: `?changed_since=CURSOR`, through the HTTP API, on both databases."""

from __future__ import annotations

import time
from typing import Any

from tests.api.channel_builders import a_channel, a_shop
from tests.api.http_builders import Client, a_key, assert_problem, ok, receive
from tests.publishing import drain_app


def changed(client: Client, channel: str, cursor: str, **params: Any) -> dict[str, Any]:
    """A sync job's call, once the publisher drained what was queued."""
    drain_app(client)
    return ok(  # type: ignore[no-any-return]
        client.get(
            f"/v1/channels/{channel}/availability",
            params={"changed_since": cursor, **params},
        )
    )


def numbers(page: dict[str, Any]) -> dict[str, int]:
    return {item["sku"]: item["available"] for item in page["items"]}


def test_a_sync_job_gets_each_change_once_then_nothing(client: Client) -> None:
    channel = a_shop(client, stock=10)
    first = changed(client, channel, "0")
    assert numbers(first) == {"TEE-BLK-M": 10}
    assert first["items"][0]["version"] == 1
    assert first["items"][0]["changed_at"]
    assert first["more"] is False
    assert changed(client, channel, first["next_cursor"])["items"] == []

    receive(client, "TEE-BLK-M", "DC-CHIBA", 5)
    receive(client, "TEE-BLK-M", "STORE-SHIBUYA", 5)  # the store does not feed RAKUTEN
    later = changed(client, channel, first["next_cursor"])
    assert [(i["sku"], i["available"], i["version"]) for i in later["items"]] == [
        ("TEE-BLK-M", 15, 2)
    ]


def test_a_reservation_for_a_channel_is_published_and_counts_as_its_sales(client: Client) -> None:
    channel = a_shop(client, stock=10)
    cursor = changed(client, channel, "0")["next_cursor"]
    body = {"lines": [{"sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 3}]}
    made = ok(
        client.post(
            "/v1/reservations",
            json={**body, "channel": channel},
            headers={"Idempotency-Key": a_key()},
        ),
        201,
    )
    assert made["channel"] == channel
    assert numbers(changed(client, channel, cursor)) == {"TEE-BLK-M": 7}


def test_full_pages_say_there_is_more(client: Client) -> None:
    channel = a_shop(client, stock=10)
    for sku in ("CAP-NVY", "SOCK-GRY"):
        ok(client.post("/v1/skus", json={"code": sku, "name": sku}), 201)
        receive(client, sku, "DC-CHIBA", 2)
    seen: dict[str, int] = {}
    page = changed(client, channel, "0", limit=2)
    assert page["more"] is True
    seen.update(numbers(page))
    page = changed(client, channel, page["next_cursor"], limit=2)
    seen.update(numbers(page))
    assert page["more"] is False
    assert seen == {"TEE-BLK-M": 10, "CAP-NVY": 2, "SOCK-GRY": 2}


def test_bad_requests_are_problems_naming_the_field(client: Client) -> None:
    channel = a_shop(client)
    url = f"/v1/channels/{channel}/availability"
    assert_problem(client.get(url, params={"changed_since": "yesterday"}), 422, "changed_since")
    assert_problem(client.get(url), 422, "sku")
    assert_problem(client.get(url, params={"changed_since": "0", "sku": "TEE-BLK-M"}), 422, "sku")
    assert_problem(client.get(url, params={"changed_since": "0", "limit": 0}), 422, "limit")
    assert_problem(client.get(url, params={"changed_since": "0", "limit": 1001}), 422, "limit")
    assert_problem(
        client.get("/v1/channels/NOPE/availability", params={"changed_since": "0"}), 404, "code"
    )
    body = {"lines": [{"sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 1}]}
    assert_problem(
        client.post(
            "/v1/reservations",
            json={**body, "channel": "x" * 65},
            headers={"Idempotency-Key": a_key()},
        ),
        422,
        "channel",
    )


def test_a_channel_switched_off_is_told_zero(client: Client) -> None:
    channel = a_shop(client, stock=10)
    cursor = changed(client, channel, "0")["next_cursor"]
    ok(client.patch(f"/v1/channels/{channel}", json={"active": False}))
    assert numbers(changed(client, channel, cursor)) == {"TEE-BLK-M": 0}
    a_channel(client, "AMAZON", ["DC-CHIBA"], kind="amazon")
    assert numbers(changed(client, "AMAZON", "0")) == {"TEE-BLK-M": 10}


def test_the_in_process_publisher_publishes_without_being_asked(client: Client) -> None:
    """`oms serve` without Redis runs the publisher's loop beside the API: nobody drains here,
    yet the numbers a receipt moved reach what a sync job reads."""
    channel = a_shop(client, stock=10)
    receive(client, "TEE-BLK-M", "DC-CHIBA", 5)
    url = f"/v1/channels/{channel}/availability"
    told: dict[str, int] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        told = numbers(ok(client.get(url, params={"changed_since": "0"})))
        if told == {"TEE-BLK-M": 15}:
            break
        time.sleep(0.05)
    assert told == {"TEE-BLK-M": 15}
