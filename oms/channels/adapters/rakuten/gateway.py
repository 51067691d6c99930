"""`RakutenGateway`: the ChannelGateway for one Rakuten Ichiba shop over RMS Web Service.

The published limits are `RAKUTEN_LIMITS`; the Order API's are unverified [U] (secondary sources
say 1 request a second per function), so `RakutenSettings.limits` can replace them, as every
other unverified fact of the contract (throttling status, error codes, windows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from oms.channels.adapters.rakuten.auth import EsaCredentials
from oms.channels.adapters.rakuten.client import CHANNEL, ErrorReading, RmsClient
from oms.channels.adapters.rakuten.inventory import (
    BULK_GET,
    BULK_UPSERT,
    MAX_BULK_GET,
    MAX_BULK_UPSERT,
    InventoryClient,
)
from oms.channels.adapters.rakuten.orders import GET_ORDER, SEARCH_ORDER, OrderPulling, OrderReader
from oms.channels.adapters.rakuten.shipping import UPDATE_ORDER_SHIPPING, ShipmentClient
from oms.channels.sync.domain.connections import RakutenConnection
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import (
    ChannelKind,
    ChannelLimits,
    ListingRef,
    OrderPull,
    PushOutcome,
    QuantityUpdate,
    RateLimit,
    RemoteQuantity,
    ShipmentConfirmation,
)
from oms.channels.sync.ports import RateLimiter

RAKUTEN_LIMITS = ChannelLimits(
    limits=(
        RateLimit(BULK_UPSERT, per_second=1.0, burst=1),  # [V2] 1 req/s
        RateLimit(BULK_GET, per_second=5.0, burst=5),  # [V2] 5 req/s
        RateLimit(SEARCH_ORDER, per_second=1.0, burst=1),  # [U]
        RateLimit(GET_ORDER, per_second=1.0, burst=1),  # [U]
        RateLimit(UPDATE_ORDER_SHIPPING, per_second=1.0, burst=1),  # [U]
    ),
    max_push_batch=MAX_BULK_UPSERT,
    extra={"bulk_get_batch": float(MAX_BULK_GET), "get_order_batch": 100.0},
)


@dataclass(frozen=True, slots=True)
class RakutenSettings:
    limits: ChannelLimits = RAKUTEN_LIMITS
    errors: ErrorReading = field(default_factory=ErrorReading)
    orders: OrderPulling = field(default_factory=OrderPulling)
    timeout_seconds: float = 30.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _answers_as_documented(doing: str) -> Iterator[None]:
    """An answer shaped otherwise than the contract says (a field missing, a wrong type) is the
    channel's fault, raised as ChannelRejected for a person to see, never as a KeyError."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ChannelRejected(
            CHANNEL, f"{doing}: an answer the contract does not describe ({type(exc).__name__})"
        ) from None


class RakutenGateway:
    def __init__(
        self,
        connection: RakutenConnection,
        limiter: RateLimiter,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = _utc_now,
        settings: RakutenSettings | None = None,
    ) -> None:
        self._settings = settings or RakutenSettings()
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=self._settings.timeout_seconds)
        client = RmsClient(
            connection.endpoint,
            EsaCredentials(connection.service_secret, connection.license_key),
            limiter,
            self._http,
            self._settings.errors,
            clock,
        )
        self._orders = OrderReader(client, self._settings.orders)
        self._inventory = InventoryClient(client)
        self._shipments = ShipmentClient(client, self._orders, dict(connection.carrier_codes))

    @property
    def kind(self) -> ChannelKind:
        return ChannelKind.RAKUTEN

    @property
    def limits(self) -> ChannelLimits:
        return self._settings.limits

    def pull_orders(self, cursor: str | None, now: datetime) -> OrderPull:
        with _answers_as_documented("pulling orders"):
            return self._orders.pull(cursor, now)

    def push_quantities(self, updates: Sequence[QuantityUpdate]) -> list[PushOutcome]:
        with _answers_as_documented("pushing quantities"):
            return self._inventory.push(updates)

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        with _answers_as_documented("confirming a shipment"):
            self._shipments.confirm(confirmation)

    def remote_quantities(self, listings: Sequence[ListingRef]) -> list[RemoteQuantity]:
        with _answers_as_documented("reading quantities"):
            return self._inventory.read(listings)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __repr__(self) -> str:  # the connection's repr would show its secrets
        return "RakutenGateway()"
