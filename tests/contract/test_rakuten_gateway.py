"""The Rakuten adapter against its emulator: the contract suite, then Rakuten's own rules."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from oms.channels.adapters.rakuten.gateway import RAKUTEN_LIMITS, RakutenGateway, RakutenSettings
from oms.channels.adapters.rakuten.inventory import BULK_GET, BULK_UPSERT
from oms.channels.adapters.rakuten.orders import GET_ORDER, SEARCH_ORDER, OrderPulling
from oms.channels.adapters.rakuten.shipping import UPDATE_ORDER_SHIPPING
from oms.channels.emulators.rakuten.app import create_app
from oms.channels.emulators.rakuten.config import EmulatorConfig
from oms.channels.sync.adapters.rate_limits import SharedRateLimiter
from oms.channels.sync.domain.connections import RakutenConnection
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
    RateLimit,
    RemoteOrder,
    RemoteOrderStatus,
    ShipmentConfirmation,
    ShippedLine,
)
from tests.contract.gateway_contract import ChannelGatewayContract
from tests.contract.rakuten_support import (
    LICENSE_KEY,
    SERVICE_SECRET,
    RakutenEmulatorControl,
    a_gateway,
)
from tests.contract.servers import free_port, serving


@pytest.fixture(scope="module")
def rakuten_url() -> Iterator[str]:
    with serving(create_app()) as base_url:
        yield base_url


@pytest.fixture
def emulator(rakuten_url: str) -> Iterator[RakutenEmulatorControl]:
    control = RakutenEmulatorControl(rakuten_url)
    control.reset()  # fresh shop, counters and rate buckets: the gateway's limiter is new too
    yield control
    control.http.close()


@pytest.fixture
def gateway(rakuten_url: str, emulator: RakutenEmulatorControl) -> Iterator[RakutenGateway]:
    # The Order API's limits are unverified [U]: lifted on both sides here (the suite would
    # sleep a second a call), kept in test_pulls_at_the_published_limits_are_never_throttled.
    emulator.set_limits(dict.fromkeys(ORDER_FUNCTIONS))
    gateway = a_gateway(rakuten_url, fast())
    yield gateway
    gateway.close()


class TestRakutenGateway(ChannelGatewayContract):
    pass


# -- Rakuten's own rules ---------------------------------------------------------------------

ORDER_FUNCTIONS = (SEARCH_ORDER, GET_ORDER, UPDATE_ORDER_SHIPPING)
# The Order API's limits are unverified [U]: tests whose subject is not the rate lift them on
# both sides, so the suite does not sleep a second per call.
LIFTED = ChannelLimits(
    limits=[
        *(RateLimit(op, per_second=100.0, burst=100) for op in ORDER_FUNCTIONS),
        RateLimit(BULK_GET, per_second=5.0, burst=5),
        RateLimit(BULK_UPSERT, per_second=1.0, burst=1),
    ],
    max_push_batch=RAKUTEN_LIMITS.max_push_batch,
)


def fast(orders: OrderPulling | None = None, **kwargs: Any) -> RakutenSettings:
    return RakutenSettings(limits=LIFTED, orders=orders or OrderPulling(), **kwargs)


@pytest.fixture
def lifted(emulator: RakutenEmulatorControl) -> RakutenEmulatorControl:
    emulator.set_limits(dict.fromkeys(ORDER_FUNCTIONS))
    return emulator


def esa(secret: str = SERVICE_SECRET, key: str = LICENSE_KEY) -> str:
    return "ESA " + base64.b64encode(f"{secret}:{key}".encode()).decode()


def rms(base_url: str, path: str, body: Any, authorization: str | None = None) -> httpx.Response:
    headers = {"Authorization": authorization or esa()}
    return httpx.post(f"{base_url}{path}", json=body, headers=headers, timeout=5)


def pull_all(gateway: RakutenGateway, cursor: str | None = None) -> tuple[list[RemoteOrder], str]:
    orders: list[RemoteOrder] = []
    for _ in range(20):
        pulled = gateway.pull_orders(cursor, datetime.now(UTC))
        orders.extend(pulled.orders)
        cursor = pulled.cursor
        if not pulled.more:
            return orders, cursor
    raise AssertionError("never done")


@contextmanager
def emulated(config: EmulatorConfig) -> Iterator[tuple[str, RakutenEmulatorControl]]:
    """A server of its own, for a test that needs the emulator told something else [U]."""
    with serving(create_app(config=config)) as base_url:
        control = RakutenEmulatorControl(base_url)
        try:
            yield base_url, control
        finally:
            control.http.close()


SEARCH_BODY = {
    "dateType": 1,
    "startDatetime": "2026-03-01T00:00:00+0900",
    "endDatetime": "2026-03-02T00:00:00+0900",
}


class TestEsaAuthorization:
    @pytest.mark.parametrize(
        "authorization",
        [
            "Bearer abc",
            "ESA",
            "ESA not-base64!!",
            esa(key="SL-revoked-license-key"),
            esa(secret="SP-someone-else"),  # noqa: S106 - a wrong one, on purpose
            "Basic " + esa()[4:],
        ],
    )
    def test_the_emulator_refuses_anything_but_the_shops_esa_header(
        self, rakuten_url: str, emulator: RakutenEmulatorControl, authorization: str
    ) -> None:
        refused = rms(
            rakuten_url, "/es/2.0/inventories/bulk-get", {"inventories": []}, authorization
        )
        assert refused.status_code == 401
        assert set(refused.json()["Results"]) == {"errorCode", "message"}

    def test_the_emulator_accepts_the_shops_esa_header(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        answer = rms(rakuten_url, "/es/2.0/order/searchOrder/", SEARCH_BODY, esa())
        assert answer.status_code == 200

    def test_a_refused_license_key_is_authentication_failed_and_names_no_secret(
        self, rakuten_url: str, emulator: RakutenEmulatorControl, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        gateway = a_gateway(rakuten_url, license_key="SL-expired-after-90-days")
        listing = emulator.listing("TEE-1")
        with pytest.raises(AuthenticationFailed) as refused:
            gateway.remote_quantities([listing])
        said = f"{refused.value} {caplog.text} {gateway!r}"
        for secret in ("SL-expired-after-90-days", SERVICE_SECRET, esa(key="x")[4:12]):
            assert secret not in said

    def test_a_function_not_enabled_in_rms_is_authentication_failed(self) -> None:
        config = EmulatorConfig(disabled_functions=frozenset({BULK_GET}))
        with emulated(config) as (base_url, control):
            listing = control.listing("TEE-1")
            with pytest.raises(AuthenticationFailed, match="ES04-01"):
                a_gateway(base_url).remote_quantities([listing])


class TestThrottlingAndFailures:
    def test_pulls_at_the_published_limits_are_never_throttled(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        gateway = a_gateway(rakuten_url)  # RAKUTEN_LIMITS: 1 call a second per function
        tee = emulator.listing("TEE-1")
        first = emulator.seed_order([(tee, 1, 1980)])
        orders, cursor = pull_all(gateway)
        second = emulator.seed_order([(tee, 1, 1980)])
        again, _ = pull_all(gateway, cursor)
        assert [o.external_id for o in [*orders, *again]] == [first, second]
        assert emulator.throttled_calls() == 0

    def test_the_emulator_throttles_a_second_upsert_within_the_second_with_access_limit(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        body = {
            "inventories": [
                {"manageNumber": "a", "variantId": "b", "mode": "ABSOLUTE", "quantity": 1}
            ]
        }
        first = rms(rakuten_url, "/es/2.0/inventories/bulk-upsert", body)
        second = rms(rakuten_url, "/es/2.0/inventories/bulk-upsert", body)
        assert first.status_code == 204
        assert second.status_code == 403
        assert second.json()["Results"]["message"] == "AccessLimit"
        assert emulator.throttled_calls() == 1

    def test_a_429_throttling_answer_is_throttled_as_well(self) -> None:
        with emulated(EmulatorConfig(throttle_status=429)) as (base_url, control):
            listing = control.listing("TEE-1")
            control.inject("throttle")
            with pytest.raises(Throttled):
                a_gateway(base_url).remote_quantities([listing])

    def test_a_retry_after_the_channel_gives_is_kept(self) -> None:
        config = EmulatorConfig(throttle_status=429, throttle_retry_after=7)
        with emulated(config) as (base_url, control):
            listing = control.listing("TEE-1")
            control.inject("throttle")
            with pytest.raises(Throttled) as throttled:
                a_gateway(base_url).remote_quantities([listing])
            assert throttled.value.retry_after == 7.0

    def test_an_order_api_validation_error_is_rejected_with_rakutens_code(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        lifted.seed_order([(lifted.listing("TEE-1"), 1, 1980)])
        gateway = a_gateway(rakuten_url, fast(OrderPulling(get_order_version=2)))
        with pytest.raises(ChannelRejected, match="ORDER_EXT_API_GET_ORDER_ERROR"):
            gateway.pull_orders(None, datetime.now(UTC))

    def test_no_answer_in_time_is_unavailable(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        listing = emulator.listing("TEE-1")
        emulator.inject("timeout", seconds=1.0)
        with pytest.raises(ChannelUnavailable):
            a_gateway(rakuten_url, timeout=0.2).remote_quantities([listing])

    def test_a_refused_connection_is_unavailable(self) -> None:
        nobody = f"http://127.0.0.1:{free_port()}"
        with pytest.raises(ChannelUnavailable):
            a_gateway(nobody).remote_quantities([ListingRef("X", "x", "y")])

    def test_a_slow_answer_is_still_an_answer(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        listing = emulator.listing("TEE-1")
        emulator.inject("slow", seconds=0.2)
        assert a_gateway(rakuten_url).remote_quantities([listing])[0].quantity == 0
        assert emulator.counters()["injected"] == {"slow": 1}


class TestOrderPulls:
    def test_search_datetimes_need_the_offset_without_a_colon(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        body = SEARCH_BODY | {"startDatetime": "2026-03-01T00:00:00+09:00"}
        refused = rms(rakuten_url, "/es/2.0/order/searchOrder/", body)
        assert refused.status_code == 400
        codes = [m["messageCode"] for m in refused.json()["MessageModelList"]]
        assert codes == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_011"]

    def test_a_search_window_over_63_days_is_refused_and_the_adapter_splits_it(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        long = SEARCH_BODY | {"endDatetime": "2026-05-04T00:00:00+0900"}
        assert rms(rakuten_url, "/es/2.0/order/searchOrder/", long).status_code == 400
        tee = lifted.listing("TEE-1")
        old = lifted.seed_order(
            [(tee, 1, 1980)], ordered_at=(datetime.now(UTC) - timedelta(days=80)).isoformat()
        )
        settings = fast(OrderPulling(initial_lookback=timedelta(days=100)))
        orders, _ = pull_all(a_gateway(rakuten_url, settings))
        assert [o.external_id for o in orders] == [old]
        # The refused call above, two windows for 100 days, one for the cancellations.
        assert lifted.calls(SEARCH_ORDER) == 1 + 2 + 1

    def test_every_page_is_read(self, rakuten_url: str, lifted: RakutenEmulatorControl) -> None:
        tee = lifted.listing("TEE-1")
        placed = [lifted.seed_order([(tee, 1, 1980)]) for _ in range(5)]
        settings = fast(OrderPulling(page_size=2, get_order_batch=2))
        orders, _ = pull_all(a_gateway(rakuten_url, settings))
        assert sorted(o.external_id for o in orders) == sorted(placed)
        assert lifted.calls(SEARCH_ORDER) == 3 + 1  # pages 1-3, and the cancellations' search
        assert lifted.calls(GET_ORDER) == 3  # 2 + 2 + 1 numbers

    def test_get_order_takes_at_most_100_numbers(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        numbers = [f"123456-20260301-{n:010d}" for n in range(101)]
        refused = rms(
            rakuten_url, "/es/2.0/order/getOrder/", {"orderNumberList": numbers, "version": 7}
        )
        assert refused.status_code == 400
        assert refused.json()["MessageModelList"][0]["messageType"] == "ERROR"

    def test_a_backlog_comes_over_several_pulls_each_order_once(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        tee = lifted.listing("TEE-1")
        placed = [lifted.seed_order([(tee, 1, 1980)]) for _ in range(5)]
        gateway = a_gateway(rakuten_url, fast(OrderPulling(max_orders_per_pull=2)))
        first = gateway.pull_orders(None, datetime.now(UTC))
        assert first.more
        assert len(first.orders) == 2
        rest, cursor = pull_all(gateway, first.cursor)
        pulled = [o.external_id for o in [*first.orders, *rest]]
        assert sorted(pulled) == sorted(placed)
        assert pull_all(gateway, cursor)[0] == []

    @pytest.mark.parametrize(
        ("progress", "status"),
        [
            (100, RemoteOrderStatus.OPEN),
            (300, RemoteOrderStatus.OPEN),
            (500, RemoteOrderStatus.SHIPPED),
            (700, RemoteOrderStatus.SHIPPED),
            (800, RemoteOrderStatus.CANCELLED),
            (900, RemoteOrderStatus.CANCELLED),
        ],
    )
    def test_order_progress_maps_to_a_status(
        self,
        rakuten_url: str,
        lifted: RakutenEmulatorControl,
        progress: int,
        status: RemoteOrderStatus,
    ) -> None:
        number = lifted.seed_order([(lifted.listing("TEE-1"), 1, 1980)])
        lifted.move_order(number, progress)
        orders, _ = pull_all(a_gateway(rakuten_url, fast()))
        assert [(o.external_id, o.status) for o in orders] == [(number, status)]

    def test_an_old_order_cancelled_later_is_found_by_the_cancellation_search(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        tee = lifted.listing("TEE-1")
        old = lifted.seed_order(
            [(tee, 1, 1980)], ordered_at=(datetime.now(UTC) - timedelta(days=5)).isoformat()
        )
        gateway = a_gateway(rakuten_url, fast())
        _, cursor = pull_all(gateway)
        lifted.cancel_order(old)
        again, cursor = pull_all(gateway, cursor)
        assert [(o.external_id, o.status) for o in again] == [(old, RemoteOrderStatus.CANCELLED)]
        assert pull_all(gateway, cursor)[0] == []  # told once

    def test_lines_keep_rakutens_item_ids_variants_and_tax_included_prices(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        tee = lifted.listing("TEE-1")
        number = lifted.seed_order([(tee, 2, 1980)])
        orders, _ = pull_all(a_gateway(rakuten_url, fast()))
        [line] = orders[0].lines
        model = lifted.http.get(f"/orders/{number}").json()
        item = model["PackageModelList"][0]["ItemModelList"][0]
        assert (line.item_id, line.remote_variant, line.unit_price) == (
            str(item["itemDetailId"]),
            "std",
            item["priceTaxIncl"],
        )
        assert orders[0].ship_to is not None
        assert orders[0].ship_to.postal_code == "{zipCode1}-{zipCode2}".format(
            **model["PackageModelList"][0]["SenderModel"]
        )

    def test_an_order_rakuten_sends_malformed_is_rejected_not_a_crash(self) -> None:
        def channel(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/searchOrder/"):
                return httpx.Response(
                    200,
                    json={
                        "orderNumberList": ["123456-20260301-0000000001"],
                        "MessageModelList": [],
                        "PaginationResponseModel": {"totalRecordsAmount": 1, "totalPages": 1},
                    },
                )
            order = {
                "orderNumber": "123456-20260301-0000000001",
                "orderProgress": 100,
                "orderDatetime": "2026-03-01T10:15:00+0900",
                "PackageModelList": [{"ItemModelList": [{"units": "two"}]}],  # no itemDetailId
            }
            return httpx.Response(200, json={"MessageModelList": [], "OrderModelList": [order]})

        settings = fast()
        gateway = RakutenGateway(
            RakutenConnection("http://rakuten.invalid", SERVICE_SECRET, LICENSE_KEY),
            SharedRateLimiter("rakuten-malformed", settings.limits),
            httpx.Client(transport=httpx.MockTransport(channel)),
            settings=settings,
        )
        with pytest.raises(ChannelRejected, match="pulling orders"):
            gateway.pull_orders(None, datetime.now(UTC))

    def test_a_cursor_that_is_not_rakutens_is_rejected(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        with pytest.raises(ChannelRejected):
            a_gateway(rakuten_url).pull_orders("amazon-next-token", datetime.now(UTC))

    def test_seeded_orders_are_the_same_every_run(self) -> None:
        def lines_of(app: Any) -> list[list[tuple[str, str, int]]]:
            shop = app.state.shop
            return [
                [(i.manage_number, i.variant_id, i.units) for p in o.packages for i in p.items]
                for o in shop.orders.values()
            ]

        assert lines_of(create_app(seed_orders=4)) == lines_of(create_app(seed_orders=4))
        assert len(lines_of(create_app(seed_orders=4))) == 4


class TestInventory:
    def test_an_unknown_listing_is_never_upserted(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        unknown = ListingRef("GHOST", "ghost-1", "std")
        [outcome] = a_gateway(rakuten_url).push_quantities([QuantityUpdate(unknown, 4, 1)])
        assert outcome.status is PushStatus.REJECTED
        assert emulator.calls(BULK_UPSERT) == 0

    def test_inventory_api_2_1_answers_the_same_calls(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        listing = emulator.listing("TEE-1")
        key = {"manageNumber": listing.remote_id, "variantId": listing.remote_variant}
        read = rms(rakuten_url, "/es/2.1/inventories/bulk-get", {"inventories": [key]})
        assert read.status_code == 200
        assert read.json()["inventories"][0]["updated"].endswith("+09:00")  # with a colon here

    def test_the_emulator_drops_an_unknown_sku_silently_as_rakuten_does(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        body = {
            "inventories": [
                {"manageNumber": "ghost-1", "variantId": "std", "mode": "ABSOLUTE", "quantity": 4}
            ]
        }
        assert rms(rakuten_url, "/es/2.0/inventories/bulk-upsert", body).status_code == 204
        read = rms(
            rakuten_url,
            "/es/2.0/inventories/bulk-get",
            {"inventories": [body["inventories"][0] | {}]},
        )
        assert read.json() == {"inventories": []}

    def test_a_listing_without_a_variant_id_is_rejected_without_a_call(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        no_variant = ListingRef("TEE-1", "tee-1", None)
        [outcome] = a_gateway(rakuten_url).push_quantities([QuantityUpdate(no_variant, 4, 1)])
        assert outcome.status is PushStatus.REJECTED
        assert emulator.counters()["calls"] == {}

    def test_manage_numbers_match_whatever_their_case(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        registered = emulator.listing("TEE-1")
        upper = ListingRef("TEE-1", "TEE-1", "std")
        gateway = a_gateway(rakuten_url)
        [outcome] = gateway.push_quantities([QuantityUpdate(upper, 8, 1)])
        assert outcome.status is PushStatus.ACCEPTED
        assert emulator.quantity_of(registered) == 8

    def test_more_than_rakuten_can_show_is_pushed_as_99999(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        listing = emulator.listing("TEE-1")
        a_gateway(rakuten_url).push_quantities([QuantityUpdate(listing, 250_000, 1)])
        assert emulator.quantity_of(listing) == 99999

    def test_the_newest_number_of_a_sku_wins_within_one_push(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        listing = emulator.listing("TEE-1")
        updates = [QuantityUpdate(listing, 9, 7), QuantityUpdate(listing, 3, 5)]
        outcomes = a_gateway(rakuten_url).push_quantities(updates)
        assert [o.status for o in outcomes] == [PushStatus.ACCEPTED] * 2
        assert emulator.quantity_of(listing) == 9

    def test_a_push_of_more_than_400_skus_takes_two_upserts(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        listings = emulator.listings([f"BULK-{i}" for i in range(401)])
        outcomes = a_gateway(rakuten_url).push_quantities(
            [QuantityUpdate(listing, 2, 1) for listing in listings]
        )
        assert {o.status for o in outcomes} == {PushStatus.ACCEPTED}
        assert emulator.calls(BULK_UPSERT) == 2
        assert emulator.throttled_calls() == 0

    def test_the_emulator_refuses_more_than_400_records_a_call(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        record = {"manageNumber": "bulk-1", "variantId": "std", "mode": "ABSOLUTE", "quantity": 1}
        refused = rms(
            rakuten_url, "/es/2.0/inventories/bulk-upsert", {"inventories": [record] * 401}
        )
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["code"] == "IE0003"

    def test_a_record_rakuten_refuses_is_rejected_and_the_others_go_again(self) -> None:
        with emulated(EmulatorConfig(max_quantity=100)) as (base_url, control):
            small, large = control.listing("SMALL"), control.listing("LARGE")
            outcomes = a_gateway(base_url).push_quantities(
                [QuantityUpdate(small, 5, 1), QuantityUpdate(large, 500, 1)]
            )
            assert [o.status for o in outcomes] == [PushStatus.RETRY, PushStatus.REJECTED]
            assert "IE0003" in str(outcomes[1].message)
            assert control.quantity_of(small) == 0  # nothing of the call was written

    def test_remote_quantities_of_unknown_listings_are_none(
        self, rakuten_url: str, emulator: RakutenEmulatorControl
    ) -> None:
        known = emulator.listing("TEE-1")
        read = a_gateway(rakuten_url).remote_quantities(
            [known, ListingRef("GHOST", "ghost-1", "std"), ListingRef("NOVAR", "tee-1", None)]
        )
        assert [r.quantity for r in read] == [0, None, None]


class TestShipments:
    def confirm(
        self,
        gateway: RakutenGateway,
        number: str,
        carrier: Carrier = Carrier.YAMATO,
        shipped_at: datetime | None = None,
        item_ids: list[str] | None = None,
    ) -> None:
        gateway.confirm_shipment(
            ShipmentConfirmation(
                external_order_id=number,
                package_ref="P-1",
                carrier=carrier,
                tracking_number="4242-4242-4242",
                shipped_at=shipped_at or datetime.now(UTC),
                lines=[ShippedLine(i, 1) for i in item_ids or []],
            )
        )

    @pytest.mark.parametrize(
        ("carrier", "code"),
        [(Carrier.SAGAWA, "1002"), (Carrier.JAPAN_POST, "1003"), (Carrier.OTHER, "1000")],
    )
    def test_the_carrier_goes_as_rakutens_delivery_company_and_the_date_in_japan(
        self, rakuten_url: str, lifted: RakutenEmulatorControl, carrier: Carrier, code: str
    ) -> None:
        number = lifted.seed_order([(lifted.listing("TEE-1"), 1, 1980)])
        late_evening_utc = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 2 March in Japan
        self.confirm(a_gateway(rakuten_url, fast()), number, carrier, late_evening_utc)
        [recorded] = lifted.shipments_of(number)
        assert (recorded["delivery_company"], recorded["shipping_date"]) == (code, "2026-03-02")

    def test_rakuten_records_a_repeated_shipment_twice_so_the_adapter_sends_it_once(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        number = lifted.seed_order([(lifted.listing("TEE-1"), 1, 1980)])
        basket = lifted.http.get(f"/orders/{number}").json()["PackageModelList"][0]["basketId"]
        record = {"deliveryCompany": "1001", "shippingNumber": "1", "shippingDate": "2026-03-02"}
        body = {
            "orderNumber": number,
            "BasketidModelList": [{"basketId": basket, "ShippingModelList": [record]}],
        }
        for _ in range(2):
            assert rms(rakuten_url, "/es/2.0/order/updateOrderShipping/", body).status_code == 200
        assert len(lifted.shipments_of(number)) == 2
        other = lifted.seed_order([(lifted.listing("TEE-1"), 1, 1980)])
        gateway = a_gateway(rakuten_url, fast())
        self.confirm(gateway, other)
        self.confirm(gateway, other)
        assert lifted.calls(UPDATE_ORDER_SHIPPING) == 2 + 1

    def test_a_shipment_of_an_order_cancelled_on_rakuten_is_rejected(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        number = lifted.seed_order([(lifted.listing("TEE-1"), 1, 1980)])
        lifted.cancel_order(number)
        with pytest.raises(ChannelRejected, match="cancelled"):
            self.confirm(a_gateway(rakuten_url, fast()), number)
        assert lifted.shipments_of(number) == []

    def test_a_shipment_of_an_order_rakuten_does_not_have_is_rejected(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        with pytest.raises(ChannelRejected, match="no such order"):
            self.confirm(a_gateway(rakuten_url, fast()), "123456-20260301-0000009999")
        assert lifted.calls(UPDATE_ORDER_SHIPPING) == 0

    def test_a_line_the_order_does_not_have_is_rejected(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        number = lifted.seed_order([(lifted.listing("TEE-1"), 1, 1980)])
        with pytest.raises(ChannelRejected, match="no line"):
            self.confirm(a_gateway(rakuten_url, fast()), number, item_ids=["999"])

    def test_a_shipment_on_an_order_awaiting_shipment_reports_it_shipped(
        self, rakuten_url: str, lifted: RakutenEmulatorControl
    ) -> None:
        number = lifted.seed_order([(lifted.listing("TEE-1"), 1, 1980)])
        lifted.move_order(number, 300)
        self.confirm(a_gateway(rakuten_url, fast()), number)
        assert lifted.http.get(f"/orders/{number}").json()["orderProgress"] == 500
