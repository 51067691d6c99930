"""What the availability read path and the full recompute feed the pipeline: SKU attributes as
text, categories, velocity in the policy, notes, and the whole catalogue grouped by identical
policies.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from oms.channels.availability.domain.fastpath import BundleRecipe, CatalogueInputs, StockColumns
from oms.channels.availability.domain.model import (
    ChannelAvailability,
    ChannelPolicy,
    Pool,
    TraceStep,
    resolve_buffer_units,
)
from oms.channels.availability.domain.rules import (
    VELOCITY_WINDOW,
    BufferScope,
    Channel,
    ExclusionKind,
)
from oms.channels.availability.ports import ChannelStore
from oms.inventory.domain import SINGLE_UNIT, Sku
from oms.inventory.services import CatalogueColumns, CatalogueSnapshot

# A policy's velocity until `with_velocity` sets the SKU's own (units reserved for the
# channel over VELOCITY_WINDOW, per minute).
UNTRACKED_VELOCITY_PER_MINUTE = 0.0


@dataclass(slots=True)
class ChannelRuleIndex:
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
    def read(
        cls, store: ChannelStore, channel: Channel, channel_id: int, *, held: bool = True
    ) -> ChannelRuleIndex:
        """`held`: each pool as it holds now (its quantity less what its channel drew), for a
        read made once; False: the quantities set, for a cache that subtracts the draws of the
        moment (`drawn_from_pools`) each time it computes."""
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
        pools = store.pools_held(channel_id) if held else store.pools(channel_id)
        index.pools = {pool.sku: pool.quantity for pool in pools}
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

    def policy(
        self,
        sku: str,
        category: str | None,
        active_locations: set[str],
        *,
        single_unit: bool = False,
    ) -> ChannelPolicy:
        """The channel's rules for one SKU. A single unit (a graded resale unit) is reserved
        at once on every channel, whose numbers drop to 0 in the same transaction: the
        channel's default and category buffers, its default share and its auto buffer, which
        hold back fungible stock against overselling, do not apply to it; a rule set for that
        very SKU does."""
        channel = self.channel
        share = self.share_per_sku.get(sku) if single_unit else self.share_of(sku)
        buffer = (
            self.buffer_per_sku.get(sku, 0)
            if single_unit
            else resolve_buffer_units(
                sku, category, self.buffer_per_sku, self.buffer_per_category, self.buffer_default
            )
        )
        return ChannelPolicy(
            code=channel.code,
            feeding_locations=frozenset(
                loc for loc in channel.locations if loc in active_locations
            ),
            excluded_locations=self.excluded_locations,
            excluded_skus=self.excluded_skus,
            excluded_attributes=self.excluded_attributes,
            buffer_units=buffer,
            # The pipeline takes whole percentages; rounding down never publishes more.
            share_percent=None if share is None else math.floor(share),
            cap=self.cap_per_sku.get(sku, self.cap_default),
            auto_buffer=channel.auto_buffer and not single_unit,
            velocity_per_minute=UNTRACKED_VELOCITY_PER_MINUTE,
            push_latency_minutes=channel.push_latency_seconds / 60,
        )


@dataclass(frozen=True, slots=True)
class RuleSnapshot:
    """The asked channel and every active channel's rules, read in one transaction."""

    asked: Channel
    active: list[ChannelRuleIndex]
    default_safety: dict[str, int]


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


def sku_attributes(sku: Sku) -> dict[str, str]:
    return text_attributes(sku.attributes)


def sku_category(sku: Sku) -> str | None:
    return category_of(sku.attributes)


def inactive(channel: str, sku: str) -> ChannelAvailability:
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


def notes_for(
    snapshot: RuleSnapshot,
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


@contextmanager
def collector_paused() -> Iterator[None]:
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


def _attribute_groups(
    catalogue: CatalogueColumns | CatalogueSnapshot, *, every_sku: bool
) -> list[tuple[Mapping[str, Any], list[str]]]:
    """SKUs grouped by attributes. A `CatalogueSnapshot` (a few SKUs) has one group a SKU: of
    `skus` only, or (`every_sku`) of every SKU with attributes, bundle components included."""
    if isinstance(catalogue, CatalogueColumns):
        return catalogue.attribute_groups
    if every_sku:
        return [(values, [code]) for code, values in catalogue.attributes.items()]
    return [(catalogue.attributes.get(code, {}), [code]) for code in catalogue.skus]


def catalogue_inputs(
    catalogue: CatalogueColumns | CatalogueSnapshot,
    active_rules: Sequence[ChannelRuleIndex],
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
    attributes: dict[str, Mapping[str, str]] = {}
    if excluded:
        for of_group, skus in _attribute_groups(catalogue, every_sku=True):
            # As `sku_attributes` has them: nested values and booleans are skipped.
            text = text_attributes({n: of_group[n] for n in excluded if n in of_group})
            named = {name: value for name, value in text.items() if value in excluded[name]}
            if named:
                # One mapping for the whole group: `compute_many` only reads it.
                attributes.update(dict.fromkeys(skus, named))
    return CatalogueInputs(
        stock=(
            StockColumns.aligned(catalogue.skus, catalogue.available)
            if isinstance(catalogue, CatalogueColumns)
            else StockColumns.from_levels(catalogue.available)
        ),
        default_safety=default_safety,
        safety=safety,
        attributes=attributes,
        pools=pools,
        bundles={
            bundle: BundleRecipe(catalogue.requirements[bundle], ship_together)
            for bundle, ship_together in catalogue.bundles.items()
        },
    )


def rule_groups(
    catalogue: CatalogueColumns | CatalogueSnapshot,
    active_rules: Sequence[ChannelRuleIndex],
    velocity: Mapping[tuple[str, str], float],
) -> list[tuple[list[ChannelPolicy], list[str]]]:
    """Every SKU once, grouped by its policies (one per active channel, in rule order), the
    largest group first.

    A policy depends on the SKU only through per-SKU buffers, shares and caps and its sales
    velocity: every other SKU with the same category and single-unit mark has the same
    policies, built once for all of them. A SKU with rules of its own gets its own policies and
    joins the group whose policies equal them.
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

    def own_key(code: str) -> tuple[Any, ...]:
        """Everything of a SKU's own that its policies take: equal keys, equal policies."""
        return tuple(
            (
                r.buffer_per_sku.get(code),
                r.share_per_sku.get(code),
                r.cap_per_sku.get(code),
                velocity.get((r.channel.code, code)),
            )
            for r in active_rules
        )

    shared: dict[tuple[str | None, bool], list[str]] = {}
    own: dict[tuple[Any, ...], list[str]] = {}
    for values, skus in _attribute_groups(catalogue, every_sku=False):
        category = category_of(values)
        single = values.get(SINGLE_UNIT) is True
        mine = own_rules.intersection(skus) if own_rules else set()
        plain = [code for code in skus if code not in mine] if mine else skus
        for code in mine:
            key = (category, single, own_key(code))
            members = own.get(key)
            if members is None:
                policies = [
                    r.policy(code, category, active_locations, single_unit=single)
                    for r in active_rules
                ]
                members = own[key] = group_of(with_velocity(policies, code, velocity))
            members.append(code)
        if not plain:
            continue
        members = shared.get((category, single))
        if members is None:
            # Any SKU without rules of its own stands for all of them.
            policies = [
                r.policy(plain[0], category, active_locations, single_unit=single)
                for r in active_rules
            ]
            members = shared[(category, single)] = group_of(policies)
        members += plain
    found = [group for bucket in groups.values() for group in bucket]
    return sorted(found, key=lambda group: len(group[1]), reverse=True)
