"""Reservations over HTTP: all lines or none."""

from __future__ import annotations

from typing import Any

import pytest

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
    stocked,
)


def lines(*items: tuple[str, str, Any]) -> dict[str, Any]:
    return {"lines": [{"sku": s, "location": loc, "quantity": q} for s, loc, q in items]}


def test_a_reservation_answers_201_and_holds_the_units(client: Client) -> None:
    sku, location = stocked(client, 10)
    body = {**lines((sku, location, 4)), "reference": "ORDER-1"}
    reservation = ok(client.post("/v1/reservations", json=body), 201)
    assert reservation["status"] == "active"
    assert reservation["reference"] == "ORDER-1"
    assert reservation["lines"] == [{"sku": sku, "location": location, "quantity": 4}]
    assert (level(client)["reserved"], level(client)["available"]) == (4, 6)
    assert ok(client.get(f"/v1/reservations/{reservation['id']}")) == reservation


def test_releasing_a_reservation_answers_200_and_gives_the_units_back(client: Client) -> None:
    sku, location = stocked(client, 10)
    created = ok(client.post("/v1/reservations", json=lines((sku, location, 4))), 201)
    released = ok(client.delete(f"/v1/reservations/{created['id']}"))
    assert released["status"] == "released"
    assert released["closed_at"] is not None
    assert level(client)["available"] == 10
    again = ok(client.delete(f"/v1/reservations/{created['id']}"))
    assert again["status"] == "released"
    assert level(client)["available"] == 10


def test_an_unknown_reservation_is_a_404(client: Client) -> None:
    assert_problem(client.get("/v1/reservations/999"), 404)
    assert_problem(client.delete("/v1/reservations/999"), 404)


def test_a_reservation_short_on_one_line_is_a_409_naming_it_and_reserves_nothing(
    client: Client,
) -> None:
    a_location(client, "DC-1")
    a_sku(client, "A")
    a_sku(client, "B")
    receive(client, "A", "DC-1", 10)
    receive(client, "B", "DC-1", 1)
    response = client.post("/v1/reservations", json=lines(("A", "DC-1", 3), ("B", "DC-1", 2)))
    problem = assert_problem(response, 409, "lines")
    assert problem["short_lines"] == [
        {"sku": "B", "location": "DC-1", "requested": 2, "available": 1}
    ]
    assert level(client, "A", "DC-1")["reserved"] == 0
    assert level(client, "B", "DC-1")["reserved"] == 0
    assert [m["type"] for m in ledger(client)] == ["receipt", "receipt"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (("GHOST", "DC-CHIBA", 1), "lines[0].sku"),
        (("TEE-BLK-M", "NOWHERE", 1), "lines[0].location"),
        (("TEE-BLK-M", "DC-CHIBA", 0), "lines[0].quantity"),
        (("TEE-BLK-M", "DC-CHIBA", -1), "lines[0].quantity"),
        (("TEE-BLK-M", "DC-CHIBA", 1.5), "lines[0].quantity"),
        (("TEE-BLK-M", "DC-CHIBA", "1"), "lines[0].quantity"),
    ],
)
def test_a_bad_reservation_line_is_refused_naming_it_and_changes_nothing(
    client: Client, line: tuple[str, str, Any], field: str
) -> None:
    stocked(client, 5)
    assert_problem(client.post("/v1/reservations", json=lines(line)), 422, field)
    assert level(client)["reserved"] == 0
    assert len(ledger(client)) == 1


def test_a_reservation_without_lines_is_refused_naming_lines(client: Client) -> None:
    stocked(client, 5)
    assert_problem(client.post("/v1/reservations", json={"lines": []}), 422, "lines")
    assert_problem(client.post("/v1/reservations", json={}), 422, "lines")


def test_replaying_a_reservation_answers_200_with_the_same_reservation(client: Client) -> None:
    sku, location = stocked(client, 10)
    headers = {"Idempotency-Key": a_key()}
    body = lines((sku, location, 4))
    first = client.post("/v1/reservations", json=body, headers=headers)
    replay = client.post("/v1/reservations", json=body, headers=headers)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert level(client)["reserved"] == 4


def test_reusing_a_reservation_key_for_other_lines_is_a_409(client: Client) -> None:
    sku, location = stocked(client, 10)
    headers = {"Idempotency-Key": a_key()}
    ok(client.post("/v1/reservations", json=lines((sku, location, 4)), headers=headers), 201)
    response = client.post("/v1/reservations", json=lines((sku, location, 5)), headers=headers)
    assert_problem(response, 409, "Idempotency-Key")
    assert level(client)["reserved"] == 4


def test_a_reservation_naming_a_channel_that_does_not_exist_is_a_422_and_changes_nothing(
    client: Client,
) -> None:
    a_location(client, "DC-CHIBA")
    a_sku(client, "TEE")
    receive(client, "TEE", "DC-CHIBA", 5)
    before = ok(client.get("/v1/stock", params={"sku": "TEE"}))

    response = client.post(
        "/v1/reservations",
        json={
            "channel": "nochan",
            "lines": [{"sku": "TEE", "location": "DC-CHIBA", "quantity": 1}],
        },
        headers={"Idempotency-Key": "reserve-for-nobody"},
    )

    assert_problem(response, 422, "channel")
    assert ok(client.get("/v1/stock", params={"sku": "TEE"})) == before


def test_lines_of_one_sku_adding_up_past_what_a_line_holds_are_a_422_naming_the_line(
    client: Client,
) -> None:
    # Each line is within bounds; merged they would pass the 32-bit columns (PostgreSQL
    # answered an unnamed "out of range", SQLite a 409): the same refusal on both.
    sku, location = stocked(client, 5)
    body = lines((sku, location, 600_000_000), (sku, location, 600_000_000))
    assert_problem(client.post("/v1/reservations", json=body), 422, "lines[1].quantity")
    assert level(client)["reserved"] == 0
    assert len(ledger(client)) == 1


def test_a_blank_idempotency_key_on_a_reservation_is_a_422_naming_it(client: Client) -> None:
    # A blank key is a client's bug (an unset variable): refused, not taken as "no key",
    # so that its retries cannot reserve twice.
    sku, location = stocked(client, 5)
    response = client.post(
        "/v1/reservations", json=lines((sku, location, 1)), headers={"Idempotency-Key": ""}
    )
    assert_problem(response, 422, "Idempotency-Key")
    assert level(client)["reserved"] == 0


def test_a_reservation_short_at_a_row_holding_billions_is_a_409_naming_it(client: Client) -> None:
    # reserved + the request passes 2^31 though the row never would: PostgreSQL computed the
    # check in 32 bits and answered "out of range" (for every caller of a batch), SQLite a 409.
    sku, location = stocked(client, 1_000_000_000)
    receive(client, sku, location, 1_000_000_000)
    ok(client.post("/v1/reservations", json=lines((sku, location, 1_000_000_000))), 201)
    ok(client.post("/v1/reservations", json=lines((sku, location, 900_000_000))), 201)

    response = client.post("/v1/reservations", json=lines((sku, location, 400_000_000)))

    problem = assert_problem(response, 409, "lines")
    assert problem["short_lines"] == [
        {"sku": sku, "location": location, "requested": 400_000_000, "available": 100_000_000}
    ]
    assert level(client)["reserved"] == 1_900_000_000
