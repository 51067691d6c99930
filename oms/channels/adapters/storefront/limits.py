"""The storefront's published limits (contract 3.2), as the sync's limiter needs them.

Admin GraphQL is one leaky bucket per app and shop, priced in query-cost points: every call
takes its requested cost from the one `graphql` operation. The restore rate is the plan's
(Standard 100 points/s, Advanced 200, Plus 1000, Enterprise 2000 [V]); the bucket size [U]
(2000 in the contract's example) and the single-query maximum [U] (1000) are configurable.
"""

from __future__ import annotations

from oms.channels.adapters.storefront.transport import OPERATION
from oms.channels.sync.domain.model import ChannelLimits, RateLimit

MAX_QUANTITIES_PER_CALL = 250  # array arguments [V]
PLAN_RESTORE_RATES = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}


def storefront_limits(
    restore_rate: float = PLAN_RESTORE_RATES["standard"],
    bucket_size: int = 2000,
    max_query_cost: int = 1000,
) -> ChannelLimits:
    return ChannelLimits(
        limits=[RateLimit(OPERATION, per_second=restore_rate, burst=bucket_size)],
        max_push_batch=MAX_QUANTITIES_PER_CALL,
        extra={"max_query_cost": float(max_query_cost)},
    )


STOREFRONT_LIMITS = storefront_limits()
