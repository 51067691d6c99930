"""The storefront as a ChannelGateway, plus its `orders/create` webhook receiver.

The constructor takes the connection, the shared rate limiter, and either an `httpx.Client`
(tests, pooled clients) or a timeout for one of its own; `clock` is oms's clock. Every failure
reaches the caller as one of the sync's errors; the access token and webhook secret live only in
the request header and the HMAC check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import httpx

from oms.channels.adapters.storefront.auth import (
    CHANNEL,
    AccessToken,
    ClientCredentials,
    TokenSource,
    verify_webhook,
)
from oms.channels.adapters.storefront.inventory import StorefrontInventory
from oms.channels.adapters.storefront.limits import STOREFRONT_LIMITS
from oms.channels.adapters.storefront.orders import (
    OrderWebhook,
    StorefrontOrders,
    parse_order_webhook,
    variants_of,
)
from oms.channels.adapters.storefront.shipping import DEFAULT_CARRIER_NAMES, StorefrontShipping
from oms.channels.adapters.storefront.transport import AdminGraphQL
from oms.channels.sync.domain.connections import StorefrontConnection
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import (
    Carrier,
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
from oms.shared.clock import utcnow

RESOLVE_VARIANTS = """
query Variants($ids: [ID!]!) {
  nodes(ids: $ids) { id ... on ProductVariant { inventoryItem { id } } }
}
"""


class StorefrontGateway:
    def __init__(
        self,
        connection: StorefrontConnection,
        limiter: RateLimiter,
        client: httpx.Client | None = None,
        *,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
        limits: ChannelLimits = STOREFRONT_LIMITS,
        carrier_names: Mapping[Carrier, str] = DEFAULT_CARRIER_NAMES,
        order_lookback: timedelta = timedelta(days=60),
        inventory_reason: str = "correction",
        notify_customer: bool = True,
        client_id: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`carrier_names`, `order_lookback` (the 60 days visible without read_all_orders),
        `inventory_reason` ([U] the reason list) and `limits` (bucket and maximum cost, [U])
        are the contract's facts an operator may need to change. With `client_id` (a Dev
        Dashboard app) tokens come from the client credentials grant, the client secret being
        the connection's `webhook_secret` (Shopify signs webhooks with it); `access_token` is
        then unused. `clock` is kept for the adapters' common constructor: this one reads time
        only as the `now` the sync passes, and waits on the monotonic clock."""
        self._connection, self._clock, self._limits = connection, clock, limits
        self._client = client or httpx.Client(timeout=timeout)
        self._owns_client = client is None
        token: TokenSource = (
            ClientCredentials.for_endpoint(
                connection.endpoint, client_id, connection.webhook_secret, self._client
            )
            if client_id
            else AccessToken(connection.access_token)
        )
        self._graphql = AdminGraphQL(connection.endpoint, token, limiter, self._client, sleep)
        self._orders = StorefrontOrders(self._graphql, order_lookback)
        self._inventory = StorefrontInventory(
            self._graphql, connection.location_id, inventory_reason
        )
        self._shipping = StorefrontShipping(self._graphql, carrier_names, notify_customer)

    def __repr__(self) -> str:
        return f"StorefrontGateway({self._connection.endpoint!r})"

    @property
    def kind(self) -> ChannelKind:
        return ChannelKind.STOREFRONT

    @property
    def limits(self) -> ChannelLimits:
        return self._limits

    def pull_orders(self, cursor: str | None, now: datetime) -> OrderPull:
        try:
            return self._orders.pull(cursor, now)
        except ValueError as error:  # a cursor this adapter did not write
            raise ChannelRejected(CHANNEL, str(error)) from None

    def push_quantities(self, updates: Sequence[QuantityUpdate]) -> list[PushOutcome]:
        if len(updates) > self._limits.max_push_batch:
            raise ValueError(f"at most {self._limits.max_push_batch} updates a call")
        return self._inventory.push(updates)

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        self._shipping.confirm(confirmation)

    def remote_quantities(self, listings: Sequence[ListingRef]) -> list[RemoteQuantity]:
        return self._inventory.remote_quantities(listings)

    def receive_order_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> OrderWebhook:
        """Verify an `orders/create` delivery and read its order, lines keyed by inventory
        item like a pulled order. Raises WebhookRefused (answer its `status`, change nothing)
        or a sync error while resolving the variants (answer 5xx: Shopify delivers again)."""
        verify_webhook(raw_body, headers, self._connection.webhook_secret)
        delivery = parse_order_webhook(raw_body, headers)
        variants = list(variants_of(delivery.order))
        data = self._graphql.call(
            "Variants", RESOLVE_VARIANTS, {"ids": variants}, estimate=1 + 2 * len(variants)
        )
        items: dict[str, str] = {}
        for node in data.get("nodes") or []:
            if isinstance(node, dict) and isinstance(node.get("inventoryItem"), dict):
                items[str(node.get("id"))] = str(node["inventoryItem"].get("id"))
        lines = [
            replace(line, remote_sku=items.get(line.remote_sku, line.remote_sku))
            for line in delivery.order.lines
        ]
        return replace(delivery, order=replace(delivery.order, lines=lines))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
