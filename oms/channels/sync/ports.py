"""What the sync needs from a channel and from the machinery around it.

`ChannelGateway` is the port every adapter implements (oms.channels.adapters.*), against the
real API or its emulator alike; tests/contract holds the one suite they all pass. `RateLimiter`
is how an adapter waits for its turn: one implementation shares the buckets through Redis
between every worker process (the `limits` library), another keeps them in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

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
