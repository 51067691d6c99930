from __future__ import annotations

import pytest
from sqlalchemy import Engine, update

from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_session_factory
from oms.demo.brand import BEST_SELLER, RULES, SET_CODE, STYLES
from oms.inventory.domain import Sku, SkuKind, validate_barcode
from oms.inventory.orm import stock_levels
from oms.inventory.services import InventoryService
from oms.uow import SqlUnitOfWork
from tests.builders import a_location, a_sku, receive
from tests.cli.conftest import Oms


@pytest.fixture
def channels(engine: Engine, inventory: InventoryService) -> ChannelService:
    factory = make_session_factory(engine)
    return ChannelService(lambda: SqlUnitOfWork(factory), inventory)


@pytest.fixture
def availability(engine: Engine, inventory: InventoryService) -> ChannelAvailabilityService:
    factory = make_session_factory(engine)
    return ChannelAvailabilityService(lambda: SqlUnitOfWork(factory), inventory)


def all_skus(inventory: InventoryService) -> list[Sku]:
    skus: list[Sku] = []
    cursor: str | None = None
    while True:
        page = inventory.list_skus(cursor=cursor, limit=500)
        skus += page.items
        if (cursor := page.next_cursor) is None:
            return skus


def test_verify_of_a_consistent_inventory_exits_0(oms: Oms, inventory: InventoryService) -> None:
    a_location(inventory)
    a_sku(inventory)
    receive(inventory, "TEE-BLK-M", "DC-CHIBA", 5)

    result = oms("inventory", "verify")

    assert result.exit_code == 0, result.output
    assert "Checked 1 stock levels against 1 movements" in result.stdout
    assert "Clean" in result.stdout


def test_verify_lists_a_projection_that_drifted_from_the_ledger_and_exits_1(
    oms: Oms, inventory: InventoryService, engine: Engine
) -> None:
    a_location(inventory)
    a_sku(inventory)
    receive(inventory, "TEE-BLK-M", "DC-CHIBA", 5)
    with engine.begin() as conn:  # what a buggy writer would do
        conn.execute(update(stock_levels).values(on_hand=stock_levels.c.on_hand + 2))

    result = oms("inventory", "verify")

    assert result.exit_code == 1
    [row] = [line for line in result.stdout.splitlines() if "TEE-BLK-M" in line]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["TEE-BLK-M", "DC-CHIBA", "on_hand", "7", "5"]  # stock level, ledger


def test_demo_seed_loads_the_catalogue_with_stock_and_a_clean_ledger(
    oms: Oms, inventory: InventoryService
) -> None:
    result = oms("demo", "seed")

    assert result.exit_code == 0, result.output
    skus = all_skus(inventory)
    bundles = [s for s in skus if s.kind is SkuKind.BUNDLE]
    assert 180 <= len(skus) <= 220
    assert len(bundles) == 1
    assert bundles[0].ship_together is False
    assert all(s.barcode and validate_barcode(s.barcode) for s in skus)
    assert all(s.barcode.startswith("45") for s in skus if s.barcode)
    assert {"style", "colour", "size", "category"} <= set(skus[0].attributes)
    locations = {loc.code: loc for loc in inventory.list_locations().items}
    assert set(locations) == {
        "STORE-TOKYO",
        "STORE-OSAKA",
        "DC-CHIBA",
        "FACTORY-OKAYAMA",
        "AMAZON-FC",
    }
    assert locations["FACTORY-OKAYAMA"].ships_to_customers is False
    by_location: dict[str, int] = {}
    for code in locations:
        for level in inventory.stock_levels(location=code, limit=500).items:
            by_location[code] = by_location.get(code, 0) + level.on_hand
    assert max(by_location, key=lambda c: by_location[c]) == "DC-CHIBA"
    assert all(by_location.get(code, 0) > 0 for code in locations)
    bundle_stock = inventory.sku_stock(bundles[0].code)
    assert bundle_stock.total.available > 0
    assert oms("inventory", "verify").exit_code == 0


def test_demo_seed_sets_up_three_channels_with_the_rules_a_brand_sets(
    oms: Oms, channels: ChannelService
) -> None:
    result = oms("demo", "seed")

    assert result.exit_code == 0, result.output
    found = {c.code: c for c in channels.list_channels().items}
    assert {code: (c.kind.value, c.locations) for code, c in found.items()} == {
        "amazon": ("amazon", ["AMAZON-FC", "DC-CHIBA"]),
        "rakuten": ("rakuten", ["DC-CHIBA"]),
        "storefront": ("storefront", ["DC-CHIBA", "STORE-TOKYO", "STORE-OSAKA"]),
    }
    assert found["storefront"].auto_buffer
    assert {d.location: d.quantity for d in channels.default_safety_stocks()} == {
        "STORE-TOKYO": 2,
        "STORE-OSAKA": 2,
    }
    assert [(s.sku, s.location, s.quantity) for s in channels.safety_stocks().items] == [
        (BEST_SELLER, "STORE-TOKYO", 3)
    ]
    amazon, rakuten = channels.channel_rules("amazon"), channels.channel_rules("rakuten")
    assert len(amazon.exclusions) == sum(1 for s in STYLES if not s.on_amazon)
    assert [(p.sku, p.quantity) for p in rakuten.pools] == [(BEST_SELLER, 10)]
    assert [(s.sku, s.percent) for s in rakuten.shares] == [(None, 80.0)]
    assert [(c.sku, c.cap) for c in amazon.caps] == [(None, 30)]
    assert "channels  │       3 │             0" in result.stdout
    assert "rules     │      14 │             0" in result.stdout


def published(
    availability: ChannelAvailabilityService, inventory: InventoryService, channel: str
) -> dict[str, int]:
    codes = [sku.code for sku in all_skus(inventory)]
    numbers: dict[str, int] = {}
    for start in range(0, len(codes), 100):  # at most 100 SKUs per request
        for found in availability.channel_availability(channel, codes[start : start + 100]):
            numbers[found.availability.sku] = found.availability.available
    return numbers


def test_the_demo_channels_show_plausible_numbers(
    oms: Oms, inventory: InventoryService, availability: ChannelAvailabilityService
) -> None:
    assert oms("demo", "seed").exit_code == 0

    amazon, rakuten, storefront = (
        published(availability, inventory, c) for c in ("amazon", "rakuten", "storefront")
    )
    style = {sku: sku.rsplit("-", 2)[0] for sku in amazon}
    not_on_amazon = {s.code for s in STYLES if not s.on_amazon}
    # The best seller: on every channel, Rakuten's sale pool on top of its share.
    assert 0 < amazon[BEST_SELLER] <= 30
    assert rakuten[BEST_SELLER] >= RULES["rakuten"].pools[BEST_SELLER] + 1
    assert storefront[BEST_SELLER] > rakuten[BEST_SELLER]
    # Amazon lists three styles and never shows more than its cap.
    assert all(n == 0 for sku, n in amazon.items() if style[sku] in not_on_amazon)
    assert max(amazon.values()) == 30
    assert sum(1 for n in amazon.values() if n > 0) > 40
    # The coverall is a storefront exclusive.
    jackets = [sku for sku in amazon if style[sku] == "JK-CVR"]
    assert all(amazon[j] == rakuten[j] == 0 for j in jackets)
    assert sum(storefront[j] for j in jackets) > 0
    # The set: not on Amazon (its bottom is not listed there), on the other two.
    assert (amazon[SET_CODE], rakuten[SET_CODE] > 0, storefront[SET_CODE] > 0) == (0, True, True)
    # The storefront also sells from the stores, and has no share: it sees the most.
    assert sum(storefront.values()) > sum(rakuten.values()) > sum(amazon.values())


def test_seeding_the_demo_twice_changes_nothing(
    oms: Oms, inventory: InventoryService, channels: ChannelService
) -> None:
    first = oms("demo", "seed")
    report = inventory.verify()
    export = oms("stock", "export").stdout
    skus = len(all_skus(inventory))
    rules = {code: channels.channel_rules(code) for code in RULES}
    changes = channels.rule_changes(limit=500).items

    second = oms("demo", "seed")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert inventory.verify() == report
    assert oms("stock", "export").stdout == export
    assert len(all_skus(inventory)) == skus
    assert "0 units received" in second.stdout
    assert {code: channels.channel_rules(code) for code in RULES} == rules
    assert channels.rule_changes(limit=500).items == changes
    assert "channels  │       0 │             3" in second.stdout
    assert "rules     │       0 │            14" in second.stdout
    assert (
        second.stdout.split("What each channel is told")[1]
        == (first.stdout.split("What each channel is told")[1])
    )


def test_seeding_again_keeps_a_channel_and_puts_back_a_changed_demo_rule(
    oms: Oms, channels: ChannelService
) -> None:
    assert oms("demo", "seed").exit_code == 0
    channels.set_share("rakuten", None, 50, "admin")
    channels.set_cap("rakuten", None, 5, "admin")  # not a demo rule: kept

    again = oms("demo", "seed")

    assert again.exit_code == 0, again.output
    rakuten = channels.channel_rules("rakuten")
    assert [(s.sku, s.percent) for s in rakuten.shares] == [(None, 80.0)]
    assert [(c.sku, c.cap) for c in rakuten.caps] == [(None, 5)]
    assert "rules     │       1 │            13" in again.stdout
