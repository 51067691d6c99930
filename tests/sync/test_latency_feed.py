"""The measured push latency feeds the channel's latency buffer: moved when it differs by a
quarter or more, at most once per period (each move republishes the channel's numbers)."""

from __future__ import annotations

from sqlalchemy import Engine

from oms.channels.sync.services.latency import LatencyFeed
from tests.order_builders import CHANNEL, Shop


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_measured_latency_moves_the_channel_setting_rarely_and_only_when_it_matters(
    engine: Engine,
) -> None:
    shop = Shop(engine).build()
    ticks = Ticks()
    feed = LatencyFeed(shop.channels, every_seconds=600, monotonic=ticks)
    configured = shop.channels.get_channel(CHANNEL).push_latency_seconds

    feed.measured(CHANNEL, 2.0)
    assert configured != 2.0
    assert shop.channels.get_channel(CHANNEL).push_latency_seconds == 2.0

    ticks.now += 60
    feed.measured(CHANNEL, 40.0)  # within the period: remembered, not applied
    assert shop.channels.get_channel(CHANNEL).push_latency_seconds == 2.0

    ticks.now += 600
    feed.measured(CHANNEL, 40.0)  # smoothed: 0.7 x (0.7 x 2 + 0.3 x 40) + 0.3 x 40
    assert shop.channels.get_channel(CHANNEL).push_latency_seconds == 21.4

    ticks.now += 600
    feed.measured(CHANNEL, 21.0)  # smoothed 21.28: within a quarter of 21.4, left alone
    assert shop.channels.get_channel(CHANNEL).push_latency_seconds == 21.4


def test_a_channel_gone_meanwhile_is_not_an_error(engine: Engine) -> None:
    shop = Shop(engine).build()
    LatencyFeed(shop.channels).measured("no-such-channel", 3.0)
