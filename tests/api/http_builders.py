"""Test data through the HTTP API: one call, sensible defaults, override what the test is about."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from tests.builders import a_jan

Client = TestClient[Litestar]


def a_key() -> str:
    return f"api-test-{uuid.uuid4()}"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def a_location(client: Client, code: str = "DC-CHIBA", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": f"Location {code}",
        "kind": "warehouse",
        "prefecture": "12",
        "postal_code": "270-0000",
    }
    body.update(overrides)
    return ok(client.post("/v1/locations", json=body), 201)  # type: ignore[no-any-return]


def a_sku(client: Client, code: str = "TEE-BLK-M", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "name": f"Item {code}"}
    body.update(overrides)
    return ok(client.post("/v1/skus", json=body), 201)  # type: ignore[no-any-return]


def a_bundle(client: Client, code: str, components: list[tuple[str, int]]) -> dict[str, Any]:
    return a_sku(
        client,
        code,
        kind="bundle",
        components=[{"sku": sku, "quantity": qty} for sku, qty in components],
    )


def a_barcode() -> str:
    return a_jan()


def move(
    client: Client,
    sku: str = "TEE-BLK-M",
    location: str = "DC-CHIBA",
    quantity: Any = 10,
    *,
    kind: str = "receipt",
    key: str | None = None,
    **fields: Any,
) -> Any:
    """POST a movement; returns the response (assert on it in the test)."""
    body = {"type": kind, "sku": sku, "location": location, "quantity": quantity, **fields}
    return client.post(
        "/v1/stock/movements", json=body, headers={"Idempotency-Key": key or a_key()}
    )


def receive(client: Client, sku: str, location: str, quantity: int) -> dict[str, Any]:
    return ok(move(client, sku, location, quantity), 201)  # type: ignore[no-any-return]


def stocked(client: Client, quantity: int = 10) -> tuple[str, str]:
    """DC-CHIBA holding `quantity` of TEE-BLK-M."""
    a_location(client)
    a_sku(client)
    if quantity:
        receive(client, "TEE-BLK-M", "DC-CHIBA", quantity)
    return "TEE-BLK-M", "DC-CHIBA"


def level(client: Client, sku: str = "TEE-BLK-M", location: str = "DC-CHIBA") -> dict[str, Any]:
    """The stock level of one SKU at one location (zeros when it never had stock)."""
    items = ok(client.get("/v1/stock", params={"sku": sku, "location": location}))["items"]
    if not items:
        return {"on_hand": 0, "reserved": 0, "quarantined": 0, "in_transit": 0, "available": 0}
    return items[0]  # type: ignore[no-any-return]


def ledger(client: Client, **params: Any) -> list[dict[str, Any]]:
    return ok(client.get("/v1/stock/ledger", params=params))["items"]  # type: ignore[no-any-return]


def assert_problem(
    response: Any, status: int, field: str | None = None, **members: Any
) -> dict[str, Any]:
    """An RFC 9457 problem of `status`, naming `field` (and listing it in `errors` for 422)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["type"]
    assert problem["detail"]
    if field is not None:
        assert problem.get("field") == field, problem
        if status == 422:
            assert field in [e["field"] for e in problem["errors"]], problem
    for name, value in members.items():
        assert problem.get(name) == value, problem
    return problem
