"""Order test data through the HTTP API: a tiny shop and an order builder.

The world: DC-CHIBA (warehouse, Chiba "12"), STORE-SHIBUYA (store, Tokyo "13") and STORE-UMEDA
(store, Osaka "27"); tops, bottoms and a coordinate set of one of each (shipped apart); the
STOREFRONT channel fed by the DC and both stores, RAKUTEN fed by the DC only. Stock is what each
test says it is.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from oms.inventory.orm import reservations
from oms.orders.orm import orders as orders_table
from oms.outbox import outbox
from tests.api.channel_builders import a_channel
from tests.api.http_builders import Client, a_location, a_sku, ok, receive

DC = "DC-CHIBA"
SHIBUYA = "STORE-SHIBUYA"
UMEDA = "STORE-UMEDA"
TOP = "TOP-WHT-M"
BOTTOM = "BOTTOM-NVY-M"
SET = "SET-COORD-M"  # one TOP and one BOTTOM, each may ship from its own location
STOREFRONT = "STOREFRONT"
RAKUTEN = "RAKUTEN"

TOKYO_ADDRESS: dict[str, Any] = {
    "name": "山田 花子",
    "postal_code": "150-0041",
    "prefecture": "13",
    "city": "渋谷区",
    "address1": "神南1-2-3",
    "address2": "渋谷ハイツ101",
    "phone": "03-1234-5678",
}

_serial = itertools.count(1)

Stock = Mapping[tuple[str, str], int]


def a_world(client: Client, stock: Stock | None = None) -> None:
    """The three locations, the SKUs, both channels, and `stock` ((sku, location) -> units)."""
    a_location(client, DC, kind="warehouse", prefecture="12", postal_code="270-0000")
    a_location(client, SHIBUYA, kind="store", prefecture="13", postal_code="150-0002")
    a_location(client, UMEDA, kind="store", prefecture="27", postal_code="530-0001")
    a_sku(client, TOP, name="Oxford shirt white M", attributes={"category": "tops"})
    a_sku(client, BOTTOM, name="Chino navy M", attributes={"category": "bottoms"})
    a_sku(
        client,
        SET,
        name="Coordinate set M",
        kind="bundle",
        components=[{"sku": TOP, "quantity": 1}, {"sku": BOTTOM, "quantity": 1}],
        ship_together=False,
    )
    a_channel(client, STOREFRONT, [DC, SHIBUYA, UMEDA], kind="storefront")
    a_channel(client, RAKUTEN, [DC], kind="rakuten")
    for (sku, location), units in (stock or {}).items():
        if units:
            receive(client, sku, location, units)


def a_line(
    sku: str = TOP, quantity: Any = 1, unit_price: Any = 3900, line_id: str = "L1"
) -> dict[str, Any]:
    return {"line_id": line_id, "sku": sku, "quantity": quantity, "unit_price": unit_price}


def an_order_body(**overrides: Any) -> dict[str, Any]:
    """A STOREFRONT order of one TOP to Tokyo, with a fresh external_id."""
    body: dict[str, Any] = {
        "channel": STOREFRONT,
        "external_id": f"SF-{next(_serial):06d}",
        "ordered_at": "2024-05-01T10:00:00+09:00",
        "currency": "JPY",
        "lines": [a_line()],
        "ship_to": dict(TOKYO_ADDRESS),
    }
    body.update(overrides)
    return body


def place(client: Client, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    """POST an order; returns the response (assert on it in the test)."""
    return client.post("/v1/orders", json=body, headers=headers or {})


def an_order(client: Client, **overrides: Any) -> dict[str, Any]:
    """Place an order (201) and return it."""
    return ok(place(client, an_order_body(**overrides)), 201)  # type: ignore[no-any-return]


def get_order(client: Client, order_id: int) -> dict[str, Any]:
    return ok(client.get(f"/v1/orders/{order_id}"))  # type: ignore[no-any-return]


def shipment_from(order: dict[str, Any], location: str) -> dict[str, Any]:
    """The order's one open shipment from `location`."""
    [found] = [
        s for s in order["shipments"] if s["location"] == location and s["status"] != "cancelled"
    ]
    return found  # type: ignore[no-any-return]


def shipped_lines(shipment: dict[str, Any]) -> dict[str, int]:
    """sku -> units a shipment carries."""
    totals: dict[str, int] = {}
    for line in shipment["lines"]:
        totals[line["sku"]] = totals.get(line["sku"], 0) + line["quantity"]
    return totals


def line_of(order: dict[str, Any], line_id: str = "L1") -> dict[str, Any]:
    [found] = [ln for ln in order["lines"] if ln["line_id"] == line_id]
    return found  # type: ignore[no-any-return]


def decisions(client: Client, order_id: int) -> list[dict[str, Any]]:
    return ok(client.get(f"/v1/orders/{order_id}/sourcing"))["decisions"]  # type: ignore[no-any-return]


def advance(client: Client, shipment_id: int, step: str, **kwargs: Any) -> Any:
    """POST pick, pack or ship; returns the response."""
    return client.post(f"/v1/shipments/{shipment_id}/{step}", **kwargs)


def ship_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"carrier": "yamato", "tracking_number": "4321-1234-5678"}
    body.update(overrides)
    return body


def send(client: Client, shipment_id: int) -> dict[str, Any]:
    """Pick, pack and ship a shipment with Yamato; returns the shipped shipment."""
    ok(advance(client, shipment_id, "pick"))
    ok(advance(client, shipment_id, "pack"))
    return ok(advance(client, shipment_id, "ship", json=ship_body()))  # type: ignore[no-any-return]


def ship_instructions(
    client: Client, location: str, headers: dict[str, str] | None = None, **params: Any
) -> Any:
    """GET a location's ship instructions (`params`: status, format); returns the response."""
    return client.get(
        f"/v1/locations/{location}/ship-instructions", params=params, headers=headers or {}
    )


def outbox_events(engine: Engine, event: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.payload).where(outbox.c.event == event).order_by(outbox.c.id)
        )
        return [dict(row.payload) for row in rows]


def order_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(orders_table)).scalar_one())


def reservation_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reservations)).scalar_one())


def stock_levels(client: Client) -> list[dict[str, Any]]:
    """Every stock level, to compare before and after a request that must change nothing."""
    return ok(client.get("/v1/stock"))["items"]  # type: ignore[no-any-return]


def sourced(client: Client, order_id: int, timeout: float = 10.0) -> dict[str, Any]:
    """The order once no unit waits for stock. Only the in-process worker sources backorders
    (when a StockChanged event says stock came): if it has not within `timeout`, the test
    fails. Never source them here: that would hide a worker that does nothing."""
    deadline = time.monotonic() + timeout
    while True:
        order = get_order(client, order_id)
        if order["status"] != "backordered":
            return order
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not source order {order_id} within {timeout} s")
        time.sleep(0.05)


def worker_caught_up(client: Client, timeout: float = 10.0) -> None:
    """Wait until the in-process worker has handled every event committed so far (an event is
    marked handled only after its handler finished); fail the test if it does not."""
    factory = client.app.state.session_factory
    deadline = time.monotonic() + timeout
    while True:
        with factory() as session:
            waiting = session.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            ).scalar_one()
        if not waiting:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the worker left {waiting} events unhandled for {timeout} s")
        time.sleep(0.05)


def _instant(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def comparable(order: dict[str, Any]) -> dict[str, Any]:
    """An order (or shipment) as its content: times as instants (what the client sent comes back
    in its own offset, what is read from the database in UTC), a shipment's lines sorted."""
    times = ("ordered_at", "promised_by", "created_at", "shipped_at")
    copy = {k: _instant(v) if k in times else v for k, v in order.items()}
    if "shipments" in copy:
        copy["shipments"] = [comparable(s) for s in copy["shipments"]]
    if "location" in copy and "lines" in copy:
        copy["lines"] = sorted(copy["lines"], key=lambda ln: (ln["line_id"], ln["sku"]))
    return copy
