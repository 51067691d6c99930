"""Unit of work: one session, one transaction, the repositories bound to it.

It also records what a transaction touched (SKUs from the inventory, rules from the channel
services), so that `publish_changes()`, which every service calls as its last step before
`commit()`, queues those SKUs for the publisher in the same transaction (the publisher
recomputes their channel numbers after the commit: oms.channels.availability.services.publisher).
`commit()` only commits, and refuses to when touched SKUs were not recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from oms.channels.availability.repository import SqlChannels
from oms.channels.availability.services.pool_fence import PoolFence
from oms.channels.availability.services.publication import AvailabilityPublisher, PendingPublication
from oms.channels.sync.repository import SqlSync
from oms.inventory.repository import SqlInventory
from oms.orders.ports import ChannelFacts
from oms.orders.repository import SqlOrders
from oms.privacy.repository import SqlPrivacy
from oms.repairs.repository import SqlRepairs
from oms.resale.repository import SqlResale
from oms.returns.repository import SqlReturns
from oms.shared.clock import utcnow
from oms.shared.errors import GaveWay

# deadlock_detected, serialization_failure: PostgreSQL rolled the transaction back.
_GAVE_WAY = {"40P01", "40001"}


def _gave_way(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _GAVE_WAY


# One per process: it caches the rules between transactions (see
# oms.channels.availability.services.publication).
PUBLISHER = AvailabilityPublisher()


class _Listener:
    """What one transaction touched, for the publisher; also the inventory's listener."""

    def __init__(self, publisher: AvailabilityPublisher) -> None:
        self.publisher = publisher
        self.pending = PendingPublication()

    def stock_changed(self, sku_ids: Iterable[int]) -> None:
        self.pending.sku_ids.update(sku_ids)

    def catalogue_changed(self, sku_ids: Iterable[int] | None) -> None:
        self.pending.rules_changed = True
        if sku_ids is None:
            self.pending.everything = True
        else:
            self.pending.sku_ids.update(sku_ids)


class _ChannelDirectory:
    """The channels, as the orders context sees them (it may not import channels)."""

    def __init__(self, channels: SqlChannels, fence: PoolFence) -> None:
        self._channels = channels
        self._fence = fence

    def ring_fenced(self, channel: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        return self._fence.held_back(channel, skus)

    def channel(self, code: str) -> ChannelFacts | None:
        found = self._channels.channel_by_code(code)
        if found is None:
            return None
        return ChannelFacts(found.code, found.active, tuple(found.locations))

    def walk_in_reserve(
        self, locations: Sequence[str], skus: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        kept: dict[str, dict[str, int]] = {}
        for (sku, location), units in self._channels.safety_stock_at(skus, locations).items():
            if units:
                kept.setdefault(location, {})[sku] = units
        return kept


class SqlUnitOfWork:
    """`with uow:` opens a transaction; leaving without `commit()` rolls it back."""

    inventory: SqlInventory
    channels: SqlChannels
    orders: SqlOrders
    sync: SqlSync
    returns: SqlReturns
    repairs: SqlRepairs
    resale: SqlResale
    privacy: SqlPrivacy
    directory: _ChannelDirectory

    def __init__(
        self, factory: sessionmaker[Session], publisher: AvailabilityPublisher | None = None
    ) -> None:
        self._factory = factory
        self._publisher = publisher or PUBLISHER
        self._session: Session | None = None
        self._listener = _Listener(self._publisher)
        self._queued = 0

    def __enter__(self) -> Self:
        self._session = self._factory()
        self._session.begin()
        self._listener = _Listener(self._publisher)
        self._queued = 0
        self.inventory = SqlInventory(self._session)
        self.inventory.listener = self._listener
        self.channels = SqlChannels(self._session)
        self.orders = SqlOrders(self._session)
        self.sync = SqlSync(self._session)
        self.returns = SqlReturns(self._session)
        self.repairs = SqlRepairs(self._session)
        self.resale = SqlResale(self._session)
        self.privacy = SqlPrivacy(self._session)
        fence = PoolFence(self.channels, self.inventory, self._publisher)
        self.inventory.fence = fence
        self.directory = _ChannelDirectory(self.channels, fence)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is None:
            return
        try:
            if self._session.in_transaction():
                self._session.rollback()
        finally:
            self._session.close()
            self._session = None
        if isinstance(exc, DBAPIError) and _gave_way(exc):
            # PostgreSQL broke a deadlock (or a serialization conflict) by rolling this
            # transaction back: a domain refusal the services retry, never a 500.
            raise GaveWay(
                "the database rolled this change back to let a concurrent one finish "
                "(a deadlock); nothing was changed, try again"
            ) from exc

    def rules_changed(self, sku_codes: Iterable[str] | None) -> None:
        """Channel rules changed for these SKUs (None: for every SKU)."""
        pending = self._listener.pending
        pending.rules_changed = True
        if sku_codes is None:
            pending.everything = True
        else:
            pending.sku_codes.update(sku_codes)

    def publish_changes(self) -> int:
        """Record, in this transaction, which SKUs' channel numbers it may have moved; the
        publisher recomputes them once it committed. The rows recorded.

        A visible step of every service that changes stock or rules, just before `commit()`.
        Insert-only: concurrent writers of one SKU share no row here. A rule change also
        replaces the rules token now, so that every process's cached rules (the ring-fenced
        pools a reservation checks, the publisher's) are stale from this commit on.
        """
        if self._session is None:
            raise RuntimeError("publish_changes() outside `with uow:`")
        pending = self._listener.pending
        if not pending:
            return 0
        self._listener.pending = PendingPublication()
        if pending.rules_changed:
            self.channels.set_publication_token(uuid.uuid4().hex)
        if pending.everything:
            queued = self.channels.queue_publication(None, utcnow())
        else:
            sku_ids = set(pending.sku_ids)
            if pending.sku_codes:
                sku_ids.update(self.inventory.sku_ids_by_code(pending.sku_codes).values())
            queued = self.channels.queue_publication(sku_ids, utcnow())
        self._queued += queued
        return queued

    def commit(self) -> None:
        """Commit the data and its outbox events; nothing else happens here."""
        if self._session is None:
            raise RuntimeError("commit() outside `with uow:`")
        if self._listener.pending:
            # A forgotten follow-up would leave channel numbers stale: fail loudly instead.
            raise RuntimeError("changes not published: call publish_changes() before commit()")
        self._session.commit()
        if self._queued:
            self._queued = 0
            self._publisher.doorbell.set()
