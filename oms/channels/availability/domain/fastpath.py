"""Many SKUs through the availability pipeline at once, with exactly the pipeline's numbers.

`compute_many` gives, for SKUs whose channels' policies are the same, the numbers that
`compute_availability(..., explain=False)` and `compute_bundle_availability(..., explain=False)`
give SKU by SKU, without building their states and results. It is the pipeline of
`oms.channels.availability.domain.model`, numbers only:

- sellable per location = max(0, max(0, physical) - safety stock);
- a channel sees its locations that are not excluded; nothing where the SKU itself is excluded
  (by code or attribute value);
- pools take from those locations, channels in code order, each from the locations seen by the
  fewest other channels first, then by code; the rest is shared;
- after buffer = max(0, shared - buffer - auto buffer); share: floor(x * percent / 100); plus
  the channel's own pool; cap; floor 0;
- a bundle's units per location = min over components of floor(usable there / quantity),
  summed when shipped together, else min over components of floor(usable in all / quantity);
  then buffer, share and cap.

Stock comes as columns (`StockColumns`: one list per location, one entry per SKU), the form a
whole-catalogue read gives it in. Most SKUs have no pool and are no bundle: those are computed a
column at a time (one list per location or channel, one entry per SKU, all three channels from
the same sellable columns); the others one at a time.
`tests/property/test_fastpath_equivalence.py` compares every path with the pipeline.

Pure: the stdlib, `oms.shared` and `oms.channels.availability.domain.model` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import add, sub
from typing import Any

from oms.channels.availability.domain.model import ChannelPolicy, Pool, validate_non_negative
from oms.shared.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class BundleRecipe:
    """A bundle's simple components (units per bundle, nested bundles flattened)."""

    components: Mapping[str, int]
    ship_together: bool


@dataclass(frozen=True, slots=True)
class StockColumns:
    """Physical available of many SKUs: one column per location, one entry per SKU.

    `position[sku]` is the SKU's entry in every column. A SKU without a position, or a location
    without a column, has 0 there: no level and a level at 0 are the same to the pipeline.
    Every column ends with one extra 0, the entry of every SKU without a position.
    """

    position: Mapping[str, int]
    columns: Mapping[str, Sequence[int]]

    @classmethod
    def aligned(cls, skus: Sequence[str], columns: Mapping[str, Sequence[int]]) -> StockColumns:
        """`columns[location][i]` is the stock of `skus[i]` there."""
        size = len(skus)
        for location, column in columns.items():
            if len(column) != size:
                raise InvalidInput(
                    f"stock at {location} has {len(column)} entries for {size} SKUs",
                    field="stock",
                )
        return cls(
            dict(zip(skus, range(size), strict=True)),
            {location: [*column, 0] for location, column in columns.items()},
        )

    @classmethod
    def from_levels(cls, levels: Mapping[str, Mapping[str, int]]) -> StockColumns:
        """From location -> SKU -> units (a SKU missing at a location has 0 there)."""
        skus = sorted({sku for at in levels.values() for sku in at})
        return cls.aligned(
            skus, {loc: [at.get(sku, 0) for sku in skus] for loc, at in levels.items()}
        )

    def missing(self) -> int:
        """The entry of a SKU without a position: the last one, 0 in every column."""
        return len(self.position)

    def column(self, location: str) -> Sequence[int]:
        found = self.columns.get(location)
        return [0] * (len(self.position) + 1) if found is None else found

    def at(self, sku: str, location: str) -> int:
        found = self.columns.get(location)
        return 0 if found is None else found[self.position.get(sku, len(self.position))]


@dataclass(frozen=True, slots=True)
class CatalogueInputs:
    """Everything but the channels' policies that the numbers of many SKUs depend on.

    A SKU missing from a mapping has none: no stock at that location, no safety stock of its
    own, no attributes, no pools.
    """

    stock: StockColumns  # physical available per location and SKU
    default_safety: Mapping[str, int]  # location -> safety stock of every SKU there
    safety: Mapping[str, Mapping[str, int]]  # SKU -> location -> its own safety stock
    attributes: Mapping[str, Mapping[str, str]]  # SKU -> attribute values as text
    pools: Mapping[str, Sequence[Pool]]  # SKU -> its ring-fenced pools
    bundles: Mapping[str, BundleRecipe]  # bundle -> its recipe; other SKUs are simple


def compute_many(
    skus: Sequence[str], channels: Sequence[ChannelPolicy], inputs: CatalogueInputs
) -> dict[str, dict[str, int]]:
    """Channel -> SKU -> available, for SKUs that share `channels`' policies.

    A SKU's numbers are the pipeline's given its stock at every location, its safety stock (its
    own, else the location's default) at the channels' locations, its attributes and pools; a
    bundle's are `compute_bundle_availability`'s given its components' alike.
    """
    return compute_groups([(channels, skus)], inputs)


def compute_groups(
    groups: Sequence[tuple[Sequence[ChannelPolicy], Sequence[str]]], inputs: CatalogueInputs
) -> dict[str, dict[str, int]]:
    """Channel -> SKU -> available for every SKU of every group (SKUs sharing `channels`'
    policies), as `compute_many` gives them group by group.

    What a channel sees of a SKU (steps 1-4: its locations, safety stock, exclusions) does not
    depend on the SKU's policy, only buffers, shares and caps (steps 5-7) do: for the SKUs
    without pool, the first is worked out once for the whole catalogue (a column per channel,
    all channels from the same sellable columns), the second group by group. Any SKU's safety
    stock must be valid, asked or not.
    """
    numbers: dict[str, dict[str, int]] = {}
    seen_by_sight: dict[tuple[Any, ...], _Seen] = {}
    # Bundles and SKUs with a pool go apart from the others, computed a column at a time.
    special = set(inputs.bundles).union(sku for sku, pools in inputs.pools.items() if pools)
    position = inputs.stock.position
    for channels, skus in groups:
        plan = _Plan.of(channels, inputs)
        sight = _sight(channels)
        seen = seen_by_sight.get(sight)
        if seen is None:
            seen = seen_by_sight[sight] = _seen(plan, inputs)
        one_by_one = special.intersection(skus) if special else set()
        plain: Sequence[str] = (
            [sku for sku in skus if sku not in one_by_one] if one_by_one else skus
        )
        others: dict[str, Sequence[int]] = {}
        pooled: list[str] = []
        for sku in one_by_one:
            if sku in inputs.bundles:
                others[sku] = _bundle_numbers(sku, plan, inputs)
            elif sku in position and not any(position[sku] in out for out in seen.excluded):
                pooled.append(sku)  # the usual pooled SKU: every channel sees it
            else:
                others[sku] = _simple_numbers(_state(sku, plan, inputs), plan)
        others.update(_pooled_numbers(pooled, plan, seen, inputs))
        columns = _plain_columns(plain, plan, seen.shared, inputs)
        for k, channel in enumerate(channels):
            found = numbers.get(channel.code)
            if found is None:
                found = numbers[channel.code] = dict(zip(plain, columns[k], strict=True))
            else:
                found.update(zip(plain, columns[k], strict=True))
            found.update((sku, row[k]) for sku, row in others.items())
    return numbers


def _sight(channels: Sequence[ChannelPolicy]) -> tuple[Any, ...]:
    """What steps 1-4 take from the channels' policies: equal for every SKU of a channel."""
    return tuple(
        (
            c.code,
            c.feeding_locations,
            c.excluded_locations,
            c.excluded_skus,
            tuple(sorted(c.excluded_attributes.items())),
        )
        for c in channels
    )


@dataclass(slots=True)
class _Plan:
    """What the numbers need from the channels' policies, worked out once for many SKUs."""

    channels: Sequence[ChannelPolicy]
    codes: set[str]
    # Every location feeding a channel: its default safety stock and its stock column.
    sources: list[tuple[str, int, Sequence[int]]]
    excluding: bool  # whether any channel excludes SKUs by code or attribute
    feeding: list[list[str]]  # per channel, in order
    eligible: list[list[str]]  # per channel: its locations not excluded
    buffers: list[int]  # per channel: buffer + auto buffer
    # Which channels exclude a SKU -> per channel, its pool's locations in the order taken.
    orders: dict[tuple[bool, ...], dict[str, list[str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, channels: Sequence[ChannelPolicy], inputs: CatalogueInputs) -> _Plan:
        codes = [channel.code for channel in channels]
        if len(set(codes)) != len(codes):
            raise InvalidInput(f"channels must have distinct codes, got {codes}", field="channels")
        locations = sorted({loc for channel in channels for loc in channel.feeding_locations})
        return cls(
            channels=channels,
            codes=set(codes),
            sources=[
                (
                    loc,
                    validate_non_negative(
                        inputs.default_safety.get(loc, 0), field_name=f"safety_stock[{loc}]"
                    ),
                    inputs.stock.column(loc),
                )
                for loc in locations
            ],
            excluding=any(c.excluded_skus or c.excluded_attributes for c in channels),
            feeding=[sorted(channel.feeding_locations) for channel in channels],
            eligible=[
                [loc for loc in sorted(c.feeding_locations) if loc not in c.excluded_locations]
                for c in channels
            ],
            buffers=[channel.buffer_units + channel.auto_buffer_units for channel in channels],
        )

    def pool_orders(self, excluded: tuple[bool, ...]) -> dict[str, list[str]]:
        """Per channel, the locations its pool takes from, in order (`_allocate_pools`)."""
        orders = self.orders.get(excluded)
        if orders is None:
            eligible = {
                channel.code: set() if out else set(locations)
                for channel, locations, out in zip(
                    self.channels, self.eligible, excluded, strict=True
                )
            }
            orders = {}
            for code, mine in eligible.items():
                others = [seen for other, seen in eligible.items() if other != code]
                orders[code] = sorted(
                    mine, key=lambda loc: (sum(loc in seen for seen in others), loc)
                )
            self.orders[excluded] = orders
        return orders

    def publish(self, k: int, pooled: int, shared: int) -> int:
        """Steps 5-7 for channel `k` (`five_to_seven`)."""
        channel = self.channels[k]
        after_buffer = max(0, shared - self.buffers[k])
        percent = channel.share_percent
        part = after_buffer if percent is None else after_buffer * percent // 100
        total = pooled + part
        capped = total if channel.cap is None else min(channel.cap, total)
        return max(0, capped)


def _is_excluded(sku: str, channel: ChannelPolicy, attributes: Mapping[str, str]) -> bool:
    """`ChannelPolicy.exclusion_of` without its reason, which is all that makes a number 0."""
    if sku in channel.excluded_skus:
        return True
    for name, values in channel.excluded_attributes.items():
        value = attributes.get(name)
        if value is not None and value in values:
            return True
    return False


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class _Seen:
    """Steps 1-4 for every SKU of the catalogue, for channels that see alike: one entry per
    stock position and the last for SKUs without one (always 0)."""

    sellable: dict[str, Sequence[int]]  # location -> after safety stock
    shared: list[list[int]]  # per channel: its eligible locations summed, 0 where excluded
    excluded: list[set[int]]  # per channel: positions of the SKUs it excludes


def _seen(plan: _Plan, inputs: CatalogueInputs) -> _Seen:
    stock = inputs.stock
    sellable: dict[str, Sequence[int]] = {}
    for location, default, column in plan.sources:
        # max(0, max(0, p) - s) is max(0, p - s) because s >= 0; with s = 0 and no negative
        # stock (the usual case: the database refuses it), that is p itself.
        if default or min(column) < 0:
            column = [p - default if p > default else 0 for p in column]
        sellable[location] = column
    own: dict[str, list[int]] = {}  # the columns copied for SKUs' own safety stock
    for sku, safety_of in inputs.safety.items():
        at = stock.position.get(sku)
        for location, _default, column in plan.sources:
            safety = safety_of.get(location)
            if safety is None:
                continue
            validate_non_negative(safety, field_name=f"safety_stock[{location}]")
            if at is None:  # no stock anywhere: 0 whatever is kept back
                continue
            changed = own.get(location)
            if changed is None:
                changed = own[location] = list(sellable[location])
                sellable[location] = changed
            p = column[at]
            changed[at] = p - safety if p > safety else 0

    size = len(stock.position) + 1
    shared: list[list[int]] = []
    excluded: list[set[int]] = []
    for k, channel in enumerate(plan.channels):
        column = _summed([sellable[loc] for loc in plan.eligible[k]], size)
        out = _excluded(channel, inputs)
        for i in out:
            column[i] = 0
        shared.append(column)
        excluded.append(set(out))
    return _Seen(sellable, shared, excluded)


def _pooled_numbers(
    skus: Sequence[str], plan: _Plan, seen: _Seen, inputs: CatalogueInputs
) -> dict[str, Sequence[int]]:
    """Per SKU, its number for each channel: SKUs with stock positions, pools, and no channel
    excluding them, so that every pool takes from its locations in the same order (`_state`
    for one SKU), a column at a time."""
    if not skus:
        return {}
    size = len(skus)
    need: dict[str, list[int]] = {}
    for j, sku in enumerate(skus):
        asked: set[str] = set()
        for pool in inputs.pools[sku]:
            if pool.channel not in plan.codes:
                # Computing without the pool's channel would let others see its units.
                raise InvalidInput(
                    f"pool for unknown channel {pool.channel!r}", field="pools.channel"
                )
            if pool.channel in asked:
                raise InvalidInput(
                    f"{sku} has two pools for channel {pool.channel}", field="pools.channel"
                )
            asked.add(pool.channel)
            column = need.get(pool.channel)
            if column is None:
                column = need[pool.channel] = [0] * size
            column[j] = pool.quantity
    positions = [inputs.stock.position[sku] for sku in skus]
    remaining = {
        location: list(map(seen.sellable[location].__getitem__, positions))
        for location, _default, _column in plan.sources
    }
    orders = plan.pool_orders((False,) * len(plan.channels))
    taken: dict[str, list[int]] = {}
    for code in sorted(need):
        wanted = need[code]
        got = [0] * size
        for location in orders[code]:
            left = remaining[location]
            take = list(map(min, wanted, left))
            remaining[location] = list(map(sub, left, take))
            wanted = list(map(sub, wanted, take))
            got = list(map(add, got, take))
        taken[code] = got
    columns: list[list[int]] = []
    for k, channel in enumerate(plan.channels):
        shared = _summed([remaining[loc] for loc in plan.eligible[k]], size)
        buffer = plan.buffers[k]
        part = [s - buffer if s > buffer else 0 for s in shared] if buffer else shared
        percent = channel.share_percent
        if percent is not None:
            part = [units * percent // 100 for units in part]
        own = taken.get(channel.code)
        total = part if own is None else list(map(add, own, part))
        cap = channel.cap
        if cap is not None:
            total = [units if units < cap else cap for units in total]
        columns.append(total)  # pools, shares and caps are never negative: no floor needed
    return dict(zip(skus, zip(*columns, strict=True), strict=True))


def _plain_columns(
    skus: Sequence[str], plan: _Plan, shared: list[list[int]], inputs: CatalogueInputs
) -> list[list[int]]:
    """Per channel, the number of each of `skus` (simple, no pool), in their order: steps 5-7
    on their shared remainders."""
    stock = inputs.stock
    positions = list(map(stock.position.get, skus, repeat(stock.missing())))
    columns: list[list[int]] = []
    for k, channel in enumerate(plan.channels):
        column = list(map(shared[k].__getitem__, positions))
        buffer = plan.buffers[k]
        if buffer:
            column = [s - buffer if s > buffer else 0 for s in column]
        percent = channel.share_percent
        if percent is not None:
            column = [units * percent // 100 for units in column]
        cap = channel.cap
        if cap is not None:
            column = [units if units < cap else cap for units in column]
        # Buffer, share and cap are never negative, nor is any entry here: no floor needed.
        columns.append(column)
    return columns


def _summed(columns: Sequence[Sequence[int]], size: int) -> list[int]:
    """The entry-wise sum; a new list, never one of `columns` (they are shared by channels)."""
    if not columns:
        return [0] * size
    if len(columns) == 1:
        return list(columns[0])
    total = list(map(add, columns[0], columns[1]))
    for column in columns[2:]:
        total = list(map(add, total, column))
    return total


def _excluded(channel: ChannelPolicy, inputs: CatalogueInputs) -> list[int]:
    """Stock positions of the SKUs excluded from `channel` by code or attribute value."""
    position = inputs.stock.position
    found = [position[sku] for sku in channel.excluded_skus if sku in position]
    if channel.excluded_attributes:
        found += [
            position[sku]
            for sku, attributes in inputs.attributes.items()
            if sku in position and _is_excluded(sku, channel, attributes)
        ]
    return found


# --------------------------------------------------------------------------- one at a time


@dataclass(slots=True)
class _State:
    """Steps 1-4 of one simple SKU: what is left at each location, what each pool took."""

    remaining: dict[str, int]
    excluded: tuple[bool, ...]  # per channel
    taken: dict[str, dict[str, int]]  # pool's channel -> location -> units


def _state(sku: str, plan: _Plan, inputs: CatalogueInputs) -> _State:
    own_safety = inputs.safety.get(sku, {})
    at = inputs.stock.position.get(sku, inputs.stock.missing())
    remaining: dict[str, int] = {}
    for location, default, stock in plan.sources:
        safety = own_safety.get(location)
        if safety is None:
            safety = default
        else:
            validate_non_negative(safety, field_name=f"safety_stock[{location}]")
        p = stock[at]
        remaining[location] = p - safety if p > safety else 0
    if plan.excluding:
        attributes = inputs.attributes.get(sku, {})
        excluded = tuple(_is_excluded(sku, channel, attributes) for channel in plan.channels)
    else:
        excluded = (False,) * len(plan.channels)

    requested: dict[str, int] = {}
    for pool in inputs.pools.get(sku, ()):
        if pool.channel not in plan.codes:
            # Computing without the pool's channel would let others see its units.
            raise InvalidInput(f"pool for unknown channel {pool.channel!r}", field="pools.channel")
        if pool.channel in requested:
            raise InvalidInput(
                f"{sku} has two pools for channel {pool.channel}", field="pools.channel"
            )
        requested[pool.channel] = pool.quantity
    taken: dict[str, dict[str, int]] = {}
    if requested:
        orders = plan.pool_orders(excluded)
        for code in sorted(requested):
            need = requested[code]
            own: dict[str, int] = {}
            for location in orders[code]:
                if need == 0:
                    break
                units = min(need, remaining[location])
                if units:
                    own[location] = units
                    remaining[location] -= units
                    need -= units
            taken[code] = own
    return _State(remaining, excluded, taken)


def _simple_numbers(state: _State, plan: _Plan) -> list[int]:
    numbers = []
    for k, channel in enumerate(plan.channels):
        eligible = () if state.excluded[k] else plan.eligible[k]
        shared = sum(state.remaining[loc] for loc in eligible)
        pooled = sum(state.taken.get(channel.code, {}).values())
        numbers.append(plan.publish(k, pooled, shared))
    return numbers


def _bundle_numbers(bundle: str, plan: _Plan, inputs: CatalogueInputs) -> list[int]:
    recipe = inputs.bundles[bundle]
    components = recipe.components
    if not components:
        raise InvalidInput(f"bundle {bundle} has no components", field="components")
    for component, qty in components.items():
        validate_non_negative(qty, field_name=f"components[{component}]")
        if qty == 0:
            raise InvalidInput(
                f"components[{component}] must be at least 1", field=f"components[{component}]"
            )
    states = {component: _state(component, plan, inputs) for component in components}
    attributes = inputs.attributes.get(bundle, {})
    numbers = []
    for k, channel in enumerate(plan.channels):
        units = 0
        if not _is_excluded(bundle, channel, attributes):
            feeding = plan.feeding[k]
            usable: dict[str, dict[str, int]] = {}
            for component, state in states.items():
                own = state.taken.get(channel.code, {})
                usable[component] = {
                    loc: 0
                    if state.excluded[k] or loc in channel.excluded_locations
                    else state.remaining[loc] + own.get(loc, 0)
                    for loc in feeding
                }
            if recipe.ship_together:
                units = sum(
                    min(usable[component][loc] // qty for component, qty in components.items())
                    for loc in feeding
                )
            else:
                units = min(
                    sum(usable[component].values()) // qty for component, qty in components.items()
                )
        numbers.append(plan.publish(k, 0, units))
    return numbers
