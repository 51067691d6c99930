"""Input the databases cannot hold, or that should never be taken, is a 4xx problem naming the
field, and nothing is written. Each probe here was a 500 (or was accepted) before: ids and
cursors at or above 2**63, NUL in text on PostgreSQL, dates before year 1 in UTC, a shipped_at
of 0 or in 2099, a sourcing profile of 2**63 parcels. On SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.api.http_builders import (
    Client,
    a_location,
    a_sku,
    assert_problem,
    ledger,
    ok,
    receive,
)
from tests.api.order_builders import (
    DC,
    RAKUTEN,
    STOREFRONT,
    TOP,
    a_world,
    advance,
    an_order,
    an_order_body,
    get_order,
    order_rows,
    outbox_events,
    place,
    ship_body,
    shipment_from,
    stock_levels,
)

HUGE = 2**63  # one past the largest BIGINT
PROBLEM = "urn:oms:problem:"


def _writes(client: Client, engine: Engine) -> tuple[Any, ...]:
    """Everything a refused request might have written, to compare before and after."""
    return (
        stock_levels(client),
        ledger(client, limit=500),
        order_rows(engine),
        ok(client.get("/v1/locations"))["items"],
        ok(client.get("/v1/skus"))["items"],
        ok(client.get("/v1/channels"))["items"],
        outbox_events(engine, "ShipmentShipped"),
    )


# --------------------------------------------------------------------------- ids and cursors


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/v1/orders/{HUGE}", "order_id"),
        ("GET", f"/v1/orders/{HUGE}/sourcing", "order_id"),
        ("POST", f"/v1/orders/{HUGE}/cancel", "order_id"),
        ("GET", f"/v1/shipments/{HUGE}", "shipment_id"),
        ("POST", f"/v1/shipments/{HUGE}/pick", "shipment_id"),
        ("POST", f"/v1/shipments/{HUGE}/pack", "shipment_id"),
        ("GET", f"/v1/reservations/{HUGE}", "reservation_id"),
        ("DELETE", f"/v1/reservations/{HUGE}", "reservation_id"),
        ("GET", f"/v1/transfers/{HUGE}", "transfer_id"),
        ("POST", f"/v1/transfers/{HUGE}/ship", "transfer_id"),
        ("POST", f"/v1/transfers/{HUGE}/cancel", "transfer_id"),
        ("GET", "/v1/orders/0", "order_id"),
        ("GET", "/v1/orders/-1", "order_id"),
        # exclusions have 32-bit ids
        ("DELETE", f"/v1/channels/{RAKUTEN}/rules/exclusions/{2**31}", "exclusion_id"),
    ],
)
def test_an_id_no_row_can_have_is_a_422_naming_it_and_changes_nothing(
    client: Client, engine: Engine, method: str, path: str, field: str
) -> None:
    a_world(client, {(TOP, DC): 3})
    before = _writes(client, engine)

    body: dict[str, Any] | None = {} if path.endswith("/cancel") and "orders" in path else None
    problem = assert_problem(client.request(method, path, json=body), 422, field)

    assert problem["type"] == PROBLEM + "invalid-input"
    assert _writes(client, engine) == before


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/orders", {"cursor": str(HUGE)}, "cursor"),
        ("/v1/stock/ledger", {"before": str(HUGE)}, "before"),
        ("/v1/locations", {"cursor": str(HUGE)}, "cursor"),
        ("/v1/locations", {"cursor": str(2**31)}, "cursor"),  # locations have 32-bit ids
        ("/v1/skus", {"cursor": "²"}, "cursor"),  # a digit to str.isdigit, not to int()
        ("/v1/channels", {"cursor": str(HUGE)}, "cursor"),
        ("/v1/rules/changes", {"cursor": str(HUGE)}, "cursor"),
        ("/v1/rules/safety-stock", {"cursor": str(HUGE)}, "cursor"),
        (
            f"/v1/channels/{RAKUTEN}/availability",
            {"changed_since": f"c1.{HUGE}.1"},
            "changed_since",
        ),
        ("/v1/orders", {"limit": str(HUGE)}, "limit"),
        (f"/v1/channels/{RAKUTEN}/availability", {"changed_since": "0", "limit": "0"}, "limit"),
    ],
)
def test_a_cursor_or_page_size_beyond_the_database_is_a_422_naming_it(
    client: Client, path: str, params: dict[str, str], field: str
) -> None:
    a_world(client)
    assert_problem(client.get(path, params=params), 422, field)


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x7f", "\n"])
def test_an_order_whose_external_id_holds_a_control_character_is_refused(
    client: Client, engine: Engine, character: str
) -> None:
    a_world(client, {(TOP, DC): 3})
    before = _writes(client, engine)

    response = place(client, an_order_body(external_id=f"SF-1{character}2"))

    problem = assert_problem(response, 422, "external_id")
    assert f"U+{ord(character):04X}" in problem["detail"]
    assert _writes(client, engine) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/locations",
            {
                "code": "DC-2",
                "name": "倉庫\x00",
                "kind": "warehouse",
                "prefecture": "12",
                "postal_code": "270-0000",
            },
            "name",
        ),
        ("/v1/skus", {"code": "NEW", "name": "T\x00"}, "name"),
        (
            "/v1/skus",
            {"code": "NEW", "name": "T", "attributes": {"colour": "bl\x00ck"}},
            "attributes",
        ),
        ("/v1/skus", {"code": "NEW", "name": "T", "attributes": {"c\x00": "black"}}, "attributes"),
        ("/v1/channels", {"code": "YAHOO", "name": "Y\x00", "kind": "storefront"}, "name"),
        (
            "/v1/reservations",
            {"lines": [{"sku": TOP, "location": DC, "quantity": 1}], "reference": "r\x00"},
            "reference",
        ),
        (
            "/v1/transfers",
            {
                "source": DC,
                "destination": "STORE-SHIBUYA",
                "lines": [{"sku": TOP, "quantity": 1}],
                "reference": "\x00",
            },
            "reference",
        ),
    ],
)
def test_a_nul_in_any_text_field_is_a_422_naming_it(
    client: Client, engine: Engine, path: str, body: dict[str, Any], field: str
) -> None:
    a_world(client, {(TOP, DC): 3})
    before = _writes(client, engine)

    assert_problem(client.post(path, json=body), 422, field)

    assert _writes(client, engine) == before


def test_a_nul_in_a_shipping_address_or_a_movement_reference_names_the_nested_field(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 3})
    before = _writes(client, engine)
    body = an_order_body()
    body["ship_to"]["city"] = "渋谷区\x00"

    assert_problem(place(client, body), 422, "ship_to.city")
    assert_problem(
        client.post(
            "/v1/stock/movements",
            headers={"Idempotency-Key": "nul-1"},
            json={
                "type": "receipt",
                "sku": TOP,
                "location": DC,
                "quantity": 1,
                "reference": "\x00",
            },
        ),
        422,
        "reference",
    )
    assert _writes(client, engine) == before


def test_a_gift_note_may_hold_line_breaks_but_not_a_nul(client: Client) -> None:
    a_world(client, {(TOP, DC): 3})

    order = an_order(client, gift_note="お誕生日\nおめでとう")
    assert order["gift_note"] == "お誕生日\nおめでとう"
    assert_problem(place(client, an_order_body(gift_note="a\x00b")), 422, "gift_note")


# --------------------------------------------------------------------------- instants


@pytest.mark.parametrize(
    "ordered_at",
    [
        "0001-01-01T00:00:00+09:00",  # year 0 in UTC: Python and PostgreSQL cannot hold it
        "1999-12-31T23:59:59Z",
        "2099-01-01T00:00:00+09:00",  # not placed yet
        0,  # a JSON number was read as seconds since 1970
        "2024-05-01T10:00:00",  # no offset
    ],
)
def test_an_order_placed_at_a_moment_that_cannot_be_is_a_422_naming_ordered_at(
    client: Client, engine: Engine, ordered_at: Any
) -> None:
    a_world(client, {(TOP, DC): 3})
    before = _writes(client, engine)

    assert_problem(place(client, an_order_body(ordered_at=ordered_at)), 422, "ordered_at")

    assert _writes(client, engine) == before


def test_a_promised_date_may_be_ahead_but_not_a_century_ahead(client: Client) -> None:
    a_world(client, {(TOP, DC): 3})

    assert_problem(
        place(client, an_order_body(promised_by="2199-01-01T00:00:00+09:00")), 422, "promised_by"
    )


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00+09:00", "0001-01-01T00:00:00", "2099-01-01T00:00:00Z"]
)
def test_stock_as_of_a_moment_the_ledger_cannot_have_is_a_422_naming_at(
    client: Client, at: str
) -> None:
    a_world(client, {(TOP, DC): 3})

    assert_problem(client.get(f"/v1/stock/{TOP}/as-of", params={"at": at}), 422, "at")


@pytest.mark.parametrize("shipped_at", [0, "1970-01-01T00:00:00Z", "2099-12-31T00:00:00+09:00"])
def test_a_parcel_shipped_in_1970_or_in_2099_is_refused_and_stays_packed(
    client: Client, engine: Engine, shipped_at: Any
) -> None:
    a_world(client, {(TOP, DC): 3})
    order = an_order(client)
    shipment = shipment_from(order, DC)
    ok(advance(client, shipment["id"], "pick"))
    ok(advance(client, shipment["id"], "pack"))
    before = _writes(client, engine)

    response = advance(client, shipment["id"], "ship", json=ship_body(shipped_at=shipped_at))

    assert_problem(response, 422, "shipped_at")
    assert shipment_from(get_order(client, order["id"]), DC)["status"] == "packed"
    assert _writes(client, engine) == before


def test_a_parcel_shipped_earlier_keeps_its_time(client: Client) -> None:
    a_world(client, {(TOP, DC): 3})
    order = an_order(client)
    shipment = shipment_from(order, DC)
    ok(advance(client, shipment["id"], "pick"))
    ok(advance(client, shipment["id"], "pack"))

    shipped = ok(
        advance(
            client, shipment["id"], "ship", json=ship_body(shipped_at="2025-01-01T09:00:00+09:00")
        )
    )

    assert datetime.fromisoformat(shipped["shipped_at"]) == datetime(2025, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_shipments": HUGE}, "max_shipments"),
        ({"min_shipment_value": HUGE}, "min_shipment_value"),
        ({"max_shipments": 0}, "max_shipments"),
        ({"max_shipments": "2"}, "max_shipments"),
        ({"ranking": ["priority", "cheapest"]}, "ranking[1]"),
        ({"ranking": [{}]}, "ranking[0]"),
        ({"allow_backorder": "no"}, "allow_backorder"),
        ({"max_shipment": 2}, "max_shipment"),
    ],
)
def test_a_sourcing_profile_out_of_bounds_is_a_422_naming_the_field_and_keeps_the_old_one(
    client: Client, body: dict[str, Any], field: str
) -> None:
    a_world(client)
    path = f"/v1/channels/{STOREFRONT}/sourcing-profile"
    ok(client.put(path, json={"max_shipments": 2}))
    before = ok(client.get(path))

    assert_problem(client.put(path, json=body), 422, field)

    assert ok(client.get(path)) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({"priority": HUGE}, "priority"), ({"daily_capacity": HUGE}, "daily_capacity")],
)
def test_location_shipping_beyond_its_bounds_is_a_422_naming_the_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    a_world(client)

    assert_problem(client.put(f"/v1/locations/{DC}/shipping", json=body), 422, field)


# --------------------------------------------------------------------------- problems and methods


def test_each_kind_of_problem_has_its_own_type(client: Client) -> None:
    a_world(client, {(TOP, DC): 1})
    ok(client.put(f"/v1/channels/{RAKUTEN}/sourcing-profile", json={"allow_backorder": False}))

    unauthenticated = client.get("/v1/orders", headers={"Authorization": "Bearer nobody"})
    not_found = client.get("/v1/orders/99")
    no_route = client.get("/v1/nowhere")
    method = client.delete("/v1/orders")
    too_many = place(
        client,
        an_order_body(
            channel=RAKUTEN, lines=[{"line_id": "1", "sku": TOP, "quantity": 2, "unit_price": 100}]
        ),
    )
    malformed = client.post(
        "/v1/orders", content=b"{", headers={"Content-Type": "application/json"}
    )
    csv_type = client.post(
        "/v1/rules/import", content=b"rule,value\n", headers={"Content-Type": "text/plain"}
    )

    types = {
        assert_problem(unauthenticated, 401)["type"],
        assert_problem(not_found, 404)["type"],
        assert_problem(method, 405)["type"],
        assert_problem(too_many, 409)["type"],
        assert_problem(malformed, 400)["type"],
        assert_problem(csv_type, 415)["type"],
    }
    assert assert_problem(no_route, 404)["type"] == PROBLEM + "not-found"
    assert len(types) == 6
    assert all(t.startswith(PROBLEM) for t in types), types
    assert "about:blank" not in types


def test_a_409_names_the_line_and_its_units_without_running_them_together(client: Client) -> None:
    a_world(client, {(TOP, DC): 1})
    ok(client.put(f"/v1/channels/{RAKUTEN}/sourcing-profile", json={"allow_backorder": False}))

    response = place(
        client,
        an_order_body(
            channel=RAKUTEN, lines=[{"line_id": "1", "sku": TOP, "quantity": 2, "unit_price": 100}]
        ),
    )

    detail = assert_problem(response, 409, "lines")["detail"]
    assert f"line 1: 1 x {TOP}" in detail, detail
    assert f"1 1 x {TOP}" not in detail


def test_an_unexpected_error_is_a_typed_500_that_tells_nothing_inside(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("secret connection string")

    monkeypatch.setattr(client.app.state.inventory, "get_location", broken)

    problem = assert_problem(client.get(f"/v1/locations/{DC}"), 500)

    assert problem["type"] == PROBLEM + "internal-error"
    assert "secret" not in problem["detail"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/orders", {"GET", "POST", "OPTIONS"}),
        ("/v1/skus/TEE", {"GET", "PATCH", "OPTIONS"}),
        ("/v1/reservations/1", {"GET", "DELETE", "OPTIONS"}),
        ("/v1/channels/RAKUTEN/rules/exclusions", {"GET", "POST", "OPTIONS"}),
    ],
)
def test_options_and_a_405_list_every_method_of_the_path(
    client: Client, path: str, methods: set[str]
) -> None:
    options = client.options(path)
    refused = client.put(path, json={})

    assert options.status_code == 204
    assert {m.strip() for m in options.headers["allow"].split(",")} == methods
    assert_problem(refused, 405)
    assert {m.strip() for m in refused.headers["allow"].split(",")} == methods


# --------------------------------------------------------------------------- the OpenAPI


def test_the_openapi_states_the_rules_the_server_enforces(client: Client) -> None:
    document = ok(client.get("/schema/openapi.json"))
    schemas = document["components"]["schemas"]
    order = schemas["PlaceOrderRequest"]
    get_one = document["paths"]["/v1/orders/{order_id}"]["get"]
    [order_id] = get_one["parameters"]

    assert order["additionalProperties"] is False
    assert order["properties"]["external_id"]["pattern"]
    assert "date-time" in str(order["properties"]["ordered_at"])
    assert schemas["ShipRequest"]["properties"]["carrier"].get("enum") or "$ref" in str(
        schemas["ShipRequest"]["properties"]["carrier"]
    )
    assert order_id["schema"]["minimum"] == 1
    assert int(order_id["schema"]["maximum"]) <= HUGE
    assert "application/problem+json" in get_one["responses"]["404"]["content"]
    assert "null" not in str(schemas["UpdateChannelRequest"]["properties"]["active"])
    profile = schemas["SourcingProfileRequest"]["properties"]
    assert "maximum" in str(profile["max_shipments"])


def test_a_sku_can_still_be_made_and_found(client: Client) -> None:
    """The stricter schemas still take an ordinary request (a guard against over-tightening)."""
    a_location(client, "DC-CHIBA")
    a_sku(client, "TEE", name="Tシャツ", attributes={"size": "M"})
    receive(client, "TEE", "DC-CHIBA", 2)

    assert ok(client.get("/v1/skus/TEE"))["name"] == "Tシャツ"


def test_receipts_adding_up_past_what_a_stock_level_holds_are_a_422_and_change_nothing(
    client: Client, engine: Engine
) -> None:
    a_location(client, DC)
    a_sku(client, TOP)
    receive(client, TOP, DC, 1_000_000_000)
    receive(client, TOP, DC, 1_000_000_000)
    before = _writes(client, engine)

    response = client.post(
        "/v1/stock/movements",
        json={"type": "receipt", "sku": TOP, "location": DC, "quantity": 1_000_000_000},
        headers={"Idempotency-Key": "third-billion"},
    )

    if engine.dialect.name == "sqlite":  # 64-bit integers: it fits
        assert response.status_code == 201, response.text
        return
    assert_problem(response, 422, "quantity")
    assert response.json()["type"] == PROBLEM + "out-of-range"
    assert _writes(client, engine) == before


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/v1/skus/T%00", "code"),
        ("GET", "/v1/stock/T%00", "sku"),
        ("GET", "/v1/orders?channel=%00", "channel"),
        ("GET", "/v1/stock?location=DC%00", "location"),
        ("GET", "/v1/stock/ledger?sku=%01", "sku"),
        ("GET", f"/v1/channels/{RAKUTEN}/availability?sku=%00", "sku"),
        ("PUT", f"/v1/channels/{RAKUTEN}/rules/pools/T%00", "sku"),
    ],
)
def test_a_nul_in_a_path_or_query_parameter_is_a_422_naming_it(
    client: Client, engine: Engine, method: str, path: str, field: str
) -> None:
    """Text in the URL reaches SQL as much as text in a body (a 500 on PostgreSQL before)."""
    a_world(client, {(TOP, DC): 3})
    before = _writes(client, engine)
    body = {"quantity": 1} if method == "PUT" else None

    assert_problem(client.request(method, path, json=body), 422, field)

    assert _writes(client, engine) == before


def test_the_openapi_says_path_and_query_text_holds_no_control_character(client: Client) -> None:
    document = ok(client.get("/schema/openapi.json"))
    [code] = document["paths"]["/v1/skus/{code}"]["get"]["parameters"]
    ledger_parameters = document["paths"]["/v1/stock/ledger"]["get"]["parameters"]
    [sku] = [p for p in ledger_parameters if p["name"] == "sku"]

    assert code["schema"]["pattern"]
    assert "pattern" in str(sku["schema"])
