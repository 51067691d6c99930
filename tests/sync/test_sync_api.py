"""The sync over HTTP: the storefront's order webhook (signed, deduplicated), the status and the
failures a person retries. oms runs as a real server (the emulator delivers webhooks to it);
a Redis URL is set, so no in-process worker syncs behind the test's back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from oms.app import create_app
from oms.bootstrap import Services
from oms.channels.emulators.storefront.app import create_app as storefront_app
from oms.settings import Settings
from tests.api.conftest import ADMIN_KEY, SECRET_KEY
from tests.builders import receive
from tests.contract.servers import serving
from tests.contract.test_storefront_gateway import (
    SECRET,
    TOKEN,
    StorefrontControl,
    connection_to,
)
from tests.order_builders import CHANNEL, DC, PANTS, TEE, Shop
from tests.sync.support import connect, list_on, services_for


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with serving(storefront_app()) as base_url:
        yield base_url


@pytest.fixture
def emulator(emulator_url: str) -> Iterator[StorefrontControl]:
    control = StorefrontControl(emulator_url)
    control.reset()
    yield control
    control.subscribe(None)
    control.http.close()


@pytest.fixture
def services(engine: Engine, emulator: StorefrontControl) -> Iterator[Services]:
    Shop(engine).build()
    found = services_for(engine)
    # Pushes and pulls off: what happens here is the webhook's doing.
    connect(found, CHANNEL, connection_to(emulator.base_url), push=False, pull_orders=False)
    yield found
    found.gateways.close()


@pytest.fixture
def oms_url(services: Services, database_url: str, redis_url: str) -> Iterator[str]:
    settings = Settings(
        database_url=database_url,
        bootstrap_admin_key=ADMIN_KEY,
        redis_url=redis_url,
        secret_key=SECRET_KEY,  # what tests.sync.support seals the connections with
    )
    with serving(create_app(settings)) as base_url:
        yield base_url


@pytest.fixture
def api(oms_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=oms_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    ) as client:
        yield client


def orders_of(api: httpx.Client) -> list[dict[str, Any]]:
    found = api.get("/v1/orders", params={"channel": CHANNEL})
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


def test_an_order_webhook_delivered_twice_makes_one_order(
    services: Services, emulator: StorefrontControl, oms_url: str, api: httpx.Client
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, tee)
    receive(services.inventory, TEE, DC, 10)
    emulator.subscribe(f"{oms_url}/webhooks/{CHANNEL}/orders")

    placed = emulator.place([(tee, 2, 3000)])
    again = emulator.redeliver(placed["webhookId"])

    assert (placed["webhookStatus"], again) == (200, 200)
    [order] = orders_of(api)
    assert order["external_id"] == str(placed["id"])
    assert [(ln["sku"], ln["quantity"]) for ln in order["lines"]] == [(TEE, 2)]


def test_a_forged_webhook_is_refused_and_changes_nothing(
    services: Services, emulator: StorefrontControl, oms_url: str, api: httpx.Client
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, tee)
    body = json.dumps({"id": 42, "line_items": []}).encode()
    forged = base64.b64encode(hmac.new(b"not-the-secret", body, hashlib.sha256).digest())

    for signature in (forged.decode(), "", "garbage"):
        answer = httpx.post(
            f"{oms_url}/webhooks/{CHANNEL}/orders",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Webhook-Id": "forged-1",
                "X-Shopify-Topic": "orders/create",
            },
        )
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert orders_of(api) == []
    # The forged delivery id was not recorded: the real one with that id is still taken.
    with services.uow() as uow:
        assert not uow.sync.delivery_taken(CHANNEL, "forged-1")


def test_a_webhook_for_an_unknown_channel_is_a_404(oms_url: str, services: Services) -> None:
    answer = httpx.post(f"{oms_url}/webhooks/nope/orders", content=b"{}")
    assert answer.status_code == 404


def test_status_shows_each_channel_and_never_a_secret(
    services: Services, emulator: StorefrontControl, api: httpx.Client
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, tee)
    receive(services.inventory, TEE, DC, 3)
    services.publication.drain()

    # The receipt's number waits (pushing is off): it shows once the changes feed sees it
    # (after every older transaction in the cluster ended; another test process may hold one).
    end = time.monotonic() + 15
    while True:
        answer = api.get("/v1/sync/status")
        assert answer.status_code == 200, answer.text
        [web] = [s for s in answer.json() if s["channel"] == CHANNEL]
        if web["queue_depth"] >= 1 or time.monotonic() > end:
            break
        time.sleep(0.05)
    assert web["connected"] is True
    assert web["queue_depth"] >= 1
    assert web["lag_seconds"] >= 0
    assert TOKEN not in answer.text
    assert SECRET not in answer.text
    assert api.get("/v1/sync/status", params={"channel": "nope"}).status_code == 404


def test_a_refused_push_is_a_failure_a_person_retries_over_http(
    services: Services, emulator: StorefrontControl, api: httpx.Client
) -> None:
    tee = emulator.listing(TEE)
    # Listed in oms under an inventory item the storefront does not have: refused per SKU.
    from oms.channels.sync.domain.model import ListingRef

    list_on(services, CHANNEL, ListingRef(PANTS, "gid://shopify/InventoryItem/999999"))
    receive(services.inventory, PANTS, DC, 2)
    connect(services, CHANNEL, connection_to(emulator.base_url), pull_orders=False)
    services.publication.drain()
    report = services.sync.push.push_changes(CHANNEL)
    assert report.rejected == 1

    listed = api.get("/v1/sync/failures", params={"channel": CHANNEL})
    assert listed.status_code == 200, listed.text
    [failure] = listed.json()["items"]
    assert (failure["operation"], failure["subject"]) == ("push", PANTS)

    # Retried as it is: refused again, it stays open with one more attempt.
    retried = api.post(f"/v1/sync/failures/{failure['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["resolved_at"], retried.json()["attempts"]) == (None, 2)

    # The listing fixed: the failure no longer stands, and the next pass pushes the number.
    list_on(services, CHANNEL, ListingRef(PANTS, tee.remote_id))
    assert api.get("/v1/sync/failures", params={"channel": CHANNEL}).json()["items"] == []
    services.publication.drain()
    services.sync.push.push_changes(CHANNEL)
    assert emulator.quantity_of(tee) == 2
    resolved = api.get("/v1/sync/failures", params={"include_resolved": "true"}).json()
    assert [f["resolved_at"] is not None for f in resolved["items"]] == [True]
    assert api.post(f"/v1/sync/failures/{failure['id']}/retry").status_code == 409
    assert api.post("/v1/sync/failures/999999/retry").status_code == 404
    assert api.post("/v1/sync/failures/abc/retry").status_code in (400, 404)
