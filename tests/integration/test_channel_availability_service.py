"""ChannelAvailabilityService: stored stock and rules mapped onto the pipeline, both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from oms.channels.availability.domain.model import (
    ChannelPolicy,
    LocationStock,
    Pool,
    compute_availability,
    compute_bundle_availability,
)
from oms.channels.availability.domain.rules import Exclusion
from oms.channels.availability.services.channels import ChannelService, CreateChannel, UpdateChannel
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_session_factory
from oms.inventory.services import InventoryService
from oms.shared.errors import InvalidInput, NotFound
from oms.uow import SqlUnitOfWork
from tests.builders import SteppingClock, a_bundle, a_location, a_service, a_sku, receive, reserve

DC, STORE, FBA = "DC-CHIBA", "STORE-SHIBUYA", "FBA-NRT"
TEE, CAP = "TEE-BLK-M", "CAP-NVY"
ADMIN = "admin"


@pytest.fixture
def stock(engine: Engine) -> InventoryService:
    inventory = a_service(engine, SteppingClock())
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0002")
    a_location(inventory, FBA, kind="marketplace_fc")
    a_sku(inventory, TEE, attributes={"category": "tops"})
    a_sku(inventory, CAP, attributes={"category": "outlet"})
    return inventory


@pytest.fixture
def channels(engine: Engine, stock: InventoryService) -> ChannelService:
    return ChannelService(lambda: SqlUnitOfWork(make_session_factory(engine)), stock)


@pytest.fixture
def service(engine: Engine, stock: InventoryService) -> ChannelAvailabilityService:
    factory = make_session_factory(engine)
    return ChannelAvailabilityService(lambda: SqlUnitOfWork(factory), stock)


def a_channel(channels: ChannelService, code: str, locations: list[str], **fields: Any) -> str:
    kind = fields.pop("kind", "rakuten")
    channels.create_channel(CreateChannel(code, code, kind, locations=locations, **fields))
    return code


def numbers(service: ChannelAvailabilityService, channel: str, *skus: str) -> dict[str, int]:
    found = service.channel_availability(channel, skus)
    return {x.availability.sku: x.availability.available for x in found}


def test_the_published_numbers_are_the_pipelines_for_the_stored_stock_and_rules(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    for location, quantity in ((DC, 12), (STORE, 4), (FBA, 6)):
        receive(stock, TEE, location, quantity)
    reserve(stock, (TEE, DC, 2))  # available at the DC: 10
    channels.set_safety_stock(TEE, STORE, 3, ADMIN)
    a_channel(channels, "amazon", [DC, FBA], kind="amazon")
    a_channel(channels, "rakuten", [DC])
    a_channel(channels, "storefront", [DC, STORE], kind="storefront", auto_buffer=True)
    channels.set_buffer("amazon", "default", None, 2, ADMIN)
    channels.set_buffer("rakuten", "default", None, 1, ADMIN)
    channels.set_share("rakuten", None, 50, ADMIN)
    channels.set_pool("rakuten", TEE, 4, ADMIN)
    channels.set_cap("storefront", None, 4, ADMIN)

    expected = compute_availability(
        TEE,
        {"category": "tops"},
        [LocationStock(DC, 10), LocationStock(STORE, 4), LocationStock(FBA, 6)],
        {STORE: 3},
        [
            ChannelPolicy("amazon", frozenset({DC, FBA}), buffer_units=2),
            ChannelPolicy("rakuten", frozenset({DC}), buffer_units=1, share_percent=50),
            ChannelPolicy(
                "storefront",
                frozenset({DC, STORE}),
                cap=4,
                auto_buffer=True,
                push_latency_minutes=5.0,
            ),
        ],
        [Pool("rakuten", 4)],
    )
    for code, want in {"amazon": 10, "rakuten": 6, "storefront": 4}.items():
        found = service.explain(code, TEE).availability
        assert found == expected[code]
        assert found.available == want


def test_without_sales_the_auto_buffer_is_zero_and_says_why(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    receive(stock, TEE, DC, 10)
    a_channel(channels, "storefront", [DC], kind="storefront", auto_buffer=True)
    channels.update_channel(UpdateChannel("storefront", push_latency_seconds=600))

    found = service.explain("storefront", TEE)

    buffer = next(s for s in found.availability.trace if s.name == "buffer")
    assert "auto 0 (ceil(0.0/min x 10.0 min))" in buffer.rule
    assert found.availability.available == 10
    assert (
        "sales velocity 0 units/min (0 reserved for storefront in the last 60 min) x push "
        "latency 10 min" in found.notes
    )


def test_an_attribute_exclusion_matches_the_skus_attribute(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    receive(stock, TEE, DC, 5)
    receive(stock, CAP, DC, 7)
    a_channel(channels, "amazon", [DC], kind="amazon")
    channels.add_exclusion(
        "amazon", Exclusion.of("attribute", attribute="category", value="outlet"), ADMIN
    )

    assert numbers(service, "amazon", TEE, CAP) == {TEE: 5, CAP: 0}
    rows = service.explain("amazon", CAP).availability.trace[2].locations
    assert rows[0].rule == "category=outlet excluded from amazon"


def test_a_fractional_share_is_rounded_down_to_a_whole_percent_and_noted(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    receive(stock, TEE, DC, 100)
    a_channel(channels, "rakuten", [DC])
    channels.set_share("rakuten", TEE, 12.5, ADMIN)

    found = service.explain("rakuten", TEE)

    assert found.availability.available == 12
    assert "share 12.5% applied as 12% (whole percent)" in found.notes


def test_a_bundle_uses_its_flattened_components_their_safety_stock_and_pools(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    receive(stock, TEE, DC, 6)
    receive(stock, CAP, DC, 5)
    receive(stock, CAP, STORE, 5)
    a_bundle(stock, "PAIR", [(TEE, 1), (CAP, 1)])
    a_bundle(stock, "GIFT", [("PAIR", 2)], ship_together=False)
    a_channel(channels, "storefront", [DC, STORE], kind="storefront")
    a_channel(channels, "rakuten", [DC])
    channels.set_default_safety_stock(STORE, 1, ADMIN)
    channels.set_pool("rakuten", CAP, 3, ADMIN)

    expected = compute_bundle_availability(
        "GIFT",
        {},
        {TEE: 2, CAP: 2},
        {TEE: [LocationStock(DC, 6)], CAP: [LocationStock(DC, 5), LocationStock(STORE, 5)]},
        {TEE: {STORE: 1}, CAP: {STORE: 1}},
        False,
        [
            ChannelPolicy("rakuten", frozenset({DC})),
            ChannelPolicy("storefront", frozenset({DC, STORE})),
        ],
        component_pools={CAP: [Pool("rakuten", 3)]},
        component_attributes={TEE: {"category": "tops"}, CAP: {"category": "outlet"}},
    )
    # CAP: DC 5 - 3 pooled for rakuten + store 5 - 1 = 6 for the storefront; TEE 6: 3 gifts.
    found = service.explain("storefront", "GIFT")
    assert found.bundle
    assert found.availability == expected["storefront"]
    assert found.availability.available == 3
    assert numbers(service, "rakuten", "GIFT") == {"GIFT": expected["rakuten"].available}


def test_an_inactive_channel_publishes_0(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    receive(stock, TEE, DC, 5)
    a_channel(channels, "rakuten", [DC], active=False)
    found = service.explain("rakuten", TEE).availability
    assert found.available == 0
    assert [step.output for step in found.trace] == [0]


def test_unknown_channels_and_skus_are_refused_naming_the_field(
    channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    a_channel(channels, "rakuten", [DC])
    with pytest.raises(NotFound) as not_found:
        service.channel_availability("nope", [TEE])
    assert not_found.value.field == "code"
    for skus in ([TEE, "NOPE"], []):
        with pytest.raises(InvalidInput) as invalid:
            service.channel_availability("rakuten", skus)
        assert invalid.value.field == "sku"
