"""Which adapter speaks to which kind of channel, with a rate limiter per channel account.

The limiter's windows live in Redis when the settings name one, so every worker process that
talks to the same account shares them; in memory otherwise (the embedded mode: one process).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from oms.channels.adapters.amazon.gateway import AmazonGateway
from oms.channels.adapters.amazon.settings import AMAZON_LIMITS
from oms.channels.adapters.rakuten.gateway import RAKUTEN_LIMITS, RakutenGateway
from oms.channels.adapters.storefront.auth import WebhookRefused as StorefrontRefused
from oms.channels.adapters.storefront.gateway import StorefrontGateway
from oms.channels.adapters.storefront.limits import STOREFRONT_LIMITS
from oms.channels.sync.adapters.rate_limits import SharedRateLimiter
from oms.channels.sync.domain.connections import (
    AmazonConnection,
    Connection,
    RakutenConnection,
    StorefrontConnection,
)
from oms.channels.sync.domain.errors import WebhookRefused
from oms.channels.sync.domain.model import ChannelKind, ChannelLimits
from oms.channels.sync.ports import ChannelGateway, ReceivedWebhook
from oms.channels.sync.services.status import CallUsage

LIMITS: dict[ChannelKind, ChannelLimits] = {
    ChannelKind.AMAZON: AMAZON_LIMITS,
    ChannelKind.RAKUTEN: RAKUTEN_LIMITS,
    ChannelKind.STOREFRONT: STOREFRONT_LIMITS,
}


class _Storefront(StorefrontGateway):
    """The storefront adapter, its webhook answered in the sync's own terms."""

    def receive_order_webhook(  # type: ignore[override]
        self, raw_body: bytes, headers: Mapping[str, str]
    ) -> ReceivedWebhook:
        try:
            delivery = super().receive_order_webhook(raw_body, headers)
        except StorefrontRefused as refused:
            raise WebhookRefused(str(refused), refused.status) from None
        return ReceivedWebhook(delivery.webhook_id, delivery.order)


class Gateways:
    """The `GatewayFactory` of the composition root, and the calls each account has used."""

    def __init__(
        self,
        storage_uri: str = "memory://",
        options: Mapping[ChannelKind, Mapping[str, Any]] | None = None,
    ) -> None:
        """`options`: keyword arguments for an adapter kind's constructor (its settings, a
        test's faster timings)."""
        self._storage_uri = storage_uri
        self._options = {kind: dict(given) for kind, given in (options or {}).items()}
        self._limiters: dict[str, SharedRateLimiter] = {}
        self._lock = threading.Lock()

    def limiter(self, channel: str, kind: ChannelKind) -> SharedRateLimiter:
        with self._lock:
            found = self._limiters.get(channel)
            if found is None:
                # The account is the channel code: two channels never share a budget.
                found = SharedRateLimiter(channel, LIMITS[kind], self._storage_uri)
                self._limiters[channel] = found
            return found

    def __call__(self, channel: str, connection: Connection) -> ChannelGateway:
        limiter = self.limiter(channel, connection.kind)
        options = self._options.get(connection.kind, {})
        if isinstance(connection, AmazonConnection):
            return AmazonGateway(connection, limiter, **options)
        if isinstance(connection, RakutenConnection):
            return RakutenGateway(connection, limiter, **options)
        if isinstance(connection, StorefrontConnection):
            return _Storefront(connection, limiter, **options)
        raise TypeError(f"no adapter for {type(connection).__name__}")

    def usage(self, channel: str, kind: ChannelKind) -> list[CallUsage]:
        """Calls of each operation in its current window. With Redis the windows are shared,
        so any process (the API's too) reads what every worker used."""
        return [CallUsage(*row) for row in self.limiter(channel, kind).usage()]
