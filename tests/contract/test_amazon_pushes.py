"""The Amazon adapter's pushes and shipment confirmations against the Amazon emulator.

A few SKUs go by patchListingsItem, many by one JSON_LISTINGS_FEED whose processing report
gives each SKU its outcome; a parcel is confirmed once whatever Amazon answers to a repeat.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from oms.channels.adapters.amazon.settings import AMAZON_LIMITS, AmazonSettings
from oms.channels.emulators.amazon.app import create_app
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import (
    Carrier,
    ListingRef,
    PushStatus,
    QuantityUpdate,
    ShipmentConfirmation,
    ShippedLine,
)
from tests.contract.amazon_control import (
    EMULATOR_FAST,
    FAST,
    MARKETPLACE_ID,
    AmazonControl,
    NoLimiter,
    a_gateway,
)
from tests.contract.gateway_contract import _pull_all
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


# -- quantities ------------------------------------------------------------------------------
def test_a_few_skus_are_patched_one_by_one_with_a_merge_of_the_default_quantity(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url)
    shirt = emulator.listing("SHIRT-1", product_type="SHIRT")
    outcomes = gateway.push_quantities([QuantityUpdate(shirt, 4, version=2)])
    assert [o.status for o in outcomes] == [PushStatus.ACCEPTED]
    assert emulator.quantity_of(shirt) == 4
    assert emulator.calls("patchListingsItem") == 1
    assert emulator.calls("createFeed") == 0
    assert AmazonSettings().feed_from(AMAZON_LIMITS) == 900  # 3 minutes of patches at 5/s


def test_a_patch_naming_the_wrong_product_type_is_rejected_for_that_sku(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url, replace(FAST, product_type="PRODUCT"))
    shirt = emulator.listing("SHIRT-1", product_type="SHIRT")
    outcomes = gateway.push_quantities([QuantityUpdate(shirt, 4, version=1)])
    assert outcomes[0].status is PushStatus.REJECTED
    assert outcomes[0].message
    assert "product type" in outcomes[0].message
    assert emulator.quantity_of(shirt) is None


def test_many_skus_go_in_one_listings_feed_with_per_sku_outcomes(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url, replace(FAST, feed_threshold=3))
    listings = [emulator.listing(f"FEED-{i}", product_type="SHIRT") for i in range(4)]
    unknown = ListingRef("GONE", "AMZ-GONE")
    outcomes = gateway.push_quantities(
        [QuantityUpdate(x, 10 + i, version=1) for i, x in enumerate(listings)]
        + [QuantityUpdate(unknown, 1, version=1)]
    )
    assert [o.status for o in outcomes] == [PushStatus.ACCEPTED] * 4 + [PushStatus.REJECTED]
    assert [emulator.quantity_of(x) for x in listings] == [10, 11, 12, 13]
    assert emulator.calls("createFeed") == 1
    assert emulator.calls("patchListingsItem") == 0
    assert emulator.calls("getFeedDocument") == 1


def test_listings_are_read_twenty_skus_a_call_and_their_product_types_remembered(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url, replace(FAST, feed_threshold=3))
    listings = [emulator.listing(f"MANY-{i:02d}", product_type="SHIRT") for i in range(25)]
    gateway.push_quantities([QuantityUpdate(x, 3, version=1) for x in listings])
    assert emulator.calls("searchListingsItems") == 2  # 25 SKUs: 20 + 5
    gateway.push_quantities([QuantityUpdate(x, 4, version=2) for x in listings])
    assert emulator.calls("searchListingsItems") == 2  # the product types were remembered
    read = gateway.remote_quantities(listings)
    assert [r.quantity for r in read] == [4] * 25
    assert emulator.calls("searchListingsItems") == 4
    assert emulator.calls("getListingsItem") == 0


def test_a_partly_failed_feed_retries_only_the_skus_that_failed(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url, replace(FAST, feed_threshold=3))
    listings = [emulator.listing(f"FEED-{i}") for i in range(4)]
    emulator.inject("feed_partial")
    outcomes = gateway.push_quantities([QuantityUpdate(x, 7, version=1) for x in listings])
    assert [o.status for o in outcomes] == [
        PushStatus.ACCEPTED,
        PushStatus.RETRY,
        PushStatus.ACCEPTED,
        PushStatus.RETRY,
    ]
    assert all(o.message for o in outcomes if o.status is PushStatus.RETRY)
    assert [emulator.quantity_of(x) for x in listings] == [7, None, 7, None]


def test_a_feed_whose_issue_code_is_not_passing_is_rejected_not_retried(
    base_url: str, emulator: AmazonControl
) -> None:
    emulator.settings(partial_issue_code="90220")
    gateway = a_gateway(base_url, replace(FAST, feed_threshold=2))
    listings = [emulator.listing(f"FEED-{i}") for i in range(2)]
    emulator.inject("feed_partial")
    outcomes = gateway.push_quantities([QuantityUpdate(x, 7, version=1) for x in listings])
    assert [o.status for o in outcomes] == [PushStatus.ACCEPTED, PushStatus.REJECTED]


def test_the_same_sku_twice_in_a_push_sends_only_its_newest_number(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url)
    tee = emulator.listing("TEE-1")
    outcomes = gateway.push_quantities(
        [QuantityUpdate(tee, 9, version=3), QuantityUpdate(tee, 5, version=2)]
    )
    assert [o.status for o in outcomes] == [PushStatus.ACCEPTED, PushStatus.ACCEPTED]
    assert emulator.quantity_of(tee) == 9
    assert emulator.calls("patchListingsItem") == 1


def test_the_emulator_throttles_a_caller_past_the_burst_and_the_rest_is_retried(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url, replace(FAST, product_type="PRODUCT"), limiter=NoLimiter())
    listings = [emulator.listing(f"FAST-{i}") for i in range(8)]
    outcomes = gateway.push_quantities([QuantityUpdate(x, 2, version=1) for x in listings])
    statuses = [o.status for o in outcomes]
    assert statuses[:5] == [PushStatus.ACCEPTED] * 5  # patchListingsItem's burst is 5
    assert PushStatus.RETRY in statuses[5:]
    assert emulator.throttled_calls() >= 1
    assert "QuotaExceeded" in str([o.message for o in outcomes])


def test_a_listing_the_channel_does_not_know_reads_as_none(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url)
    known = emulator.listing("TEE-1")
    read = gateway.remote_quantities([known, ListingRef("GONE", "AMZ-GONE")])
    assert [r.quantity for r in read] == [0, None]


def test_the_emulator_validates_a_patch_against_amazons_model(emulator: AmazonControl) -> None:
    path = f"/listings/2021-08-01/items/A2OMSEMULATOR/{emulator.listing('TEE-1').remote_id}"
    body = {"productType": "PRODUCT", "patches": [{"op": "upsert", "path": "/attributes/x"}]}
    refused = emulator.sp_api(
        "PATCH", path, emulator.token(), params={"marketplaceIds": MARKETPLACE_ID}, json=body
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "InvalidInput"
    assert "op" in refused.json()["errors"][0]["message"]


# -- shipments -------------------------------------------------------------------------------
def _confirmation(external_id: str, base_url: str, **changes: object) -> ShipmentConfirmation:
    gateway = a_gateway(base_url)
    orders, _ = _pull_all(gateway)
    order = next(o for o in orders if o.external_id == external_id)
    values: dict[str, object] = {
        "external_order_id": external_id,
        "package_ref": "41",
        "carrier": Carrier.YAMATO,
        "tracking_number": "4444-5555-6666",
        "shipped_at": datetime.now(UTC),
        "lines": [ShippedLine(line.item_id, line.quantity) for line in order.lines],
    }
    return ShipmentConfirmation(**(values | changes))  # type: ignore[arg-type]


def test_a_mapped_carrier_goes_by_its_code_and_another_as_other_with_its_name(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url)
    tee = emulator.listing("TEE-1")
    first = emulator.seed_order([(tee, 1, 1980)])
    second = emulator.seed_order([(tee, 1, 1980)])
    gateway.confirm_shipment(_confirmation(first, base_url))
    other = _confirmation(second, base_url, carrier=Carrier.OTHER, carrier_name="Seino")
    gateway.confirm_shipment(other)
    assert emulator.shipments_of(first)[0]["carrier"] == "Yamato Transport"
    recorded = emulator.shipments_of(second)[0]
    assert (recorded["carrier"], recorded["carrierName"]) == ("Other", "Seino")
    assert recorded["packageReferenceId"] == "41"


def test_a_package_confirmed_again_is_success_whichever_way_amazon_answers(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url)
    external_id = emulator.seed_order([(emulator.listing("TEE-1"), 2, 1980)])
    confirmation = _confirmation(external_id, base_url)
    gateway.confirm_shipment(confirmation)
    gateway.confirm_shipment(confirmation)  # "reject": a 400 saying it is already confirmed
    emulator.settings(duplicate_package="accept")
    gateway.confirm_shipment(confirmation)  # "accept": a 204
    assert len(emulator.shipments_of(external_id)) == 1


def test_a_shipment_for_items_not_in_the_order_is_rejected(
    base_url: str, emulator: AmazonControl
) -> None:
    gateway = a_gateway(base_url)
    external_id = emulator.seed_order([(emulator.listing("TEE-1"), 1, 1980)])
    wrong = _confirmation(external_id, base_url, lines=[ShippedLine("99999999999999", 1)])
    with pytest.raises(ChannelRejected):
        gateway.confirm_shipment(wrong)
    not_a_number = _confirmation(external_id, base_url, package_ref="SHP-1")
    with pytest.raises(ChannelRejected):
        gateway.confirm_shipment(not_a_number)
    assert emulator.shipments_of(external_id) == []


def test_a_feed_is_asked_after_a_second_then_twice_as_long_each_time_up_to_the_interval(
    base_url: str, emulator: AmazonControl
) -> None:
    emulator.settings(feed_processing_seconds=0.5)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(min(seconds, 0.2))  # the feed still needs its half second

    settings = replace(
        FAST,
        feed_threshold=2,
        feed_poll_first=timedelta(seconds=1),
        feed_poll_interval=timedelta(seconds=3),
    )
    gateway = a_gateway(base_url, settings, sleep=sleep)
    listings = [emulator.listing(f"POLL-{i}", product_type="SHIRT") for i in range(3)]

    outcomes = gateway.push_quantities([QuantityUpdate(x, 5, version=1) for x in listings])

    assert [o.status for o in outcomes] == [PushStatus.ACCEPTED] * 3
    assert waits[:4] == [1.0, 2.0, 3.0, 3.0][: len(waits[:4])]
    assert len(waits) >= 2  # not done at the first ask: it asked again, later
