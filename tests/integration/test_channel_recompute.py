"""recompute_all: every channel's numbers from bulk reads, equal to the per-SKU reads; both DBs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from oms.channels.availability.domain.rules import Exclusion
from oms.channels.availability.services.channels import ChannelService, CreateChannel
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_session_factory
from oms.inventory.services import InventoryService
from oms.uow import SqlUnitOfWork
from tests.builders import (
    SteppingClock,
    a_bundle,
    a_location,
    a_movement,
    a_service,
    a_sku,
    receive,
    reserve,
)

DC, FC, STORE, STORE_2, CLOSED = "DC-CHIBA", "FBA-NRT", "STORE-SHIBUYA", "STORE-UMEDA", "STORE-OLD"
ADMIN = "admin"
NO_LEVEL = {("TEE-WHT-M", FC), ("SOCK-GRY", STORE), ("BAG-TOTE", DC), ("MUG-RED", STORE_2)}
SIMPLE_SKUS = {
    "TEE-BLK-M": {"category": "tops", "color": "black"},
    "TEE-WHT-M": {"category": "tops", "color": "white"},
    "CAP-NVY": {"category": "outlet"},
    "SOCK-GRY": {"category": "socks"},
    "BAG-TOTE": {},
    "MUG-RED": {"category": "home", "fragile": True},
}


@pytest.fixture
def stock(engine: Engine) -> InventoryService:
    return a_service(engine, SteppingClock())


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


def per_sku(
    service: ChannelAvailabilityService, channel_codes: list[str], skus: list[str]
) -> dict[str, dict[str, int]]:
    return {
        code: {
            found.availability.sku: found.availability.available
            for found in service.channel_availability(code, skus)
        }
        for code in channel_codes
    }


def a_realistic_catalogue(stock: InventoryService, channels: ChannelService) -> list[str]:
    """Stores, a DC, an Amazon FC, three channels and an inactive one, every kind of rule."""
    a_location(stock, DC)
    a_location(stock, FC, kind="marketplace_fc")
    a_location(stock, STORE, kind="store", prefecture="13", postal_code="150-0002")
    a_location(stock, STORE_2, kind="store", prefecture="27", postal_code="530-0001")
    a_location(stock, CLOSED, kind="store", prefecture="13", postal_code="100-0001", active=False)
    for code, attributes in SIMPLE_SKUS.items():
        a_sku(stock, code, attributes=attributes)
    a_sku(stock, "NEVER-STOCKED")
    quantities = {DC: 40, FC: 9, STORE: 6, STORE_2: 3, CLOSED: 50}
    for i, code in enumerate(SIMPLE_SKUS):
        for location, quantity in quantities.items():
            if (code, location) not in NO_LEVEL:
                receive(stock, code, location, quantity + i)
    reserve(stock, ("TEE-BLK-M", DC, 7), ("CAP-NVY", STORE, 2))
    a_bundle(stock, "PACK-TEE", [("TEE-BLK-M", 1), ("TEE-WHT-M", 2)])  # ship together
    a_bundle(stock, "SET-TRAVEL", [("BAG-TOTE", 1), ("SOCK-GRY", 3)], ship_together=False)
    a_bundle(
        stock,
        "GIFT",
        [("PACK-TEE", 1), ("MUG-RED", 1)],
        ship_together=False,
        attributes={"category": "gifts"},
    )

    a_channel(channels, "amazon", [DC, FC], kind="amazon")
    a_channel(channels, "rakuten", [DC, STORE_2])
    a_channel(channels, "storefront", [DC, STORE, STORE_2, CLOSED], kind="storefront")
    a_channel(channels, "retired", [DC], active=False)
    channels.set_pool("retired", "TEE-WHT-M", 5, ADMIN)  # inactive: holds nothing

    channels.set_default_safety_stock(STORE, 2, ADMIN)
    channels.set_default_safety_stock(STORE_2, 1, ADMIN)
    channels.set_safety_stock("TEE-BLK-M", STORE, 4, ADMIN)
    channels.set_safety_stock("SOCK-GRY", DC, 5, ADMIN)

    channels.add_exclusion("amazon", Exclusion.of("sku", sku="MUG-RED"), ADMIN)
    channels.add_exclusion(
        "rakuten", Exclusion.of("attribute", attribute="category", value="outlet"), ADMIN
    )
    channels.add_exclusion("storefront", Exclusion.of("location", location=STORE_2), ADMIN)

    channels.set_pool("rakuten", "TEE-BLK-M", 6, ADMIN)
    channels.set_pool("storefront", "TEE-BLK-M", 3, ADMIN)
    channels.set_pool("amazon", "SOCK-GRY", 20, ADMIN)
    channels.set_pool("rakuten", "SOCK-GRY", 30, ADMIN)

    channels.set_buffer("amazon", "default", None, 2, ADMIN)
    channels.set_buffer("amazon", "category", "tops", 4, ADMIN)
    channels.set_buffer("rakuten", "sku", "BAG-TOTE", 1, ADMIN)
    channels.set_share("rakuten", None, 50, ADMIN)
    channels.set_share("storefront", "CAP-NVY", 33.5, ADMIN)
    channels.set_cap("storefront", None, 25, ADMIN)
    channels.set_cap("amazon", "TEE-WHT-M", 7, ADMIN)
    return [*SIMPLE_SKUS, "NEVER-STOCKED", "PACK-TEE", "SET-TRAVEL", "GIFT"]


def test_recomputing_everything_gives_every_channel_the_numbers_read_sku_by_sku(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    skus = a_realistic_catalogue(stock, channels)
    codes = ["amazon", "rakuten", "storefront", "retired"]

    everything = service.recompute_all()

    assert everything == per_sku(service, codes, skus)
    assert set(everything) == set(codes)
    assert all(n == 0 for n in everything["retired"].values())
    # The dataset exercises what it claims to: pools, exclusions and bundles give numbers.
    assert everything["amazon"]["MUG-RED"] == 0
    assert everything["rakuten"]["CAP-NVY"] == 0
    assert any(everything[c]["PACK-TEE"] > 0 for c in ("amazon", "rakuten", "storefront"))
    assert everything["storefront"]["SET-TRAVEL"] > 0


def test_recomputing_follows_stock_and_rule_changes(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    skus = a_realistic_catalogue(stock, channels)
    codes = ["amazon", "rakuten", "storefront", "retired"]
    before = service.recompute_all()

    reserve(stock, ("TEE-WHT-M", DC, 10))
    # A stock loss shrinks rakuten's pool of SOCK-GRY (a reservation may not take pooled units).
    stock.record_movement(a_movement("adjustment", "SOCK-GRY", DC, -20))
    channels.set_cap("rakuten", "TEE-BLK-M", 1, ADMIN)
    channels.set_default_safety_stock(DC, 3, ADMIN)

    after = service.recompute_all()
    assert after == per_sku(service, codes, skus)
    assert after != before
    assert after["rakuten"]["TEE-BLK-M"] == 1


def test_with_no_channel_recomputing_gives_nothing(
    stock: InventoryService, service: ChannelAvailabilityService
) -> None:
    a_location(stock, DC)
    a_sku(stock, "TEE-BLK-M")
    assert service.recompute_all() == {}


def test_with_only_inactive_channels_every_number_is_0(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    a_location(stock, DC)
    a_sku(stock, "TEE-BLK-M")
    receive(stock, "TEE-BLK-M", DC, 5)
    a_channel(channels, "rakuten", [DC], active=False)
    assert service.recompute_all() == {"rakuten": {"TEE-BLK-M": 0}}
