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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from oms.channels.availability.domain.fastpath import compute_groups
from oms.channels.availability.domain.model import (
    ChannelAvailability,
    LocationStock,
    Pool,
    compute_availability,
    compute_bundle_availability,
    resolve_safety_stock,
)
from oms.channels.availability.domain.rules import (
    VELOCITY_WINDOW,
    Channel,
)
from oms.channels.availability.ports import ChannelUnitOfWork
from oms.channels.availability.services.inputs import (
    ChannelRuleIndex,
    RuleSnapshot,
    catalogue_inputs,
    collector_paused,
    inactive,
    notes_for,
    rule_groups,
    sku_attributes,
    sku_category,
    with_velocity,
)
from oms.inventory.domain import SINGLE_UNIT, Sku
from oms.inventory.services import MAX_PAGE, InventoryService
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound

# One request asks for at most this many SKUs: each costs a few reads.
MAX_SKUS_PER_REQUEST = 100


@dataclass(frozen=True, slots=True)
class SkuAvailability:
    """A channel's number for one SKU or bundle, its trace, and notes on how rules mapped."""

    availability: ChannelAvailability
    bundle: bool = False
    notes: tuple[str, ...] = ()


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
        each, stock as a column per location). SKUs whose channels' policies are the same form
        a group; `compute_groups` works out what each channel sees once for the catalogue and
        applies each group's buffers, shares and caps to it. An inactive channel publishes 0
        for every SKU.
        """
        with collector_paused():
            channels, active_rules, default_safety, overrides = self._all_rules()
            catalogue = self._inventory.catalogue_snapshot()
            published: dict[str, dict[str, int]] = {c.code: {} for c in channels}
            if active_rules:
                inputs = catalogue_inputs(catalogue, active_rules, default_safety, overrides)
                velocity = self._velocity([r.channel for r in active_rules])
                groups = rule_groups(catalogue, active_rules, velocity)
                published.update(compute_groups(groups, inputs))
            active = {rules.channel.code for rules in active_rules}
            for channel in channels:
                if channel.code not in active:
                    published[channel.code] = dict.fromkeys(catalogue.skus, 0)
            return published

    # ------------------------------------------------------------------ reads

    def _snapshot(self, code: str) -> RuleSnapshot:
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
            return RuleSnapshot(
                asked=asked,
                active=[
                    ChannelRuleIndex.read(store, c, c.id)
                    for c in channels
                    if c.active and c.id is not None
                ],
                default_safety={d.location: d.quantity for d in store.default_safety_stocks()},
            )

    def _all_rules(
        self,
    ) -> tuple[list[Channel], list[ChannelRuleIndex], dict[str, int], dict[tuple[str, str], int]]:
        """Every channel, the active ones' rules, default and per-SKU safety stock: one read."""
        with self._uow() as uow:
            store = uow.channels
            channels: list[Channel] = []
            after_id = 0
            while page := store.list_channels(after_id, MAX_PAGE):
                channels += page
                after_id = page[-1].id or 0
            active = [
                ChannelRuleIndex.read(store, c, c.id)
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
        snapshot: RuleSnapshot,
        facts: _SkuFacts,
        stock: Mapping[str, Sequence[LocationStock]],
        overrides: Mapping[tuple[str, str], int],
        active_locations: set[str],
        velocity: Mapping[tuple[str, str], float],
    ) -> SkuAvailability:
        sku = facts.sku
        asked = snapshot.asked
        notes = notes_for(snapshot, sku.code, active_locations, velocity)
        if not asked.active:
            return SkuAvailability(inactive(asked.code, sku.code), sku.is_bundle, notes)

        category = sku_category(sku)
        policies = with_velocity(
            [
                rules.policy(
                    sku.code,
                    category,
                    active_locations,
                    single_unit=sku.attributes.get(SINGLE_UNIT) is True,
                )
                for rules in snapshot.active
            ],
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
                sku_attributes(sku),
                facts.components,
                {c: stock[c] for c in facts.components},
                {c: safety_of(c) for c in facts.components},
                sku.ship_together,
                policies,
                component_pools={c: pools_of(c) for c in facts.components},
                component_attributes={
                    c: sku_attributes(s) for c, s in facts.component_skus.items()
                },
            )
        else:
            results = compute_availability(
                sku.code,
                sku_attributes(sku),
                stock[sku.code],
                safety_of(sku.code),
                policies,
                pools_of(sku.code),
            )
        return SkuAvailability(results[asked.code], sku.is_bundle, notes)


# ------------------------------------------------------------------ recompute_all
