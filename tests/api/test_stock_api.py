"""Stock movements, levels, the ledger and history over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.api.http_builders import (
    Client,
    a_bundle,
    a_key,
    a_location,
    a_sku,
    assert_problem,
    ledger,
    level,
    move,
    ok,
    receive,
    stocked,
)

# --------------------------------------------------------------------------- movements


def test_a_receipt_answers_201_with_the_movement_and_the_new_level(client: Client) -> None:
    stocked(client, 0)
    body = ok(move(client, quantity=7, reference="PO-1"), 201)
    [movement] = body["movements"]
    assert (movement["type"], movement["quantity"], movement["reference"]) == (
        "receipt",
        7,
        "PO-1",
    )
    assert movement["delta"]["on_hand"] == 7
    assert body["levels"] == [
        {
            "sku": "TEE-BLK-M",
            "location": "DC-CHIBA",
            "on_hand": 7,
            "reserved": 0,
            "quarantined": 0,
            "in_transit": 0,
            "available": 7,
        }
    ]


def test_replaying_a_movement_answers_200_with_the_same_body_and_changes_nothing(
    client: Client,
) -> None:
    stocked(client, 0)
    key = a_key()
    first = move(client, quantity=7, key=key)
    replay = move(client, quantity=7, key=key)
    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert replay.json() == first.json()
    assert level(client)["on_hand"] == 7
    assert len(ledger(client)) == 1


def test_reusing_an_idempotency_key_for_a_different_movement_is_a_409(client: Client) -> None:
    stocked(client, 0)
    key = a_key()
    ok(move(client, quantity=7, key=key), 201)
    assert_problem(move(client, quantity=8, key=key), 409, "Idempotency-Key")
    assert level(client)["on_hand"] == 7


def test_a_movement_without_an_idempotency_key_is_refused_naming_the_header(
    client: Client,
) -> None:
    stocked(client, 0)
    response = client.post(
        "/v1/stock/movements",
        json={"type": "receipt", "sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 1},
    )
    assert_problem(response, 422, "Idempotency-Key")
    assert ledger(client) == []


@pytest.mark.parametrize(
    ("sku", "location", "field"),
    [("GHOST", "DC-CHIBA", "sku"), ("TEE-BLK-M", "NOWHERE", "location")],
)
def test_a_movement_of_an_unknown_sku_or_location_is_refused_naming_it(
    client: Client, sku: str, location: str, field: str
) -> None:
    stocked(client, 0)
    assert_problem(move(client, sku, location, 3), 422, field)
    assert ledger(client) == []


def test_a_movement_of_a_bundle_is_refused_because_bundles_hold_no_stock(
    client: Client,
) -> None:
    stocked(client, 0)
    a_bundle(client, "SET", [("TEE-BLK-M", 2)])
    assert_problem(move(client, "SET", "DC-CHIBA", 1), 422, "sku")


@pytest.mark.parametrize("quantity", [0, -3, 2.5, 3.0, "3", True, None])
def test_a_receipt_of_a_quantity_that_is_not_a_positive_integer_changes_nothing(
    client: Client, quantity: object
) -> None:
    stocked(client, 5)
    assert_problem(move(client, quantity=quantity), 422, "quantity")
    assert level(client)["on_hand"] == 5
    assert len(ledger(client)) == 1


def test_an_unknown_movement_type_is_refused_naming_type(client: Client) -> None:
    stocked(client, 0)
    assert_problem(move(client, kind="ship", quantity=1), 422, "type")


def test_an_adjustment_without_a_reason_is_refused_and_changes_nothing(client: Client) -> None:
    stocked(client, 5)
    assert_problem(move(client, kind="adjustment", quantity=-2), 422, "reason")
    assert_problem(move(client, kind="adjustment", quantity=-2, reason="gremlins"), 422, "reason")
    assert level(client)["on_hand"] == 5
    assert len(ledger(client)) == 1


def test_an_adjustment_with_a_reason_may_lower_the_stock(client: Client) -> None:
    stocked(client, 5)
    body = ok(move(client, kind="adjustment", quantity=-2, reason="damaged"), 201)
    assert body["movements"][0]["reason"] == "damaged"
    assert body["levels"][0]["on_hand"] == 3


def test_an_adjustment_below_zero_is_a_409_with_the_short_line(client: Client) -> None:
    stocked(client, 5)
    problem = assert_problem(move(client, kind="adjustment", quantity=-6, reason="lost"), 409)
    assert problem["short_lines"] == [
        {"sku": "TEE-BLK-M", "location": "DC-CHIBA", "requested": 6, "available": 5}
    ]
    assert level(client)["on_hand"] == 5


def test_a_count_records_the_variance_and_sets_on_hand(client: Client) -> None:
    stocked(client, 5)
    body = ok(move(client, kind="count", quantity=3), 201)
    [movement] = body["movements"]
    assert (movement["counted"], movement["quantity"]) == (3, -2)
    assert body["levels"][0]["on_hand"] == 3


def test_quarantined_units_are_not_available_until_released(client: Client) -> None:
    stocked(client, 5)
    held = ok(move(client, kind="quarantine", quantity=2, reason="inspection"), 201)
    assert (held["levels"][0]["quarantined"], held["levels"][0]["available"]) == (2, 3)
    freed = ok(move(client, kind="quarantine_release", quantity=2), 201)
    assert (freed["levels"][0]["quarantined"], freed["levels"][0]["available"]) == (0, 5)


# --------------------------------------------------------------------------- reading stock


def test_stock_levels_can_be_filtered_and_walked_page_by_page(client: Client) -> None:
    for code in ("DC-1", "DC-2", "DC-3"):
        a_location(client, code)
    for code in ("A", "B"):
        a_sku(client, code)
        for location in ("DC-1", "DC-2", "DC-3"):
            receive(client, code, location, 1)
    seen: list[tuple[str, str]] = []
    params: dict[str, str | int] = {"limit": 4}
    while True:
        page = ok(client.get("/v1/stock", params=params))
        seen += [(lv["sku"], lv["location"]) for lv in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [(s, loc) for s in ("A", "B") for loc in ("DC-1", "DC-2", "DC-3")]
    only_b = ok(client.get("/v1/stock", params={"sku": "B", "location": "DC-2"}))["items"]
    assert [(lv["sku"], lv["location"]) for lv in only_b] == [("B", "DC-2")]
    assert_problem(client.get("/v1/stock", params={"sku": "GHOST"}), 404, "sku")


def test_the_stock_of_a_sku_lists_every_location_and_the_total(client: Client) -> None:
    a_location(client, "DC-1")
    a_location(client, "DC-2")
    a_sku(client, "A")
    receive(client, "A", "DC-1", 4)
    receive(client, "A", "DC-2", 6)
    stock = ok(client.get("/v1/stock/A"))
    assert stock["kind"] == "simple"
    assert [(s["location"], s["on_hand"]) for s in stock["locations"]] == [
        ("DC-1", 4),
        ("DC-2", 6),
    ]
    assert (stock["total"]["on_hand"], stock["total"]["available"]) == (10, 10)
    assert_problem(client.get("/v1/stock/GHOST"), 404, "sku")


def test_a_bundle_shows_derived_availability_and_its_flattened_component_needs(
    client: Client,
) -> None:
    a_location(client, "DC-1")
    a_location(client, "DC-2")
    a_sku(client, "CUP")
    a_sku(client, "SAUCER")
    a_bundle(client, "PAIR", [("CUP", 1), ("SAUCER", 1)])
    a_bundle(client, "GIFT", [("PAIR", 2), ("SAUCER", 1)])
    receive(client, "CUP", "DC-1", 5)
    receive(client, "SAUCER", "DC-1", 6)
    receive(client, "SAUCER", "DC-2", 3)
    stock = ok(client.get("/v1/stock/GIFT"))
    assert stock["kind"] == "bundle"
    assert stock["components"] == [{"sku": "CUP", "quantity": 2}, {"sku": "SAUCER", "quantity": 3}]
    by_location = {s["location"]: s["available"] for s in stock["locations"]}
    assert by_location == {"DC-1": 2, "DC-2": 0}
    assert stock["total"]["available"] == 2  # 5 cups // 2, 9 saucers // 3


def test_the_ledger_path_is_not_taken_for_a_sku_code(client: Client) -> None:
    stocked(client, 3)
    body = ok(client.get("/v1/stock/ledger"))
    assert set(body) == {"items", "next_cursor"}


def test_the_ledger_lists_movements_newest_first_page_by_page(client: Client) -> None:
    stocked(client, 0)
    for quantity in (1, 2, 3, 4, 5):
        receive(client, "TEE-BLK-M", "DC-CHIBA", quantity)
    quantities: list[int] = []
    params: dict[str, str | int] = {"limit": 2, "sku": "TEE-BLK-M", "location": "DC-CHIBA"}
    while True:
        page = ok(client.get("/v1/stock/ledger", params=params))
        quantities += [m["quantity"] for m in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert quantities == [5, 4, 3, 2, 1]
    assert_problem(client.get("/v1/stock/ledger", params={"cursor": "x"}), 422, "cursor")
    assert_problem(client.get("/v1/stock/ledger", params={"before": "x"}), 422, "before")
    assert_problem(client.get("/v1/stock/ledger", params={"location": "NOWHERE"}), 404)


def test_stock_as_of_a_moment_shows_only_what_the_ledger_had_by_then(client: Client) -> None:
    stocked(client, 0)
    first = receive(client, "TEE-BLK-M", "DC-CHIBA", 5)
    receive(client, "TEE-BLK-M", "DC-CHIBA", 3)
    at = datetime.fromisoformat(first["movements"][0]["recorded_at"])
    then = ok(client.get("/v1/stock/TEE-BLK-M/as-of", params={"at": at.isoformat()}))
    assert then["total"]["on_hand"] == 5
    naive_utc = at.replace(tzinfo=None).isoformat()
    assert ok(client.get("/v1/stock/TEE-BLK-M/as-of", params={"at": naive_utc})) == then
    before = (at - timedelta(seconds=1)).isoformat()
    earlier = ok(client.get("/v1/stock/TEE-BLK-M/as-of", params={"at": before}))
    assert (earlier["locations"], earlier["total"]["on_hand"]) == ([], 0)
    assert ok(client.get("/v1/stock/TEE-BLK-M"))["total"]["on_hand"] == 8


def test_stock_as_of_needs_a_valid_moment_naming_at(client: Client) -> None:
    stocked(client, 1)
    assert_problem(client.get("/v1/stock/TEE-BLK-M/as-of"), 422, "at")
    assert_problem(client.get("/v1/stock/TEE-BLK-M/as-of", params={"at": "yesterday"}), 422, "at")
