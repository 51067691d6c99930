"""Transfers between locations over HTTP: draft, ship, receive, cancel."""

from __future__ import annotations

from typing import Any

from tests.api.http_builders import (
    Client,
    a_key,
    a_location,
    a_sku,
    assert_problem,
    ledger,
    level,
    ok,
    receive,
)


def two_places(client: Client, on_hand: int = 10) -> None:
    """DC-1 holding `on_hand` of A and of B; STORE-1 empty."""
    a_location(client, "DC-1")
    a_location(client, "STORE-1", kind="store")
    for sku in ("A", "B"):
        a_sku(client, sku)
        receive(client, sku, "DC-1", on_hand)


def a_transfer(client: Client, *items: tuple[str, int], **extra: Any) -> dict[str, Any]:
    body = {
        "source": "DC-1",
        "destination": "STORE-1",
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in items or [("A", 4)]],
        **extra,
    }
    return ok(client.post("/v1/transfers", json=body), 201)  # type: ignore[no-any-return]


def test_a_created_transfer_is_a_draft_that_moves_nothing(client: Client) -> None:
    two_places(client)
    transfer = a_transfer(client, ("B", 2), ("A", 4), reference="REPLENISH-7")
    assert transfer["status"] == "draft"
    assert transfer["reference"] == "REPLENISH-7"
    assert transfer["lines"] == [
        {"sku": "A", "quantity": 4, "shipped": 0, "received": 0, "outstanding": 0},
        {"sku": "B", "quantity": 2, "shipped": 0, "received": 0, "outstanding": 0},
    ]
    assert transfer["discrepancies"] == []
    assert ok(client.get(f"/v1/transfers/{transfer['id']}")) == transfer
    assert level(client, "A", "DC-1")["on_hand"] == 10


def test_shipping_moves_units_from_the_source_into_transit_to_the_destination(
    client: Client,
) -> None:
    two_places(client)
    transfer = a_transfer(client, ("A", 4))
    shipped = ok(client.post(f"/v1/transfers/{transfer['id']}/ship"))
    assert shipped["status"] == "shipped"
    assert shipped["lines"][0]["outstanding"] == 4
    assert level(client, "A", "DC-1")["on_hand"] == 6
    assert level(client, "A", "STORE-1")["in_transit"] == 4
    assert_problem(client.post(f"/v1/transfers/{transfer['id']}/ship"), 409, "status")


def test_a_partial_receipt_then_close_records_the_shortfall(client: Client) -> None:
    two_places(client)
    transfer_id = a_transfer(client, ("A", 4))["id"]
    ok(client.post(f"/v1/transfers/{transfer_id}/ship"))
    partial = ok(
        client.post(
            f"/v1/transfers/{transfer_id}/receive", json={"lines": [{"sku": "A", "quantity": 3}]}
        )
    )
    assert partial["status"] == "partially_received"
    assert partial["lines"][0] | {"received": 3, "outstanding": 1} == partial["lines"][0]
    closed = ok(client.post(f"/v1/transfers/{transfer_id}/receive", json={"close": True}))
    assert closed["status"] == "received"
    assert closed["discrepancies"] == [
        {"sku": "A", "kind": "shortfall", "quantity": 1, "expected": 4, "received": 3}
    ]
    store = level(client, "A", "STORE-1")
    assert (store["on_hand"], store["in_transit"]) == (3, 0)
    assert ok(client.get(f"/v1/transfers/{transfer_id}")) == closed


def test_receiving_an_unknown_sku_is_refused_naming_the_line(client: Client) -> None:
    two_places(client)
    transfer_id = a_transfer(client, ("A", 4))["id"]
    ok(client.post(f"/v1/transfers/{transfer_id}/ship"))
    response = client.post(
        f"/v1/transfers/{transfer_id}/receive",
        json={"lines": [{"sku": "A", "quantity": 1}, {"sku": "GHOST", "quantity": 1}]},
    )
    assert_problem(response, 422, "lines[1].sku")
    assert level(client, "A", "STORE-1")["on_hand"] == 0


def test_a_transfer_to_its_own_location_is_refused_naming_the_destination(
    client: Client,
) -> None:
    two_places(client)
    response = client.post(
        "/v1/transfers",
        json={"source": "DC-1", "destination": "DC-1", "lines": [{"sku": "A", "quantity": 1}]},
    )
    assert_problem(response, 422, "destination")


def test_a_transfer_with_bad_lines_or_places_is_refused_naming_the_field(client: Client) -> None:
    two_places(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"destination": "NOWHERE"}, "destination"),
        ({"lines": [{"sku": "GHOST", "quantity": 1}]}, "lines[0].sku"),
        ({"lines": [{"sku": "A", "quantity": 0}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "A", "quantity": 1.0}]}, "lines[0].quantity"),
        ({"lines": []}, "lines"),
    ]
    for override, field in cases:
        body: dict[str, Any] = {
            "source": "DC-1",
            "destination": "STORE-1",
            "lines": [{"sku": "A", "quantity": 1}],
            **override,
        }
        assert_problem(client.post("/v1/transfers", json=body), 422, field)


def test_shipping_more_than_is_available_is_a_409_and_moves_nothing(client: Client) -> None:
    two_places(client, on_hand=3)
    transfer_id = a_transfer(client, ("A", 4))["id"]
    problem = assert_problem(client.post(f"/v1/transfers/{transfer_id}/ship"), 409)
    assert problem["short_lines"][0]["sku"] == "A"
    assert level(client, "A", "DC-1")["on_hand"] == 3
    assert ok(client.get(f"/v1/transfers/{transfer_id}"))["status"] == "draft"


def test_a_draft_can_be_cancelled_but_a_shipped_transfer_cannot(client: Client) -> None:
    two_places(client)
    draft = a_transfer(client)
    assert ok(client.post(f"/v1/transfers/{draft['id']}/cancel"))["status"] == "cancelled"
    shipped = a_transfer(client)
    ok(client.post(f"/v1/transfers/{shipped['id']}/ship"))
    assert_problem(client.post(f"/v1/transfers/{shipped['id']}/cancel"), 409)
    assert ok(client.get(f"/v1/transfers/{shipped['id']}"))["status"] == "shipped"


def test_an_unknown_transfer_is_a_404(client: Client) -> None:
    assert_problem(client.get("/v1/transfers/999"), 404)
    assert_problem(client.post("/v1/transfers/999/ship"), 404)


def test_replaying_create_ship_and_receive_answers_200_and_changes_nothing(
    client: Client,
) -> None:
    two_places(client)
    body = {"source": "DC-1", "destination": "STORE-1", "lines": [{"sku": "A", "quantity": 4}]}
    create_key = {"Idempotency-Key": a_key()}
    created = client.post("/v1/transfers", json=body, headers=create_key)
    again = client.post("/v1/transfers", json=body, headers=create_key)
    assert (created.status_code, again.status_code) == (201, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == created.json()
    transfer_id = created.json()["id"]

    ship_key = {"Idempotency-Key": a_key()}
    shipped = client.post(f"/v1/transfers/{transfer_id}/ship", headers=ship_key)
    reshipped = client.post(f"/v1/transfers/{transfer_id}/ship", headers=ship_key)
    assert (shipped.status_code, reshipped.status_code) == (200, 200)
    assert reshipped.headers["idempotent-replayed"] == "true"
    assert reshipped.json() == shipped.json()

    receipt = {"lines": [{"sku": "A", "quantity": 2}]}
    receive_key = {"Idempotency-Key": a_key()}
    path = f"/v1/transfers/{transfer_id}/receive"
    first = client.post(path, json=receipt, headers=receive_key)
    second = client.post(path, json=receipt, headers=receive_key)
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert level(client, "A", "STORE-1")["on_hand"] == 2
    assert len([m for m in ledger(client) if m["type"] == "transfer_in"]) == 1
    other = client.post(path, json={"lines": [{"sku": "A", "quantity": 1}]}, headers=receive_key)
    assert_problem(other, 409, "Idempotency-Key")
