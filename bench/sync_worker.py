"""`python -m bench.sync_worker`: `oms worker` (the same `run_worker`) with the storefront's
rate limit lifted in oms's own limiter too.

The latency benchmark lifts the channels' limits to measure the sync machinery rather than a
plan: the emulators' limits are lifted on their control endpoints, and oms's own limiter,
which otherwise keeps the published limits of a plan (even the Enterprise plan's 2,000 cost
points a second is ~530 quantities a second, which 500 changes a second would queue behind),
lets every call through. The drains measure the real limits.
"""

from __future__ import annotations

from oms.channels.adapters import registry
from oms.channels.adapters.storefront.limits import STOREFRONT_LIMITS
from oms.channels.sync.domain.model import ChannelKind, ChannelLimits, RateLimit
from oms.log import configure_logging
from oms.settings import Settings
from oms.worker import run_worker

LIFTED = 1_000_000.0


def main() -> None:
    registry.LIMITS[ChannelKind.STOREFRONT] = ChannelLimits(
        limits=[RateLimit(x.operation, LIFTED, int(LIFTED)) for x in STOREFRONT_LIMITS.limits],
        max_push_batch=STOREFRONT_LIMITS.max_push_batch,
        extra=dict(STOREFRONT_LIMITS.extra),
    )
    settings = Settings()
    configure_logging(settings.log_level)
    run_worker(settings)


if __name__ == "__main__":
    main()
