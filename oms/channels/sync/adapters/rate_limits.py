"""The rate limiter every adapter waits on, shared by every process through `limits`' storage.

A channel's published limit is a token bucket (`rate` per second up to `burst`). `limits` has no
token bucket; its moving window of `burst` calls per `burst / rate` seconds (rounded up to whole
seconds) is never looser than the bucket: in any window of that length the bucket allows up to
2 x burst, the window `burst`. Over time both allow `rate` a second, so a backlog still uses the
whole limit while no call is ever throttled. With `redis://...` the windows are shared by every
worker process talking to the same account; `memory://` keeps them in this process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from oms.channels.sync.domain.model import ChannelLimits, RateLimit

MAX_SLEEP_SECONDS = 1.0  # re-check at least this often: another process may have freed a slot


def window_of(limit: RateLimit) -> RateLimitItem:
    """`burst` calls per ceil(burst / per_second) seconds."""
    if limit.per_second <= 0 or limit.burst < 1:
        raise ValueError(f"{limit.operation}: a rate limit needs a positive rate and burst")
    seconds = max(1, math.ceil(limit.burst / limit.per_second))
    return RateLimitItemPerSecond(limit.burst, seconds, namespace="oms-channel")


class SharedRateLimiter:
    """`acquire(operation)` blocks until the channel account may make that call."""

    def __init__(
        self,
        account: str,
        limits: ChannelLimits,
        storage_uri: str = "memory://",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._account = account
        self._windows = {limit.operation: window_of(limit) for limit in limits.limits}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._sleep = sleep

    def acquire(self, operation: str, cost: int = 1) -> None:
        try:
            window = self._windows[operation]
        except KeyError:
            raise ValueError(f"no rate limit is configured for {operation!r}") from None
        if cost > window.amount:
            raise ValueError(f"{operation}: a call of cost {cost} can never fit {window.amount}")
        while not self._limiter.hit(window, self._account, operation, cost=cost):
            stats = self._limiter.get_window_stats(window, self._account, operation)
            self._sleep(min(max(stats.reset_time - time.time(), 0.01), MAX_SLEEP_SECONDS))

    def usage(self) -> list[tuple[str, int, int, int]]:
        """(operation, calls in the current window, calls the window allows, its seconds)."""
        rows = []
        for operation, window in sorted(self._windows.items()):
            stats = self._limiter.get_window_stats(window, self._account, operation)
            used = window.amount - stats.remaining
            rows.append((operation, used, window.amount, window.get_expiry()))
        return rows
