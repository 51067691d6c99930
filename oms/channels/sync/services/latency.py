"""The measured push latency of each channel feeds its latency buffer (ceil(velocity x
latency), see oms.channels.availability.services.read_path): the slower a channel hears of a
sale, the more it must hold back.

Each push pass reports its p95 (change -> accepted by the channel). The channel's setting is
moved to a smoothed value only when that differs from it by a quarter or more, and at most once
per `every`: changing it republishes every number of the channel, which must stay rare.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from oms.channels.availability.services.channels import ChannelService, UpdateChannel
from oms.shared.errors import DomainError

SMOOTHING = 0.3  # weight of the newest pass in the moving average
SIGNIFICANT = 0.25  # relative change that is worth republishing the channel's numbers
EVERY_SECONDS = 600.0
FLOOR_SECONDS = 1.0


class LatencyFeed:
    def __init__(
        self,
        channels: ChannelService,
        *,
        every_seconds: float = EVERY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._channels = channels
        self._every = every_seconds
        self._monotonic = monotonic
        self._average: dict[str, float] = {}
        self._applied_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def measured(self, channel: str, seconds: float) -> None:
        now = self._monotonic()
        with self._lock:
            previous = self._average.get(channel)
            average = (
                seconds if previous is None else (1 - SMOOTHING) * previous + SMOOTHING * seconds
            )
            self._average[channel] = average
            last = self._applied_at.get(channel)
            if last is not None and now - last < self._every:
                return
            self._applied_at[channel] = now
        try:
            current = self._channels.get_channel(channel).push_latency_seconds
            wanted = round(max(FLOOR_SECONDS, average), 1)
            if abs(wanted - current) >= SIGNIFICANT * max(current, FLOOR_SECONDS):
                self._channels.update_channel(UpdateChannel(channel, push_latency_seconds=wanted))
        except DomainError:
            pass  # the channel went away meanwhile: nothing to feed
