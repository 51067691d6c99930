"""Orders and shipments over HTTP: placing, sourcing, the warehouse's work, cancelling."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from oms.orders.domain.geography import prefecture
from oms.worker import BACKORDER_ACTOR
from tests.api.http_builders import (
    Client,
    a_bundle,
    a_location,
    assert_problem,
    level,
    ok,
    receive,
)
from tests.api.order_builders import (
    BOTTOM,
    DC,
    RAKUTEN,
    SET,
    SHIBUYA,
    STOREFRONT,
    TOKYO_ADDRESS,
    TOP,
    UMEDA,
    a_line,
    a_world,
    advance,
    an_order,
    an_order_body,
    comparable,
    decisions,
    get_order,
    line_of,
    order_rows,
    outbox_events,
    place,
    reservation_rows,
    send,
    ship_body,
    ship_instructions,
    shipment_from,
    shipped_lines,
    sourced,
    stock_levels,
    worker_caught_up,
)

KeyFor = Callable[[str], dict[str, str]]
MISSING = object()
OSAKA_ADDRESS = {**TOKYO_ADDRESS, "postal_code": "530-0001", "prefecture": "27", "city": "大阪市"}


def cancel(client: Client, order_id: int, body: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(f"/v1/orders/{order_id}/cancel", json=body, **kwargs)


def reject(client: Client, shipment_id: int, *lines: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(f"/v1/shipments/{shipment_id}/reject", json={"lines": list(lines)}, **kwargs)


def rejected(sku: str, quantity: int, reason: str, counted: int | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"sku": sku, "quantity": quantity, "reason": reason}
    if counted is not None:
        line["counted"] = counted
    return line


def split_order(client: Client) -> dict[str, Any]:
    """Tops only at STORE-SHIBUYA, bottoms only at the DC: one of each to Tokyo."""
    a_world(client, {(TOP, SHIBUYA): 3, (BOTTOM, DC): 5})
    return an_order(client, lines=[a_line(TOP, 1, 3900, "L1"), a_line(BOTTOM, 1, 5900, "L2")])


# --------------------------------------------------------------------------- placing


def test_a_placed_order_answers_201_allocated_with_its_stock_reserved(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(
        client,
        channel=RAKUTEN,
        external_id="R-1001",
        lines=[a_line(TOP, 2, 3900)],
        shipping_method="yamato-next-day",
        gift_note="Happy birthday",
    )
    assert (order["status"], order["total"], order["currency"]) == ("allocated", 7800, "JPY")
    assert line_of(order) == {
        "line_id": "L1",
        "sku": TOP,
        "quantity": 2,
        "unit_price": 3900,
        "components": {TOP: 1},
        "allocated": 2,
        "shipped": 0,
        "backordered": 0,
        "cancelled": 0,
    }
    [shipment] = order["shipments"]
    assert (shipment["location"], shipment["status"]) == (DC, "pending")
    assert shipped_lines(shipment) == {TOP: 2}
    assert order["ship_to"] == TOKYO_ADDRESS
    assert (order["shipping_method"], order["gift_note"]) == ("yamato-next-day", "Happy birthday")
    assert (level(client, TOP, DC)["reserved"], level(client, TOP, DC)["available"]) == (2, 3)
    assert comparable(get_order(client, order["id"])) == comparable(order)
    [placed] = outbox_events(engine, "OrderPlaced")
    assert (placed["order_id"], placed["external_id"]) == (order["id"], "R-1001")


def test_the_same_order_again_answers_200_replayed_with_the_first_and_reserves_nothing_more(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    body = an_order_body(channel=RAKUTEN, lines=[a_line(TOP, 2)])
    first = place(client, body)
    again = place(client, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["oms-replayed"] == "true"
    assert "oms-replayed" not in first.headers
    assert comparable(again.json()) == comparable(first.json())
    assert (order_rows(engine), reservation_rows(engine)) == (1, 1)
    assert level(client, TOP, DC)["reserved"] == 2
    assert len(outbox_events(engine, "OrderPlaced")) == 1


def test_the_same_order_sent_again_with_its_times_in_utc_and_its_postal_code_bare_is_a_replay(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    body = an_order_body(
        channel=RAKUTEN,
        ordered_at="2024-05-01T10:00:00+09:00",
        promised_by="2024-05-03T18:00:00+09:00",
    )
    first = ok(place(client, body), 201)
    resent = {
        **body,
        "ordered_at": "2024-05-01T01:00:00Z",
        "promised_by": "2024-05-03T09:00:00Z",
        "ship_to": {**TOKYO_ADDRESS, "postal_code": "1500041"},
    }
    again = place(client, resent)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first["id"]
    assert (order_rows(engine), level(client, TOP, DC)["reserved"]) == (1, 1)


def test_the_same_external_id_with_other_content_is_a_409_and_changes_nothing(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    body = an_order_body(channel=RAKUTEN, lines=[a_line(TOP, 2)])
    first = ok(place(client, body), 201)
    changed = {**body, "lines": [a_line(TOP, 3)]}
    assert_problem(place(client, changed), 409, "external_id", order_id=first["id"])
    assert order_rows(engine) == 1
    assert level(client, TOP, DC)["reserved"] == 2
    assert comparable(get_order(client, first["id"])) == comparable(first)


def test_the_same_external_id_on_another_channel_is_another_order(client: Client) -> None:
    a_world(client, {(TOP, DC): 5})
    on_rakuten = an_order(client, channel=RAKUTEN, external_id="X-1")
    on_storefront = an_order(client, channel=STOREFRONT, external_id="X-1")
    assert on_rakuten["id"] != on_storefront["id"]
    assert level(client, TOP, DC)["reserved"] == 2


def test_a_set_line_reserves_its_components_and_ships_them_together(client: Client) -> None:
    a_world(client, {(TOP, DC): 5, (BOTTOM, DC): 5})
    a_bundle(client, "GIFT-BOX", [(TOP, 2), (BOTTOM, 1)])
    order = an_order(client, channel=RAKUTEN, lines=[a_line("GIFT-BOX", 2, 12000)])
    assert line_of(order)["components"] == {TOP: 2, BOTTOM: 1}
    assert (line_of(order)["allocated"], order["status"]) == (2, "allocated")
    [shipment] = order["shipments"]
    assert shipped_lines(shipment) == {TOP: 4, BOTTOM: 2}
    assert level(client, TOP, DC)["reserved"] == 4
    assert level(client, BOTTOM, DC)["reserved"] == 2
    assert level(client, "GIFT-BOX", DC)["reserved"] == 0


def test_cancelling_one_of_two_sets_releases_the_components_of_one(client: Client) -> None:
    a_world(client, {(TOP, DC): 5, (BOTTOM, DC): 5})
    a_bundle(client, "GIFT-BOX", [(TOP, 2), (BOTTOM, 1)])
    order = an_order(client, channel=RAKUTEN, lines=[a_line("GIFT-BOX", 2, 12000)])
    after = ok(cancel(client, order["id"], {"lines": {"L1": 1}}))
    assert (line_of(after)["allocated"], line_of(after)["cancelled"]) == (1, 1)
    assert shipped_lines(shipment_from(after, DC)) == {TOP: 2, BOTTOM: 1}
    assert (level(client, TOP, DC)["reserved"], level(client, BOTTOM, DC)["reserved"]) == (2, 1)


def test_an_order_is_read_back_and_listed_by_channel_and_status_page_by_page(
    client: Client,
) -> None:
    a_world(client, {(TOP, DC): 3})
    first = an_order(client, channel=RAKUTEN)
    second = an_order(client, channel=RAKUTEN)
    elsewhere = an_order(client, channel=STOREFRONT)
    waiting = an_order(client, channel=RAKUTEN, lines=[a_line(BOTTOM, 1)])
    page = ok(client.get("/v1/orders", params={"channel": RAKUTEN, "limit": 2}))
    assert [o["id"] for o in page["items"]] == [first["id"], second["id"]]
    rest = ok(
        client.get(
            "/v1/orders", params={"channel": RAKUTEN, "limit": 2, "cursor": page["next_cursor"]}
        )
    )
    assert ([o["id"] for o in rest["items"]], rest["next_cursor"]) == ([waiting["id"]], None)
    backordered = ok(client.get("/v1/orders", params={"status": "backordered"}))["items"]
    assert [o["id"] for o in backordered] == [waiting["id"]]
    on_storefront = ok(client.get("/v1/orders", params={"channel": STOREFRONT}))["items"]
    assert [comparable(o) for o in on_storefront] == [comparable(elsewhere)]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "lost"}, "status"), ({"limit": 0}, "limit"), ({"cursor": "abc"}, "cursor")],
)
def test_listing_orders_with_a_bad_filter_is_a_422_naming_it(
    client: Client, params: dict[str, Any], field: str
) -> None:
    assert_problem(client.get("/v1/orders", params=params), 422, field)


def test_an_unknown_order_or_shipment_is_a_404(client: Client) -> None:
    assert_problem(client.get("/v1/orders/999"), 404)
    assert_problem(client.get("/v1/orders/999/sourcing"), 404)
    assert_problem(cancel(client, 999, {}), 404)
    assert_problem(client.get("/v1/shipments/999"), 404)
    assert_problem(advance(client, 999, "pick"), 404)
    assert_problem(advance(client, 999, "ship", json=ship_body()), 404)


# --------------------------------------------------------------------------- bad input

BAD_ORDERS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown channel", {"channel": "NOPE"}, "channel"),
    ("unknown sku", {"lines": [a_line("GHOST")]}, "lines[0].sku"),
    ("zero quantity", {"lines": [a_line(quantity=0)]}, "lines[0].quantity"),
    ("negative quantity", {"lines": [a_line(quantity=-1)]}, "lines[0].quantity"),
    ("text quantity", {"lines": [a_line(quantity="1")]}, "lines[0].quantity"),
    ("boolean quantity", {"lines": [a_line(quantity=True)]}, "lines[0].quantity"),
    ("fraction price", {"lines": [a_line(unit_price=1.5)]}, "lines[0].unit_price"),
    ("text price", {"lines": [a_line(unit_price="100")]}, "lines[0].unit_price"),
    ("negative price", {"lines": [a_line(unit_price=-100)]}, "lines[0].unit_price"),
    ("absurd quantity", {"lines": [a_line(quantity=10_001)]}, "lines[0].quantity"),
    (
        "bad second line",
        {"lines": [a_line(TOP, 1, line_id="L1"), a_line(BOTTOM, 0, line_id="L2")]},
        "lines[1].quantity",
    ),
    (
        "line id twice",
        {"lines": [a_line(TOP, line_id="L1"), a_line(BOTTOM, line_id="L1")]},
        "lines[1].line_id",
    ),
    ("no lines", {"lines": []}, "lines"),
    ("prefecture 48", {"ship_to": {**TOKYO_ADDRESS, "prefecture": "48"}}, "ship_to.prefecture"),
    ("prefecture 00", {"ship_to": {**TOKYO_ADDRESS, "prefecture": "00"}}, "ship_to.prefecture"),
    (
        "short postal code",
        {"ship_to": {**TOKYO_ADDRESS, "postal_code": "150-004"}},
        "ship_to.postal_code",
    ),
    (
        "postal code letters",
        {"ship_to": {**TOKYO_ADDRESS, "postal_code": "ABC-DEFG"}},
        "ship_to.postal_code",
    ),
    ("bad phone", {"ship_to": {**TOKYO_ADDRESS, "phone": "call me"}}, "ship_to.phone"),
    ("no addressee", {"ship_to": {**TOKYO_ADDRESS, "name": MISSING}}, "ship_to.name"),
    ("no ship_to", {"ship_to": MISSING}, "ship_to"),
    ("no external_id", {"external_id": MISSING}, "external_id"),
    ("empty external_id", {"external_id": ""}, "external_id"),
    ("naive ordered_at", {"ordered_at": "2024-05-01T10:00:00"}, "ordered_at"),
    ("naive promised_by", {"promised_by": "2024-05-03T18:00:00"}, "promised_by"),
    ("other currency", {"currency": "USD"}, "currency"),
]


def _without_missing(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_missing(v) for k, v in value.items() if v is not MISSING}
    return value


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(o, f, id=name) for name, o, f in BAD_ORDERS],
)
def test_a_bad_order_is_a_422_naming_the_field_and_writes_nothing(
    client: Client, engine: Engine, overrides: dict[str, Any], field: str
) -> None:
    a_world(client, {(TOP, DC): 5, (BOTTOM, DC): 5})
    before = stock_levels(client)
    body = _without_missing(an_order_body(**overrides))
    assert_problem(place(client, body), 422, field)
    assert (order_rows(engine), reservation_rows(engine)) == (0, 0)
    assert stock_levels(client) == before
    assert outbox_events(engine, "OrderPlaced") == []


def test_an_order_of_an_inactive_channel_is_a_409_and_writes_nothing(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    ok(client.patch(f"/v1/channels/{RAKUTEN}", json={"active": False}))
    assert_problem(place(client, an_order_body(channel=RAKUTEN)), 409, "channel")
    assert (order_rows(engine), reservation_rows(engine)) == (0, 0)


# --------------------------------------------------------------------------- sourcing


def test_tops_from_the_store_and_bottoms_from_the_dc_make_two_parcels(client: Client) -> None:
    order = split_order(client)
    assert order["status"] == "allocated"
    assert shipped_lines(shipment_from(order, SHIBUYA)) == {TOP: 1}
    assert shipped_lines(shipment_from(order, DC)) == {BOTTOM: 1}
    assert level(client, TOP, SHIBUYA)["reserved"] == 1
    assert level(client, BOTTOM, DC)["reserved"] == 1


def test_each_location_of_a_split_order_reads_a_split_note_naming_the_other(
    client: Client,
) -> None:
    order = split_order(client)
    [at_dc] = ok(ship_instructions(client, DC))["shipments"]
    [at_store] = ok(ship_instructions(client, SHIBUYA))["shipments"]
    assert at_dc["shipment_id"] == shipment_from(order, DC)["id"]
    assert at_store["shipment_id"] == shipment_from(order, SHIBUYA)["id"]
    assert at_dc["split_note"] == "parcel 1 of 2: the other ships from STORE-SHIBUYA"
    assert at_store["split_note"] == "parcel 2 of 2: the other ships from DC-CHIBA"
    assert (at_dc["parcels"], at_dc["other_locations"]) == (2, [SHIBUYA])
    html = ship_instructions(client, SHIBUYA, format="html").text
    assert "parcel 2 of 2: the other ships from DC-CHIBA" in html


def test_a_set_shipped_apart_takes_its_top_from_the_store_and_its_bottom_from_the_dc(
    client: Client,
) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (BOTTOM, DC): 5})
    order = an_order(client, lines=[a_line(SET, 1, 8900)])
    assert (order["status"], line_of(order)["allocated"]) == ("allocated", 1)
    assert shipped_lines(shipment_from(order, SHIBUYA)) == {TOP: 1}
    assert shipped_lines(shipment_from(order, DC)) == {BOTTOM: 1}
    [slip] = ok(ship_instructions(client, SHIBUYA))["shipments"]
    assert slip["lines"][0]["set_sku"] == SET
    assert slip["split_note"] == "parcel 2 of 2: the other ships from DC-CHIBA"


def test_the_sourcing_decision_says_why_the_store_was_chosen_and_why_not_the_others(
    client: Client,
) -> None:
    a_world(client, {(TOP, DC): 5, (TOP, SHIBUYA): 2, (TOP, UMEDA): 2})
    order = an_order(client)
    assert shipment_from(order, SHIBUYA)
    [decision] = decisions(client, order["id"])
    assert (decision["trigger"], decision["decision"]["status"]) == ("placed", "complete")
    assert decision["decision"]["destination"] == "13"
    [line] = decision["decision"]["lines"]
    [chosen] = line["chosen"]
    assert (chosen["location"], chosen["units"]) == (SHIBUYA, 1)
    assert "zone 0" in chosen["reason"]
    not_chosen = {c["location"]: c["reason"] for c in line["not_chosen"]}
    assert set(not_chosen) == {DC, UMEDA}
    assert all(reason.startswith("ranked lower") for reason in not_chosen.values())
    assert "zone" in not_chosen[DC]


def test_an_osaka_customer_gets_the_top_from_the_osaka_store(client: Client) -> None:
    a_world(client, {(TOP, SHIBUYA): 2, (TOP, UMEDA): 2, (TOP, DC): 2})
    order = an_order(client, ship_to=OSAKA_ADDRESS)
    assert [s["location"] for s in order["shipments"]] == [UMEDA]
    assert decisions(client, order["id"])[0]["decision"]["destination"] == "27"


def test_a_location_given_a_better_priority_ships_before_a_closer_one(client: Client) -> None:
    a_world(client, {(TOP, SHIBUYA): 2, (TOP, UMEDA): 2})
    body = {"priority": 1, "daily_capacity": None}
    assert ok(client.put(f"/v1/locations/{UMEDA}/shipping", json=body)) == {
        "location": UMEDA,
        **body,
    }
    order = an_order(client)
    assert shipment_from(order, UMEDA)
    [line] = decisions(client, order["id"])[0]["decision"]["lines"]
    assert "priority" in line["chosen"][0]["reason"]


def test_a_location_out_of_daily_capacity_ships_nothing_and_the_decision_says_so(
    client: Client,
) -> None:
    a_world(client, {(TOP, SHIBUYA): 2, (TOP, UMEDA): 2})
    ok(client.put(f"/v1/locations/{SHIBUYA}/shipping", json={"daily_capacity": 0}))
    order = an_order(client)
    assert shipment_from(order, UMEDA)
    [line] = decisions(client, order["id"])[0]["decision"]["lines"]
    not_chosen = {c["location"]: c["reason"] for c in line["not_chosen"]}
    assert not_chosen[SHIBUYA] == "capacity exhausted"


def test_with_one_shipment_allowed_what_a_second_location_has_is_backordered(
    client: Client,
) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (BOTTOM, DC): 5})
    profile = ok(
        client.put(f"/v1/channels/{STOREFRONT}/sourcing-profile", json={"max_shipments": 1})
    )
    assert (profile["max_shipments"], profile["allow_backorder"]) == (1, True)
    order = an_order(client, lines=[a_line(TOP, 1, 3900, "L1"), a_line(BOTTOM, 1, 5900, "L2")])
    assert order["status"] == "backordered"
    [shipment] = order["shipments"]
    assert (shipment["location"], shipped_lines(shipment)) == (DC, {BOTTOM: 1})
    assert (line_of(order, "L1")["backordered"], line_of(order, "L2")["allocated"]) == (1, 1)
    lines = {ln["line_id"]: ln for ln in decisions(client, order["id"])[0]["decision"]["lines"]}
    assert "2nd shipment (max 1)" in lines["L1"]["backorder_reason"]


def test_a_unit_held_back_by_max_shipments_is_not_sent_later_from_a_second_location(
    client: Client,
) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (BOTTOM, DC): 5})
    ok(client.put(f"/v1/channels/{STOREFRONT}/sourcing-profile", json={"max_shipments": 1}))
    order = an_order(client, lines=[a_line(TOP, 1, 3900, "L1"), a_line(BOTTOM, 1, 5900, "L2")])
    # Stock of TOP comes where no channel sells it: the worker re-plans the order, and must not
    # take the unit from SHIBUYA as a second shipment.
    a_location(client, "FACTORY-GIFU", kind="factory", prefecture="21", postal_code="500-8000")
    receive(client, TOP, "FACTORY-GIFU", 5)
    worker_caught_up(client)
    now = get_order(client, order["id"])
    assert [s["location"] for s in now["shipments"]] == [DC]
    assert (now["status"], line_of(now, "L1")["backordered"]) == ("backordered", 1)
    assert level(client, TOP, SHIBUYA)["reserved"] == 0
    receive(client, TOP, DC, 2)
    now = sourced(client, order["id"])
    [shipment] = now["shipments"]
    assert (shipment["location"], shipped_lines(shipment)) == (DC, {TOP: 1, BOTTOM: 1})


def test_a_channel_taking_no_backorders_refuses_an_order_it_cannot_fill_and_writes_nothing(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 1})
    profile = ok(
        client.put(f"/v1/channels/{RAKUTEN}/sourcing-profile", json={"allow_backorder": False})
    )
    assert profile["allow_backorder"] is False
    assert ok(client.get(f"/v1/channels/{RAKUTEN}/sourcing-profile")) == profile
    body = an_order_body(channel=RAKUTEN, lines=[a_line(TOP, 2)])
    assert_problem(place(client, body), 409, "lines", backordered=1)
    assert (order_rows(engine), reservation_rows(engine)) == (0, 0)
    assert level(client, TOP, DC)["reserved"] == 0
    assert outbox_events(engine, "OrderPlaced") == []
    receive(client, TOP, DC, 1)
    assert ok(place(client, body), 201)["status"] == "allocated"


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"max_shipments": 0}, "max_shipments"),
        ({"min_shipment_value": -1}, "min_shipment_value"),
        ({"ranking": ["cheapest"]}, "ranking[0]"),
        ({"allow_backorder": "no"}, "allow_backorder"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_sourcing_profile_is_a_422_naming_the_field_and_keeps_the_old_one(
    client: Client, profile: dict[str, Any], field: str
) -> None:
    a_world(client)
    url = f"/v1/channels/{RAKUTEN}/sourcing-profile"
    before = ok(client.get(url))
    assert_problem(client.put(url, json=profile), 422, field)
    assert ok(client.get(url)) == before


def test_the_sourcing_profile_of_an_unknown_channel_and_the_shipping_of_an_unknown_location_are_404(
    client: Client,
) -> None:
    a_world(client)
    assert_problem(client.put("/v1/channels/NOPE/sourcing-profile", json={"max_shipments": 2}), 404)
    assert_problem(client.put("/v1/locations/NOPE/shipping", json={"priority": 1}), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"daily_capacity": -1}, "daily_capacity"),
        ({"priority": "1"}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"priority": 10**9}, "priority"),
    ],
)
def test_bad_location_shipping_is_a_422_naming_the_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    a_world(client)
    assert_problem(client.put(f"/v1/locations/{DC}/shipping", json=body), 422, field)


def test_an_order_nothing_can_ship_waits_backordered_until_a_receipt_sources_it(
    client: Client,
) -> None:
    a_world(client, {(TOP, DC): 1})
    # The set-up's receipt handled first: its sourcing pass would find this order waiting and
    # record a (fruitless) decision of its own when the worker lags behind.
    worker_caught_up(client)
    order = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 3)])
    assert order["status"] == "backordered"
    assert (line_of(order)["allocated"], line_of(order)["backordered"]) == (1, 2)
    receive(client, TOP, DC, 5)
    now = sourced(client, order["id"])
    assert now["status"] == "allocated"
    assert (line_of(now)["allocated"], line_of(now)["backordered"]) == (3, 0)
    [shipment] = [s for s in now["shipments"] if s["status"] != "cancelled"]
    assert shipped_lines(shipment) == {TOP: 3}
    assert level(client, TOP, DC)["reserved"] == 3
    triggers = [d["trigger"] for d in decisions(client, order["id"])]
    assert triggers == ["placed", "backorder"]


def test_a_transfer_arriving_sources_the_orders_waiting_for_its_stock(client: Client) -> None:
    a_world(client)
    a_location(client, "FACTORY-GIFU", kind="factory", prefecture="21", postal_code="500-8000")
    receive(client, TOP, "FACTORY-GIFU", 4)  # a factory feeds no channel
    order = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 2)])
    assert order["status"] == "backordered"
    worker_caught_up(client)  # the receipt's event is behind us: only the transfer can free
    transfer = ok(
        client.post(
            "/v1/transfers",
            json={
                "source": "FACTORY-GIFU",
                "destination": DC,
                "lines": [{"sku": TOP, "quantity": 4}],
            },
        ),
        201,
    )
    ok(client.post(f"/v1/transfers/{transfer['id']}/ship"))
    ok(
        client.post(
            f"/v1/transfers/{transfer['id']}/receive", json={"lines": [{"sku": TOP, "quantity": 4}]}
        )
    )
    now = sourced(client, order["id"])  # only transfer_in freed stock: the worker must see it
    assert (now["status"], line_of(now)["allocated"]) == ("allocated", 2)
    assert level(client, TOP, DC)["reserved"] == 2


def test_every_ledger_row_names_who_or_what_wrote_it_the_worker_included(
    client: Client,
) -> None:
    a_world(client, {(TOP, DC): 1})
    order = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 2)])
    worker_caught_up(client)
    receive(client, TOP, DC, 3)
    assert sourced(client, order["id"])["status"] == "allocated"
    ok(client.post(f"/v1/orders/{order['id']}/cancel", json={}))

    rows = ok(client.get("/v1/stock/ledger", params={"limit": 200}))["items"]
    assert [r for r in rows if not r["actor"]] == []
    by_worker = [r for r in rows if r["actor"] == BACKORDER_ACTOR]
    # The worker re-plans the order: its waiting unit and the one it held, reserved anew.
    assert ("reserve", 2) in [(r["type"], r["quantity"]) for r in by_worker]


# --------------------------------------------------------------------------- pick, pack, ship


def test_pick_pack_and_ship_take_the_stock_out_and_tell_the_channel(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN, external_id="R-7", lines=[a_line(TOP, 2)])
    shipment_id = order["shipments"][0]["id"]
    assert ok(advance(client, shipment_id, "pick"))["status"] == "picking"
    assert ok(advance(client, shipment_id, "pack"))["status"] == "packed"
    assert level(client, TOP, DC)["reserved"] == 2
    body = ship_body(carrier="sagawa", shipped_at="2024-05-02T15:00:00+09:00")
    shipped = ok(advance(client, shipment_id, "ship", json=body))
    assert (shipped["status"], shipped["carrier"]) == ("shipped", "sagawa")
    assert shipped["tracking_number"] == "4321-1234-5678"
    assert comparable(shipped)["shipped_at"] == datetime(2024, 5, 2, 6, tzinfo=UTC)
    stock = level(client, TOP, DC)
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (3, 0, 3)
    now = get_order(client, order["id"])
    assert (now["status"], line_of(now)["shipped"], line_of(now)["allocated"]) == ("shipped", 2, 0)
    [event] = outbox_events(engine, "ShipmentShipped")
    assert event["shipment_id"] == shipment_id
    assert (event["channel"], event["external_id"], event["carrier"]) == (RAKUTEN, "R-7", "sagawa")
    assert event["lines"] == [{"line_id": "L1", "sku": TOP, "quantity": 2}]
    assert event["order_status"] == "shipped"


def test_a_pending_shipment_may_be_packed_without_picking(client: Client) -> None:
    a_world(client, {(TOP, DC): 5})
    shipment_id = an_order(client, channel=RAKUTEN)["shipments"][0]["id"]
    assert ok(advance(client, shipment_id, "pack"))["status"] == "packed"
    assert ok(advance(client, shipment_id, "pack"))["status"] == "packed"


@pytest.mark.parametrize("steps", [[], ["pick"]])
def test_shipping_a_shipment_not_packed_is_a_409_and_changes_nothing(
    client: Client, engine: Engine, steps: list[str]
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN)
    shipment_id = order["shipments"][0]["id"]
    for step in steps:
        ok(advance(client, shipment_id, step))
    before = ok(client.get(f"/v1/shipments/{shipment_id}"))
    assert_problem(advance(client, shipment_id, "ship", json=ship_body()), 409, "status")
    assert ok(client.get(f"/v1/shipments/{shipment_id}")) == before
    stock = level(client, TOP, DC)
    assert (stock["on_hand"], stock["reserved"]) == (5, 1)
    assert outbox_events(engine, "ShipmentShipped") == []
    assert get_order(client, order["id"])["status"] == "allocated"


def test_the_same_ship_confirmation_again_changes_nothing_and_another_is_a_409(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    shipment_id = an_order(client, channel=RAKUTEN)["shipments"][0]["id"]
    first = send(client, shipment_id)
    assert ok(advance(client, shipment_id, "ship", json=ship_body())) == first
    other = ship_body(tracking_number="9999-0000")
    assert_problem(advance(client, shipment_id, "ship", json=other), 409, "tracking_number")
    assert level(client, TOP, DC)["on_hand"] == 4
    assert len(outbox_events(engine, "ShipmentShipped")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (ship_body(carrier="pigeon"), "carrier"),
        (ship_body(tracking_number="no spaces!"), "tracking_number"),
        (ship_body(shipped_at="2024-05-02T15:00:00"), "shipped_at"),
        ({"carrier": "yamato"}, "tracking_number"),
    ],
)
def test_a_bad_ship_confirmation_is_a_422_naming_the_field_and_changes_nothing(
    client: Client, body: dict[str, Any], field: str
) -> None:
    a_world(client, {(TOP, DC): 5})
    shipment_id = an_order(client, channel=RAKUTEN)["shipments"][0]["id"]
    ok(advance(client, shipment_id, "pack"))
    assert_problem(advance(client, shipment_id, "ship", json=body), 422, field)
    assert ok(client.get(f"/v1/shipments/{shipment_id}"))["status"] == "packed"
    assert level(client, TOP, DC)["on_hand"] == 5


def test_shipping_one_parcel_of_two_makes_the_order_partially_shipped(client: Client) -> None:
    order = split_order(client)
    send(client, shipment_from(order, DC)["id"])
    now = get_order(client, order["id"])
    assert now["status"] == "partially_shipped"
    assert (line_of(now, "L2")["shipped"], line_of(now, "L1")["allocated"]) == (1, 1)
    send(client, shipment_from(order, SHIBUYA)["id"])
    assert get_order(client, order["id"])["status"] == "shipped"
    assert level(client, TOP, SHIBUYA)["on_hand"] == 2
    assert level(client, BOTTOM, DC)["on_hand"] == 4


def test_a_shipped_shipment_can_not_be_picked_again(client: Client) -> None:
    a_world(client, {(TOP, DC): 5})
    shipment_id = an_order(client, channel=RAKUTEN)["shipments"][0]["id"]
    send(client, shipment_id)
    assert_problem(advance(client, shipment_id, "pick"), 409, "status")


# --------------------------------------------------------------------------- reject


def test_a_line_not_found_at_the_store_sets_its_stock_to_the_count_and_ships_from_another_store(
    client: Client,
) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (TOP, UMEDA): 2})
    order = an_order(client, lines=[a_line(TOP, 2)])
    at_store = shipment_from(order, SHIBUYA)
    after = ok(reject(client, at_store["id"], rejected(TOP, 2, "not_found", counted=1)))
    assert after["status"] == "allocated"
    assert {s["id"]: s["status"] for s in after["shipments"]}[at_store["id"]] == "cancelled"
    assert shipped_lines(shipment_from(after, UMEDA)) == {TOP: 2}
    shelf = level(client, TOP, SHIBUYA)
    assert (shelf["on_hand"], shelf["reserved"], shelf["available"]) == (1, 0, 1)
    assert level(client, TOP, UMEDA)["reserved"] == 2
    assert comparable(get_order(client, order["id"])) == comparable(after)
    last = decisions(client, order["id"])[-1]
    assert last["trigger"] == "rejected"
    assert last["decision"]["exclusions"] == [
        {"location": SHIBUYA, "sku": TOP, "reason": "rejected at STORE-SHIBUYA: not_found"}
    ]
    [line] = last["decision"]["lines"]
    assert line["chosen"][0]["location"] == UMEDA
    not_chosen = {c["location"]: c["reason"] for c in line["not_chosen"]}
    assert not_chosen[SHIBUYA] == "rejected at STORE-SHIBUYA: not_found"


def test_a_damaged_line_is_quarantined_and_ships_from_the_dc(client: Client) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (TOP, DC): 4})
    order = an_order(client, lines=[a_line(TOP, 1)])
    at_store = shipment_from(order, SHIBUYA)
    after = ok(reject(client, at_store["id"], rejected(TOP, 1, "damaged")))
    assert after["status"] == "allocated"
    assert shipped_lines(shipment_from(after, DC)) == {TOP: 1}
    shelf = level(client, TOP, SHIBUYA)
    assert (shelf["on_hand"], shelf["quarantined"], shelf["reserved"]) == (3, 1, 0)
    assert shelf["available"] == 2
    exclusions = decisions(client, order["id"])[-1]["decision"]["exclusions"]
    assert exclusions == [
        {"location": SHIBUYA, "sku": TOP, "reason": "rejected at STORE-SHIBUYA: damaged"}
    ]


def test_a_rejected_line_nobody_else_has_is_backordered(client: Client) -> None:
    a_world(client, {(TOP, SHIBUYA): 1})
    order = an_order(client, lines=[a_line(TOP, 1)])
    at_store = shipment_from(order, SHIBUYA)
    after = ok(reject(client, at_store["id"], rejected(TOP, 1, "not_found", counted=0)))
    assert after["status"] == "backordered"
    assert (line_of(after)["backordered"], line_of(after)["allocated"]) == (1, 0)
    assert [s["status"] for s in after["shipments"]] == ["cancelled"]


def test_rejecting_one_line_keeps_the_rest_of_the_parcel_reserved(client: Client) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (BOTTOM, SHIBUYA): 3, (TOP, UMEDA): 2})
    order = an_order(client, lines=[a_line(TOP, 1, 3900, "L1"), a_line(BOTTOM, 1, 5900, "L2")])
    at_store = shipment_from(order, SHIBUYA)
    after = ok(reject(client, at_store["id"], rejected(TOP, 1, "damaged")))
    assert shipped_lines(shipment_from(after, SHIBUYA)) == {BOTTOM: 1}
    assert shipped_lines(shipment_from(after, UMEDA)) == {TOP: 1}
    assert level(client, BOTTOM, SHIBUYA)["reserved"] == 1
    assert level(client, TOP, SHIBUYA)["reserved"] == 0
    assert level(client, TOP, UMEDA)["reserved"] == 1


def test_a_rejected_top_of_a_set_shipped_apart_is_resourced_without_booking_the_bottom_twice(
    client: Client,
) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (TOP, UMEDA): 3, (BOTTOM, DC): 5})
    order = an_order(client, lines=[a_line(SET, 1, 8900)])
    at_store = shipment_from(order, SHIBUYA)
    after = ok(reject(client, at_store["id"], rejected(TOP, 1, "not_found", counted=0)))
    assert (after["status"], line_of(after)["allocated"]) == ("allocated", 1)
    assert shipped_lines(shipment_from(after, UMEDA)) == {TOP: 1}
    assert shipped_lines(shipment_from(after, DC)) == {BOTTOM: 1}
    assert level(client, BOTTOM, DC)["reserved"] == 1
    assert level(client, TOP, UMEDA)["reserved"] == 1


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (rejected(BOTTOM, 1, "damaged"), "lines[0].sku"),
        (rejected(TOP, 2, "damaged"), "lines[0].quantity"),
        (rejected(TOP, 0, "damaged"), "lines[0].quantity"),
        (rejected(TOP, 1, "stolen"), "lines[0].reason"),
        (rejected(TOP, 1, "not_found"), "lines[0].counted"),
        (rejected(TOP, 1, "not_found", counted=-1), "lines[0].counted"),
        (rejected(TOP, 1, "damaged", counted=3), "lines[0].counted"),
    ],
)
def test_a_bad_rejection_is_a_422_naming_the_field_and_changes_nothing(
    client: Client, line: dict[str, Any], field: str
) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (TOP, UMEDA): 2})
    order = an_order(client)
    shipment_id = shipment_from(order, SHIBUYA)["id"]
    before = stock_levels(client)
    assert_problem(reject(client, shipment_id, line), 422, field)
    assert stock_levels(client) == before
    assert comparable(get_order(client, order["id"])) == comparable(order)
    assert len(decisions(client, order["id"])) == 1


def test_a_packed_shipment_can_not_reject_lines(client: Client) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (TOP, UMEDA): 2})
    order = an_order(client)
    shipment_id = shipment_from(order, SHIBUYA)["id"]
    ok(advance(client, shipment_id, "pack"))
    before = stock_levels(client)
    assert_problem(reject(client, shipment_id, rejected(TOP, 1, "damaged")), 409, "status")
    assert stock_levels(client) == before


# --------------------------------------------------------------------------- cancel


def test_cancelling_a_whole_order_releases_every_reservation(
    client: Client, engine: Engine
) -> None:
    order = split_order(client)
    after = ok(cancel(client, order["id"], {}))
    assert after["status"] == "cancelled"
    assert [ln["cancelled"] for ln in after["lines"]] == [1, 1]
    assert {s["status"] for s in after["shipments"]} == {"cancelled"}
    assert level(client, TOP, SHIBUYA)["reserved"] == 0
    assert level(client, BOTTOM, DC)["reserved"] == 0
    assert ok(ship_instructions(client, DC))["shipments"] == []
    [event] = outbox_events(engine, "OrderCancelled")
    assert (event["order_id"], event["status"]) == (order["id"], "cancelled")


def test_a_partial_cancel_releases_only_the_units_cancelled(client: Client) -> None:
    a_world(client, {(TOP, DC): 5, (BOTTOM, DC): 5})
    order = an_order(
        client, channel=RAKUTEN, lines=[a_line(TOP, 3, 3900, "L1"), a_line(BOTTOM, 1, 5900, "L2")]
    )
    after = ok(cancel(client, order["id"], {"lines": {"L1": 2}}))
    assert after["status"] == "allocated"
    assert (line_of(after, "L1")["cancelled"], line_of(after, "L1")["allocated"]) == (2, 1)
    assert line_of(after, "L2")["allocated"] == 1
    assert shipped_lines(shipment_from(after, DC)) == {TOP: 1, BOTTOM: 1}
    assert level(client, TOP, DC)["reserved"] == 1
    assert level(client, BOTTOM, DC)["reserved"] == 1
    assert comparable(get_order(client, order["id"])) == comparable(after)


def test_cancelling_waiting_units_cancels_the_backorder_before_the_reserved_units(
    client: Client,
) -> None:
    a_world(client, {(TOP, DC): 1})
    order = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 3)])
    after = ok(cancel(client, order["id"], {"lines": {"L1": 2}}))
    assert after["status"] == "allocated"
    assert (line_of(after)["backordered"], line_of(after)["allocated"]) == (0, 1)
    assert level(client, TOP, DC)["reserved"] == 1


def test_cancelling_the_unshipped_parcel_of_a_split_order_leaves_it_shipped(
    client: Client,
) -> None:
    order = split_order(client)
    send(client, shipment_from(order, DC)["id"])
    after = ok(cancel(client, order["id"], {"lines": {"L1": 1}}))
    assert after["status"] == "shipped"
    assert level(client, TOP, SHIBUYA)["reserved"] == 0
    assert (line_of(after, "L1")["cancelled"], line_of(after, "L2")["shipped"]) == (1, 1)


def test_cancelling_shipped_units_is_a_409_and_changes_nothing(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 2)])
    send(client, order["shipments"][0]["id"])
    shipped = get_order(client, order["id"])
    assert_problem(cancel(client, order["id"], {"lines": {"L1": 1}}), 409, "lines.L1", shipped=2)
    assert comparable(get_order(client, order["id"])) == comparable(shipped)
    assert outbox_events(engine, "OrderCancelled") == []


def test_cancelling_a_shipped_order_whole_is_a_409_and_tells_the_channel_nothing(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN)
    send(client, order["shipments"][0]["id"])
    shipped = get_order(client, order["id"])
    assert_problem(cancel(client, order["id"], {}), 409)
    assert comparable(get_order(client, order["id"])) == comparable(shipped)
    assert outbox_events(engine, "OrderCancelled") == []


def test_cancelling_a_set_shipped_apart_releases_both_of_its_parcels(client: Client) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (BOTTOM, DC): 5})
    order = an_order(client, lines=[a_line(SET, 1, 8900)])
    after = ok(cancel(client, order["id"], {}))
    assert after["status"] == "cancelled"
    assert line_of(after)["backordered"] == 0
    assert {s["status"] for s in after["shipments"]} == {"cancelled"}
    assert level(client, TOP, SHIBUYA)["reserved"] == 0
    assert level(client, BOTTOM, DC)["reserved"] == 0


def test_once_the_bottom_of_a_set_shipped_apart_has_left_the_set_is_partly_shipped(
    client: Client,
) -> None:
    a_world(client, {(TOP, SHIBUYA): 3, (BOTTOM, DC): 5})
    order = an_order(client, lines=[a_line(SET, 1, 8900)])
    send(client, shipment_from(order, DC)["id"])
    assert get_order(client, order["id"])["status"] == "partially_shipped"
    assert_problem(cancel(client, order["id"], {}), 409)
    assert level(client, TOP, SHIBUYA)["reserved"] == 1


def test_a_cancelled_order_leaves_nothing_to_pick_pack_ship_or_reject(client: Client) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN)
    shipment_id = order["shipments"][0]["id"]
    ok(cancel(client, order["id"], {}))
    for step in ("pick", "pack"):
        assert_problem(advance(client, shipment_id, step), 409, "status")
    assert_problem(advance(client, shipment_id, "ship", json=ship_body()), 409, "status")
    assert_problem(reject(client, shipment_id, rejected(TOP, 1, "damaged")), 409, "status")
    assert_problem(cancel(client, order["id"], {}), 409, "lines")
    stock = level(client, TOP, DC)
    assert (stock["on_hand"], stock["reserved"], stock["quarantined"]) == (5, 0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": {}}, "lines"),
        ({"lines": {"L1": 0}}, "lines"),
        ({"lines": {"L9": 1}}, "lines.L9"),
        ({"lines": {"L1": -1}}, "lines.L1"),
        ({"lines": {"L1": 1.5}}, "lines.L1"),
    ],
)
def test_a_bad_cancel_is_a_422_naming_the_line_and_changes_nothing(
    client: Client, body: dict[str, Any], field: str
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 2)])
    assert_problem(cancel(client, order["id"], body), 422, field)
    assert comparable(get_order(client, order["id"])) == comparable(order)
    assert level(client, TOP, DC)["reserved"] == 2


def test_cancelling_more_units_than_are_open_is_a_409_and_changes_nothing(
    client: Client,
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 2)])
    assert_problem(cancel(client, order["id"], {"lines": {"L1": 3}}), 409, "lines.L1")
    assert comparable(get_order(client, order["id"])) == comparable(order)


# --------------------------------------------------------------------------- ship instructions


def test_the_pick_list_groups_units_by_sku_across_orders(client: Client) -> None:
    a_world(client, {(TOP, DC): 10, (BOTTOM, DC): 10})
    first = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 2)])
    second = an_order(
        client, channel=RAKUTEN, lines=[a_line(TOP, 1, 3900, "A"), a_line(BOTTOM, 3, 5900, "B")]
    )
    pick_list = ok(ship_instructions(client, DC, status="pending", format="json"))
    assert (pick_list["location"], pick_list["statuses"], pick_list["units"]) == (
        DC,
        ["pending"],
        6,
    )
    rows = {row["sku"]: row for row in pick_list["skus"]}
    assert (rows[TOP]["total"], rows[TOP]["name"]) == (3, "Oxford shirt white M")
    assert [(e["order_id"], e["quantity"]) for e in rows[TOP]["entries"]] == [
        (first["id"], 2),
        (second["id"], 1),
    ]
    assert rows[BOTTOM]["total"] == 3
    slips = pick_list["shipments"]
    assert [s["order_id"] for s in slips] == [first["id"], second["id"]]
    assert all(s["split_note"] is None and s["parcels"] == 1 for s in slips)
    assert slips[0]["ship_to"] == TOKYO_ADDRESS


def test_the_pick_list_shows_only_shipments_in_the_status_asked_for(client: Client) -> None:
    a_world(client, {(TOP, DC): 10})
    waiting = an_order(client, channel=RAKUTEN)
    packed = an_order(client, channel=RAKUTEN)
    ok(advance(client, packed["shipments"][0]["id"], "pack"))
    only_packed = ok(ship_instructions(client, DC, status="packed"))
    assert [s["order_id"] for s in only_packed["shipments"]] == [packed["id"]]
    default = ok(ship_instructions(client, DC))
    assert [s["order_id"] for s in default["shipments"]] == [waiting["id"]]
    both = ok(ship_instructions(client, DC, status=["pending", "packed"]))
    assert [s["order_id"] for s in both["shipments"]] == [waiting["id"], packed["id"]]


def test_the_printable_pick_list_has_a_barcode_per_shipment_and_escapes_customer_text(
    client: Client,
) -> None:
    a_world(client, {(TOP, DC): 10})
    orders = [
        an_order(client, channel=RAKUTEN, gift_note="<script>alert(1)</script>") for _ in range(2)
    ]
    response = ship_instructions(client, DC, format="html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for order in orders:
        label = f"SHP-{order['shipments'][0]['id']:06d}"
        assert f'aria-label="Code 128 {label}"' in page
    assert page.count("<svg") == 2
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "東京都" in page


def test_the_pick_list_csv_has_a_bom_a_header_and_a_row_per_pick(client: Client) -> None:
    order = split_order(client)
    response = ship_instructions(client, DC, format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="ship-instructions-DC-CHIBA.csv"' in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")
    [row] = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert row["sku"] == BOTTOM
    assert (row["quantity"], row["order_id"], row["line_id"]) == ("1", str(order["id"]), "L2")
    assert (row["parcel"], row["parcels"]) == ("1", "2")


@pytest.mark.parametrize(
    ("location", "params", "status", "field"),
    [
        (DC, {"format": "pdf"}, 422, "format"),
        (DC, {"status": "lost"}, 422, "status"),
        ("NOWHERE", {}, 404, None),
    ],
)
def test_bad_ship_instruction_requests_are_problems(
    client: Client, location: str, params: dict[str, Any], status: int, field: str | None
) -> None:
    a_world(client)
    assert_problem(ship_instructions(client, location, **params), status, field)


# --------------------------------------------------------------------------- roles


def test_channel_sync_places_orders_but_reads_them_without_the_address(
    client: Client, key_for: KeyFor
) -> None:
    a_world(client, {(TOP, DC): 5})
    sync = key_for("channel_sync")
    body = an_order_body(channel=RAKUTEN)
    placed = ok(place(client, body, headers=sync), 201)
    assert placed["ship_to"] is None
    replayed = place(client, body, headers=sync)
    assert replayed.status_code == 200
    assert replayed.json()["ship_to"] is None
    assert ok(client.get(f"/v1/orders/{placed['id']}", headers=sync))["ship_to"] is None
    listed = ok(client.get("/v1/orders", headers=sync))["items"]
    assert [o["ship_to"] for o in listed] == [None]
    assert get_order(client, placed["id"])["ship_to"] == TOKYO_ADDRESS


def test_channel_sync_sees_neither_the_gift_note_nor_the_customers_prefecture(
    client: Client, key_for: KeyFor
) -> None:
    a_world(client, {(TOP, DC): 5, (TOP, UMEDA): 5})  # Chiba wins for Tokyo: by proximity
    sync = key_for("channel_sync")
    body = an_order_body(gift_note="お誕生日おめでとう、花子さん")
    placed = ok(place(client, body, headers=sync), 201)
    tokyo = prefecture(TOKYO_ADDRESS["prefecture"]).name

    seen_by_sync = [
        placed,
        ok(client.get(f"/v1/orders/{placed['id']}", headers=sync)),
        *ok(client.get("/v1/orders", headers=sync))["items"],
    ]
    assert [o["gift_note"] for o in seen_by_sync] == [None, None, None]
    trace = ok(client.get(f"/v1/orders/{placed['id']}/sourcing", headers=sync))
    assert "destination" not in trace["decisions"][0]["decision"]
    assert tokyo not in json.dumps(trace, ensure_ascii=False)
    [line] = trace["decisions"][0]["decision"]["lines"]
    [full_line] = decisions(client, placed["id"])[0]["decision"]["lines"]
    hidden = [c["reason"].replace(f"→{tokyo}", "→(ship-to)") for c in full_line["chosen"]]
    assert [c["reason"] for c in line["chosen"]] == hidden  # the rest of the reason stays

    # Who may read the address reads all of it.
    assert get_order(client, placed["id"])["gift_note"] == body["gift_note"]
    full = decisions(client, placed["id"])[0]["decision"]
    assert full["destination"] == TOKYO_ADDRESS["prefecture"]
    assert f"→{tokyo}" in json.dumps(full, ensure_ascii=False)


@pytest.mark.parametrize("role", ["customer_service", "warehouse"])
def test_customer_service_and_the_warehouse_read_the_address(
    client: Client, key_for: KeyFor, role: str
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN)
    read = ok(client.get(f"/v1/orders/{order['id']}", headers=key_for(role)))
    assert read["ship_to"] == TOKYO_ADDRESS


def test_the_warehouse_works_a_shipment_from_pick_list_to_truck(
    client: Client, key_for: KeyFor
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN)
    shipment_id = order["shipments"][0]["id"]
    warehouse = key_for("warehouse")
    [slip] = ok(ship_instructions(client, DC, headers=warehouse))["shipments"]
    assert slip["ship_to"] == TOKYO_ADDRESS
    ok(advance(client, shipment_id, "pick", headers=warehouse))
    ok(advance(client, shipment_id, "pack", headers=warehouse))
    shipped = ok(advance(client, shipment_id, "ship", json=ship_body(), headers=warehouse))
    assert shipped["status"] == "shipped"


def test_customer_service_cancels_an_order(client: Client, key_for: KeyFor) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN)
    after = ok(cancel(client, order["id"], {}, headers=key_for("customer_service")))
    assert after["status"] == "cancelled"
    assert level(client, TOP, DC)["reserved"] == 0


NOT_ADMIN = ("warehouse", "channel_sync", "customer_service")
MAY_NOT = {
    "place": ("warehouse", "customer_service"),
    "pick": ("channel_sync", "customer_service"),
    "pack": ("channel_sync", "customer_service"),
    "ship": ("channel_sync", "customer_service"),
    "reject": ("channel_sync", "customer_service"),
    "cancel": ("warehouse", "channel_sync"),
    "ship_instructions": ("channel_sync", "customer_service"),
    "profile": NOT_ADMIN,
    "shipping": NOT_ADMIN,
}
FORBIDDEN = [(action, role) for action, roles in MAY_NOT.items() for role in roles]


@pytest.mark.parametrize(("action", "role"), FORBIDDEN)
def test_a_role_without_the_right_is_refused_403_and_changes_nothing(
    client: Client, engine: Engine, key_for: KeyFor, action: str, role: str
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN)
    shipment_id = order["shipments"][0]["id"]
    ok(advance(client, shipment_id, "pack"))
    order = get_order(client, order["id"])
    profile = ok(client.get(f"/v1/channels/{RAKUTEN}/sourcing-profile"))
    before = stock_levels(client)
    headers = key_for(role)
    requests: dict[str, Callable[[], Any]] = {
        "place": lambda: place(client, an_order_body(channel=RAKUTEN), headers=headers),
        "pick": lambda: advance(client, shipment_id, "pick", headers=headers),
        "pack": lambda: advance(client, shipment_id, "pack", headers=headers),
        "ship": lambda: advance(client, shipment_id, "ship", json=ship_body(), headers=headers),
        "reject": lambda: reject(client, shipment_id, rejected(TOP, 1, "damaged"), headers=headers),
        "cancel": lambda: cancel(client, order["id"], {}, headers=headers),
        "ship_instructions": lambda: ship_instructions(client, DC, headers=headers),
        "profile": lambda: client.put(
            f"/v1/channels/{RAKUTEN}/sourcing-profile",
            json={"allow_backorder": False},
            headers=headers,
        ),
        "shipping": lambda: client.put(
            f"/v1/locations/{DC}/shipping", json={"priority": 1}, headers=headers
        ),
    }
    assert_problem(requests[action](), 403)
    assert order_rows(engine) == 1
    assert comparable(get_order(client, order["id"])) == comparable(order)
    assert stock_levels(client) == before
    assert ok(client.get(f"/v1/channels/{RAKUTEN}/sourcing-profile")) == profile
