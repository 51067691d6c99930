"""Seeding the demo brand: locations, SKUs, receipts, channels, rules and shipping settings,
idempotently, through the services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.demo.brand import (
    ACTOR,
    CHANNELS,
    DEFAULT_SAFETY_STOCK,
    LOCATION_SHIPPING,
    LOCATIONS,
    RULES,
    SAFETY_STOCK,
    SAMPLE_SKUS,
    SOURCING_PROFILES,
    catalogue,
    receipts,
)
from oms.inventory.services import (
    InventoryService,
)
from oms.orders.services.settings import OrderSettingsService


@dataclass(frozen=True, slots=True)
class DemoSummary:
    locations_created: int
    locations_existing: int
    skus_created: int
    skus_existing: int
    receipts_applied: int
    receipts_already_applied: int
    units_received: int
    channels_created: int
    channels_existing: int
    rules_set: int
    rules_existing: int
    # channel -> SKU -> the number the channel is told, for SAMPLE_SKUS
    samples: Mapping[str, Mapping[str, int]]


def seed_shipping(settings: OrderSettingsService) -> None:
    """Location priorities and capacities, each channel's sourcing profile (set to value:
    seeding twice changes nothing but the profiles' version)."""
    for location, priority, capacity in LOCATION_SHIPPING:
        settings.set_location_shipping(location, priority, capacity)
    for channel, profile in SOURCING_PROFILES.items():
        current = settings.sourcing_profile(channel)
        if any(current.get(key) != value for key, value in profile.items()):
            settings.set_sourcing_profile(channel, profile)


def seed_demo(
    service: InventoryService,
    channels: ChannelService,
    availability: ChannelAvailabilityService,
    order_settings: OrderSettingsService | None = None,
) -> DemoSummary:
    """Load the demo catalogue, its opening stock, channels and rules; run again, it changes
    nothing."""
    existing_locations = _location_codes(service)
    new_locations = [c for c in LOCATIONS if c.code not in existing_locations]
    for location in new_locations:
        service.create_location(location)
    existing_skus = _sku_codes(service)
    skus = catalogue()
    new_skus = [c for c in skus if c.code not in existing_skus]
    for sku in new_skus:
        service.create_sku(sku)
    plan = receipts()
    results = service.record_movements(plan)  # one transaction: all the opening stock or none
    replayed = sum(1 for r in results if r.replayed)
    units = sum(cmd.quantity for cmd, r in zip(plan, results, strict=True) if not r.replayed)
    # After the stock: a pool may not exceed what its channel's locations hold.
    channels_created = _seed_channels(channels)
    rules_set, rules_existing = _seed_rules(channels)
    if order_settings is not None:
        seed_shipping(order_settings)
    samples = {
        channel.code: {
            found.availability.sku: found.availability.available
            for found in availability.channel_availability(channel.code, SAMPLE_SKUS)
        }
        for channel in CHANNELS
    }
    return DemoSummary(
        locations_created=len(new_locations),
        locations_existing=len(LOCATIONS) - len(new_locations),
        skus_created=len(new_skus),
        skus_existing=len(skus) - len(new_skus),
        receipts_applied=len(results) - replayed,
        receipts_already_applied=replayed,
        units_received=units,
        channels_created=channels_created,
        channels_existing=len(CHANNELS) - channels_created,
        rules_set=rules_set,
        rules_existing=rules_existing,
        samples=samples,
    )


def _seed_channels(channels: ChannelService) -> int:
    """Create the demo channels that are missing; an existing one is kept as it is."""
    existing = _channel_codes(channels)
    missing = [c for c in CHANNELS if c.code not in existing]
    for channel in missing:
        channels.create_channel(channel)
    return len(missing)


def _seed_rules(channels: ChannelService) -> tuple[int, int]:
    """Write each demo rule whose stored value differs; (rules written, rules already there).

    Everything is read before anything is written. A rule equal to the demo's is not written
    again: that records nothing either way, but a pool is checked against the stock of now,
    which orders may have taken since the first seed.
    """
    rules: list[tuple[bool, Callable[[], object]]] = []  # (already there, write it)
    write: Callable[[], object]
    defaults = {d.location: d.quantity for d in channels.default_safety_stocks()}
    for location, quantity in DEFAULT_SAFETY_STOCK.items():
        write = partial(channels.set_default_safety_stock, location, quantity, ACTOR)
        rules.append((defaults.get(location) == quantity, write))
    for (sku, location), quantity in SAFETY_STOCK.items():
        stored = channels.safety_stocks(sku=sku, location=location).items
        write = partial(channels.set_safety_stock, sku, location, quantity, ACTOR)
        rules.append(([s.quantity for s in stored] == [quantity], write))
    for code, plan in RULES.items():
        stored_rules = channels.channel_rules(code)
        excluded = {e.key for e in stored_rules.exclusions}
        pools = {p.sku: p.quantity for p in stored_rules.pools}
        buffers = {(b.scope.value, b.key): b.units for b in stored_rules.buffers}
        shares = {s.sku: s.percent for s in stored_rules.shares}
        caps = {c.sku: c.cap for c in stored_rules.caps}
        for exclusion in plan.exclusions:
            write = partial(channels.add_exclusion, code, exclusion, ACTOR)
            rules.append((exclusion.key in excluded, write))
        for sku, quantity in plan.pools.items():
            write = partial(channels.set_pool, code, sku, quantity, ACTOR)
            rules.append((pools.get(sku) == quantity, write))
        for (scope, key), units in plan.buffers.items():
            write = partial(channels.set_buffer, code, scope, key, units, ACTOR)
            rules.append((buffers.get((scope, key)) == units, write))
        for share_sku, percent in plan.shares.items():
            write = partial(channels.set_share, code, share_sku, percent, ACTOR)
            rules.append((shares.get(share_sku) == percent, write))
        for cap_sku, cap in plan.caps.items():
            write = partial(channels.set_cap, code, cap_sku, cap, ACTOR)
            rules.append((caps.get(cap_sku) == cap, write))
    written = 0
    for already_there, write in rules:
        if not already_there:
            write()
            written += 1
    return written, len(rules) - written


def _location_codes(service: InventoryService) -> set[str]:
    codes: set[str] = set()
    cursor: str | None = None
    while True:
        page = service.list_locations(cursor=cursor, limit=500)
        codes.update(location.code for location in page.items)
        if (cursor := page.next_cursor) is None:
            return codes


def _channel_codes(channels: ChannelService) -> set[str]:
    codes: set[str] = set()
    cursor: str | None = None
    while True:
        page = channels.list_channels(cursor=cursor, limit=500)
        codes.update(channel.code for channel in page.items)
        if (cursor := page.next_cursor) is None:
            return codes


def _sku_codes(service: InventoryService) -> set[str]:
    codes: set[str] = set()
    cursor: str | None = None
    while True:
        page = service.list_skus(cursor=cursor, limit=500)
        codes.update(sku.code for sku in page.items)
        if (cursor := page.next_cursor) is None:
            return codes
