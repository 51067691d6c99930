"""Amazon's published limits, and the adapter's settings (every fact the contract leaves open).

The usage plans are Amazon's defaults from its models (2026-08): real accounts may get more,
never less. Operations that have no published plan (the LWA token endpoint, the presigned S3
document URLs) get a generous one, so the limiter still paces them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from oms.channels.sync.domain.model import ChannelLimits, RateLimit

FEED_MAX_MESSAGES = 25_000  # a JSON_LISTINGS_FEED holds at most 25,000 messages [V]

AMAZON_LIMITS = ChannelLimits(
    limits=(
        RateLimit("lwaToken", 1.0, 10),  # no published plan [U]
        RateLimit("createRestrictedDataToken", 1.0, 10),
        RateLimit("getOrders", 0.0167, 20),
        RateLimit("getOrderItems", 0.5, 30),
        RateLimit("searchOrders", 0.0056, 20),
        RateLimit("confirmShipment", 2.0, 10),
        RateLimit("patchListingsItem", 5.0, 5),
        RateLimit("getListingsItem", 5.0, 10),
        RateLimit("searchListingsItems", 5.0, 5),
        RateLimit("createFeedDocument", 0.5, 15),
        RateLimit("feedDocumentUpload", 10.0, 10),  # S3, no SP-API plan
        RateLimit("createFeed", 0.0083, 15),
        # JSON_LISTINGS_FEED's own limit, beside createFeed's: 5 feeds per 5 minutes [V].
        RateLimit("createFeed:JSON_LISTINGS_FEED", 5 / 300, 5),
        RateLimit("getFeed", 2.0, 15),
        RateLimit("getFeedDocument", 0.0222, 10),
        RateLimit("feedDocumentDownload", 10.0, 10),  # S3, no SP-API plan
    ),
    max_push_batch=10_000,
    extra={"feed_max_messages": FEED_MAX_MESSAGES},
)


@dataclass(frozen=True, slots=True)
class AmazonSettings:
    # Orders: `LastUpdatedBefore` at least 2 minutes before now [V], plus a margin for the
    # difference between our clock and Amazon's.
    orders_lag: timedelta = timedelta(minutes=2)
    clock_margin: timedelta = timedelta(seconds=5)
    # Where the first pull (no cursor) starts.
    first_pull_lookback: timedelta = timedelta(days=14)
    orders_page_size: int = 100
    # v0: ask a Restricted Data Token for the buyer's address (needs the PII role). Without it,
    # an order carries only its city, prefecture and postal code.
    restricted_data: bool = True
    # Refresh the LWA token this long before Amazon says it expires.
    token_margin: timedelta = timedelta(seconds=60)
    # The product type every patch must name [U: a wrong one is refused]; None reads each
    # listing's own (searchListingsItems includedData=productTypes, 20 SKUs a call) once and
    # remembers it.
    product_type: str | None = None
    fulfillment_channel_code: str = "DEFAULT"  # the seller's own stock (FBM) [U]
    # Push by feed when patching at patchListingsItem's rate would take longer than a feed's
    # expected turnaround (submission to processing report) [U: minutes, measured when online].
    feed_turnaround: timedelta = timedelta(minutes=3)
    feed_threshold: int | None = None  # a fixed number of SKUs instead of the estimate
    feed_poll_first: timedelta = timedelta(seconds=1)  # then doubling up to the interval
    feed_poll_interval: timedelta = timedelta(seconds=15)
    # Past this, the push is ChannelUnavailable (pushed again later; the feed may still land).
    # The worker running the push must be allowed longer than this (Dramatiq's time limit).
    feed_max_wait: timedelta = timedelta(minutes=20)
    # Processing-report issue codes that are passing failures: the SKU is pushed again [U].
    retryable_issue_codes: frozenset[str] = frozenset({"InternalFailure", "InternalError"})
    # confirmShipment's answer for a package already confirmed [U]: a 400 whose message
    # matches this is success.
    already_confirmed: str = r"(?i)already (been )?confirmed|duplicate package"
    user_agent: str = "oms/0.1 (Language=Python; Platform=Linux)"

    def feed_from(self, limits: ChannelLimits) -> int:
        """How many SKUs make a feed faster than patching them one by one."""
        if self.feed_threshold is not None:
            return self.feed_threshold
        rate = limits.of("patchListingsItem").per_second
        return max(1, math.ceil(self.feed_turnaround.total_seconds() * rate))
