"""Hypothesis over the pure rule of where stock may be taken: no channel ever takes units that
another channel's ring-fenced pool holds.

A world is one SKU at four locations, three channels feeding random subsets of them (with a
location excluded now and then), safety stock, and pools. A random sequence of takes follows,
each by a channel (or by no channel) at one location: each takes what it asks for, cut to what
`ring_fenced` lets it (`available - ring_fenced`), and a channel's take draws its own pool
down first (`pool_draw`), as the reservation does. After every take, every other channel's pool
holds at least what it held before (step 4 of the pipeline, the allocation that publication
uses): the promise "no other channel sees them" holds where stock is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.channels.availability.domain.allocation import SkuState, pool_draw, prepare, ring_fenced
from oms.channels.availability.domain.model import ChannelPolicy, LocationStock, Pool
from tests.examples import examples

LOCATIONS = ("DC", "FBA", "STORE-1", "STORE-2")
CHANNELS = ("amazon", "rakuten", "storefront")
SKU = "TEE"


@dataclass(slots=True)
class World:
    policies: list[ChannelPolicy]
    stock: dict[str, int]
    safety: dict[str, int]
    pools: dict[str, int]  # channel -> what its pool holds now

    def state(self) -> SkuState:
        return prepare(
            SKU,
            {},
            [LocationStock(loc, n) for loc, n in self.stock.items()],
            self.safety,
            self.policies,
            [Pool(channel, n) for channel, n in sorted(self.pools.items())],
        )

    def pooled(self) -> dict[str, int]:
        """What each pool holds after step 4, per channel."""
        state = self.state()
        return {channel: sum(state.taken[channel].values()) for channel in self.pools}


@st.composite
def worlds(draw: st.DrawFn) -> World:
    policies = []
    for channel in CHANNELS:
        feeding = draw(st.frozensets(st.sampled_from(LOCATIONS), min_size=1))
        excluded = draw(st.frozensets(st.sampled_from(sorted(feeding)), max_size=1))
        policies.append(ChannelPolicy(channel, feeding, excluded_locations=excluded))
    stock = {loc: draw(st.integers(0, 12)) for loc in LOCATIONS}
    safety = {loc: draw(st.integers(0, 3)) for loc in LOCATIONS}
    pooled_channels = draw(st.lists(st.sampled_from(CHANNELS), min_size=1, unique=True))
    pools = {channel: draw(st.integers(0, 10)) for channel in pooled_channels}
    return World(policies, stock, safety, pools)


takes = st.lists(
    st.tuples(st.sampled_from((*CHANNELS, None)), st.sampled_from(LOCATIONS), st.integers(1, 8)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=examples(400), deadline=None)
@given(worlds(), takes)
def test_no_take_ever_shrinks_another_channels_pool(
    world: World, moves: list[tuple[str | None, str, int]]
) -> None:
    for channel, location, wanted in moves:
        fenced = ring_fenced(world.state(), channel)
        may_take = max(0, world.stock[location] - fenced.get(location, 0))
        taken = min(wanted, may_take)
        if not taken:
            continue
        before = world.pooled()
        world.stock[location] -= taken
        if channel in world.pools:
            world.pools[channel] -= pool_draw(taken, world.pools[channel])
        after = world.pooled()
        for other, held in before.items():
            if other != channel:
                assert after[other] >= held, (channel, location, taken, before, after)


@settings(max_examples=examples(200), deadline=None)
@given(worlds())
def test_what_is_ring_fenced_is_exactly_what_the_other_pools_hold_plus_safety_stock(
    world: World,
) -> None:
    state = world.state()
    for channel in (*CHANNELS, None):
        fenced = ring_fenced(state, channel)
        for location, units in fenced.items():
            held = sum(
                state.taken[other].get(location, 0) for other in world.pools if other != channel
            )
            assert held > 0
            assert units == held + world.safety[location]
            assert units <= world.stock[location]  # pools are made of units that exist


@settings(max_examples=examples(200), deadline=None)
@given(worlds(), st.sampled_from(CHANNELS))
def test_a_channel_may_take_all_the_others_are_not_holding(world: World, channel: str) -> None:
    """The fence is no wider than the pools: at a location where no other pool holds units,
    the channel may take everything available (the sourcing engine minds safety stock)."""
    state = world.state()
    fenced = ring_fenced(state, channel)
    for location in LOCATIONS:
        others = sum(state.taken[o].get(location, 0) for o in world.pools if o != channel)
        if not others:
            assert location not in fenced
