"""Channel availability as a use case: gather stock, SKUs and rules, run the pure pipeline.

`oms.channels.availability.domain.model` decides every number; this module only maps what is stored
onto its
inputs:

- **Channels**: every *active* channel takes part, because pools are ring-fenced across
  channels: a Rakuten pool must be hidden from Amazon even when only Amazon is asked. An
  inactive channel publishes 0 and its pools hold nothing.
- **Locations**: an inactive location feeds no channel; its stock is left out.
- **Safety stock**: per (SKU, location), else the location's default.
- **Exclusions**: SKU, attribute value (the SKU's attributes as text), location.
- **Buffer**: per SKU, else per category (the SKU's ``category`` attribute), else the channel
  default. **Share** and **cap**: per SKU, else the channel's default.
- **Auto buffer**: ceil(velocity x push latency), the latency in minutes.
- **Bundles**: the bundle's flattened components with their stock, safety stock, pools and
  attributes, and the bundle's ``ship_together``.

SKUs, locations and stock are read through `InventoryService` in their own transactions, never
inside a channel transaction: on SQLite every transaction takes the write lock, so a nested one
would wait for its parent.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from oms.channels.availability.domain.fastpath import BundleRecipe, CatalogueInputs, compute_many
from oms.channels.availability.domain.model import (
    ChannelAvailability,
    ChannelPolicy,
    LocationStock,
    Pool,
    TraceStep,
    compute_availability,
    compute_bundle_availability,
    resolve_buffer_units,
    resolve_safety_stock,
)
from oms.channels.availability.domain.rules import (
    VELOCITY_WINDOW,
    BufferScope,
    Channel,
    ExclusionKind,
)
from oms.channels.availability.ports import ChannelStore, ChannelUnitOfWork
from oms.inventory.domain import Sku
from oms.inventory.services import MAX_PAGE, CatalogueSnapshot, InventoryService
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound

# One request asks for at most this many SKUs: each costs a few reads.
MAX_SKUS_PER_REQUEST = 100
# A policy's velocity until `_with_velocity` sets the SKU's own (units reserved for the
# channel over VELOCITY_WINDOW, per minute).
UNTRACKED_VELOCITY_PER_MINUTE = 0.0


@dataclass(frozen=True, slots=True)
class SkuAvailability:
    """A channel's number for one SKU or bundle, its trace, and notes on how rules mapped."""

    availability: ChannelAvailability
    bundle: bool = False
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class _ChannelRuleIndex:
    """One channel's rules, indexed for resolving them per SKU."""

    channel: Channel
    excluded_skus: frozenset[str] = frozenset()
    excluded_attributes: dict[str, frozenset[str]] = field(default_factory=dict)
    excluded_locations: frozenset[str] = frozenset()
    pools: dict[str, int] = field(default_factory=dict)
    buffer_per_sku: dict[str, int] = field(default_factory=dict)
    buffer_per_category: dict[str, int] = field(default_factory=dict)
    buffer_default: int = 0
    share_per_sku: dict[str, float] = field(default_factory=dict)
    share_default: float | None = None
    cap_per_sku: dict[str, int] = field(default_factory=dict)
    cap_default: int | None = None

    @classmethod
    def read(cls, store: ChannelStore, channel: Channel, channel_id: int) -> _ChannelRuleIndex:
        index = cls(channel)
        attributes: dict[str, set[str]] = {}
        skus: set[str] = set()
        locations: set[str] = set()
        for exclusion in store.exclusions(channel_id):
            if exclusion.kind is ExclusionKind.SKU and exclusion.sku is not None:
                skus.add(exclusion.sku)
            elif exclusion.kind is ExclusionKind.LOCATION and exclusion.location is not None:
                locations.add(exclusion.location)
            elif exclusion.attribute is not None and exclusion.value is not None:
                attributes.setdefault(exclusion.attribute, set()).add(exclusion.value)
        index.excluded_skus = frozenset(skus)
        index.excluded_locations = frozenset(locations)
        index.excluded_attributes = {name: frozenset(v) for name, v in attributes.items()}
        index.pools = {pool.sku: pool.quantity for pool in store.pools(channel_id)}
        for buffer in store.buffers(channel_id):
            if buffer.scope is BufferScope.DEFAULT:
                index.buffer_default = buffer.units
            elif buffer.scope is BufferScope.SKU and buffer.key is not None:
                index.buffer_per_sku[buffer.key] = buffer.units
            elif buffer.key is not None:
                index.buffer_per_category[buffer.key] = buffer.units
        for share in store.shares(channel_id):
            if share.sku is None:
                index.share_default = share.percent
            else:
                index.share_per_sku[share.sku] = share.percent
        for cap in store.caps(channel_id):
            if cap.sku is None:
                index.cap_default = cap.cap
            else:
                index.cap_per_sku[cap.sku] = cap.cap
        return index

    def share_of(self, sku: str) -> float | None:
        return self.share_per_sku.get(sku, self.share_default)

    def policy(self, sku: str, category: str | None, active_locations: set[str]) -> ChannelPolicy:
        channel = self.channel
        share = self.share_of(sku)
        return ChannelPolicy(
            code=channel.code,
            feeding_locations=frozenset(
                loc for loc in channel.locations if loc in active_locations
            ),
            excluded_locations=self.excluded_locations,
            excluded_skus=self.excluded_skus,
            excluded_attributes=self.excluded_attributes,
            buffer_units=resolve_buffer_units(
                sku, category, self.buffer_per_sku, self.buffer_per_category, self.buffer_default
            ),
            # The pipeline takes whole percentages; rounding down never publishes more.
            share_percent=None if share is None else math.floor(share),
            cap=self.cap_per_sku.get(sku, self.cap_default),
            auto_buffer=channel.auto_buffer,
            velocity_per_minute=UNTRACKED_VELOCITY_PER_MINUTE,
            push_latency_minutes=channel.push_latency_seconds / 60,
        )


@dataclass(frozen=True, slots=True)
class _RuleSnapshot:
    """The asked channel and every active channel's rules, read in one transaction."""

    asked: Channel
    active: list[_ChannelRuleIndex]
    default_safety: dict[str, int]


@dataclass(frozen=True, slots=True)
class _SkuFacts:
    """What inventory says about one SKU: itself, and for a bundle its flattened components."""

    sku: Sku
    components: dict[str, int]
    component_skus: dict[str, Sku]


class ChannelAvailabilityService:
    """The number each channel is told, and why. Reads only; one instance per process."""

    def __init__(self, uow: Callable[[], ChannelUnitOfWork], inventory: InventoryService) -> None:
        self._uow = uow
        self._inventory = inventory

    def channel_availability(self, code: str, skus: Sequence[str]) -> list[SkuAvailability]:
        """`code`'s number for each SKU, in the order asked (a SKU asked twice answers once).

        An unknown channel is a `NotFound`; an unknown SKU an `InvalidInput` naming `sku`.
        """
        asked = list(dict.fromkeys(skus))
        if not asked:
            raise InvalidInput("ask for at least one sku", field="sku")
        if len(asked) > MAX_SKUS_PER_REQUEST:
            raise InvalidInput(
                f"ask for at most {MAX_SKUS_PER_REQUEST} SKUs at once, got {len(asked)}",
                field="sku",
            )
        snapshot = self._snapshot(code)
        facts = {sku: self._sku_facts(sku) for sku in asked}
        active_locations = self._active_locations()
        involved = {sku for f in facts.values() for sku in (f.sku.code, *f.components)}
        stock = {sku: self._stock(sku, active_locations) for sku in sorted(involved)}
        overrides = self._safety_overrides(involved)
        velocity = self._velocity([r.channel for r in snapshot.active])
        return [
            self._compute(snapshot, facts[sku], stock, overrides, active_locations, velocity)
            for sku in asked
        ]

    def _velocity(self, channels: Sequence[Channel]) -> dict[tuple[str, str], float]:
        """Units per minute reserved for each auto-buffer channel, per SKU, over the window."""
        auto = [c.code for c in channels if c.auto_buffer]
        if not auto:
            return {}
        sold = self._inventory.sales_since(auto, utcnow() - VELOCITY_WINDOW)
        minutes = VELOCITY_WINDOW.total_seconds() / 60
        return {key: units / minutes for key, units in sold.items()}

    def explain(self, code: str, sku: str) -> SkuAvailability:
        """`code`'s number for `sku` with the pipeline's trace."""
        return self.channel_availability(code, [sku])[0]

    def recompute_all(self) -> dict[str, dict[str, int]]:
        """Every channel's number for every SKU and bundle: channel code -> SKU -> available.

        The same numbers as `channel_availability`, SKU by SKU, but read in bulk: the rules in
        one transaction, then every SKU, bundle component and stock level in another (one query
        each). SKUs whose channels' policies are the same are computed together by
        `compute_many`. An inactive channel publishes 0 for every SKU.
        """
        with _collector_paused():
            channels, active_rules, default_safety, overrides = self._all_rules()
            catalogue = self._inventory.catalogue_snapshot()
            published: dict[str, dict[str, int]] = {c.code: {} for c in channels}
            if active_rules:
                inputs = _catalogue_inputs(catalogue, active_rules, default_safety, overrides)
                velocity = self._velocity([r.channel for r in active_rules])
                for policies, skus in _rule_groups(catalogue, active_rules, velocity):
                    for code, numbers in compute_many(skus, policies, inputs).items():
                        if published[code]:
                            published[code].update(numbers)
                        else:
                            published[code] = numbers
            active = {rules.channel.code for rules in active_rules}
            for channel in channels:
                if channel.code not in active:
                    published[channel.code] = dict.fromkeys(catalogue.skus, 0)
            return published

    # ------------------------------------------------------------------ reads

    def _snapshot(self, code: str) -> _RuleSnapshot:
        with self._uow() as uow:
            store = uow.channels
            asked = store.channel_by_code(code)
            if asked is None:
                raise NotFound(f"no channel {code!r}", field="code")
            channels: list[Channel] = []
            after_id = 0
            while page := store.list_channels(after_id, MAX_PAGE):
                channels += page
                after_id = page[-1].id or 0
            return _RuleSnapshot(
                asked=asked,
                active=[
                    _ChannelRuleIndex.read(store, c, c.id)
                    for c in channels
                    if c.active and c.id is not None
                ],
                default_safety={d.location: d.quantity for d in store.default_safety_stocks()},
            )

    def _all_rules(
        self,
    ) -> tuple[list[Channel], list[_ChannelRuleIndex], dict[str, int], dict[tuple[str, str], int]]:
        """Every channel, the active ones' rules, default and per-SKU safety stock: one read."""
        with self._uow() as uow:
            store = uow.channels
            channels: list[Channel] = []
            after_id = 0
            while page := store.list_channels(after_id, MAX_PAGE):
                channels += page
                after_id = page[-1].id or 0
            active = [
                _ChannelRuleIndex.read(store, c, c.id)
                for c in channels
                if c.active and c.id is not None
            ]
            default_safety = {d.location: d.quantity for d in store.default_safety_stocks()}
            return channels, active, default_safety, store.safety_stock_overrides()

    def _safety_overrides(self, skus: Iterable[str]) -> dict[tuple[str, str], int]:
        overrides: dict[tuple[str, str], int] = {}
        with self._uow() as uow:
            for sku in sorted(skus):
                after: tuple[str, str] | None = None
                while rows := uow.channels.safety_stocks(
                    sku=sku, location=None, after=after, limit=MAX_PAGE
                ):
                    overrides.update({(r.sku, r.location): r.quantity for r in rows})
                    after = (rows[-1].sku, rows[-1].location)
        return overrides

    def _sku_facts(self, code: str) -> _SkuFacts:
        sku = self._known_sku(code)
        if not sku.is_bundle:
            return _SkuFacts(sku, {}, {})
        # Nested bundles come flattened: the units of each simple SKU one bundle needs.
        components = dict(self._inventory.sku_stock(code).components)
        return _SkuFacts(sku, components, {c: self._known_sku(c) for c in components})

    def _known_sku(self, code: str) -> Sku:
        try:
            return self._inventory.get_sku(code)
        except NotFound:
            raise InvalidInput(f"SKU {code!r} does not exist", field="sku") from None

    def _active_locations(self) -> set[str]:
        active: set[str] = set()
        cursor: str | None = None
        while True:
            page = self._inventory.list_locations(cursor, MAX_PAGE)
            active.update(loc.code for loc in page.items if loc.active)
            if page.next_cursor is None:
                return active
            cursor = page.next_cursor

    def _stock(self, sku: str, active_locations: set[str]) -> list[LocationStock]:
        rows: list[LocationStock] = []
        cursor: str | None = None
        while True:
            page = self._inventory.stock_levels(sku=sku, cursor=cursor, limit=MAX_PAGE)
            rows += [
                LocationStock(level.location, level.available)
                for level in page.items
                if level.location in active_locations
            ]
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    # ------------------------------------------------------------------ mapping

    def _compute(
        self,
        snapshot: _RuleSnapshot,
        facts: _SkuFacts,
        stock: Mapping[str, Sequence[LocationStock]],
        overrides: Mapping[tuple[str, str], int],
        active_locations: set[str],
        velocity: Mapping[tuple[str, str], float],
    ) -> SkuAvailability:
        sku = facts.sku
        asked = snapshot.asked
        notes = _notes(snapshot, sku.code, active_locations, velocity)
        if not asked.active:
            return SkuAvailability(_inactive(asked.code, sku.code), sku.is_bundle, notes)

        category = _category(sku)
        policies = with_velocity(
            [rules.policy(sku.code, category, active_locations) for rules in snapshot.active],
            sku.code,
            velocity,
        )
        locations = {loc for policy in policies for loc in policy.feeding_locations}

        def safety_of(code: str) -> dict[str, int]:
            return resolve_safety_stock(code, locations, snapshot.default_safety, overrides)

        def pools_of(code: str) -> list[Pool]:
            return [
                Pool(rules.channel.code, rules.pools[code])
                for rules in snapshot.active
                if code in rules.pools
            ]

        if sku.is_bundle:
            results = compute_bundle_availability(
                sku.code,
                _attributes(sku),
                facts.components,
                {c: stock[c] for c in facts.components},
                {c: safety_of(c) for c in facts.components},
                sku.ship_together,
                policies,
                component_pools={c: pools_of(c) for c in facts.components},
                component_attributes={c: _attributes(s) for c, s in facts.component_skus.items()},
            )
        else:
            results = compute_availability(
                sku.code,
                _attributes(sku),
                stock[sku.code],
                safety_of(sku.code),
                policies,
                pools_of(sku.code),
            )
        return SkuAvailability(results[asked.code], sku.is_bundle, notes)


def text_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    """Attribute values as text, the form exclusions are stored in; nested values are skipped."""
    return {
        name: str(value)
        for name, value in attributes.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    }


def category_of(attributes: Mapping[str, Any]) -> str | None:
    """The `category` attribute, which category buffers and exclusions match."""
    category = attributes.get("category")
    return category if isinstance(category, str) else None


def _attributes(sku: Sku) -> dict[str, str]:
    return text_attributes(sku.attributes)


def _category(sku: Sku) -> str | None:
    return category_of(sku.attributes)


def _inactive(channel: str, sku: str) -> ChannelAvailability:
    step = TraceStep("inactive", f"channel {channel} is inactive: it publishes 0", 0, 0)
    return ChannelAvailability(channel, sku, 0, 0, 0, (step,))


def with_velocity(
    policies: list[ChannelPolicy], sku: str, velocity: Mapping[tuple[str, str], float]
) -> list[ChannelPolicy]:
    """The SKU's sales velocity in each auto-buffer channel's policy."""
    return [
        replace(p, velocity_per_minute=velocity[(p.code, sku)])
        if p.auto_buffer and velocity.get((p.code, sku))
        else p
        for p in policies
    ]


def _notes(
    snapshot: _RuleSnapshot,
    sku: str,
    active_locations: set[str],
    velocity: Mapping[tuple[str, str], float],
) -> tuple[str, ...]:
    """What a reader of the trace needs to know that the steps do not say."""
    asked = snapshot.asked
    notes = [
        f"location {loc} feeds {asked.code} but is inactive: it feeds no channel"
        for loc in asked.locations
        if loc not in active_locations
    ]
    for rules in snapshot.active:
        if rules.channel.code == asked.code:
            share = rules.share_of(sku)
            if share is not None and share != math.floor(share):
                notes.append(f"share {share:g}% applied as {math.floor(share)}% (whole percent)")
            if asked.auto_buffer:
                minutes = round(VELOCITY_WINDOW.total_seconds() / 60)
                per_minute = velocity.get((asked.code, sku), 0.0)
                notes.append(
                    f"sales velocity {per_minute:g} units/min ({per_minute * minutes:g} reserved "
                    f"for {asked.code} in the last {minutes} min) x push latency "
                    f"{asked.push_latency_seconds / 60:g} min"
                )
    return tuple(notes)


# ------------------------------------------------------------------ recompute_all


@contextmanager
def _collector_paused() -> Iterator[None]:
    """CPython's cycle collector off for the duration, unless someone else already paused it.

    A full recompute allocates about a million rows and lists that all live until it ends and
    hold no cycles; as they pile up, the collector walks the growing heap again and again for
    nothing: a fifth of the recompute's time. Reference counting still frees everything.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _catalogue_inputs(
    catalogue: CatalogueSnapshot,
    active_rules: Sequence[_ChannelRuleIndex],
    default_safety: dict[str, int],
    overrides: Mapping[tuple[str, str], int],
) -> CatalogueInputs:
    """The snapshot and the rules that are not per channel, as `compute_many` takes them."""
    safety: dict[str, dict[str, int]] = {}
    for (sku, location), quantity in overrides.items():
        safety.setdefault(sku, {})[location] = quantity
    pools: dict[str, list[Pool]] = {}
    for rules in active_rules:
        for sku, quantity in rules.pools.items():
            pools.setdefault(sku, []).append(Pool(rules.channel.code, quantity))
    # Only exclusions look at attributes, and only for the values they name: a SKU's other
    # attributes and values change none of its numbers, they are left out.
    excluded: dict[str, set[str]] = {}
    for rules in active_rules:
        for name, values in rules.excluded_attributes.items():
            excluded.setdefault(name, set()).update(values)
    attributes: dict[str, dict[str, str]] = {}
    for name, texts in excluded.items():
        for sku, of_sku in catalogue.attributes.items():
            value = of_sku.get(name)
            # As `_attributes` has them: nested values and booleans are skipped.
            if (
                isinstance(value, str | int | float)
                and not isinstance(value, bool)
                and str(value) in texts
            ):
                attributes.setdefault(sku, {})[name] = str(value)
    return CatalogueInputs(
        stock=catalogue.available,
        default_safety=default_safety,
        safety=safety,
        attributes=attributes,
        pools=pools,
        bundles={
            bundle: BundleRecipe(catalogue.requirements[bundle], ship_together)
            for bundle, ship_together in catalogue.bundles.items()
        },
    )


def _rule_groups(
    catalogue: CatalogueSnapshot,
    active_rules: Sequence[_ChannelRuleIndex],
    velocity: Mapping[tuple[str, str], float],
) -> list[tuple[list[ChannelPolicy], list[str]]]:
    """Every SKU once, grouped by its policies (one per active channel, in rule order).

    A policy depends on the SKU only through per-SKU buffers, shares and caps: every other SKU
    of a category shares the category's policies, built once. A SKU with rules of its own
    joins the group whose policies equal its own.
    """
    active_locations = catalogue.active_locations
    own_rules: set[str] = {sku for (_, sku), v in velocity.items() if v}  # sold lately
    for rules in active_rules:
        own_rules.update(rules.buffer_per_sku, rules.share_per_sku, rules.cap_per_sku)
    groups: dict[tuple[Any, ...], list[tuple[list[ChannelPolicy], list[str]]]] = {}

    def group_of(policies: list[ChannelPolicy]) -> list[str]:
        bucket = groups.setdefault(
            tuple((p.buffer_units, p.share_percent, p.cap) for p in policies), []
        )
        for known, skus in bucket:
            if known == policies:
                return skus
        bucket.append((policies, []))
        return bucket[-1][1]

    by_category: dict[str | None, list[str]] = {}
    attributes = catalogue.attributes
    for code in catalogue.skus:
        values = attributes.get(code)
        category = None if values is None else values.get("category")
        if not isinstance(category, str):  # as `_category` has it
            category = None
        if code in own_rules:
            policies = [r.policy(code, category, active_locations) for r in active_rules]
            group_of(with_velocity(policies, code, velocity)).append(code)
            continue
        skus = by_category.get(category)
        if skus is None:
            policies = [r.policy(code, category, active_locations) for r in active_rules]
            skus = by_category[category] = group_of(policies)
        skus.append(code)
    return [group for bucket in groups.values() for group in bucket]
