"""The shared rate limiter never lets more calls through than the channel's bucket allows."""

from __future__ import annotations

import pytest

from oms.channels.adapters.registry import Gateways
from oms.channels.sync.adapters.rate_limits import SharedRateLimiter, window_of
from oms.channels.sync.domain.model import ChannelKind, ChannelLimits, RateLimit


def test_a_window_holds_the_burst_over_the_time_the_bucket_takes_to_refill() -> None:
    window = window_of(RateLimit("patchListingsItem", per_second=5, burst=10))
    assert (window.amount, window.get_expiry()) == (10, 2)
    slow = window_of(RateLimit("getOrders", per_second=0.0167, burst=20))
    assert (slow.amount, slow.get_expiry()) == (20, 1198)


class _Waited(Exception):
    pass


def test_calls_past_the_burst_wait_for_the_window() -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        raise _Waited  # stop at the first wait: the test only asks whether it would wait

    limits = ChannelLimits([RateLimit("op", per_second=3, burst=3)], max_push_batch=1)
    limiter = SharedRateLimiter("acct-burst", limits, sleep=sleep)
    for _ in range(3):
        limiter.acquire("op")
    assert slept == []
    with pytest.raises(_Waited):
        limiter.acquire("op")
    assert 0 < slept[0] <= 1.0


def test_processes_sharing_a_storage_share_the_window() -> None:
    limits = ChannelLimits([RateLimit("op", per_second=2, burst=2)], max_push_batch=1)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        raise _Waited

    first = SharedRateLimiter("acct-shared", limits, "memory://", sleep=sleep)
    first.acquire("op")
    first.acquire("op")
    # Another limiter over another storage is not held back: windows are per storage.
    SharedRateLimiter("acct-shared", limits, "memory://", sleep=sleep).acquire("op")
    with pytest.raises(_Waited):
        first.acquire("op")


def test_an_operation_without_a_limit_is_refused() -> None:
    limiter = SharedRateLimiter("acct", ChannelLimits([], max_push_batch=1))
    with pytest.raises(ValueError, match="no rate limit"):
        limiter.acquire("unknown")


def test_the_calls_used_in_each_window_are_what_the_status_shows() -> None:
    gateways = Gateways("memory://")
    limiter = gateways.limiter("rakuten-shop", ChannelKind.RAKUTEN)
    limiter.acquire("inventories.bulk.get")
    limiter.acquire("inventories.bulk.get")

    used = {
        u.operation: (u.used, u.allowed)
        for u in gateways.usage("rakuten-shop", ChannelKind.RAKUTEN)
    }

    assert used["inventories.bulk.get"] == (2, 5)
    assert used["inventories.bulk.upsert"] == (0, 1)
