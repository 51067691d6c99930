"""SQL of published numbers: what each channel was told, the change cursor, and the events.

The cursor orders changes by the writing transaction. On PostgreSQL `change_seq` is the
transaction id (xid8), and a reader returns only rows below its snapshot's xmin: every
transaction below it has ended, so no row can later appear behind the cursor. On SQLite, which
has one writer at a time, it is a counter bumped by each publishing transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oms.channels.availability.orm import availability_state, channel_availability
from oms.channels.availability.ports import PublishedChange, PublishedNumber
from oms.outbox import outbox
from oms.shared.events import DomainEvent

STATE_ROW = 1
CHUNK = 5000

_WRITE_PUBLISHED = text("""
WITH input AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        sku_id integer, channel_id integer, available integer, version bigint,
        event text, partition_key text, payload jsonb, ord bigint)
), numbers AS (
    INSERT INTO channel_availability
        (sku_id, channel_id, available, version, change_seq, changed_at)
    SELECT sku_id, channel_id, available, version, pg_current_xact_id()::text::bigint, :now
    FROM input
    ON CONFLICT (sku_id, channel_id) DO UPDATE SET
        available = EXCLUDED.available, version = EXCLUDED.version,
        change_seq = EXCLUDED.change_seq, changed_at = EXCLUDED.changed_at
)
INSERT INTO outbox (event, partition_key, sequence, payload, created_at, attempts)
SELECT event, partition_key, version, payload::json, :now, 0 FROM input ORDER BY ord
""")


class SqlPublished:
    """Published numbers over one session; mixed into `SqlChannels`."""

    session: Session
    dialect: str

    def publication_token(self) -> str | None:
        return self.session.execute(
            select(availability_state.c.token).where(availability_state.c.id == STATE_ROW)
        ).scalar_one_or_none()

    def set_publication_token(self, token: str) -> None:
        self._upsert_state({"token": token, "change_seq": 0}, "token")

    def _next_change_seq(self) -> int:
        """SQLite: the counter, bumped once per publishing transaction (one writer at a time)."""
        self._upsert_state({"token": "", "change_seq": 1}, None)
        return int(
            self.session.execute(
                select(availability_state.c.change_seq).where(availability_state.c.id == STATE_ROW)
            ).scalar_one()
        )

    def _upsert_state(self, values: dict[str, Any], column: str | None) -> None:
        module = postgresql if self.dialect == "postgresql" else sqlite
        statement = module.insert(availability_state).values(id=STATE_ROW, **values)
        if column is None:
            changes: dict[str, Any] = {"change_seq": availability_state.c.change_seq + 1}
        else:
            changes = {column: getattr(statement.excluded, column)}
        self.session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=changes))

    def published_numbers(self, sku_ids: Iterable[int]) -> dict[tuple[int, int], PublishedNumber]:
        ca = channel_availability.c
        found: dict[tuple[int, int], PublishedNumber] = {}
        ordered = sorted(set(sku_ids))
        for start in range(0, len(ordered), CHUNK):
            rows = self.session.execute(
                select(ca.channel_id, ca.sku_id, ca.available, ca.version).where(
                    ca.sku_id.in_(ordered[start : start + CHUNK])
                )
            )
            for r in rows:
                found[(r[0], r[1])] = PublishedNumber(r[0], r[1], r[2], r[3])
        return found

    def write_published(
        self, numbers: Sequence[PublishedNumber], events: Sequence[DomainEvent], now: datetime
    ) -> None:
        """Store the new numbers and write their events (`events[i]` tells `numbers[i]`)."""
        if not numbers:
            return
        if self.dialect == "postgresql":
            self._write_published_in_one_statement(numbers, events, now)
            return
        seq = self._next_change_seq()
        module = sqlite
        statement = module.insert(channel_availability)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["sku_id", "channel_id"],
                set_={
                    name: getattr(statement.excluded, name)
                    for name in ("available", "version", "change_seq", "changed_at")
                },
            ),
            [
                {
                    "sku_id": n.sku_id,
                    "channel_id": n.channel_id,
                    "available": n.available,
                    "version": n.version,
                    "change_seq": seq,
                    "changed_at": now,
                }
                for n in numbers
            ],
        )
        self.session.execute(
            insert(outbox),
            [
                {
                    "event": e.name,
                    "partition_key": e.partition_key,
                    "sequence": n.version,
                    "payload": e.payload,
                    "created_at": now,
                }
                for n, e in zip(numbers, events, strict=True)
            ],
        )

    def _write_published_in_one_statement(
        self, numbers: Sequence[PublishedNumber], events: Sequence[DomainEvent], now: datetime
    ) -> None:
        """PostgreSQL: numbers and events in one round trip; change_seq is this transaction's
        id, so the cursor orders changes by transaction."""
        rows = [
            {
                "sku_id": n.sku_id,
                "channel_id": n.channel_id,
                "available": n.available,
                "version": n.version,
                "event": e.name,
                "partition_key": e.partition_key,
                "payload": e.payload,
                "ord": i,
            }
            for i, (n, e) in enumerate(zip(numbers, events, strict=True))
        ]
        self.session.execute(_WRITE_PUBLISHED, {"rows": json.dumps(rows), "now": now})

    def changed_since(
        self, channel_id: int, after: tuple[int, int], limit: int
    ) -> tuple[list[PublishedChange], int]:
        """Rows changed after `after` (change_seq, sku_id), oldest first, and the horizon:
        every change below it is final and visible; later ones will have a higher seq."""
        ca = channel_availability.c
        if self.dialect == "postgresql":
            horizon = int(
                self.session.execute(
                    text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                ).scalar_one()
            )
        else:
            seq = self.session.execute(
                select(availability_state.c.change_seq).where(availability_state.c.id == STATE_ROW)
            ).scalar_one_or_none()
            horizon = (seq or 0) + 1
        rows = self.session.execute(
            select(ca.sku_id, ca.available, ca.version, ca.change_seq, ca.changed_at)
            .where(
                ca.channel_id == channel_id,
                tuple_(ca.change_seq, ca.sku_id) > tuple_(*after),
                ca.change_seq < horizon,
            )
            .order_by(ca.change_seq, ca.sku_id)
            .limit(limit)
        )
        return [PublishedChange(r[0], r[1], r[2], r[3], r[4]) for r in rows], horizon
