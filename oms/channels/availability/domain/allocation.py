"""The availability pipeline's numbers: steps 1-4 per SKU (physical, safety stock, exclusions,
ring-fenced pools) and steps 5-7 per channel (buffer, share, cap, publish).

Numbers only: `oms.channels.availability.domain.explain` writes the trace from what these return.
The precedence is
described in `oms.channels.availability.domain.model`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oms.channels.availability.domain.policy import (
    ChannelPolicy,
    LocationStock,
    Pool,
    validate_non_negative,
)
from oms.shared.errors import InvalidInput

# --------------------------------------------------------------------------- steps 1-4


@dataclass(slots=True)
class SkuState:
    """Steps 1-4 for one SKU over every channel: what each location holds for whom."""

    physical_raw: dict[str, int]
    physical: dict[str, int]
    safety: dict[str, int]
    sellable: dict[str, int]
    # channel -> feeding location -> why excluded (None: eligible)
    exclusions: dict[str, dict[str, str | None]]
    requested: dict[str, int]
    taken: dict[str, dict[str, int]]
    remaining: dict[str, int]
    shrink_notes: dict[str, str]

    def eligible(self, channel: str) -> list[str]:
        return [loc for loc, why in self.exclusions[channel].items() if why is None]


def check_channels(channels: Sequence[ChannelPolicy]) -> None:
    codes = [c.code for c in channels]
    if len(set(codes)) != len(codes):
        raise InvalidInput(f"channels must have distinct codes, got {codes}", field="channels")


def prepare(
    sku: str,
    attributes: Mapping[str, str],
    stock: Sequence[LocationStock],
    safety: Mapping[str, int],
    channels: Sequence[ChannelPolicy],
    pools: Sequence[Pool],
) -> SkuState:
    physical_raw: dict[str, int] = {}
    for row in stock:
        if row.location in physical_raw:
            raise InvalidInput(
                f"stock lists location {row.location} twice for {sku}", field="stock"
            )
        physical_raw[row.location] = row.available
    for location, units in safety.items():
        validate_non_negative(units, field_name=f"safety_stock[{location}]")
    for channel in channels:
        for location in channel.feeding_locations:
            physical_raw.setdefault(location, 0)

    physical = {loc: max(0, units) for loc, units in physical_raw.items()}
    sellable = {loc: max(0, units - safety.get(loc, 0)) for loc, units in physical.items()}

    exclusions: dict[str, dict[str, str | None]] = {}
    for channel in channels:
        sku_excluded = channel.exclusion_of(sku, attributes)
        exclusions[channel.code] = {
            loc: sku_excluded
            or (
                f"location {loc} excluded from {channel.code}"
                if loc in channel.excluded_locations
                else None
            )
            for loc in sorted(channel.feeding_locations)
        }

    requested: dict[str, int] = {}
    for pool in pools:
        if pool.channel not in exclusions:
            # Computing without the pool's channel would let others see its units.
            raise InvalidInput(f"pool for unknown channel {pool.channel!r}", field="pools.channel")
        if pool.channel in requested:
            raise InvalidInput(
                f"{sku} has two pools for channel {pool.channel}", field="pools.channel"
            )
        requested[pool.channel] = pool.quantity

    state = SkuState(
        physical_raw=physical_raw,
        physical=physical,
        safety={loc: safety.get(loc, 0) for loc in physical},
        sellable=sellable,
        exclusions=exclusions,
        requested=requested,
        taken={c.code: {} for c in channels},
        remaining=dict(sellable),
        shrink_notes={},
    )
    _allocate_pools(state)
    return state


def _allocate_pools(state: SkuState) -> None:
    if not state.requested:
        return
    eligible = {code: set(state.eligible(code)) for code in state.exclusions}
    served: list[str] = []
    for code in sorted(state.requested):
        others = [other for other in eligible if other != code]

        def seen_by_others(location: str, others: list[str] = others) -> tuple[int, str]:
            return (sum(location in eligible[other] for other in others), location)

        need = state.requested[code]
        taken = state.taken[code]
        for location in sorted(eligible[code], key=seen_by_others):
            if need == 0:
                break
            units = min(need, state.remaining[location])
            if units:
                taken[location] = units
                state.remaining[location] -= units
                need -= units
        got = sum(taken.values())
        if got < state.requested[code]:
            earlier = f" after the pools of {', '.join(served)}" if served else ""
            state.shrink_notes[code] = (
                f"pool of {state.requested[code]} for {code} shrank to {got}: only {got} "
                f"sellable units left in its eligible locations{earlier}"
            )
        served.append(code)


def pooled_and_shared(state: SkuState, code: str) -> tuple[int, int]:
    """Steps 1-4 as numbers for one channel: its own pool units, and the shared units it sees."""
    exclusions = state.exclusions[code]
    remaining = state.remaining
    shared = 0
    for loc, why in exclusions.items():
        if why is None:
            shared += remaining[loc]
    own = state.taken[code]
    return (sum(own.values()) if own else 0), shared


# --------------------------------------------------------------------------- steps 5-7


@dataclass(frozen=True, slots=True)
class Published:
    """Steps 5-7 as numbers; the trace, when asked for, is written from these."""

    after_buffer: int
    shared_part: int
    capped: int
    available: int


def five_to_seven(channel: ChannelPolicy, pooled: int, shared: int) -> Published:
    after_buffer = max(0, shared - channel.buffer_units - channel.auto_buffer_units)
    if channel.share_percent is None:
        shared_part = after_buffer
    else:
        shared_part = after_buffer * channel.share_percent // 100
    total = pooled + shared_part
    capped = total if channel.cap is None else min(channel.cap, total)
    return Published(after_buffer, shared_part, capped, max(0, capped))


# --------------------------------------------------------------------------- where stock is taken


def ring_fenced(state: SkuState, channel: str | None) -> dict[str, int]:
    """Units at each location that `channel` must leave untouched: what the other channels'
    pools hold there (step 4, the same allocation that hides them from publication), plus the
    location's safety stock where a pool holds units, because pools are made of sellable units
    (after safety stock) and taking a walk-in unit there would shrink them. `channel` None (a
    reservation for no channel) leaves every pool alone.

    Taking at most `available - ring_fenced` at each location never shrinks another channel's
    pool: the pools before `channel` in code order keep what they took at every location, and
    `channel`'s own pool, drawn down by what it takes (`pool_draw`), never grows into a
    location where a later pool took units. `tests/property/test_ring_fenced_pools.py` holds
    this against random stock, pools and takes.
    """
    fenced: dict[str, int] = {}
    for location in state.physical:
        held = sum(taken.get(location, 0) for code, taken in state.taken.items() if code != channel)
        if held:
            fenced[location] = held + state.safety.get(location, 0)
    return fenced


def pool_draw(requested: int, pool_left: int) -> int:
    """Units of a channel's reservation that come out of its own pool: its own orders draw
    from their pool first, and only what exceeds the pool spills to shared stock."""
    return max(0, min(requested, pool_left))
