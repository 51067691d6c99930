"""The storefront adapter against its emulator, over real HTTP on loopback.

One emulator serves the module (reset before each test); the contract suite runs first, then
what only the storefront has: signed webhooks, compare-and-set pushes, cost-based throttling.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar, Request, Response, post
from litestar.testing import TestClient

from oms.channels.adapters.storefront.auth import WebhookRefused, verify_webhook
from oms.channels.adapters.storefront.gateway import StorefrontGateway
from oms.channels.adapters.storefront.limits import STOREFRONT_LIMITS
from oms.channels.adapters.storefront.orders import OrderWebhook
from oms.channels.emulators.storefront.app import create_app, seed
from oms.channels.emulators.storefront.state import Shop, ShopRules
from oms.channels.sync.adapters.rate_limits import SharedRateLimiter
from oms.channels.sync.domain.connections import StorefrontConnection
from oms.channels.sync.domain.errors import (
    AuthenticationFailed,
    ChannelRejected,
    ChannelUnavailable,
    Throttled,
)
from oms.channels.sync.domain.model import (
    Carrier,
    ChannelLimits,
    ListingRef,
    PushStatus,
    QuantityUpdate,
    ShipmentConfirmation,
    ShippedLine,
)
from tests.contract.gateway_contract import ChannelGatewayContract, _pull_all
from tests.contract.servers import free_port, serving
from tests.examples import examples

TOKEN = "shpat_emulator"  # noqa: S105 - the emulator's fixed test token
SECRET = "emulator-webhook-secret"  # noqa: S105
LOCATION = "gid://shopify/Location/1"
VERSION = "2026-04"


class StorefrontControl:
    """EmulatorControl over the emulator's /_emulator/ endpoints."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def _post(self, path: str, body: dict[str, object]) -> dict[str, Any]:
        answer = self.http.post(path, json=body)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def _get(self, path: str, **params: str) -> dict[str, Any]:
        answer = self.http.get(path, params=params)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def reset(self) -> None:
        self._post("/_emulator/reset", {})

    def listing(self, sku: str) -> ListingRef:
        return ListingRef(sku, self._post("/_emulator/listings", {"sku": sku})["inventoryItemId"])

    def seed_order(self, lines: list[tuple[ListingRef, int, int]]) -> str:
        return str(self.place(lines)["id"])

    def place(self, lines: list[tuple[ListingRef, int, int]]) -> dict[str, Any]:
        body = [
            {"inventoryItemId": ref.remote_id, "quantity": q, "price": p} for ref, q, p in lines
        ]
        return self._post("/_emulator/orders", {"lines": body})

    def cancel_order(self, external_id: str) -> None:
        self._post("/_emulator/orders/cancel", {"id": external_id})

    def quantity_of(self, listing: ListingRef) -> int | None:
        found = self._get("/_emulator/quantities", inventory_item_id=listing.remote_id)
        quantity = found["quantity"]
        return None if quantity is None else int(quantity)

    def shipments_of(self, external_id: str) -> list[dict[str, object]]:
        shipments: list[dict[str, object]] = self._get(
            "/_emulator/shipments", order_id=external_id
        )["shipments"]
        return shipments

    def inject(self, fault: str, count: int = 1, seconds: float | None = None) -> None:
        body: dict[str, object] = {"fault": fault, "count": count}
        if seconds is not None:
            body["seconds"] = seconds
        self._post("/_emulator/faults", body)

    def throttled_calls(self) -> int:
        return int(self._get("/_emulator/counters")["throttled"])

    def counters(self) -> dict[str, Any]:
        return self._get("/_emulator/counters")

    def limit(self, bucket_size: float, restore_rate: float) -> None:
        self._post("/_emulator/limits", {"bucketSize": bucket_size, "restoreRate": restore_rate})

    def subscribe(self, url: str | None) -> None:
        self._post("/_emulator/webhooks", {"url": url})

    def redeliver(self, webhook_id: str) -> object:
        return self._post("/_emulator/webhooks/redeliver", {"webhookId": webhook_id})[
            "webhookStatus"
        ]

    def graphql(
        self, query: str, variables: dict[str, object], token: str = TOKEN, version: str = VERSION
    ) -> httpx.Response:
        return self.http.post(
            f"/admin/api/{version}/graphql.json",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": token},
        )


def connection_to(base_url: str, **overrides: str) -> StorefrontConnection:
    fields = {
        "endpoint": f"{base_url}/admin/api/{VERSION}/graphql.json",
        "access_token": TOKEN,
        "webhook_secret": SECRET,
        "location_id": LOCATION,
    }
    return StorefrontConnection(**{**fields, **overrides})


def gateway_to(
    base_url: str,
    limits: ChannelLimits = STOREFRONT_LIMITS,
    limiter: Any = None,
    timeout: float = 5.0,
    **overrides: str,
) -> StorefrontGateway:
    return StorefrontGateway(
        connection_to(base_url, **overrides),
        limiter or SharedRateLimiter("storefront-test", limits),
        httpx.Client(timeout=timeout),
        limits=limits,
    )


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with serving(create_app()) as base_url:
        yield base_url


@pytest.fixture
def emulator(emulator_url: str) -> Iterator[StorefrontControl]:
    control = StorefrontControl(emulator_url)
    control.reset()
    yield control
    control.http.close()


@pytest.fixture
def gateway(emulator: StorefrontControl) -> Iterator[StorefrontGateway]:
    gateway = gateway_to(emulator.base_url)
    yield gateway
    gateway.close()


class TestStorefrontGateway(ChannelGatewayContract):
    """The contract suite, with the fixtures above."""


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired: list[tuple[str, int]] = []

    def acquire(self, operation: str, cost: int = 1) -> None:
        self.acquired.append((operation, cost))


# --- orders -------------------------------------------------------------------------------


def test_orders_sharing_one_second_are_paged_through_each_once(
    gateway: StorefrontGateway, emulator: StorefrontControl
) -> None:
    tee = emulator.listing("TEE-1")
    placed = [emulator.seed_order([(tee, 1, 1980)]) for _ in range(23)]
    pages = []
    cursor = None
    for _ in range(10):
        pulled = gateway.pull_orders(cursor, datetime.now(UTC))
        pages.append([o.external_id for o in pulled.orders])
        cursor = pulled.cursor
        if not pulled.more:
            break
    assert len(pages) >= 3  # 10 a page
    assert sorted(i for page in pages for i in page) == sorted(placed)
    again, _ = _pull_all(gateway, cursor)
    assert again == []


def test_a_pulled_order_keeps_the_storefronts_line_ids_prices_and_address(
    gateway: StorefrontGateway, emulator: StorefrontControl
) -> None:
    tee = emulator.listing("TEE-1")
    external_id = emulator.seed_order([(tee, 2, 1980)])
    orders, _ = _pull_all(gateway)
    (order,) = [o for o in orders if o.external_id == external_id]
    assert order.external_id.startswith("gid://shopify/Order/")
    assert order.currency == "JPY"
    (line,) = order.lines
    assert line.item_id.startswith("gid://shopify/LineItem/")
    assert (line.remote_sku, line.quantity, line.unit_price) == (tee.remote_id, 2, 1980)
    assert order.ship_to is not None
    assert (order.ship_to.postal_code, order.ship_to.prefecture) == ("100-0001", "Tokyo")


def test_a_cursor_the_adapter_did_not_write_is_rejected(gateway: StorefrontGateway) -> None:
    with pytest.raises(ChannelRejected):
        gateway.pull_orders("page=2", datetime.now(UTC))


# --- webhooks -----------------------------------------------------------------------------


class WebhookReceiver:
    """What oms's webhook route does with the adapter: verify, read, dedupe by delivery id."""

    def __init__(self, gateway: StorefrontGateway) -> None:
        self.gateway = gateway
        self.deliveries: dict[str, OrderWebhook] = {}
        self.refused = 0

        @post("/webhooks/storefront", status_code=200)
        async def receive(request: Request[Any, Any, Any]) -> Response[dict[str, object]]:
            raw = await request.body()
            try:
                delivery = self.gateway.receive_order_webhook(raw, dict(request.headers))
            except WebhookRefused as refused:
                self.refused += 1
                return Response({"refused": refused.reason}, status_code=refused.status)
            self.deliveries.setdefault(delivery.webhook_id, delivery)
            return Response({"ok": True}, status_code=200)

        self.app = Litestar(route_handlers=[receive], openapi_config=None)


@pytest.fixture
def receiver(gateway: StorefrontGateway, emulator: StorefrontControl) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(gateway)
    with serving(receiver.app) as base_url:
        emulator.subscribe(f"{base_url}/webhooks/storefront")
        yield receiver


def test_an_order_webhook_is_verified_and_read_like_a_pulled_order(
    gateway: StorefrontGateway, emulator: StorefrontControl, receiver: WebhookReceiver
) -> None:
    tee, cap = emulator.listing("TEE-1"), emulator.listing("CAP-1")
    placed = emulator.place([(tee, 2, 1980), (cap, 1, 2980)])
    assert placed["webhookStatus"] == 200
    (delivery,) = receiver.deliveries.values()
    assert delivery.webhook_id == placed["webhookId"]
    pulled, _ = _pull_all(gateway)
    (order,) = [o for o in pulled if o.external_id == placed["id"]]
    webhook_lines = sorted(
        (x.item_id, x.remote_sku, x.quantity, x.unit_price) for x in delivery.order.lines
    )
    assert webhook_lines == sorted(
        (x.item_id, x.remote_sku, x.quantity, x.unit_price) for x in order.lines
    )
    assert {x.remote_sku for x in delivery.order.lines} == {tee.remote_id, cap.remote_id}
    assert delivery.order.status == order.status


def test_a_webhook_delivered_twice_is_one_delivery(
    emulator: StorefrontControl, receiver: WebhookReceiver
) -> None:
    placed = emulator.place([(emulator.listing("TEE-1"), 1, 1980)])
    assert emulator.redeliver(placed["webhookId"]) == 200
    assert list(receiver.deliveries) == [placed["webhookId"]]


def test_a_forged_webhook_is_refused_and_changes_nothing(
    emulator: StorefrontControl, receiver: WebhookReceiver, emulator_url: str
) -> None:
    placed = emulator.place([(emulator.listing("TEE-1"), 1, 1980)])
    receiver.deliveries.clear()
    body = json.dumps({"id": 1, "line_items": []}).encode()
    forged = base64.b64encode(hmac.new(b"not-the-secret", body, hashlib.sha256).digest()).decode()
    url = str(emulator.http.get("/_emulator/webhooks").json()["url"])
    for signature in (forged, "", "not base64 at all"):
        answer = httpx.post(
            url,
            content=body,
            headers={
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Webhook-Id": placed["webhookId"],
                "X-Shopify-Topic": "orders/create",
            },
        )
        assert answer.status_code == 401
    assert receiver.refused == 3
    assert receiver.deliveries == {}


def test_a_webhook_signed_with_another_secret_is_refused(
    emulator: StorefrontControl, emulator_url: str
) -> None:
    wrong = gateway_to(emulator_url, webhook_secret="rotated-secret")  # noqa: S106
    receiver = WebhookReceiver(wrong)
    with serving(receiver.app) as base_url:
        emulator.subscribe(f"{base_url}/webhooks/storefront")
        placed = emulator.place([(emulator.listing("TEE-1"), 1, 1980)])
    assert placed["webhookStatus"] == 401
    assert receiver.deliveries == {}
    wrong.close()


# --- quantities ---------------------------------------------------------------------------


def test_a_push_after_the_storefront_sold_units_does_not_hand_them_back(
    gateway: StorefrontGateway, emulator: StorefrontControl
) -> None:
    tee = emulator.listing("TEE-1")
    gateway.push_quantities([QuantityUpdate(tee, 5, version=1)])
    emulator.seed_order([(tee, 2, 1980)])  # the storefront now holds 3; oms does not know yet
    (outcome,) = gateway.push_quantities([QuantityUpdate(tee, 10, version=2)])
    assert outcome.status is PushStatus.ACCEPTED
    assert outcome.message is not None
    assert emulator.quantity_of(tee) == 8  # 10 less the 2 sold since the last push
    assert emulator.counters()["calls"]["inventorySetQuantities"] == 3  # set, stale, retry


def test_a_push_of_an_unread_item_compares_with_what_it_reads_first(
    gateway: StorefrontGateway, emulator: StorefrontControl
) -> None:
    tee = emulator.listing("TEE-1")
    emulator._post("/_emulator/listings", {"sku": "TEE-1", "quantity": 7})
    (outcome,) = gateway.push_quantities([QuantityUpdate(tee, 4, version=1)])
    assert (outcome.status, emulator.quantity_of(tee)) == (PushStatus.ACCEPTED, 4)
    assert emulator.counters()["calls"] == {"nodes": 1, "inventorySetQuantities": 1}


def test_the_newest_version_of_a_listing_wins_within_one_push(
    gateway: StorefrontGateway, emulator: StorefrontControl
) -> None:
    tee = emulator.listing("TEE-1")
    outcomes = gateway.push_quantities(
        [QuantityUpdate(tee, 9, version=3), QuantityUpdate(tee, 2, version=1)]
    )
    assert [o.status for o in outcomes] == [PushStatus.ACCEPTED] * 2
    assert emulator.quantity_of(tee) == 9


SET = """mutation SetStock($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) %s { userErrors { code field message } }
}"""


def _set_input(item: str, quantity: int, **extra: object) -> dict[str, object]:
    entry = {"inventoryItemId": item, "locationId": LOCATION, "quantity": quantity, **extra}
    return {"input": {"name": "available", "reason": "correction", "quantities": [entry]}}


def test_the_emulator_answers_the_same_idempotency_key_with_the_first_result(
    emulator: StorefrontControl,
) -> None:
    tee = emulator.listing("TEE-1")
    query = SET % '@idempotent(key: "6b1d8a1e-0000-4000-8000-000000000001")'
    variables = _set_input(tee.remote_id, 5, changeFromQuantity=0)
    first = emulator.graphql(query, variables).json()
    assert first["data"]["inventorySetQuantities"]["userErrors"] == []
    emulator._post("/_emulator/listings", {"sku": "TEE-1", "quantity": 1})
    again = emulator.graphql(query, variables).json()
    assert again["data"] == first["data"]
    assert emulator.quantity_of(tee) == 1  # not applied a second time
    other = emulator.graphql(query, _set_input(tee.remote_id, 6, changeFromQuantity=1)).json()
    assert other["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


@pytest.mark.parametrize(
    ("directive", "extra", "code"),
    [
        ("", {"changeFromQuantity": 0}, "IDEMPOTENCY_KEY_REQUIRED"),
        ('@idempotent(key: "k")', {}, "INVALID_VARIABLE"),  # changeFromQuantity mandatory
    ],
)
def test_the_emulator_refuses_what_2026_04_makes_mandatory(
    emulator: StorefrontControl, directive: str, extra: dict[str, object], code: str
) -> None:
    tee = emulator.listing("TEE-1")
    answer = emulator.graphql(SET % directive, _set_input(tee.remote_id, 5, **extra))
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["extensions"]["code"] == code
    assert emulator.quantity_of(tee) == 0


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        (SET % "", {"input": {}, "extra": 1}, "variableNotDefined"),
        (SET % "", {"input": "five"}, "INVALID_VARIABLE"),
        (SET.replace("userErrors", "userErorrs") % "", {"input": {}}, "undefinedField"),
        (
            "query Q($first: Int!) { orders(first: $first) { nodes { id } } }",
            {"first": 251},
            "BAD_USER_INPUT",
        ),
        (
            "query Q($first: String) { orders(first: $first) { nodes { id } } }",
            {},
            "variableMismatch",
        ),
        (
            "query Q($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            {"ids": ["42"]},
            "argumentLiteralsIncompatible",
        ),
        (
            "query Q($first: Int!) { orders(first: $first) "
            "{ nodes { id lineItems(first: 250) { nodes { id } } } } }",
            {"first": 250},
            "MAX_COST_EXCEEDED",
        ),
    ],
)
def test_the_emulator_validates_documents_and_variables_strictly(
    emulator: StorefrontControl, query: str, variables: dict[str, object], code: str
) -> None:
    body = emulator.graphql(query, variables).json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code


def test_the_emulator_refuses_a_missing_or_wrong_token_and_an_unknown_version(
    emulator: StorefrontControl,
) -> None:
    query = "query Q($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert emulator.graphql(query, {"ids": []}, token="").status_code == 401
    assert emulator.graphql(query, {"ids": []}, token="shpat_guess").status_code  # noqa: S106 == 401
    assert emulator.graphql(query, {"ids": []}, version="2019-04").status_code == 404
    assert emulator.graphql(query, {"ids": []}).status_code == 200


def test_the_client_credentials_grant_issues_a_token_the_api_accepts(
    emulator: StorefrontControl,
) -> None:
    refused = emulator.http.post(
        "/admin/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": "emulator-client",
            "client_secret": "x",
        },
    )
    assert refused.status_code == 401
    granted = emulator.http.post(
        "/admin/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": "emulator-client",
            "client_secret": SECRET,
        },
    ).json()
    assert granted["expires_in"] == ShopRules().token_lifetime_seconds
    query = "query Q($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert emulator.graphql(query, {"ids": []}, token=granted["access_token"]).status_code == 200


def _client_credentials_gateway(base_url: str, secret: str = SECRET) -> StorefrontGateway:
    return StorefrontGateway(
        connection_to(base_url, access_token="", webhook_secret=secret),
        SharedRateLimiter("storefront-test", STOREFRONT_LIMITS),
        httpx.Client(timeout=5),
        client_id="emulator-client",
    )


def test_a_dev_dashboard_app_gets_its_token_once_and_again_when_refused(
    emulator: StorefrontControl,
) -> None:
    listing = emulator.listing("TEE-1")
    gateway = _client_credentials_gateway(emulator.base_url)
    gateway.remote_quantities([listing])
    gateway.remote_quantities([listing])
    assert emulator.counters()["calls"]["access_token"] == 1
    emulator.inject("auth")  # e.g. the token was revoked
    assert [r.quantity for r in gateway.remote_quantities([listing])] == [0]
    assert emulator.counters()["calls"]["access_token"] == 2
    emulator.inject("auth", count=2)
    with pytest.raises(AuthenticationFailed):
        gateway.remote_quantities([listing])
    gateway.close()


def test_a_refused_client_secret_is_authentication_failed_without_the_secret(
    emulator: StorefrontControl,
) -> None:
    gateway = _client_credentials_gateway(emulator.base_url, secret="rotated-" + "5e" * 16)
    with pytest.raises(AuthenticationFailed) as raised:
        gateway.remote_quantities([emulator.listing("TEE-1")])
    gateway.close()
    assert "5e5e" not in str(raised.value)


def test_bad_control_input_is_a_problem_naming_the_field(emulator: StorefrontControl) -> None:
    answer = emulator.http.post("/_emulator/faults", json={"fault": "meteor"})
    assert answer.status_code == 400
    assert answer.json()["field"] == "fault"


def test_seeded_orders_are_the_same_for_the_same_count() -> None:
    def seeded() -> list[tuple[str, list[tuple[str, int, int]]]]:
        shop = Shop(ShopRules())
        seed(shop, 6)
        return [
            (o.id, [(line.item.sku, line.quantity, line.price) for line in o.lines])
            for o in shop.orders.values()
        ]

    assert seeded() == seeded()
    assert len(seeded()) == 6


# --- shipments ----------------------------------------------------------------------------


def test_two_parcels_of_one_order_are_two_fulfillments_each_confirmed_once(
    gateway: StorefrontGateway, emulator: StorefrontControl
) -> None:
    tee, cap = emulator.listing("TEE-1"), emulator.listing("CAP-1")
    external_id = emulator.seed_order([(tee, 1, 1980), (cap, 1, 2980)])
    orders, _ = _pull_all(gateway)
    (order,) = [o for o in orders if o.external_id == external_id]

    def parcel(i: int, carrier: Carrier, name: str | None = None) -> ShipmentConfirmation:
        line = order.lines[i]
        return ShipmentConfirmation(
            external_order_id=external_id,
            package_ref=str(i),
            carrier=carrier,
            tracking_number=f"TRACK-{i}",
            shipped_at=datetime.now(UTC),
            lines=[ShippedLine(line.item_id, line.quantity)],
            carrier_name=name,
        )

    gateway.confirm_shipment(parcel(0, Carrier.YAMATO))
    gateway.confirm_shipment(parcel(1, Carrier.OTHER, "Seino"))
    gateway.confirm_shipment(parcel(0, Carrier.YAMATO))
    shipments = emulator.shipments_of(external_id)
    assert [s["tracking"] for s in shipments] == [
        {"company": "Yamato Transport", "number": "TRACK-0", "url": None},
        {"company": "Seino", "number": "TRACK-1", "url": None},
    ]
    again, _ = _pull_all(gateway)
    assert [o.status.value for o in again if o.external_id == external_id] == ["shipped"]


def test_a_parcel_of_part_of_a_line_confirmed_twice_leaves_the_rest_unfulfilled(
    gateway: StorefrontGateway, emulator: StorefrontControl
) -> None:
    tee = emulator.listing("TEE-1")
    external_id = emulator.seed_order([(tee, 2, 1980)])
    orders, _ = _pull_all(gateway)
    (line,) = next(o for o in orders if o.external_id == external_id).lines
    one_of_two = ShipmentConfirmation(
        external_id, "P1", Carrier.SAGAWA, "SG-1", datetime.now(UTC), [ShippedLine(line.item_id, 1)]
    )
    gateway.confirm_shipment(one_of_two)
    gateway.confirm_shipment(one_of_two)
    shipments = emulator.shipments_of(external_id)
    assert [s["lines"] for s in shipments] == [[{"id": ANY, "quantity": 1}]]


def test_confirming_an_order_the_storefront_does_not_have_is_rejected(
    gateway: StorefrontGateway,
) -> None:
    with pytest.raises(ChannelRejected):
        gateway.confirm_shipment(
            ShipmentConfirmation(
                "gid://shopify/Order/999999", "1", Carrier.YAMATO, "1", datetime.now(UTC), []
            )
        )


# --- throttling and failures --------------------------------------------------------------


def test_the_limiter_is_asked_for_the_cost_the_storefront_charges(
    emulator: StorefrontControl,
) -> None:
    limiter = RecordingLimiter()
    gateway = gateway_to(emulator.base_url, limiter=limiter)
    listings = [emulator.listing(f"SKU-{i}") for i in range(4)]
    gateway.remote_quantities(listings)
    gateway.remote_quantities(listings)
    gateway.close()
    charged = emulator.counters()
    assert [op for op, _ in limiter.acquired] == ["graphql", "graphql"]
    assert limiter.acquired[1][1] >= 1 + 3 * len(listings)
    assert charged["throttled"] == 0


def test_a_call_costing_more_than_the_bucket_holds_is_throttled_with_the_wait(
    emulator: StorefrontControl,
) -> None:
    emulator.limit(bucket_size=20, restore_rate=5)
    gateway = gateway_to(emulator.base_url, limiter=RecordingLimiter())
    listings = [emulator.listing(f"SKU-{i}") for i in range(12)]  # 37 points
    with pytest.raises(Throttled) as raised:
        gateway.remote_quantities(listings)
    gateway.close()
    assert raised.value.retry_after is not None
    assert raised.value.retry_after > 0
    assert emulator.throttled_calls() == 1


def test_pacing_on_the_reported_bucket_avoids_throttling_without_the_limiter(
    emulator: StorefrontControl,
) -> None:
    # A fresh limiter (a restarted worker) knows nothing of the calls before it; the bucket's
    # throttleStatus in each answer does, and the adapter waits for it.
    emulator.limit(bucket_size=40, restore_rate=100)
    gateway = gateway_to(emulator.base_url, limiter=RecordingLimiter())
    listings = [emulator.listing(f"SKU-{i}") for i in range(3)]
    for version in range(1, 9):
        gateway.push_quantities([QuantityUpdate(x, version, version) for x in listings])
    gateway.close()
    assert emulator.throttled_calls() == 0
    assert all(emulator.quantity_of(x) == 8 for x in listings)


def test_a_throttled_answer_with_http_429_is_throttled_too(emulator: StorefrontControl) -> None:
    emulator._post("/_emulator/rules", {"throttled_status": 429})
    listing = emulator.listing("TEE-1")
    emulator.inject("throttle")
    gateway = gateway_to(emulator.base_url)
    with pytest.raises(Throttled):
        gateway.remote_quantities([listing])
    gateway.close()
    emulator.inject("throttle")
    raw = emulator.graphql("query Q($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": []})
    assert raw.status_code == 429
    assert emulator.throttled_calls() == 2


def test_a_timeout_and_a_refused_connection_are_unavailable(
    emulator: StorefrontControl,
) -> None:
    listing = emulator.listing("TEE-1")
    emulator.inject("timeout", seconds=1.0)
    gateway = gateway_to(emulator.base_url, timeout=0.2)
    with pytest.raises(ChannelUnavailable):
        gateway.remote_quantities([listing])
    gateway.close()
    nowhere = gateway_to(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ChannelUnavailable):
        nowhere.remote_quantities([listing])
    nowhere.close()


def test_a_slow_answer_within_the_timeout_is_an_answer(emulator: StorefrontControl) -> None:
    listing = emulator.listing("TEE-1")
    emulator.inject("slow", seconds=0.1)
    gateway = gateway_to(emulator.base_url, timeout=5)
    assert [r.quantity for r in gateway.remote_quantities([listing])] == [0]
    gateway.close()


def test_credentials_never_appear_in_errors_reprs_or_logs(
    emulator: StorefrontControl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    listing = emulator.listing("TEE-1")
    token, secret = "shpat_" + "9f" * 16, "whsec-" + "7a" * 16
    gateway = gateway_to(emulator.base_url, access_token=token, webhook_secret=secret)
    texts = [repr(gateway)]
    for call in (
        lambda: gateway.remote_quantities([listing]),
        lambda: gateway.receive_order_webhook(b"{}", {"X-Shopify-Hmac-Sha256": "x"}),
    ):
        with pytest.raises((AuthenticationFailed, WebhookRefused)) as raised:
            call()
        texts += [str(raised.value), repr(raised.value)]
    gateway.close()
    texts.append(caplog.text)
    assert not [t for t in texts if token in t or secret in t]


# --- properties ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
DOCUMENTS = [
    SET % '@idempotent(key: "k")',
    "query Q($ids: [ID!]!, $locationId: ID!) { nodes(ids: $ids) { id ... on InventoryItem "
    '{ inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) '
    "{ name quantity } } } } }",
    "query Q($first: Int!, $after: String, $query: String) { orders(first: $first, "
    "after: $after, query: $query) { nodes { id } } }",
    "query Q($id: ID!) { order(id: $id) { id fulfillmentOrders(first: 2) { nodes { id } } } }",
    "mutation M($fulfillment: FulfillmentInput!) { fulfillmentCreate(fulfillment: "
    "$fulfillment) { userErrors { message } } }",
]


@pytest.fixture(scope="module")
def in_process() -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(seed_orders=2)) as client:
        yield client


@settings(max_examples=examples(150), deadline=None)
@given(
    document=st.sampled_from(DOCUMENTS) | st.text(max_size=60),
    variables=st.dictionaries(
        st.sampled_from(
            ["input", "ids", "locationId", "first", "after", "query", "id", "fulfillment", "other"]
        ),
        json_values,
        max_size=4,
    ),
)
def test_the_emulator_answers_any_request_without_a_server_error(
    in_process: TestClient[Litestar], document: str, variables: dict[str, object]
) -> None:
    answer = in_process.post(
        f"/admin/api/{VERSION}/graphql.json",
        json={"query": document, "variables": variables},
        headers={"X-Shopify-Access-Token": TOKEN},
    )
    assert answer.status_code in (200, 400)
    body = answer.json()
    assert ("data" in body) != ("errors" in body) or body.get("data") is None


@settings(max_examples=examples(200), deadline=None)
@given(
    body=st.binary(max_size=200),
    secret=st.text(min_size=1, max_size=30),
    flip=st.integers(0, 10**6),
)
def test_a_webhook_is_accepted_only_with_the_hmac_of_its_exact_body(
    body: bytes, secret: str, flip: int
) -> None:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    verify_webhook(body, {"X-SHOPIFY-HMAC-SHA256": signature}, secret)  # names case-insensitive
    tampered = bytearray(body or b"\x00")
    tampered[flip % len(tampered)] ^= 0x01
    with pytest.raises(WebhookRefused):
        verify_webhook(bytes(tampered), {"X-Shopify-Hmac-Sha256": signature}, secret)
    with pytest.raises(WebhookRefused):
        verify_webhook(body, {"X-Shopify-Hmac-Sha256": signature}, secret + "x")
