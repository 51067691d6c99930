"""SQL of the publication queue: what writers record, what the publisher takes and locks.

Writers only insert (no row two writers share, so a hot SKU does not serialise its writers on
the queue). The publisher takes the oldest rows with one DELETE ... RETURNING; on PostgreSQL
FOR UPDATE SKIP LOCKED lets several publishers take disjoint batches at once. What keeps two
publishers from writing a stale number over a fresh one is the lock per SKU taken before the
stock is read (`lock_for_publication`): advisory locks, so a publisher never waits for a writer
of the SKU (nor a writer for it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from oms.channels.availability.orm import publication_queue

# The two-key advisory lock space of publication (distinct from the one-key locks of the
# outbox relay): (_EVERY_SKU, 0) is taken shared by a publisher of some SKUs and exclusive by
# a publisher of every SKU; (_ONE_SKU, sku id) by the publisher of that SKU.
_EVERY_SKU = 0x6F6D7301
_ONE_SKU = 0x6F6D7302

# Built once: every writer's transaction runs it.
_QUEUE = insert(publication_queue)
_TAKE_PG = text("""
DELETE FROM publication_queue
WHERE id IN (
    SELECT id FROM publication_queue ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
)
RETURNING sku_id
""")
_TAKE_SQLITE = text("""
DELETE FROM publication_queue
WHERE id IN (SELECT id FROM publication_queue ORDER BY id LIMIT :limit)
RETURNING sku_id
""")
# In id order, so that two publishers sharing SKUs take their locks in one order.
_LOCK_SKUS = text("""
SELECT count(pg_advisory_xact_lock(:space, s.id))
FROM (SELECT DISTINCT unnest(CAST(:ids AS integer[])) AS id ORDER BY 1) AS s
""")


class SqlPublicationQueue:
    """The queue over one session; mixed into `SqlChannels`."""

    session: Session
    dialect: str

    def queue_publication(self, sku_ids: Iterable[int] | None, now: datetime) -> int:
        """Record that these SKUs' numbers (None: every SKU's) may have moved; rows written."""
        rows: list[dict[str, object]]
        if sku_ids is None:
            rows = [{"sku_id": None, "queued_at": now}]
        else:
            rows = [{"sku_id": i, "queued_at": now} for i in sorted(set(sku_ids))]
        if rows:
            self.session.execute(_QUEUE, rows)
        return len(rows)

    def take_queued(self, limit: int) -> list[int | None]:
        """Remove up to `limit` of the oldest queued changes (gone at this commit, back if it
        rolls back); their SKU ids, None for every SKU."""
        statement = _TAKE_PG if self.dialect == "postgresql" else _TAKE_SQLITE
        return [row[0] for row in self.session.execute(statement, {"limit": limit})]

    def anything_queued(self) -> bool:
        return (
            self.session.execute(select(publication_queue.c.id).limit(1)).scalar_one_or_none()
            is not None
        )

    def queued(self) -> tuple[int, datetime | None]:
        """How many changes wait, and since when the oldest."""
        q = publication_queue.c
        count, oldest = self.session.execute(select(func.count(), func.min(q.queued_at))).one()
        return int(count), oldest

    def lock_for_publication(self, sku_ids: Iterable[int] | None) -> None:
        """Hold these SKUs' numbers (None: every SKU's) for this transaction's publisher.

        SQLite has one writer at a time: the publisher's transaction holds them all already.
        """
        if self.dialect != "postgresql":
            return
        if sku_ids is None:
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:space, 0)"), {"space": _EVERY_SKU}
            )
            return
        ids = sorted(set(sku_ids))
        if not ids:
            return
        self.session.execute(
            text("SELECT pg_advisory_xact_lock_shared(:space, 0)"), {"space": _EVERY_SKU}
        )
        self.session.execute(_LOCK_SKUS, {"space": _ONE_SKU, "ids": ids})
