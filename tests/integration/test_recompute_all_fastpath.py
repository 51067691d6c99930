"""recompute_all groups SKUs by their policies and computes most of them a column at a time:
the cases where that could go wrong, against the per-SKU read path, on both databases.

The fast path itself is compared with the pipeline in tests/property/test_fastpath_equivalence.py;
here it is the mapping from storage: categories and per-SKU rules that put SKUs in groups,
attribute values that are not text, safety stock where no channel looks, nested bundles,
inactive locations and SKUs without stock.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.channels.availability.domain.rules import Exclusion
from oms.channels.availability.services.channels import ChannelService, CreateChannel
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_session_factory
from oms.inventory.domain import SINGLE_UNIT, ReservationLine
from oms.inventory.services import InventoryService, ReserveStock
from oms.uow import SqlUnitOfWork
from tests.builders import SteppingClock, a_bundle, a_location, a_service, a_sku, receive, reserve

DC, FC, STORE, CLOSED, BACKROOM = "DC-CHIBA", "FBA-NRT", "STORE-SHIBUYA", "STORE-OLD", "BACKROOM"
ADMIN = "admin"


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


def test_recomputing_groups_of_skus_gives_the_numbers_read_sku_by_sku(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    a_location(stock, DC)
    a_location(stock, FC, kind="marketplace_fc")
    a_location(stock, STORE, kind="store", prefecture="13", postal_code="150-0002")
    a_location(stock, BACKROOM, kind="store", prefecture="13", postal_code="150-0003")
    a_location(stock, CLOSED, kind="store", prefecture="13", postal_code="100-0001", active=False)
    attributes = {
        # Same category, some with rules of their own equal to the category's: one group.
        "TEE-1": {"category": "tops"},
        "TEE-2": {"category": "tops"},
        "TEE-3": {"category": "tops", "size": 42},  # excluded from rakuten: "42" as text
        "TEE-4": {"category": "tops", "size": 40},
        "TEE-5": {"category": "tops"},
        # Booleans and nested values are never matched by an exclusion.
        "MUG-1": {"category": "home", "fragile": True},
        "MUG-2": {"category": "home", "tags": {"fragile": "True"}},
        "MUG-3": {"category": 7},  # not text: no category, the channel default buffer
        "PEN-1": {},
        "PEN-2": {},
        "NO-STOCK": {"category": "tops"},
    }
    for code, values in attributes.items():
        a_sku(stock, code, attributes=values)
    for i, code in enumerate(attributes):
        if code == "NO-STOCK":
            continue
        for location, quantity in ((DC, 30), (FC, 7), (STORE, 5), (BACKROOM, 9), (CLOSED, 40)):
            receive(stock, code, location, quantity + i)
    reserve(stock, ("TEE-2", DC, 25), ("PEN-1", STORE, 4))
    a_bundle(stock, "PACK-TEE", [("TEE-1", 1), ("TEE-3", 2)])
    a_bundle(stock, "PACK-MIX", [("MUG-1", 1), ("PEN-2", 1)], ship_together=False)
    a_bundle(stock, "GIFT", [("PACK-TEE", 2), ("PEN-1", 1)], attributes={"category": "tops"})

    channels.create_channel(CreateChannel("amazon", "amazon", "amazon", locations=[DC, FC]))
    channels.create_channel(
        CreateChannel("rakuten", "rakuten", "rakuten", locations=[DC, STORE, CLOSED])
    )
    channels.create_channel(
        CreateChannel("storefront", "storefront", "storefront", locations=[DC, STORE])
    )
    channels.create_channel(CreateChannel("closed-only", "closed", "rakuten", locations=[CLOSED]))

    channels.set_buffer("amazon", "category", "tops", 3, ADMIN)
    channels.set_buffer("amazon", "sku", "TEE-4", 3, ADMIN)  # as its category: same group
    channels.set_buffer("amazon", "sku", "TEE-5", 6, ADMIN)
    channels.set_buffer("amazon", "category", "7", 20, ADMIN)  # not MUG-3's: 7 is no text
    channels.set_buffer("rakuten", "default", None, 1, ADMIN)
    channels.set_share("rakuten", None, 60, ADMIN)
    channels.set_share("rakuten", "PEN-2", 33.5, ADMIN)  # applied as 33 %
    channels.set_cap("storefront", None, 12, ADMIN)
    channels.set_cap("storefront", "TEE-1", 12, ADMIN)  # as the default: same group
    channels.set_cap("storefront", "MUG-3", 2, ADMIN)
    channels.add_exclusion(
        "rakuten", Exclusion.of("attribute", attribute="size", value="42"), ADMIN
    )
    channels.add_exclusion(
        "rakuten", Exclusion.of("attribute", attribute="fragile", value="True"), ADMIN
    )
    channels.add_exclusion("amazon", Exclusion.of("sku", sku="PACK-MIX"), ADMIN)
    channels.set_pool("storefront", "TEE-1", 4, ADMIN)
    channels.set_pool("amazon", "PEN-2", 30, ADMIN)
    channels.set_default_safety_stock(STORE, 2, ADMIN)
    channels.set_safety_stock("TEE-1", DC, 6, ADMIN)
    channels.set_safety_stock("PEN-1", BACKROOM, 3, ADMIN)  # no channel sells from there
    skus = [*attributes, "PACK-TEE", "PACK-MIX", "GIFT"]
    codes = ["amazon", "rakuten", "storefront", "closed-only"]

    everything = service.recompute_all()

    assert everything == per_sku(service, codes, skus)
    assert set(everything) == set(codes)
    assert all(set(numbers) == set(skus) for numbers in everything.values())
    # The dataset exercises what it claims to.
    assert everything["rakuten"]["TEE-3"] == 0
    assert everything["rakuten"]["TEE-4"] > 0
    assert everything["rakuten"]["MUG-1"] > 0
    assert everything["amazon"]["PACK-MIX"] == 0
    assert everything["storefront"]["MUG-3"] == 2
    assert everything["amazon"]["MUG-3"] > 0
    assert all(n == 0 for n in everything["closed-only"].values())
    assert all(everything["amazon"][code] == 0 for code in ("NO-STOCK",))


def test_single_units_fast_sellers_and_excluded_pools_give_the_numbers_read_sku_by_sku(
    stock: InventoryService, channels: ChannelService, service: ChannelAvailabilityService
) -> None:
    """Single units share their category's group only with other single units; a SKU sold
    lately (auto buffer) and SKUs with pools their channel cannot see are computed alone."""
    a_location(stock, DC)
    a_location(stock, STORE, kind="store", prefecture="13", postal_code="150-0002")
    tops = {"category": "tops"}
    single = {"category": "tops", SINGLE_UNIT: True}
    attributes = {
        "USED-1": single,
        "USED-2": single,
        "USED-3": single,  # with a buffer of its own: applies to a single unit too
        "TEE-1": tops,
        "TEE-2": tops,
        "FAST-1": tops,  # sold on storefront lately: its auto buffer is its own
        "POOL-X": {"category": "outlet"},  # pooled for rakuten, which excludes outlet
        "POOL-Y": tops,  # pooled for amazon, which excludes it by code
    }
    for code, values in attributes.items():
        a_sku(stock, code, attributes=values)
    for code in ("USED-1", "USED-2", "USED-3"):
        receive(stock, code, DC, 1)
    for i, code in enumerate(["TEE-1", "TEE-2", "FAST-1", "POOL-X", "POOL-Y"]):
        receive(stock, code, DC, 40 + i)
        receive(stock, code, STORE, 6 + i)
    a_bundle(stock, "PAIR", [("USED-1", 1), ("TEE-1", 1)])

    channels.create_channel(CreateChannel("amazon", "amazon", "amazon", locations=[DC, STORE]))
    channels.create_channel(CreateChannel("rakuten", "rakuten", "rakuten", locations=[DC]))
    channels.create_channel(
        CreateChannel(
            "web",
            "web",
            "storefront",
            locations=[DC, STORE],
            auto_buffer=True,
            push_latency_seconds=3600,
        )
    )
    stock.reserve(
        ReserveStock([ReservationLine("FAST-1", DC, 9)], idempotency_key="fast", channel="web")
    )
    channels.set_buffer("amazon", "default", None, 2, ADMIN)
    channels.set_buffer("amazon", "category", "tops", 3, ADMIN)
    channels.set_buffer("amazon", "sku", "USED-3", 1, ADMIN)
    channels.set_share("amazon", None, 80, ADMIN)
    channels.set_cap("amazon", None, 30, ADMIN)
    channels.add_exclusion(
        "rakuten", Exclusion.of("attribute", attribute="category", value="outlet"), ADMIN
    )
    channels.add_exclusion("amazon", Exclusion.of("sku", sku="POOL-Y"), ADMIN)
    channels.set_pool("rakuten", "POOL-X", 5, ADMIN)
    channels.set_pool("amazon", "POOL-Y", 4, ADMIN)
    channels.set_pool("web", "POOL-Y", 3, ADMIN)
    skus = [*attributes, "PAIR"]
    codes = ["amazon", "rakuten", "web"]

    everything = service.recompute_all()

    assert everything == per_sku(service, codes, skus)
    # The dataset exercises what it claims to: a single unit escapes the default and
    # category buffers and the default share, not a buffer of its own.
    assert everything["amazon"]["USED-1"] == 1
    assert everything["amazon"]["USED-3"] == 0
    assert everything["web"]["FAST-1"] < everything["web"]["TEE-2"]
    # An excluded SKU's pool takes nothing for its channel; the others' pools still take.
    assert everything["rakuten"]["POOL-X"] == 0
    assert everything["amazon"]["POOL-Y"] == 0
    assert everything["web"]["POOL-Y"] > 0
