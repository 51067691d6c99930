"""The Amazon adapter against the Amazon emulator, over real HTTP on loopback.

One emulator serves the module; each test starts from a reset world. The shared contract runs
twice: Orders API v0 and 2026-01-01. In those runs the 2-minute rule is set to 0 on both sides
(the contract pulls an order it has just placed); the rule itself is tested below with Amazon's
default, by letting the emulator's clock pass.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from oms.channels.adapters.amazon.gateway import AmazonGateway
from oms.channels.adapters.amazon.orders import minor_units, unit_price
from oms.channels.adapters.amazon.settings import AmazonSettings
from oms.channels.emulators.amazon.app import create_app
from oms.channels.sync.domain.errors import (
    AuthenticationFailed,
    ChannelRejected,
    ChannelUnavailable,
)
from oms.channels.sync.domain.model import (
    QuantityUpdate,
    RemoteOrderStatus,
)
from tests.contract.amazon_control import (
    CLIENT_SECRET,
    EMULATOR_FAST,
    FAST,
    MARKETPLACE_ID,
    REFRESH_TOKEN,
    AmazonControl,
    MovableClock,
    a_gateway,
)
from tests.contract.gateway_contract import ChannelGatewayContract, _pull_all
from tests.contract.servers import serving


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(create_app()) as url:
        yield url


@pytest.fixture
def emulator(base_url: str) -> AmazonControl:
    control = AmazonControl(base_url)
    control.reset(**EMULATOR_FAST)
    return control


class TestAmazonGateway(ChannelGatewayContract):
    @pytest.fixture
    def gateway(self, base_url: str, emulator: AmazonControl) -> Iterator[AmazonGateway]:
        gateway = a_gateway(base_url)
        yield gateway
        gateway.close()


class TestAmazonGatewayOrders2026(ChannelGatewayContract):
    @pytest.fixture
    def gateway(self, base_url: str, emulator: AmazonControl) -> Iterator[AmazonGateway]:
        gateway = a_gateway(base_url, orders_api="2026-01-01")
        yield gateway
        gateway.close()


# -- authentication --------------------------------------------------------------------------
def test_the_access_token_is_fetched_once_and_renewed_shortly_before_it_expires(
    base_url: str, emulator: AmazonControl
) -> None:
    clock = MovableClock()
    gateway = a_gateway(base_url, clock=clock)
    listing = emulator.listing("TEE-1")
    for _ in range(3):
        gateway.remote_quantities([listing])
    assert emulator.calls("lwaToken") == 1
    clock.offset = timedelta(seconds=3600 - 59)  # within the 60 s margin of its hour
    gateway.remote_quantities([listing])
    assert emulator.calls("lwaToken") == 2


def test_the_emulator_refuses_a_missing_or_expired_token_with_403_unauthorized(
    emulator: AmazonControl,
) -> None:
    path = f"/listings/2021-08-01/items/A2OMSEMULATOR/{emulator.listing('TEE-1').remote_id}"
    params = {"marketplaceIds": MARKETPLACE_ID}
    token = emulator.token()
    assert emulator.sp_api("GET", path, token, params=params).status_code == 200
    missing = emulator.sp_api("GET", path, None, params=params)
    assert missing.status_code == 403
    assert missing.json()["errors"][0]["code"] == "Unauthorized"
    emulator.advance(3601)
    expired = emulator.sp_api("GET", path, token, params=params)
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RateLimit-Limit" not in expired.headers
    assert expired.headers["x-amzn-RequestId"]


def test_the_emulator_answers_past_its_bucket_with_429_quota_exceeded_and_no_rate(
    emulator: AmazonControl,
) -> None:
    emulator.settings(usage_plans={"getListingsItem": [0.001, 1]})
    path = f"/listings/2021-08-01/items/A2OMSEMULATOR/{emulator.listing('TEE-1').remote_id}"
    token, params = emulator.token(), {"marketplaceIds": MARKETPLACE_ID}
    served = emulator.sp_api("GET", path, token, params=params)
    assert served.status_code == 200
    assert served.headers["x-amzn-RateLimit-Limit"] == "0.001"
    refused = emulator.sp_api("GET", path, token, params=params)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in refused.headers
    assert emulator.throttled_calls() == 1


def test_a_refused_refresh_token_is_authentication_failed_and_names_no_secret(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url, refresh_token="Atzr|revoked-by-the-seller")  # noqa: S106
    with pytest.raises(AuthenticationFailed) as raised:
        gateway.remote_quantities([emulator.listing("TEE-1")])
    assert "revoked-by-the-seller" not in str(raised.value)
    assert CLIENT_SECRET not in str(raised.value)


# -- orders ----------------------------------------------------------------------------------
def test_the_emulator_refuses_a_last_updated_before_within_two_minutes(
    emulator: AmazonControl,
) -> None:
    emulator.reset()  # Amazon's default: 2 minutes
    now = datetime.now(UTC)
    params = {
        "MarketplaceIds": MARKETPLACE_ID,
        "LastUpdatedAfter": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "LastUpdatedBefore": (now - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    refused = emulator.sp_api("GET", "/orders/v0/orders", emulator.token(), params=params)
    assert refused.status_code == 400
    assert "two minutes" in refused.json()["errors"][0]["message"]
    both = params | {"CreatedAfter": params["LastUpdatedAfter"]}
    both.pop("LastUpdatedBefore")
    combined = emulator.sp_api("GET", "/orders/v0/orders", emulator.token(), params=both)
    assert combined.status_code == 400


@pytest.mark.parametrize("orders_api", ["v0", "2026-01-01"])
def test_with_amazons_two_minute_rule_an_order_comes_once_it_is_two_minutes_old(
    base_url: str, emulator: AmazonControl, orders_api: str
) -> None:
    emulator.reset()  # the emulator enforces the 2 minutes again
    gateway = a_gateway(base_url, AmazonSettings(), orders_api=orders_api)
    external_id = emulator.seed_order([(emulator.listing("TEE-1"), 1, 1980)])
    first = gateway.pull_orders(None, datetime.now(UTC))
    assert external_id not in {o.external_id for o in first.orders}
    emulator.advance(150)
    later = datetime.now(UTC) + timedelta(seconds=150)
    second = gateway.pull_orders(first.cursor, later)
    assert [o.external_id for o in second.orders] == [external_id]
    third = gateway.pull_orders(second.cursor, later + timedelta(seconds=1))
    assert third.orders == []


@pytest.mark.parametrize("orders_api", ["v0", "2026-01-01"])
def test_pages_come_one_at_a_time_and_every_order_comes_once(
    base_url: str, emulator: AmazonControl, orders_api: str
) -> None:
    settings = replace(FAST, orders_page_size=2)
    gateway = a_gateway(base_url, settings, orders_api=orders_api)
    tee = emulator.listing("TEE-1")
    placed = [emulator.seed_order([(tee, 1, 1980)]) for _ in range(5)]
    pulls = []
    cursor = None
    for _ in range(5):
        pulled = gateway.pull_orders(cursor, datetime.now(UTC))
        pulls.append(pulled)
        cursor = pulled.cursor
        if not pulled.more:
            break
    assert [p.more for p in pulls] == [True, True, False]
    assert sorted(o.external_id for p in pulls for o in p.orders) == sorted(placed)


@pytest.mark.parametrize("orders_api", ["v0", "2026-01-01"])
def test_a_pending_order_comes_pending_without_address_then_open_with_it(
    base_url: str, emulator: AmazonControl, orders_api: str
) -> None:
    gateway = a_gateway(base_url, orders_api=orders_api)
    external_id = emulator.seed_order([(emulator.listing("TEE-1"), 2, 1980)], status="Pending")
    pending, cursor = _pull_all(gateway)
    assert [(o.status, o.ship_to) for o in pending] == [(RemoteOrderStatus.PENDING, None)]
    emulator.move_order(external_id, "Unshipped")
    opened, _ = _pull_all(gateway, cursor)
    assert [o.status for o in opened] == [RemoteOrderStatus.OPEN]
    assert opened[0].ship_to is not None
    assert opened[0].ship_to.name  # the buyer's name: PII with the RDT / the role
    assert [(line.quantity, line.unit_price) for line in opened[0].lines] == [(2, 1980)]
    assert opened[0].currency == "JPY"


def test_without_restricted_data_an_order_carries_no_personal_data(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url, replace(FAST, restricted_data=False))
    emulator.seed_order([(emulator.listing("TEE-1"), 1, 1980)])
    orders, _ = _pull_all(gateway)
    ship_to = orders[0].ship_to
    assert ship_to is not None
    assert ship_to.postal_code
    assert ship_to.prefecture
    assert (ship_to.name, ship_to.address1, ship_to.phone) == ("", "", None)
    assert emulator.calls("createRestrictedDataToken") == 0


def test_a_cursor_this_adapter_did_not_make_is_rejected(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url)
    with pytest.raises(ChannelRejected):
        gateway.pull_orders("not-a-cursor", datetime.now(UTC))
    assert emulator.calls("getOrders") == 0


def test_amazon_amounts_become_exact_minor_units() -> None:
    assert minor_units("3980.00", "JPY") == 3980
    assert minor_units("19.99", "USD") == 1999
    assert minor_units("0.1", "EUR") == 10
    with pytest.raises(ChannelRejected):
        minor_units("3980.50", "JPY")  # yen have no minor unit
    with pytest.raises(ChannelRejected):
        minor_units("1.005", "USD")
    with pytest.raises(ChannelRejected):
        minor_units("12", "XXX")
    assert unit_price(3960, 2) == 1980


# -- failures --------------------------------------------------------------------------------
def test_an_answer_that_never_comes_is_unavailable(base_url: str, emulator: AmazonControl) -> None:
    emulator.settings(timeout_seconds=2.0)
    gateway = a_gateway(base_url, timeout=0.3)
    listing = emulator.listing("TEE-1")
    gateway.remote_quantities([listing])  # the token is fetched before the fault
    emulator.inject("timeout")
    with pytest.raises(ChannelUnavailable):
        gateway.remote_quantities([listing])


def test_a_slow_answer_still_succeeds(base_url: str, emulator: AmazonControl) -> None:
    emulator.settings(slow_seconds=0.1)
    gateway = a_gateway(base_url)
    listing = emulator.listing("TEE-1")
    emulator.inject("slow", count=2)
    assert [r.quantity for r in gateway.remote_quantities([listing])] == [0]


def test_no_credential_reaches_a_log_line_or_an_error(
    base_url: str, emulator: AmazonControl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = a_gateway(base_url, replace(FAST, feed_threshold=2))
    listings = [emulator.listing(f"LOG-{i}") for i in range(2)]
    gateway.push_quantities([QuantityUpdate(x, 1, version=1) for x in listings])
    emulator.inject("auth")
    with pytest.raises(AuthenticationFailed) as raised:
        gateway.remote_quantities(listings)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "X-Amz-Signature=REDACTED" in logged  # the feed's presigned URLs were logged...
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, "Atza|", "Atz.sprdt|"):
        assert secret not in logged
        assert secret not in str(raised.value)
    signature_values = [
        line.split("X-Amz-Signature=")[1][:8]
        for line in logged.splitlines()
        if "Signature=" in line
    ]
    assert set(signature_values) == {"REDACTED"}  # ...without their signatures


def test_the_emulator_answers_an_unknown_fault_or_setting_with_a_problem(
    emulator: AmazonControl,
) -> None:
    refused = emulator.http.post("/_emulator/faults", json={"fault": "flood"})
    assert refused.status_code == 400
    assert refused.json()["field"] == "fault"
    assert emulator.http.put("/_emulator/settings", json={"nope": 1}).status_code == 400


def test_seeded_orders_are_the_same_for_the_same_seed() -> None:
    from litestar.testing import TestClient

    def order_ids() -> list[tuple[str, str]]:
        with TestClient(create_app(seed_orders=3)) as client:
            emulator = client.app.state.emulator
            return sorted(
                (o.order_id, str(sum((i.unit_price for i in o.items), Decimal(0))))
                for o in emulator.world.orders.values()
            )

    assert order_ids() == order_ids()
    assert len(order_ids()) == 3
