"""The child of bench.sync_memory: a full push of one channel, as the worker runs it, with
oms's own limiter lifted (the emulator's are lifted by the parent). Prints one JSON line."""

from __future__ import annotations

import json
import sys
import time

from oms.bootstrap import bootstrap
from oms.channels.adapters import registry
from oms.channels.adapters.rakuten.gateway import RAKUTEN_LIMITS
from oms.channels.sync.domain.model import ChannelKind, ChannelLimits, RateLimit


def main() -> None:
    channel = sys.argv[1]
    registry.LIMITS[ChannelKind.RAKUTEN] = ChannelLimits(
        limits=[RateLimit(x.operation, 10_000.0, 10_000) for x in RAKUTEN_LIMITS.limits],
        max_push_batch=RAKUTEN_LIMITS.max_push_batch,
        extra=dict(RAKUTEN_LIMITS.extra),
    )
    services = bootstrap(pool_size=2)
    started = time.monotonic()
    try:
        report = services.sync.push.push_full(channel)
    finally:
        services.close()
    print(
        json.dumps(
            {
                "accepted": report.accepted,
                "calls": report.calls,
                "rejected": report.rejected,
                "seconds": round(time.monotonic() - started, 2),
                "skipped": report.skipped,
            }
        )
    )


if __name__ == "__main__":
    main()
