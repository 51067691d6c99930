"""Problem details, API keys and roles, probes and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine

from oms.access import create_api_key, revoke_api_key
from oms.app import create_app
from oms.db import make_session_factory
from oms.settings import Settings
from tests.api.http_builders import (
    Client,
    a_key,
    a_location,
    assert_problem,
    ledger,
    level,
    move,
    ok,
    stocked,
)

NO_AUTH = {"Authorization": ""}

# --------------------------------------------------------------------------- problem details


def test_an_unknown_route_is_a_404_problem(client: Client) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404)


def test_a_wrong_method_is_a_405_problem_that_says_what_is_allowed(client: Client) -> None:
    response = client.put("/v1/locations")
    assert_problem(response, 405)
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}


def test_malformed_json_is_a_400_problem_about_the_body(client: Client) -> None:
    response = client.post(
        "/v1/locations", content=b'{"code": "A",', headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "body")


def test_a_body_that_is_not_an_object_is_refused_naming_the_body(client: Client) -> None:
    assert_problem(client.post("/v1/locations", json=[1, 2]), 422, "body")


def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(client: Client) -> None:
    class Broken:
        def list_locations(self, *args: Any) -> None:
            raise RuntimeError("password=hunter2 at db.internal:5432")

    client.app.state.inventory = Broken()
    response = client.get("/v1/locations")
    assert_problem(response, 500)
    assert "hunter2" not in response.text
    assert "db.internal" not in response.text


# --------------------------------------------------------------------------- access


def test_a_request_without_an_api_key_is_refused_with_401_and_a_bearer_challenge(
    client: Client,
) -> None:
    response = client.get("/v1/locations", headers=NO_AUTH)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_an_unknown_api_key_is_refused_with_401(client: Client) -> None:
    response = client.get("/v1/locations", headers={"Authorization": "Bearer oms_not-a-key"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_api_key_is_refused_with_401(client: Client, engine: Engine) -> None:
    factory = make_session_factory(engine)
    issued = create_api_key(factory, "scanner 3", "warehouse")
    headers = {"Authorization": f"Bearer {issued.key}"}
    ok(client.get("/v1/locations", headers=headers))
    revoke_api_key(factory, issued.id)
    assert_problem(client.get("/v1/locations", headers=headers), 401)


def test_authentication_is_checked_before_the_request_is_validated(client: Client) -> None:
    response = client.post("/v1/stock/movements", json={"quantity": "x"}, headers=NO_AUTH)
    assert_problem(response, 401)


@pytest.mark.parametrize("role", ["admin", "warehouse", "channel_sync", "customer_service"])
def test_every_role_may_read_inventory(
    client: Client, key_for: Callable[[str], dict[str, str]], role: str
) -> None:
    a_location(client)
    headers = key_for(role)
    assert ok(client.get("/v1/locations", headers=headers))["items"][0]["code"] == "DC-CHIBA"
    ok(client.get("/v1/stock/ledger", headers=headers))


@pytest.mark.parametrize("role", ["admin", "warehouse"])
def test_admins_and_warehouse_staff_may_write_inventory(
    client: Client, key_for: Callable[[str], dict[str, str]], role: str
) -> None:
    stocked(client, 0)
    response = client.post(
        "/v1/stock/movements",
        json={"type": "receipt", "sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 4},
        headers={**key_for(role), "Idempotency-Key": a_key()},
    )
    assert ok(response, 201)["movements"][0]["actor"] == f"{role} key"
    assert level(client)["on_hand"] == 4


@pytest.mark.parametrize("role", ["channel_sync", "customer_service"])
def test_other_roles_may_not_write_inventory_and_change_nothing(
    client: Client, key_for: Callable[[str], dict[str, str]], role: str
) -> None:
    stocked(client, 5)
    headers = key_for(role)
    body = {"type": "receipt", "sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 4}
    refused = [
        client.post("/v1/stock/movements", json=body, headers={**headers, "Idempotency-Key": "k"}),
        client.post("/v1/locations", json={"code": "X"}, headers=headers),
        client.patch("/v1/skus/TEE-BLK-M", json={"name": "New"}, headers=headers),
        client.post(
            "/v1/reservations",
            json={"lines": [{"sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 1}]},
            headers=headers,
        ),
        client.post("/v1/transfers/1/ship", headers=headers),
    ]
    for response in refused:
        assert_problem(response, 403)
    assert level(client)["on_hand"] == 5
    assert len(ledger(client)) == 1
    assert ok(client.get("/v1/skus/TEE-BLK-M"))["name"] == "Item TEE-BLK-M"


def test_the_bootstrap_admin_is_named_as_the_actor_of_its_movements(client: Client) -> None:
    stocked(client, 0)
    body = ok(move(client, quantity=3), 201)
    assert body["movements"][0]["actor"] == "bootstrap-admin"


# --------------------------------------------------------------------------- probes


def test_health_answers_without_an_api_key(client: Client) -> None:
    assert ok(client.get("/health", headers=NO_AUTH)) == {"status": "ok"}


def test_ready_answers_200_when_the_database_is_migrated(client: Client) -> None:
    body = ok(client.get("/ready", headers=NO_AUTH))
    assert body["status"] == "ready"
    assert body["migrations"]


def test_ready_answers_503_when_the_database_was_never_migrated(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    with TestClient(app) as client:
        problem = assert_problem(client.get("/ready"), 503)
    assert problem["applied"] == []
    assert problem["expected"]


def test_ready_answers_503_without_the_url_when_the_database_is_unreachable() -> None:
    url = "postgresql+psycopg://oms:s3cret@127.0.0.1:1/oms"
    with TestClient(create_app(Settings(database_url=url))) as client:
        response = client.get("/ready")
    assert_problem(response, 503)
    assert "s3cret" not in response.text
    assert ok(client.get("/health")) == {"status": "ok"}


# --------------------------------------------------------------------------- OpenAPI


def test_the_openapi_document_lists_the_inventory_paths_and_the_bearer_scheme(
    client: Client,
) -> None:
    schema = ok(client.get("/schema/openapi.json", headers=NO_AUTH))
    assert {
        "/v1/locations",
        "/v1/skus/{code}",
        "/v1/stock/movements",
        "/v1/stock/ledger",
        "/v1/stock/{sku}/as-of",
        "/v1/reservations/{reservation_id}",
        "/v1/transfers/{transfer_id}/receive",
        "/ready",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    movement = schema["paths"]["/v1/stock/movements"]["post"]
    assert movement["security"] == [{"BearerAuth": []}]
    assert {"name": "Idempotency-Key", "required": True}.items() <= next(
        p for p in movement["parameters"] if p["name"] == "Idempotency-Key"
    ).items()
    assert "application/problem+json" in movement["responses"]["422"]["content"]


def test_the_openapi_document_can_be_browsed(client: Client) -> None:
    response = client.get("/schema/swagger", headers=NO_AUTH)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
