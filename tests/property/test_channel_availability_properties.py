"""Hypothesis over the pure channel availability pipeline: whatever the stock and the rules,
no channel is told a number we cannot keep.

What is asserted, precisely, for every channel c of one SKU (sellable = max(0, physical) less
safety stock, floor 0, per location):
- 0 <= published(c) <= sellable summed over c's feeding locations, and <= its cap;
- published(c) + the pools of every other channel <= sellable summed over all locations: even if
  every other channel sells its whole pool, c can sell all it is told;
- pooled(c) <= the pool asked for, and a pool shrinks only when c's eligible locations have
  nothing shared left;
- adding stock anywhere never lowers any channel's number;
- the trace's final output is the published number;
- the number-only path (``explain=False``) gives the traced path's numbers, with no trace.
Bundles (same channels and rules, no pools): published(bundle) x qty <= the component's number
before its cap (and <= its published number when there is no cap), for every component; the
bundle is monotonic in component stock; its trace ends at its number; with component pools and
attributes too, the number-only path gives the traced path's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.channels.availability.domain.model import (
    ChannelAvailability,
    ChannelPolicy,
    LocationStock,
    Pool,
    compute_availability,
    compute_bundle_availability,
)
from tests.examples import examples

LOCATIONS = ("DC", "FBA", "STORE-1", "STORE-2")
CHANNELS = ("amazon", "rakuten", "storefront")
SKU = "TEE-001"

cases = settings(max_examples=examples(300), deadline=None)

locations = st.sampled_from(LOCATIONS)
location_sets = st.frozensets(locations)
stock_maps = st.dictionaries(locations, st.integers(-10, 40))
safety_maps = st.dictionaries(locations, st.integers(0, 10))
additions = st.dictionaries(locations, st.integers(0, 30))


@st.composite
def policies(draw: st.DrawFn, code: str) -> ChannelPolicy:
    return ChannelPolicy(
        code=code,
        feeding_locations=draw(location_sets.filter(bool)),
        excluded_locations=draw(st.sampled_from([frozenset(), frozenset({"STORE-2"})])),
        excluded_skus=draw(st.sampled_from([frozenset(), frozenset({"X"}), frozenset({SKU})])),
        excluded_attributes=draw(
            st.sampled_from([{}, {"category": frozenset({"outlet"})}, {"colour": frozenset()}])
        ),
        buffer_units=draw(st.integers(0, 8)),
        share_percent=draw(st.none() | st.integers(0, 100)),
        cap=draw(st.none() | st.integers(0, 60)),
        auto_buffer=draw(st.booleans()),
        velocity_per_minute=draw(st.floats(0, 3, allow_nan=False)),
        push_latency_minutes=draw(st.floats(0, 15, allow_nan=False)),
    )


@st.composite
def channel_lists(draw: st.DrawFn) -> list[ChannelPolicy]:
    codes = draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True))
    return [draw(policies(code)) for code in codes]


@dataclass(frozen=True)
class World:
    stock: dict[str, int]
    safety: dict[str, int]
    channels: list[ChannelPolicy]
    pools: list[Pool]
    attributes: dict[str, str]

    def compute(
        self, extra: dict[str, int] | None = None, *, explain: bool = True
    ) -> dict[str, ChannelAvailability]:
        stock = dict(self.stock)
        for location, units in (extra or {}).items():
            stock[location] = stock.get(location, 0) + units
        rows = [LocationStock(loc, units) for loc, units in stock.items()]
        return compute_availability(
            SKU, self.attributes, rows, self.safety, self.channels, self.pools, explain=explain
        )

    def sellable(self, location: str) -> int:
        return max(0, max(0, self.stock.get(location, 0)) - self.safety.get(location, 0))


@st.composite
def worlds(draw: st.DrawFn, with_pools: bool = True) -> World:
    channels = draw(channel_lists())
    pools = []
    if with_pools:
        for channel in channels:
            if draw(st.integers(0, 3)):
                pools.append(Pool(channel.code, draw(st.integers(0, 40))))
    return World(
        stock=draw(stock_maps),
        safety=draw(safety_maps),
        channels=channels,
        pools=pools,
        attributes=draw(st.sampled_from([{}, {"category": "outlet"}, {"category": "tops"}])),
    )


@cases
@given(worlds())
def test_no_channel_is_told_more_than_its_feeding_locations_can_sell(world: World) -> None:
    result = world.compute()

    for channel in world.channels:
        published = result[channel.code].available
        assert isinstance(published, int)
        assert 0 <= published <= sum(world.sellable(loc) for loc in channel.feeding_locations)
        if channel.cap is not None:
            assert published <= channel.cap


@cases
@given(worlds())
def test_pools_and_what_a_channel_is_told_never_exceed_what_exists(world: World) -> None:
    result = world.compute()
    total = sum(world.sellable(loc) for loc in LOCATIONS)
    pooled = {code: availability.pooled for code, availability in result.items()}

    assert sum(pooled.values()) <= total
    for code, availability in result.items():
        others = sum(units for other, units in pooled.items() if other != code)
        assert availability.pooled + availability.shared + others <= total
        assert availability.available + others <= total


@cases
@given(worlds())
def test_a_pool_shrinks_only_when_its_channel_has_nothing_shared_left(world: World) -> None:
    result = world.compute()

    for pool in world.pools:
        availability = result[pool.channel]
        assert availability.pooled <= pool.quantity
        if availability.pooled < pool.quantity:
            assert availability.shared == 0
            assert "shrank" in next(s for s in availability.trace if s.name == "pools").rule


@cases
@given(worlds(), additions)
def test_adding_stock_never_lowers_any_channels_number(world: World, extra: dict[str, int]) -> None:
    before = world.compute()
    after = world.compute(extra)

    for code in before:
        assert after[code].available >= before[code].available


@st.composite
def overlapping_pool_worlds(draw: st.DrawFn) -> World:
    """Few locations, overlapping feeds, a pool on every channel: where pools could move."""
    few = st.sampled_from(LOCATIONS[:3])
    channels = [
        ChannelPolicy(code, draw(st.frozensets(few, min_size=1)))
        for code in draw(st.lists(st.sampled_from(CHANNELS), min_size=2, unique=True))
    ]
    return World(
        stock=draw(st.dictionaries(few, st.integers(0, 12))),
        safety={},
        channels=channels,
        pools=[Pool(c.code, draw(st.integers(0, 12))) for c in channels],
        attributes={},
    )


@settings(max_examples=examples(800), deadline=None)
@given(
    overlapping_pool_worlds(), st.dictionaries(st.sampled_from(LOCATIONS[:3]), st.integers(1, 12))
)
def test_a_receipt_never_moves_a_pool_onto_another_channels_stock(
    world: World, extra: dict[str, int]
) -> None:
    before = world.compute()
    after = world.compute(extra)

    for code in before:
        assert after[code].available >= before[code].available


@cases
@given(worlds())
def test_the_trace_ends_at_the_published_number(world: World) -> None:
    for availability in world.compute().values():
        assert availability.trace[-1].output == availability.available
        for before, after in zip(availability.trace, availability.trace[1:], strict=False):
            assert after.input == before.output


@cases
@given(worlds())
def test_the_number_only_path_tells_every_channel_what_the_traced_path_tells_it(
    world: World,
) -> None:
    traced = world.compute()
    numbers = world.compute(explain=False)

    assert numbers.keys() == traced.keys()
    for code, availability in traced.items():
        assert numbers[code].available == availability.available
        assert numbers[code] == replace(availability, trace=())


# --------------------------------------------------------------------------- bundles


COMPONENTS = ("TOP", "BOTTOM", "SCARF")


@dataclass(frozen=True)
class BundleWorld:
    components: dict[str, int]
    stock: dict[str, dict[str, int]]
    safety: dict[str, dict[str, int]]
    ship_together: bool
    channels: list[ChannelPolicy]
    pools: dict[str, list[Pool]] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    component_attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def rows(self, component: str, extra: dict[str, int]) -> list[LocationStock]:
        stock = dict(self.stock[component])
        for location, units in extra.items():
            stock[location] = stock.get(location, 0) + units
        return [LocationStock(loc, units) for loc, units in stock.items()]

    def compute(
        self, extra: dict[str, dict[str, int]] | None = None, *, explain: bool = True
    ) -> dict[str, ChannelAvailability]:
        extra = extra or {}
        return compute_bundle_availability(
            "SET-001",
            self.attributes,
            self.components,
            {c: self.rows(c, extra.get(c, {})) for c in self.components},
            self.safety,
            self.ship_together,
            self.channels,
            component_pools=self.pools,
            component_attributes=self.component_attributes,
            explain=explain,
        )

    def component(self, component: str) -> dict[str, ChannelAvailability]:
        return compute_availability(
            component,
            {},
            self.rows(component, {}),
            self.safety.get(component, {}),
            self.channels,
        )


@st.composite
def bundle_worlds(draw: st.DrawFn) -> BundleWorld:
    names = draw(st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=3, unique=True))
    return BundleWorld(
        components={name: draw(st.integers(1, 4)) for name in names},
        stock={name: draw(stock_maps) for name in names},
        safety={name: draw(safety_maps) for name in names},
        ship_together=draw(st.booleans()),
        channels=draw(channel_lists()),
    )


@cases
@given(bundle_worlds())
def test_a_bundle_never_beats_any_of_its_components_divided_by_its_quantity(
    world: BundleWorld,
) -> None:
    bundles = world.compute()

    for component, qty in world.components.items():
        alone = world.component(component)
        for channel in world.channels:
            bundle = bundles[channel.code].available
            before_cap = next(s for s in alone[channel.code].trace if s.name == "cap").input
            # A cap is not divided by the quantity: cap 5 on both allows 5 sets of 2.
            assert bundle * qty <= before_cap
            if channel.cap is None:
                assert bundle * qty <= alone[channel.code].available


@cases
@given(bundle_worlds(), st.dictionaries(st.sampled_from(COMPONENTS), additions))
def test_adding_component_stock_never_lowers_a_bundles_number(
    world: BundleWorld, extra: dict[str, dict[str, int]]
) -> None:
    before = world.compute()
    after = world.compute(extra)

    for code in before:
        assert after[code].available >= before[code].available


@cases
@given(bundle_worlds())
def test_a_bundles_trace_ends_at_its_number_which_is_never_negative(world: BundleWorld) -> None:
    for availability in world.compute().values():
        assert availability.available >= 0
        assert availability.trace[-1].output == availability.available


attribute_maps = st.sampled_from([{}, {"category": "outlet"}, {"category": "tops"}])


@st.composite
def pooled_bundle_worlds(draw: st.DrawFn) -> BundleWorld:
    """Bundles whose components have pools and attributes, and the bundle attributes of its own."""
    world = draw(bundle_worlds())
    pools = {
        component: [
            Pool(channel.code, draw(st.integers(0, 40)))
            for channel in world.channels
            if draw(st.booleans())
        ]
        for component in world.components
    }
    return replace(
        world,
        pools=pools,
        attributes=draw(attribute_maps),
        component_attributes={c: draw(attribute_maps) for c in world.components},
    )


@cases
@given(pooled_bundle_worlds())
def test_the_number_only_path_tells_every_channel_what_the_traced_path_tells_it_for_bundles(
    world: BundleWorld,
) -> None:
    traced = world.compute()
    numbers = world.compute(explain=False)

    assert numbers.keys() == traced.keys()
    for code, availability in traced.items():
        assert numbers[code].available == availability.available
        assert numbers[code] == replace(availability, trace=())
