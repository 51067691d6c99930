"""`python -m bench.sync_worker`: `oms worker` (the same `run_worker`) for a storefront on the
Enterprise plan (2,000 cost points a second instead of the Standard plan's 100).

The latency benchmark lifts the channels' limits to measure the sync machinery rather than a
plan: the emulators' limits are lifted on their control endpoints, and oms's own limiter,
which keeps the published limits of the plan, gets the largest plan's. Rakuten's and Amazon's
limits stay as published (no channel sells a larger plan).
"""

from __future__ import annotations

from oms.channels.adapters import registry
from oms.channels.adapters.storefront.limits import PLAN_RESTORE_RATES, storefront_limits
from oms.channels.sync.domain.model import ChannelKind
from oms.log import configure_logging
from oms.settings import Settings
from oms.worker import run_worker

PLAN = "enterprise"


def main() -> None:
    registry.LIMITS[ChannelKind.STOREFRONT] = storefront_limits(PLAN_RESTORE_RATES[PLAN])
    settings = Settings()
    configure_logging(settings.log_level)
    run_worker(settings)


if __name__ == "__main__":
    main()
