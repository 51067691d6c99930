"""What the sync needs from a channel and from the machinery around it.

`ChannelGateway` is the port every adapter implements (oms.channels.adapters.*), against the
real API or its emulator alike; tests/contract holds the one suite they all pass. `RateLimiter`
is how an adapter waits for its turn: one implementation shares the buckets through Redis
between every worker process (the `limits` library), another keeps them in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from oms.channels.availability.ports import ChannelUnitOfWork
from oms.channels.sync.domain.connections import Connection
from oms.channels.sync.domain.model import (
    ChannelKind,
    ChannelLimits,
    ListingRef,
    OrderPull,
    PushOutcome,
    QuantityUpdate,
    RemoteOrder,
    RemoteQuantity,
    ShipmentConfirmation,
)


class RateLimiter(Protocol):
    def acquire(self, operation: str, cost: int = 1) -> None:
        """Block until `operation` may be called (taking `cost` tokens), shared by every process
        that talks to the same channel account. Adapters call it before each HTTP call."""
        ...


class ChannelGateway(Protocol):
    """One channel account, spoken to in its own protocol. Every method may raise the errors of
    `oms.channels.sync.domain.errors` and nothing else."""

    @property
    def kind(self) -> ChannelKind: ...

    @property
    def limits(self) -> ChannelLimits: ...

    def pull_orders(self, cursor: str | None, now: datetime) -> OrderPull:
        """Orders created or changed since `cursor` (None: since the connection's start, as the
        adapter defines it), oldest change first, each whole (with its lines)."""
        ...

    def push_quantities(self, updates: Sequence[QuantityUpdate]) -> list[PushOutcome]:
        """Set each listing's sellable quantity; one outcome per update, in order. At most
        `limits.max_push_batch` updates a call. The adapter chooses the channel operation
        (Amazon: patchListingsItem per SKU, or a JSON_LISTINGS_FEED for many)."""
        ...

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        """Tell the channel a parcel left. Confirming the same package again changes nothing."""
        ...

    def remote_quantities(self, listings: Sequence[ListingRef]) -> list[RemoteQuantity]:
        """What the channel shows now for each listing (reconciliation), in order."""
        ...


# ---------------------------------------------------------------------------- storage


@dataclass(frozen=True, slots=True)
class StoredConnection:
    """A channel's connection as stored: `settings` the non-secret fields, `secrets` the
    encrypted token of the secret ones (see `SecretBox`)."""

    channel: str
    kind: ChannelKind
    settings: dict[str, object]
    secrets: str
    push: bool
    pull_orders: bool
    pull_interval_seconds: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Listing:
    """An oms SKU listed on a channel (`ListingRef` plus bookkeeping)."""

    channel: str
    ref: ListingRef
    created_at: datetime
    updated_at: datetime

    @property
    def sku(self) -> str:
        return self.ref.sku


@dataclass(frozen=True, slots=True)
class Told:
    """What a channel was last told for a SKU, and when."""

    sku: str
    quantity: int
    version: int
    told_at: datetime


@dataclass(slots=True)
class SyncState:
    """Where a channel's push and order pull stand."""

    channel: str
    push_cursor: str = "0"
    order_cursor: str | None = None
    last_push_at: datetime | None = None
    last_pull_at: datetime | None = None
    last_reconcile_at: datetime | None = None
    pushed: int = 0
    pulled: int = 0
    throttled: int = 0
    latency_p95_seconds: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class SyncFailure:
    id: int
    channel: str
    operation: str  # push | pull | confirm
    subject: str  # the SKU, the external order id, the shipment id
    message: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    payload: dict[str, Any] | None = None


class SyncStore(Protocol):
    """The sync's tables, in the caller's transaction."""

    # connections
    def connection(self, channel: str) -> StoredConnection | None: ...
    def save_connection(self, connection: StoredConnection) -> None: ...
    def channel_kind(self, channel: str) -> ChannelKind | None:
        """The kind of the channel, None when there is no such channel."""
        ...

    def connected_channels(self) -> list[StoredConnection]: ...

    # listings
    def listings(self, channel: str, skus: Sequence[str]) -> dict[str, ListingRef]:
        """The listings of these SKUs on the channel (unlisted SKUs are left out)."""
        ...

    def existing_skus(self, skus: Sequence[str]) -> set[str]:
        """Those of `skus` that are SKUs of the catalogue."""
        ...

    def lock_listings(self, channel: str) -> None:
        """Listing writers of the channel take turns, until the transaction ends."""
        ...

    def listing(self, channel: str, sku: str) -> Listing | None: ...
    def listing_page(self, channel: str, after_sku: str, limit: int) -> list[Listing]: ...
    def skus_for_remote(
        self, channel: str, remote: Sequence[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], str]:
        """(remote_id, remote_variant) -> oms SKU, for what is listed."""
        ...

    def save_listing(self, channel: str, ref: ListingRef, now: datetime) -> bool:
        """Insert or update; True when it was new."""
        ...

    def remove_listing(self, channel: str, sku: str) -> bool: ...
    def listed_count(self, channel: str) -> int: ...
    def untold_listings(self, channel: str, limit: int) -> list[str]:
        """Listed SKUs never told a number (new listings), without open push failures."""
        ...

    def forget_told(self, channel: str, sku: str) -> None: ...

    # what each channel was told
    def told(self, channel: str, skus: Sequence[str]) -> dict[str, Told]: ...
    def save_told(self, channel: str, told: Sequence[Told]) -> None:
        """Upsert, keeping the higher version when a row is already there."""
        ...

    # state
    def sync_state(self, channel: str, *, lock: bool = False) -> SyncState:
        """The channel's row; with `lock`, made when missing and locked (writers). A read of a
        channel never synced is the initial state and writes nothing."""
        ...

    def sync_states(self) -> dict[str, SyncState]: ...
    def save_sync_state(self, state: SyncState, now: datetime) -> None: ...
    def count_throttled(self, channel: str, calls: int) -> None: ...

    # failures
    def record_failure(
        self,
        channel: str,
        operation: str,
        subject: str,
        message: str,
        now: datetime,
        payload: dict[str, Any] | None = None,
    ) -> int:
        """An open failure for (channel, operation, subject) gets this message and one more
        attempt; otherwise a new one. Returns its id."""
        ...

    def resolve_failures(
        self, channel: str, operation: str, subjects: Sequence[str], now: datetime
    ) -> int: ...
    def open_failure_subjects(
        self, channel: str, operation: str, subjects: Sequence[str]
    ) -> set[str]: ...
    def failure(self, failure_id: int) -> SyncFailure | None: ...
    def failures(
        self, channel: str | None, open_only: bool, after_id: int, limit: int
    ) -> list[SyncFailure]: ...
    def open_failure_counts(self) -> dict[str, int]: ...

    # shipments confirmed
    def confirmed(self, shipment_id: int) -> bool: ...
    def mark_confirmed(self, shipment_id: int, channel: str, now: datetime) -> bool: ...
    def order_of_shipment(self, shipment_id: int) -> int | None: ...
    def delivery_taken(self, channel: str, delivery_id: str) -> bool: ...
    def take_delivery(self, channel: str, delivery_id: str, now: datetime) -> bool: ...


class SyncUnitOfWork(ChannelUnitOfWork, Protocol):
    """One transaction over the sync's tables and the channels' (published numbers)."""

    @property
    def sync(self) -> SyncStore: ...


class Connections(Protocol):
    """The channels' connections with their secrets opened (the connection service)."""

    def connection(self, channel: str) -> Connection | None: ...


class SecretBox(Protocol):
    """Encrypts the secrets of a connection at rest (the key comes from the settings)."""

    def seal(self, secrets: dict[str, str]) -> str: ...
    def open(self, token: str) -> dict[str, str]:
        """Raises ValueError when the token was not sealed with this key."""
        ...


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    """A verified order delivery: `delivery_id` is the same when the channel sends it again."""

    delivery_id: str
    order: RemoteOrder


class WebhookReceiver(Protocol):
    """A gateway whose channel also sends orders by webhook (the storefront)."""

    def receive_order_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> ReceivedWebhook:
        """Verify and read a delivery; raises `WebhookRefused` (nothing changes) or a
        retryable `ChannelError` (answer 5xx: the channel delivers again)."""
        ...


class Lease(Protocol):
    def renew(self) -> bool:
        """Keep holding it for another term; False when it was lost (lapsed, taken)."""
        ...


class Leases(Protocol):
    """Named leases held by one holder at a time across every process that shares them
    (Redis), or within this process (the embedded mode): one push pass per channel, one
    scheduler."""

    def hold(self, name: str, seconds: float) -> AbstractContextManager[Lease | None]:
        """`with leases.hold(name, seconds) as lease:` None when another holder has it."""
        ...


class GatewayFactory(Protocol):
    """Builds the adapter of a connection (real API or emulator alike: the endpoint says)."""

    def __call__(self, channel: str, connection: Connection) -> ChannelGateway: ...
