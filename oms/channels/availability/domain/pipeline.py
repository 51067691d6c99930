"""One SKU through the availability pipeline: the number each channel is told, and its trace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oms.channels.availability.domain.allocation import (
    check_channels,
    five_to_seven,
    pooled_and_shared,
    prepare,
    ring_fenced,
)
from oms.channels.availability.domain.explain import (
    TraceStep,
    trace_five_to_seven,
    trace_one_to_four,
)
from oms.channels.availability.domain.policy import ChannelPolicy, LocationStock, Pool

PIPELINE_VERSION = 1


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
    check_channels(channels)
    state = prepare(sku, attributes, stock, safety, channels, pools)
    result: dict[str, ChannelAvailability] = {}
    for channel in channels:
        pooled, shared = pooled_and_shared(state, channel.code)
        numbers = five_to_seven(channel, pooled, shared)
        trace: tuple[TraceStep, ...] = ()
        if explain:
            trace = (
                *trace_one_to_four(state, channel, pooled, shared),
                *trace_five_to_seven(channel, pooled, shared, numbers, what="shared part"),
            )
        result[channel.code] = ChannelAvailability(
            channel.code, sku, numbers.available, pooled, shared, trace
        )
    return result


def ring_fenced_units(
    sku: str,
    attributes: Mapping[str, str],
    stock: Sequence[LocationStock],
    safety: Mapping[str, int],
    channels: Sequence[ChannelPolicy],
    pools: Sequence[Pool],
    channel: str | None,
) -> dict[str, int]:
    """Per location, the units of `sku` that `channel` may not take because other channels'
    pools hold them: steps 1-4 exactly as `compute_availability` runs them, so what a channel
    may reserve and what the others are told come from one allocation."""
    check_channels(channels)
    return ring_fenced(prepare(sku, attributes, stock, safety, channels, pools), channel)
