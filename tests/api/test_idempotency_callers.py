"""An Idempotency-Key is bound to the API key that sent it: another client replaying it gets a
409 and never the first caller's answer; the first caller's own retry still replays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.http_builders import Client, a_key, a_location, a_sku, assert_problem, ok, receive

Headers = dict[str, str]


def _world(client: Client) -> None:
    a_location(client, "DC-CHIBA")
    a_location(client, "STORE-TOKYO", kind="store", prefecture="13", postal_code="150-0041")
    a_sku(client, "TEE-BLK-M")
    receive(client, "TEE-BLK-M", "DC-CHIBA", 10)


def _a_transfer(client: Client) -> int:
    body = {
        "source": "DC-CHIBA",
        "destination": "STORE-TOKYO",
        "lines": [{"sku": "TEE-BLK-M", "quantity": 2}],
    }
    return int(ok(client.post("/v1/transfers", json=body), 201)["id"])


def _movement(client: Client, headers: Headers) -> Any:
    body = {"type": "receipt", "sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 3}
    return client.post("/v1/stock/movements", json=body, headers=headers)


def _reservation(client: Client, headers: Headers) -> Any:
    body = {"lines": [{"sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 1}]}
    return client.post("/v1/reservations", json=body, headers=headers)


def _transfer(client: Client, headers: Headers) -> Any:
    body = {
        "source": "DC-CHIBA",
        "destination": "STORE-TOKYO",
        "lines": [{"sku": "TEE-BLK-M", "quantity": 1}],
    }
    return client.post("/v1/transfers", json=body, headers=headers)


REQUESTS: dict[str, Callable[[Client, Headers], Any]] = {
    "movement": _movement,
    "reservation": _reservation,
    "transfer": _transfer,
}


@pytest.mark.parametrize("request_kind", list(REQUESTS))
def test_a_key_replayed_by_another_api_key_is_a_409_and_changes_nothing(
    client: Client, key_for: Callable[[str], Headers], request_kind: str
) -> None:
    _world(client)
    send = REQUESTS[request_kind]
    # Both keys have the same name and role: the API key itself is who sent it.
    first, other = key_for("warehouse"), key_for("warehouse")
    key = {"Idempotency-Key": a_key()}
    ok(send(client, {**first, **key}), 201)
    before = ok(client.get("/v1/stock"))

    refused = send(client, {**other, **key})
    assert_problem(refused, 409, "Idempotency-Key")
    assert ok(client.get("/v1/stock")) == before
    from_admin = send(client, key)  # the bootstrap admin is a client of its own
    assert_problem(from_admin, 409, "Idempotency-Key")

    replay = send(client, {**first, **key})
    assert replay.status_code == 200, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert ok(client.get("/v1/stock")) == before


@pytest.mark.parametrize("step", ["ship", "receive"])
def test_a_transfer_step_replayed_by_another_api_key_is_a_409(
    client: Client, key_for: Callable[[str], Headers], step: str
) -> None:
    _world(client)
    transfer_id = _a_transfer(client)
    first, other = key_for("warehouse"), key_for("warehouse")
    if step == "receive":
        ok(client.post(f"/v1/transfers/{transfer_id}/ship", headers=first))
    body = {"lines": [{"sku": "TEE-BLK-M", "quantity": 2}]} if step == "receive" else None
    key = {"Idempotency-Key": a_key()}
    path = f"/v1/transfers/{transfer_id}/{step}"
    ok(client.post(path, json=body, headers={**first, **key}))

    assert_problem(client.post(path, json=body, headers={**other, **key}), 409, "Idempotency-Key")
    replay = client.post(path, json=body, headers={**first, **key})
    assert replay.status_code == 200, replay.text
