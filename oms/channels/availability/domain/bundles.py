"""Bundles (set products) through the availability pipeline: derived from their components."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from oms.channels.availability.domain.allocation import (
    SkuState,
    check_channels,
    five_to_seven,
    prepare,
)
from oms.channels.availability.domain.explain import TraceStep, trace_bundle, trace_five_to_seven
from oms.channels.availability.domain.pipeline import ChannelAvailability
from oms.channels.availability.domain.policy import (
    ChannelPolicy,
    LocationStock,
    Pool,
    validate_non_negative,
)
from oms.shared.errors import InvalidInput


def _usable_for_bundle(
    state: SkuState, channel: str, feeding: Sequence[str], bundle_excluded: str | None
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
    check_channels(channels)
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
        component: prepare(
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
        numbers = five_to_seven(channel, 0, units)
        trace: tuple[TraceStep, ...] = ()
        if explain:
            trace = (
                *trace_bundle(
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
                *trace_five_to_seven(channel, 0, units, numbers, what="bundle"),
            )
        result[channel.code] = ChannelAvailability(
            channel.code, bundle, numbers.available, 0, units, trace
        )
    return result
