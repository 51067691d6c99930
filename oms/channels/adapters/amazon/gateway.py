"""The Amazon SP-API adapter: `AmazonGateway` implements the sync's `ChannelGateway`.

Composed of one part per concern (auth.py, orders.py, inventory.py, shipping.py) over one
`SpApi` (http.py) that paces every call through the shared `RateLimiter` and maps every failure
to the sync's errors. Base URLs come from the connection, so it talks to the real API, a sandbox
or `oms emulate amazon` alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from oms.channels.adapters.amazon.auth import LoginWithAmazon, RestrictedTokens
from oms.channels.adapters.amazon.http import SpApi, install_redaction
from oms.channels.adapters.amazon.inventory import Inventory
from oms.channels.adapters.amazon.orders import OrderPuller
from oms.channels.adapters.amazon.settings import AMAZON_LIMITS, AmazonSettings
from oms.channels.adapters.amazon.shipping import Shipping
from oms.channels.sync.domain.connections import AmazonConnection
from oms.channels.sync.domain.model import (
    ChannelKind,
    ChannelLimits,
    ListingRef,
    OrderPull,
    PushOutcome,
    QuantityUpdate,
    RemoteQuantity,
    ShipmentConfirmation,
)
from oms.channels.sync.ports import RateLimiter


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AmazonGateway:
    def __init__(
        self,
        connection: AmazonConnection,
        limiter: RateLimiter,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
        settings: AmazonSettings | None = None,
        limits: ChannelLimits = AMAZON_LIMITS,
    ) -> None:
        if connection.orders_api not in ("v0", "2026-01-01"):
            raise ValueError(
                f"orders_api must be 'v0' or '2026-01-01', not {connection.orders_api!r}"
            )
        install_redaction()
        self._settings = settings or AmazonSettings()
        self._limits = limits
        self._client = client or httpx.Client(timeout=timeout, transport=transport)
        lwa = LoginWithAmazon(
            connection,
            self._client,
            limiter,
            clock,
            self._settings.token_margin,
            self._settings.user_agent,
        )
        api = SpApi(connection.endpoint, self._client, limiter, lwa, self._settings.user_agent)
        rdt = RestrictedTokens(api, clock, self._settings.token_margin)
        self._orders = OrderPuller(api, rdt, connection, self._settings)
        self._inventory = Inventory(api, connection, self._settings, limits, clock, sleep)
        self._shipping = Shipping(api, connection, self._settings)

    @property
    def kind(self) -> ChannelKind:
        return ChannelKind.AMAZON

    @property
    def limits(self) -> ChannelLimits:
        return self._limits

    def pull_orders(self, cursor: str | None, now: datetime) -> OrderPull:
        return self._orders.pull(cursor, now)

    def push_quantities(self, updates: Sequence[QuantityUpdate]) -> list[PushOutcome]:
        return self._inventory.push(updates)

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        self._shipping.confirm(confirmation)

    def remote_quantities(self, listings: Sequence[ListingRef]) -> list[RemoteQuantity]:
        return self._inventory.remote_quantities(listings)

    def close(self) -> None:
        self._client.close()
