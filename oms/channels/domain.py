"""Channel availability: the number each channel is told for one SKU or bundle, and why.

Pure and versioned (`PIPELINE_VERSION`): the same stock and rules always give the same numbers
and the same trace. A change to the precedence below is a new version, so a published number
can always be explained by the rules that produced it.

Precedence, applied per channel:

1. **Physical**: available (`on_hand - reserved - quarantined`) at each location feeding the
   channel; a negative figure counts as 0. A channel only ever sees its feeding locations.
2. **Safety stock** per location (resolved per (SKU, location), else the location's default),
   floor 0 per location: stores keep units for walk-in customers.
3. **Exclusions**: SKU excluded, an attribute value excluded (e.g. category ``outlet``), or the
   location excluded from the channel -> 0 from there.
4. **Ring-fenced pools**: channels are served in code order; each pool takes units from its
   channel's eligible locations, those seen by the fewest other channels first, then by code.
   Taken units leave the shared stock, so no other channel sees them. A pool larger than what
   is left shrinks to what is left (later channels shrink first) and the trace says so.
5. **Buffer** (units, plus ceil(velocity x push latency) when ``auto_buffer``) off the channel's
   *shared* part, floor 0; then an optional **share**: floor(shared x percent / 100).
   The channel's own pool is exempt from both: it is already reserved for that channel.
6. **Cap**: at most N (pool included).
7. **Publish**: floor at 0, whole units.

The pool order depends on configuration only, never on quantities: ordering by "most sellable
first" would let a receipt at one location move a pool onto another channel's location and
lower that channel's number. With this order, adding stock never lowers any number.

Bundles have no stock: per location, bundle units = min over components of
floor(component sellable there / quantity), where a component's sellable for a channel is what
steps 1-4 leave it (its own pool units plus the shared remainder). With ``ship_together`` the
bundle total is the sum of those per-location figures; without it, components may ship from
different locations: min over components of floor(total sellable / quantity). A bundle is
excluded where the bundle itself or any of its component SKUs is excluded. Then the channel's
buffer, share and cap (steps 5-7) apply to the bundle itself.

Worked example (``tests/unit/test_channel_availability.py`` checks it). SKU ``TEE-001``:
DC has 10 available, STORE-1 has 4 with safety stock 3, FBA has 6.

- ``amazon`` feeds DC and FBA, buffer 2.
- ``rakuten`` feeds DC, buffer 1, share 50 %, pool of 4.
- ``storefront`` feeds DC and STORE-1, auto buffer at 0.2 units/min x 10 min, cap 4.

Sellable after safety stock: DC 10, STORE-1 1, FBA 6. Rakuten's pool takes 4 from DC (its only
location), leaving DC 6 shared. amazon: 6 + 6 = 12, less buffer 2 -> **10**. rakuten: pool 4
+ floor((6 - 1) x 50 / 100) = 4 + 2 -> **6**. storefront: 6 + 1 = 7, less the auto buffer
ceil(0.2 x 10) = 2 -> 5, capped -> **4**.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from oms.shared.errors import InvalidInput

PIPELINE_VERSION = 1


# --------------------------------------------------------------------------- validation


def validate_non_negative(value: int, *, field_name: str) -> int:
    """Whole units, 0 or more: buffers, caps, pools, safety stock, bundle quantities."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_name} must be a whole number, got {value!r}", field=field_name)
    if value < 0:
        raise InvalidInput(f"{field_name} must not be negative, got {value}", field=field_name)
    return value


def validate_share_percent(value: int | None, *, field_name: str = "share_percent") -> int | None:
    """A share is a whole percentage of the shared remainder; shares need not add to 100."""
    if value is None:
        return None
    validate_non_negative(value, field_name=field_name)
    if value > 100:
        raise InvalidInput(f"{field_name} must be between 0 and 100, got {value}", field=field_name)
    return value


def validate_cap(value: int | None, *, field_name: str = "cap") -> int | None:
    if value is None:
        return None
    return validate_non_negative(value, field_name=field_name)


def validate_rate(value: float, *, field_name: str) -> float:
    """Velocity and push latency: finite and not negative."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field_name} must be a number, got {value!r}", field=field_name)
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(
            f"{field_name} must be a finite number, 0 or more, got {value!r}", field=field_name
        )
    return float(value)


# --------------------------------------------------------------------------- rule resolution


def resolve_safety_stock(
    sku: str,
    locations: Iterable[str],
    location_defaults: Mapping[str, int],
    overrides: Mapping[tuple[str, str], int],
) -> dict[str, int]:
    """Safety stock per location: the (SKU, location) override, else the location's default."""
    return {
        location: overrides.get((sku, location), location_defaults.get(location, 0))
        for location in locations
    }


def resolve_buffer_units(
    sku: str,
    category: str | None,
    per_sku: Mapping[str, int],
    per_category: Mapping[str, int],
    channel_default: int,
) -> int:
    """A channel's buffer for one SKU: per SKU, else per category, else the channel default."""
    if sku in per_sku:
        return per_sku[sku]
    if category is not None and category in per_category:
        return per_category[category]
    return channel_default


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class LocationStock:
    """Physical available of one SKU at one location; may be negative after a stock loss."""

    location: str
    available: int


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """A channel's rules for one SKU, already resolved (e.g. the buffer per SKU > category)."""

    code: str
    feeding_locations: frozenset[str]
    excluded_locations: frozenset[str] = frozenset()
    excluded_skus: frozenset[str] = frozenset()
    excluded_attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    buffer_units: int = 0
    share_percent: int | None = None
    cap: int | None = None
    auto_buffer: bool = False
    velocity_per_minute: float = 0.0
    push_latency_minutes: float = 0.0

    def __post_init__(self) -> None:
        validate_non_negative(self.buffer_units, field_name="buffer_units")
        validate_share_percent(self.share_percent)
        validate_cap(self.cap)
        validate_rate(self.velocity_per_minute, field_name="velocity_per_minute")
        validate_rate(self.push_latency_minutes, field_name="push_latency_minutes")

    @property
    def auto_buffer_units(self) -> int:
        """ceil(velocity x latency): what a fast seller sells between two pushes."""
        if not self.auto_buffer:
            return 0
        # Decimal of the shortest repr: 0.1 x 30 is 3, not ceil(3.0000000000000004) = 4.
        units = Decimal(repr(self.velocity_per_minute)) * Decimal(repr(self.push_latency_minutes))
        return math.ceil(units)

    def exclusion_of(self, sku: str, attributes: Mapping[str, str]) -> str | None:
        """Why this SKU is excluded from the channel, or None."""
        if sku in self.excluded_skus:
            return f"SKU {sku} excluded from {self.code}"
        for name in sorted(self.excluded_attributes):
            value = attributes.get(name)
            if value is not None and value in self.excluded_attributes[name]:
                return f"{name}={value} excluded from {self.code}"
        return None


@dataclass(frozen=True, slots=True)
class Pool:
    """Units of one SKU ring-fenced for one channel (e.g. a Rakuten sale event)."""

    channel: str
    quantity: int

    def __post_init__(self) -> None:
        validate_non_negative(self.quantity, field_name="pools.quantity")


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class LocationTrace:
    location: str
    input: int
    output: int
    rule: str


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of the pipeline: the rule that applied, its input and output, per location."""

    name: str
    rule: str
    input: int
    output: int
    locations: tuple[LocationTrace, ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelAvailability:
    """The number a channel is told. `pooled` is its own ring-fenced allocation, `shared` the
    unpooled sellable units it can see (before buffer and share); the trace ends at `available`.
    """

    channel: str
    sku: str
    available: int
    pooled: int
    shared: int
    trace: tuple[TraceStep, ...]
    version: int = PIPELINE_VERSION


# --------------------------------------------------------------------------- steps 1-4


@dataclass(slots=True)
class _SkuState:
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


def _check_channels(channels: Sequence[ChannelPolicy]) -> None:
    codes = [c.code for c in channels]
    if len(set(codes)) != len(codes):
        raise InvalidInput(f"channels must have distinct codes, got {codes}", field="channels")


def _prepare(
    sku: str,
    attributes: Mapping[str, str],
    stock: Sequence[LocationStock],
    safety: Mapping[str, int],
    channels: Sequence[ChannelPolicy],
    pools: Sequence[Pool],
) -> _SkuState:
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

    state = _SkuState(
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


def _allocate_pools(state: _SkuState) -> None:
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


def _pooled_and_shared(state: _SkuState, code: str) -> tuple[int, int]:
    """Steps 1-4 as numbers for one channel: its own pool units, and the shared units it sees."""
    exclusions = state.exclusions[code]
    remaining = state.remaining
    shared = 0
    for loc, why in exclusions.items():
        if why is None:
            shared += remaining[loc]
    own = state.taken[code]
    return (sum(own.values()) if own else 0), shared


def _trace_one_to_four(
    state: _SkuState, channel: ChannelPolicy, pooled: int, shared: int
) -> list[TraceStep]:
    """Trace of steps 1-4 for one channel, ending at the (pooled, shared) already computed."""
    feeding = list(state.exclusions[channel.code])
    steps: list[TraceStep] = []

    rows = []
    for loc in feeding:
        raw = state.physical_raw[loc]
        rule = "on_hand - reserved - quarantined" + (" (negative, counts as 0)" if raw < 0 else "")
        rows.append(LocationTrace(loc, raw, state.physical[loc], rule))
    steps.append(
        TraceStep(
            "physical",
            f"available at the locations feeding {channel.code}",
            sum(r.input for r in rows),
            sum(r.output for r in rows),
            tuple(rows),
        )
    )

    rows = [
        LocationTrace(
            loc,
            state.physical[loc],
            state.sellable[loc],
            f"safety stock {state.safety[loc]}" if state.safety[loc] else "no safety stock",
        )
        for loc in feeding
    ]
    steps.append(
        TraceStep(
            "safety_stock",
            "minus safety stock per location, floor 0",
            sum(r.input for r in rows),
            sum(r.output for r in rows),
            tuple(rows),
        )
    )

    exclusions = state.exclusions[channel.code]
    rows = [
        LocationTrace(
            loc,
            state.sellable[loc],
            0 if exclusions[loc] else state.sellable[loc],
            exclusions[loc] or "not excluded",
        )
        for loc in feeding
    ]
    steps.append(
        TraceStep(
            "exclusions",
            "excluded SKU, attribute or location -> 0 from there",
            sum(r.input for r in rows),
            sum(r.output for r in rows),
            tuple(rows),
        )
    )

    own = state.taken[channel.code]
    rows = []
    for loc in feeding:
        if exclusions[loc]:
            rows.append(LocationTrace(loc, 0, 0, "excluded"))
            continue
        held_elsewhere = state.sellable[loc] - state.remaining[loc] - own.get(loc, 0)
        notes = []
        if own.get(loc):
            notes.append(f"{own[loc]} ring-fenced for {channel.code}")
        if held_elsewhere:
            notes.append(f"{held_elsewhere} ring-fenced for other channels")
        rows.append(
            LocationTrace(
                loc,
                state.sellable[loc],
                own.get(loc, 0) + state.remaining[loc],
                "; ".join(notes) or "no pool here",
            )
        )
    if channel.code in state.shrink_notes:
        rule = state.shrink_notes[channel.code]
    elif channel.code in state.requested:
        rule = f"pool of {pooled} ring-fenced for {channel.code}"
    else:
        rule = f"no pool for {channel.code}"
    rule += f"; other channels' pools removed; {shared} shared"
    steps.append(TraceStep("pools", rule, sum(r.input for r in rows), pooled + shared, tuple(rows)))
    return steps


# --------------------------------------------------------------------------- steps 5-7


@dataclass(frozen=True, slots=True)
class _Published:
    """Steps 5-7 as numbers; the trace, when asked for, is written from these."""

    after_buffer: int
    shared_part: int
    capped: int
    available: int


def _five_to_seven(channel: ChannelPolicy, pooled: int, shared: int) -> _Published:
    after_buffer = max(0, shared - channel.buffer_units - channel.auto_buffer_units)
    if channel.share_percent is None:
        shared_part = after_buffer
    else:
        shared_part = after_buffer * channel.share_percent // 100
    total = pooled + shared_part
    capped = total if channel.cap is None else min(channel.cap, total)
    return _Published(after_buffer, shared_part, capped, max(0, capped))


def _trace_five_to_seven(
    channel: ChannelPolicy, pooled: int, shared: int, numbers: _Published, *, what: str
) -> list[TraceStep]:
    auto = channel.auto_buffer_units
    after_buffer = numbers.after_buffer
    rule = f"buffer {channel.buffer_units}"
    if channel.auto_buffer:
        rule += (
            f" + auto {auto} (ceil({channel.velocity_per_minute}/min x "
            f"{channel.push_latency_minutes} min))"
        )
    rule += f" off the {what}, floor 0"
    if pooled:
        rule += f"; the pool of {pooled} is exempt"
    steps = [TraceStep("buffer", rule, pooled + shared, pooled + after_buffer)]

    if channel.share_percent is None:
        rule = "no share: all of the shared remainder"
    else:
        rule = f"share {channel.share_percent}% of {after_buffer}, rounded down"
    steps.append(TraceStep("share", rule, pooled + after_buffer, pooled + numbers.shared_part))

    total = pooled + numbers.shared_part
    rule = "no cap" if channel.cap is None else f"cap {channel.cap}"
    steps.append(TraceStep("cap", rule, total, numbers.capped))
    steps.append(TraceStep("publish", "floor at 0, whole units", numbers.capped, numbers.available))
    return steps


# --------------------------------------------------------------------------- SKUs


def compute_availability(
    sku: str,
    attributes: Mapping[str, str],
    stock: Sequence[LocationStock],
    safety: Mapping[str, int],
    channels: Sequence[ChannelPolicy],
    pools: Sequence[Pool] = (),
    *,
    explain: bool = True,
) -> dict[str, ChannelAvailability]:
    """The number each channel is told for one SKU, with its trace.

    `pools` must name only channels in `channels`: computing without a pool's channel would let
    the others see its ring-fenced units. With ``explain=False`` the trace is empty and nothing
    else changes: the numbers come from the same steps, the trace only describes them.
    """
    _check_channels(channels)
    state = _prepare(sku, attributes, stock, safety, channels, pools)
    result: dict[str, ChannelAvailability] = {}
    for channel in channels:
        pooled, shared = _pooled_and_shared(state, channel.code)
        numbers = _five_to_seven(channel, pooled, shared)
        trace: tuple[TraceStep, ...] = ()
        if explain:
            trace = (
                *_trace_one_to_four(state, channel, pooled, shared),
                *_trace_five_to_seven(channel, pooled, shared, numbers, what="shared part"),
            )
        result[channel.code] = ChannelAvailability(
            channel.code, sku, numbers.available, pooled, shared, trace
        )
    return result


# --------------------------------------------------------------------------- bundles


def _usable_for_bundle(
    state: _SkuState, channel: str, feeding: Sequence[str], bundle_excluded: str | None
) -> dict[str, int]:
    """Location -> units of one component a channel's bundles may use: 0 where excluded."""
    if bundle_excluded:
        return dict.fromkeys(feeding, 0)
    exclusions = state.exclusions[channel]
    own = state.taken[channel]
    remaining = state.remaining
    return {loc: 0 if exclusions[loc] else remaining[loc] + own.get(loc, 0) for loc in feeding}


def _bundle_units(
    components: Mapping[str, int],
    usable: Mapping[str, Mapping[str, int]],
    feeding: Sequence[str],
) -> tuple[int, dict[str, int]]:
    """(units apart, bundle units per location): together, the bundle is their sum."""
    apart = min(sum(usable[component].values()) // qty for component, qty in components.items())
    here = {
        loc: min(usable[component][loc] // qty for component, qty in components.items())
        for loc in feeding
    }
    return apart, here


def _trace_bundle(
    channel: ChannelPolicy,
    components: Mapping[str, int],
    states: Mapping[str, _SkuState],
    usable: Mapping[str, Mapping[str, int]],
    feeding: Sequence[str],
    bundle_excluded: str | None,
    apart: int,
    here: Mapping[str, int],
    units: int,
    ship_together: bool,
) -> list[TraceStep]:
    steps: list[TraceStep] = []
    for component, state in states.items():
        rows = []
        for loc in feeding:
            why = bundle_excluded or state.exclusions[channel.code][loc]
            if why:
                rows.append(LocationTrace(loc, state.physical[loc], 0, why))
                continue
            rule = f"safety stock {state.safety[loc]}" if state.safety[loc] else "sellable"
            held = state.sellable[loc] - usable[component][loc]
            if held:
                rule += f"; {held} ring-fenced for other channels"
            rows.append(LocationTrace(loc, state.physical[loc], usable[component][loc], rule))
        steps.append(
            TraceStep(
                f"component {component}",
                f"{components[component]} per bundle; physical -> sellable for "
                f"{channel.code} after safety stock, exclusions and pools",
                sum(r.input for r in rows),
                sum(r.output for r in rows),
                tuple(rows),
            )
        )
    rows = []
    for loc in feeding:
        parts = ", ".join(
            f"{component} {usable[component][loc]}//{components[component]}"
            for component in sorted(components)
        )
        rows.append(LocationTrace(loc, here[loc], here[loc], f"min({parts}) = {here[loc]}"))
    if ship_together:
        rule = "ship together: sum over locations of min over components of floor(units/qty)"
    else:
        rule = "ship apart: min over components of floor(units at all locations / qty)"
    steps.append(TraceStep("bundle", rule, apart, units, tuple(rows)))
    return steps


def compute_bundle_availability(
    bundle: str,
    attributes: Mapping[str, str],
    components: Mapping[str, int],
    component_stock: Mapping[str, Sequence[LocationStock]],
    component_safety: Mapping[str, Mapping[str, int]],
    ship_together: bool,
    channels: Sequence[ChannelPolicy],
    component_pools: Mapping[str, Sequence[Pool]] | None = None,
    component_attributes: Mapping[str, Mapping[str, str]] | None = None,
    *,
    explain: bool = True,
) -> dict[str, ChannelAvailability]:
    """The number each channel is told for a bundle (set product), derived from its components.

    A component's units ring-fenced for another channel are invisible to the bundle; its units
    ring-fenced for this channel count. The bundle has no pool of its own. With
    ``explain=False`` the trace is empty and nothing else changes.
    """
    _check_channels(channels)
    if not components:
        raise InvalidInput(f"bundle {bundle} has no components", field="components")
    for component, qty in components.items():
        validate_non_negative(qty, field_name=f"components[{component}]")
        if qty == 0:
            raise InvalidInput(
                f"components[{component}] must be at least 1", field=f"components[{component}]"
            )
        if component not in component_stock:
            raise InvalidInput(f"no stock given for component {component}", field="component_stock")
    pools_of = component_pools or {}
    attributes_of = component_attributes or {}
    states = {
        component: _prepare(
            component,
            attributes_of.get(component, {}),
            component_stock[component],
            component_safety.get(component, {}),
            channels,
            pools_of.get(component, ()),
        )
        for component in sorted(components)
    }

    result: dict[str, ChannelAvailability] = {}
    for channel in channels:
        bundle_excluded = channel.exclusion_of(bundle, attributes)
        feeding = sorted(channel.feeding_locations)
        usable = {
            component: _usable_for_bundle(state, channel.code, feeding, bundle_excluded)
            for component, state in states.items()
        }
        apart, here = _bundle_units(components, usable, feeding)
        units = sum(here.values()) if ship_together else apart
        numbers = _five_to_seven(channel, 0, units)
        trace: tuple[TraceStep, ...] = ()
        if explain:
            trace = (
                *_trace_bundle(
                    channel,
                    components,
                    states,
                    usable,
                    feeding,
                    bundle_excluded,
                    apart,
                    here,
                    units,
                    ship_together,
                ),
                *_trace_five_to_seven(channel, 0, units, numbers, what="bundle"),
            )
        result[channel.code] = ChannelAvailability(
            channel.code, bundle, numbers.available, 0, units, trace
        )
    return result
