"""Over HTTP: a count (or a not_found reject) below what is reserved is recorded and the orders
it cuts are re-sourced; `POST /v1/orders/{id}/resource` re-sources what waits, on demand.

These clients run without the in-process worker (a Redis URL is set, so `oms worker` would do
the background work and none runs): nothing sources a backorder behind the test's back, and
what an order holds afterwards is what the request under test did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from oms.app import create_app
from oms.settings import Settings
from tests.api.conftest import ADMIN_KEY
from tests.api.http_builders import Client, a_location, assert_problem, ledger, level, move, ok
from tests.api.order_builders import (
    DC,
    RAKUTEN,
    SHIBUYA,
    TOP,
    a_line,
    a_world,
    an_order,
    comparable,
    decisions,
    get_order,
    outbox_events,
    shipment_from,
    shipped_lines,
    stock_levels,
)

KeyFor = Callable[[str], dict[str, str]]
DC_OSAKA = "DC-OSAKA"


@pytest.fixture
def client(engine: Engine, database_url: str, redis_url: str) -> Iterator[TestClient[Litestar]]:
    settings = Settings(
        database_url=database_url, bootstrap_admin_key=ADMIN_KEY, redis_url=redis_url
    )
    with TestClient(create_app(settings)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield test_client


def count(client: Client, sku: str, location: str, counted: int) -> Any:
    return move(client, sku, location, counted, kind="count", reference="cycle count A3")


def open_at(order: dict[str, Any]) -> dict[str, dict[str, int]]:
    """location -> SKU -> units of the order's open parcels."""
    return {
        s["location"]: shipped_lines(s)
        for s in order["shipments"]
        if s["status"] not in ("cancelled", "shipped")
    }


def test_a_count_below_two_orders_reservations_is_recorded_and_they_are_resourced(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 10})
    older = an_order(client, lines=[a_line(TOP, 5)])
    newer = an_order(client, lines=[a_line(TOP, 3)])
    assert (open_at(older), open_at(newer)) == ({DC: {TOP: 5}}, {DC: {TOP: 3}})
    ok(move(client, TOP, SHIBUYA, 2), 201)

    recorded = ok(count(client, TOP, DC, 3), 201)

    shelf = level(client, TOP, DC)
    assert (shelf["on_hand"], shelf["reserved"], shelf["available"]) == (3, 3, 0)
    assert [m["type"] for m in recorded["movements"]] == ["release", "release", "count"]
    older, newer = get_order(client, older["id"]), get_order(client, newer["id"])
    assert (older["status"], open_at(older)) == ("allocated", {DC: {TOP: 3}, SHIBUYA: {TOP: 2}})
    assert (newer["status"], open_at(newer)) == ("backordered", {})
    cuts = [m for m in ledger(client, sku=TOP, location=DC) if m["reason"] == "count_shortfall"]
    assert sorted((m["type"], m["quantity"]) for m in cuts) == [("release", 2), ("release", 3)]
    for order in (older, newer):
        [decision] = [
            d for d in decisions(client, order["id"]) if d["trigger"] == "count_shortfall"
        ]
        [exclusion] = decision["decision"]["exclusions"]
        assert (exclusion["location"], exclusion["sku"]) == (DC, TOP)
    assert [e["order_id"] for e in outbox_events(engine, "OrderResourced")] == [
        older["id"],
        newer["id"],
    ]
    assert client.app.state.inventory.verify().clean


def test_a_not_found_reject_counted_below_what_other_orders_hold_is_accepted(
    client: Client,
) -> None:
    a_world(client, {(TOP, DC): 10})
    others = [an_order(client, lines=[a_line(TOP, 3)]) for _ in range(2)]
    mine = an_order(client, lines=[a_line(TOP, 1)])
    ok(move(client, TOP, SHIBUYA, 4), 201)
    at_dc = shipment_from(mine, DC)

    after = ok(
        client.post(
            f"/v1/shipments/{at_dc['id']}/reject",
            json={"lines": [{"sku": TOP, "quantity": 1, "reason": "not_found", "counted": 3}]},
        )
    )

    assert open_at(after) == {SHIBUYA: {TOP: 1}}
    shelf = level(client, TOP, DC)
    assert (shelf["on_hand"], shelf["reserved"]) == (3, 3)
    first, second = (get_order(client, o["id"]) for o in others)
    assert open_at(first) == {DC: {TOP: 3}}  # the oldest promise is kept
    assert open_at(second) == {SHIBUYA: {TOP: 3}}
    assert client.app.state.inventory.verify().clean


# --------------------------------------------------------------------------- resource


def a_backordered_rakuten_order(client: Client) -> dict[str, Any]:
    """RAKUTEN is fed by DC-CHIBA alone, which has none: the order waits. DC-OSAKA has 5."""
    a_world(client)
    a_location(client, DC_OSAKA, kind="warehouse", prefecture="27", postal_code="530-0002")
    ok(move(client, TOP, DC_OSAKA, 5), 201)
    order = an_order(client, channel=RAKUTEN, lines=[a_line(TOP, 2)])
    assert order["status"] == "backordered"
    return order


@pytest.mark.parametrize("role", ["customer_service", "admin"])
def test_resourcing_a_waiting_order_books_what_it_may_now_use_and_records_the_decision(
    client: Client, engine: Engine, key_for: KeyFor, role: str
) -> None:
    order = a_backordered_rakuten_order(client)
    # Nothing moved in stock: only the channel changed, so nothing re-sources on its own.
    ok(client.patch(f"/v1/channels/{RAKUTEN}", json={"locations": [DC, DC_OSAKA]}))
    assert get_order(client, order["id"])["status"] == "backordered"

    after = ok(client.post(f"/v1/orders/{order['id']}/resource", headers=key_for(role)))

    assert (after["status"], open_at(after)) == ("allocated", {DC_OSAKA: {TOP: 2}})
    assert comparable(after) == comparable(get_order(client, order["id"]))
    last = decisions(client, order["id"])[-1]
    assert last["trigger"] == "manual"
    assert last["decision"]["lines"][0]["chosen"][0]["location"] == DC_OSAKA
    [event] = outbox_events(engine, "OrderResourced")
    assert (event["order_id"], event["status"]) == (order["id"], "allocated")
    assert level(client, TOP, DC_OSAKA)["reserved"] == 2


def test_resourcing_an_order_with_nothing_waiting_is_a_409_that_changes_nothing(
    client: Client, engine: Engine
) -> None:
    a_world(client, {(TOP, DC): 5})
    order = an_order(client, channel=RAKUTEN)
    before = stock_levels(client)

    refused = client.post(f"/v1/orders/{order['id']}/resource")

    problem = assert_problem(refused, 409, "id")
    assert "nothing to re-source" in problem["detail"]
    assert stock_levels(client) == before
    assert [d["trigger"] for d in decisions(client, order["id"])] == ["placed"]
    assert outbox_events(engine, "OrderResourced") == []


def test_resourcing_an_unknown_order_is_a_404(client: Client) -> None:
    assert_problem(client.post("/v1/orders/987654/resource"), 404, "id")


@pytest.mark.parametrize("role", ["warehouse", "channel_sync"])
def test_only_customer_service_and_admins_resource_orders(
    client: Client, key_for: KeyFor, role: str
) -> None:
    order = a_backordered_rakuten_order(client)
    ok(client.patch(f"/v1/channels/{RAKUTEN}", json={"locations": [DC, DC_OSAKA]}))

    refused = client.post(f"/v1/orders/{order['id']}/resource", headers=key_for(role))

    assert_problem(refused, 403)
    assert get_order(client, order["id"])["status"] == "backordered"
