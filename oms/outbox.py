"""Transactional outbox: events are rows written with the data, published after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, insert, text
from sqlalchemy.orm import Session

from oms.db import BigId, UtcDateTime, metadata
from oms.shared.events import DomainEvent

# Names the one process allowed to hand events on at a time (a PostgreSQL advisory lock): the
# Redis relay or the embedded runner. Any constant will do.
OUTBOX_LOCK_ID = 0x6F6D73  # "oms"

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event", String(64), nullable=False),
    Column("partition_key", String(200), nullable=False),
    # Per-partition sequence (for inventory: the SKU's event_seq); consumers drop stale ones.
    Column("sequence", BigInteger, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
)
Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=text("published_at IS NULL"),
    sqlite_where=text("published_at IS NULL"),
)
# Pruning finds handled events by age.
Index(
    "ix_outbox_published_at",
    outbox.c.published_at,
    postgresql_where=text("published_at IS NOT NULL"),
    sqlite_where=text("published_at IS NOT NULL"),
)


def write_events(
    session: Session, events: Sequence[tuple[DomainEvent, int]], now: datetime
) -> None:
    """The events with their per-partition sequence, in the caller's transaction, in one
    statement. Every context writes its events through this."""
    if events:
        session.execute(
            _INSERT,
            [
                {
                    "event": e.name,
                    "partition_key": e.partition_key,
                    "sequence": seq,
                    "payload": e.payload,
                    "created_at": now,
                }
                for e, seq in events
            ],
        )


_INSERT = insert(outbox)
