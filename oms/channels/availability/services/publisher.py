"""The publisher: channel numbers kept current off the writer's path.

Writers only record, in their own transaction, which SKUs their change may have moved
(`publish_changes()` queues them; a crash after the commit loses nothing). The publisher takes
a batch of queued changes in one transaction, recomputes the distinct SKUs (and the bundles
containing them) for every channel with `AvailabilityPublisher.publish`, writes the numbers
that changed with their AvailabilityChanged events, and commits with the batch removed from
the queue: a hot SKU reserved a hundred times between two batches is recomputed once.

`drain()` is what the loop runs (`oms.channels.availability.tasks.PublisherLoop`: in every
`oms worker`, and in `oms serve` without Redis) and what `oms availability drain` runs. Once
the queue is drained, every published number equals a full recompute.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from oms.channels.availability.ports import ChannelUnitOfWork
from oms.channels.availability.services.publication import AvailabilityPublisher
from oms.shared.clock import utcnow
from oms.shared.errors import GaveWay
from oms.shared.transaction import retry_transaction
from oms.sqlite import reading

# Queued changes per transaction: large enough that a busy second is a few batches, small
# enough that one batch's locks and statements stay short.
DEFAULT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Drained:
    """`changes`: queued changes taken; `numbers`: channel numbers that changed (one
    AvailabilityChanged each); `batches`: transactions committed."""

    changes: int = 0
    numbers: int = 0
    batches: int = 0

    def __add__(self, other: Drained) -> Drained:
        return Drained(
            self.changes + other.changes, self.numbers + other.numbers, self.batches + other.batches
        )


@dataclass(frozen=True, slots=True)
class Backlog:
    waiting: int
    oldest: datetime | None


class PublicationService:
    """Drains the publication queue; one per process (the publisher caches the rules)."""

    def __init__(
        self,
        uow: Callable[[], ChannelUnitOfWork],
        publisher: AvailabilityPublisher,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        if batch_size < 1:
            raise ValueError("the batch size must be positive")
        self._uow = uow
        self._publisher = publisher
        self._clock = clock
        self._batch = batch_size

    @property
    def publisher(self) -> AvailabilityPublisher:
        return self._publisher

    def drain_batch(self) -> Drained:
        """One transaction: up to one batch of queued changes, published."""

        def attempt(_earlier: Sequence[GaveWay]) -> Drained:
            with self._uow() as uow:
                taken = uow.channels.take_queued(self._batch)
                if not taken:
                    return Drained()
                every = None in taken
                sku_ids = None if every else {i for i in taken if i is not None}
                numbers = self._publisher.publish(
                    uow.channels, uow.inventory, sku_ids, self._clock()
                )
                uow.commit()
            return Drained(len(taken), numbers, 1)

        # Two publishers may meet on shared bundles in two orders (a deadlock PostgreSQL
        # breaks by rolling one back): the loser takes its batch again.
        return retry_transaction(attempt)

    def drain(self, max_batches: int | None = None, *, look_first: bool = True) -> Drained:
        """Batches until the queue is empty (or `max_batches`); what was done. `look_first`:
        see whether anything waits with a read before taking the write lock (SQLite) and
        deleting (the loop skips it right after a drain that found work)."""
        total = Drained()
        with self._publisher.draining:
            if look_first and not self.waiting():
                return total  # the loop's idle poll: no write lock (SQLite), no DELETE
            while max_batches is None or total.batches < max_batches:
                done = self.drain_batch()
                total += done
                if done.changes < self._batch:
                    break
        return total

    def republish_all(self) -> int:
        """Recompute every channel's number of every SKU and publish those that differ from
        what was told (a repair, e.g. after restoring a backup); the numbers that changed.
        The rules are read afresh in every process (a new token)."""
        with self._uow() as uow:
            uow.channels.set_publication_token(uuid.uuid4().hex)
            numbers = self._publisher.publish(uow.channels, uow.inventory, None, self._clock())
            uow.commit()
        return numbers

    def waiting(self) -> bool:
        """Whether any change waits (a read: on SQLite it takes no write lock)."""
        with reading(), self._uow() as uow:
            return uow.channels.anything_queued()

    def backlog(self) -> Backlog:
        with reading(), self._uow() as uow:
            waiting, oldest = uow.channels.queued()
        return Backlog(waiting, oldest)
