"""Channel connections over HTTP, on both databases: PUT/GET /v1/channels/{code}/connection.

Secrets go in, are stored encrypted, and never come out: not in a response, not in the
database's columns as plaintext."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import pytest
from cryptography.fernet import Fernet
from litestar.testing import TestClient
from sqlalchemy import Engine, text

from oms.app import create_app
from oms.bootstrap import Services
from oms.channels.sync.domain.connections import AmazonConnection, StorefrontConnection
from oms.settings import Settings
from tests.api.channel_builders import a_channel
from tests.api.conftest import ADMIN_KEY
from tests.api.http_builders import Client, a_location, assert_problem, ok

CLIENT_SECRET = "amzn-client-secret-7f3a"  # noqa: S105 (test values)
REFRESH_TOKEN = "Atzr|refresh-token-91c2"  # noqa: S105
SERVICE_SECRET = "SP-service-secret-55aa"  # noqa: S105
LICENSE_KEY = "SL-license-key-0bb1"
ACCESS_TOKEN = "shpat_access_token_e4d9"  # noqa: S105
WEBHOOK_SECRET = "whsec-webhook-secret-3c3c"  # noqa: S105
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, SERVICE_SECRET, LICENSE_KEY, ACCESS_TOKEN, WEBHOOK_SECRET)
MASK = "********"

AMAZON: dict[str, Any] = {
    "endpoint": "http://127.0.0.1:9001",
    "token_url": "http://127.0.0.1:9001/auth/o2/token",
    "client_id": "amzn1.application-oa2-client.test",
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH_TOKEN,
    "seller_id": "A2SELLER",
    "marketplace_id": "A1VC38T7YXB528",
    "orders_api": "2026-01-01",
}
RAKUTEN: dict[str, Any] = {
    "endpoint": "https://api.rms.rakuten.co.jp",
    "service_secret": SERVICE_SECRET,
    "license_key": LICENSE_KEY,
}
STOREFRONT: dict[str, Any] = {
    "endpoint": "https://shop.example/admin/api/2025-07/graphql.json",
    "access_token": ACCESS_TOKEN,
    "webhook_secret": WEBHOOK_SECRET,
    "location_id": "655441491",
}


@pytest.fixture
def shop(client: Client) -> Client:
    """Three channels, one of each kind, none connected yet."""
    a_location(client, "DC-CHIBA")
    a_channel(client, "AMAZON", kind="amazon")
    a_channel(client, "RAKUTEN", kind="rakuten")
    a_channel(client, "SHOP", kind="storefront")
    return client


def put(client: Client, code: str, body: Any, **kwargs: Any) -> Any:
    return client.put(f"/v1/channels/{code}/connection", json=body, **kwargs)


def services(client: Client) -> Services:
    return cast(Services, client.app.state.services)


def stored_rows(engine: Engine) -> str:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM channel_connections")).all()
    return repr([tuple(row) for row in rows])


def assert_no_secret(document: str) -> None:
    for secret in SECRETS:
        assert secret not in document


@pytest.mark.parametrize(
    ("code", "body"), [("AMAZON", AMAZON), ("RAKUTEN", RAKUTEN), ("SHOP", STOREFRONT)]
)
def test_a_connection_is_stored_and_shown_with_every_secret_masked(
    shop: Client, engine: Engine, code: str, body: dict[str, Any]
) -> None:
    answered = put(shop, code, body)
    shown = shop.get(f"/v1/channels/{code}/connection")

    assert answered.status_code == 200, answered.text
    assert shown.status_code == 200, shown.text
    assert_no_secret(answered.text)
    assert_no_secret(shown.text)
    document = shown.json()
    assert document["channel"] == code
    assert document["endpoint"] == body["endpoint"]
    assert (document["push"], document["pull_orders"], document["pull_interval_seconds"]) == (
        True,
        True,
        60,
    )
    secrets = {name for name, value in body.items() if value in SECRETS}
    assert {name for name, value in document.items() if value == MASK} == secrets
    assert_no_secret(stored_rows(engine))
    # ... and yet the sync reads them back.
    connection = services(shop).connections.connection(code)
    assert connection is not None
    assert {name: getattr(connection, name) for name in secrets} == {
        name: body[name] for name in secrets
    }


def test_the_storefront_location_is_stored_as_its_gid(shop: Client) -> None:
    document = ok(put(shop, "SHOP", STOREFRONT))

    assert document["location_id"] == "gid://shopify/Location/655441491"
    connection = services(shop).connections.connection("SHOP")
    assert isinstance(connection, StorefrontConnection)
    assert connection.location_id == "gid://shopify/Location/655441491"


def test_a_shown_connection_put_back_edited_keeps_its_secrets(shop: Client) -> None:
    ok(put(shop, "AMAZON", AMAZON))
    document = ok(shop.get("/v1/channels/AMAZON/connection"))
    document.update(endpoint="http://127.0.0.1:9002", push=False, pull_interval_seconds=300)

    ok(put(shop, "AMAZON", document))

    connection = services(shop).connections.connection("AMAZON")
    assert isinstance(connection, AmazonConnection)
    assert connection.endpoint == "http://127.0.0.1:9002"
    assert (connection.client_secret, connection.refresh_token) == (CLIENT_SECRET, REFRESH_TOKEN)
    settings = services(shop).connections.settings_of("AMAZON")
    assert settings is not None
    assert (settings.push, settings.pull_orders, settings.pull_interval_seconds) == (
        False,
        True,
        300,
    )


def test_a_secret_left_out_keeps_the_stored_one_and_a_new_one_replaces_it(
    shop: Client,
) -> None:
    ok(put(shop, "RAKUTEN", RAKUTEN))

    ok(put(shop, "RAKUTEN", {**RAKUTEN, "service_secret": MASK, "license_key": "SL-new-key"}))
    ok(put(shop, "RAKUTEN", {"endpoint": RAKUTEN["endpoint"]}))

    connection = services(shop).connections.connection("RAKUTEN")
    assert connection is not None
    assert (connection.service_secret, connection.license_key) == (SERVICE_SECRET, "SL-new-key")  # type: ignore[union-attr]


def test_connected_lists_the_connected_channels_with_their_settings(shop: Client) -> None:
    ok(put(shop, "AMAZON", {**AMAZON, "pull_orders": False}))
    ok(put(shop, "SHOP", STOREFRONT))

    connected = services(shop).connections.connected()

    assert [(c.channel, c.connection.kind.value, c.settings.pull_orders) for c in connected] == [
        ("AMAZON", "amazon", False),
        ("SHOP", "storefront", True),
    ]


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown field", {**AMAZON, "region": "fe"}, "region"),
    ("another kind's field", {**AMAZON, "license_key": "x"}, "license_key"),
    ("not a URL", {**AMAZON, "endpoint": "sellingpartnerapi-fe.amazon.com"}, "endpoint"),
    ("ftp URL", {**AMAZON, "token_url": "ftp://api.amazon.com/token"}, "token_url"),
    ("URL without a host", {**AMAZON, "endpoint": "https://"}, "endpoint"),
    ("URL with a password", {**AMAZON, "endpoint": "https://u:p@host"}, "endpoint"),
    ("missing field", {k: v for k, v in AMAZON.items() if k != "seller_id"}, "seller_id"),
    ("missing secret", {k: v for k, v in AMAZON.items() if k != "client_secret"}, "client_secret"),
    ("masked secret, none stored", {**AMAZON, "refresh_token": MASK}, "refresh_token"),
    ("empty secret", {**AMAZON, "client_secret": " "}, "client_secret"),
    ("unknown orders API", {**AMAZON, "orders_api": "v1"}, "orders_api"),
    ("interval too short", {**AMAZON, "pull_interval_seconds": 9}, "pull_interval_seconds"),
    ("interval too long", {**AMAZON, "pull_interval_seconds": 86_401}, "pull_interval_seconds"),
    ("interval as text", {**AMAZON, "pull_interval_seconds": "60"}, "pull_interval_seconds"),
    ("interval as bool", {**AMAZON, "pull_interval_seconds": True}, "pull_interval_seconds"),
    ("push as text", {**AMAZON, "push": "yes"}, "push"),
    ("number for text", {**AMAZON, "seller_id": 42}, "seller_id"),
    ("control character", {**AMAZON, "client_id": "a\x00b"}, "client_id"),
    ("another kind", {**AMAZON, "kind": "rakuten"}, "kind"),
    ("another channel", {**AMAZON, "channel": "RAKUTEN"}, "channel"),
    ("unknown carrier", {**AMAZON, "carrier_codes": {"dhl": "DHL"}}, "carrier_codes.dhl"),
]


@pytest.mark.parametrize(
    ("body", "field"), [(b, f) for _, b, f in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS]
)
def test_a_bad_connection_is_refused_naming_the_field_and_changes_nothing(
    shop: Client, engine: Engine, body: dict[str, Any], field: str
) -> None:
    first = assert_problem(put(shop, "AMAZON", body), 422, field)
    assert_problem(shop.get("/v1/channels/AMAZON/connection"), 404)
    ok(put(shop, "AMAZON", AMAZON))
    before = stored_rows(engine)

    again = put(shop, "AMAZON", body)

    if field in AmazonConnection.SECRETS and body.get(field, MASK) == MASK:
        # A secret left out or masked, refused only when none is stored: now one is, and kept.
        assert again.status_code == 200, again.text
        return
    assert_problem(again, 422, field)
    assert stored_rows(engine) == before
    assert_no_secret(repr(first) + again.text)


@pytest.mark.parametrize(
    "field", ["endpoint", "token_url", "seller_id", "marketplace_id", "orders_api", "client_id"]
)
def test_a_secret_sent_in_the_wrong_field_is_not_repeated_in_the_error(
    shop: Client, field: str
) -> None:
    refused = put(shop, "AMAZON", {**AMAZON, field: f"{LICENSE_KEY} {LICENSE_KEY}"})

    assert_problem(refused, 422, field)
    assert_no_secret(refused.text)


def test_an_unknown_channel_is_a_404(shop: Client) -> None:
    assert_problem(put(shop, "NOWHERE", AMAZON), 404, "code")
    assert_problem(shop.get("/v1/channels/NOWHERE/connection"), 404, "code")


def test_only_admins_see_or_set_a_connection(
    shop: Client, key_for: Callable[[str], dict[str, str]]
) -> None:
    ok(put(shop, "AMAZON", AMAZON))
    for role in ("warehouse", "channel_sync", "customer_service"):
        headers = key_for(role)
        assert_problem(put(shop, "AMAZON", AMAZON, headers=headers), 403)
        assert_problem(shop.get("/v1/channels/AMAZON/connection", headers=headers), 403)


@pytest.mark.parametrize("content", [b"{", b'{"endpoint": }', b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_refused(shop: Client, content: bytes) -> None:
    response = shop.put(
        "/v1/channels/AMAZON/connection",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert_problem(shop.get("/v1/channels/AMAZON/connection"), 404)


def test_a_connection_written_with_another_key_is_a_clear_error_not_a_500(
    shop: Client, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(put(shop, "AMAZON", AMAZON))
    monkeypatch.setenv("OMS_SECRET_KEY", Fernet.generate_key().decode())
    other = create_app(Settings(database_url=database_url, bootstrap_admin_key=ADMIN_KEY))

    with TestClient(other) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        refused = client.get("/v1/channels/AMAZON/connection")
        problem = assert_problem(refused, 409, "secret_key")
        assert "written with" in problem["detail"]
        # Every secret again replaces it, sealed with the new key.
        assert_problem(put(client, "AMAZON", {**AMAZON, "client_secret": MASK}), 422)
        ok(put(client, "AMAZON", AMAZON))
        ok(client.get("/v1/channels/AMAZON/connection"))


def test_no_secret_reaches_a_log_line(shop: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    ok(put(shop, "AMAZON", AMAZON))
    ok(put(shop, "AMAZON", {**AMAZON, "client_secret": MASK, "refresh_token": "Atzr|rotated"}))
    assert_problem(put(shop, "AMAZON", {**AMAZON, "endpoint": CLIENT_SECRET}), 422)
    ok(shop.get("/v1/channels/AMAZON/connection"))

    assert "connection of channel AMAZON set by" in caplog.text  # the log is captured
    assert_no_secret(caplog.text)
    assert "Atzr|rotated" not in caplog.text
