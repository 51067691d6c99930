"""The availability trace: the rule that applied at each step, its input and output, per location.

Written from numbers `oms.channels.availability.domain.allocation` already computed; it never
changes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oms.channels.availability.domain.allocation import Published, SkuState
from oms.channels.availability.domain.policy import ChannelPolicy

# --------------------------------------------------------------------------- trace


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


def trace_one_to_four(
    state: SkuState, channel: ChannelPolicy, pooled: int, shared: int
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


def trace_five_to_seven(
    channel: ChannelPolicy, pooled: int, shared: int, numbers: Published, *, what: str
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


def trace_bundle(
    channel: ChannelPolicy,
    components: Mapping[str, int],
    states: Mapping[str, SkuState],
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
