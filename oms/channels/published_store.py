"""SQL of published numbers: what each channel was told, the change cursor, and the events.

The cursor orders changes by the writing transaction. On PostgreSQL `change_seq` is the
transaction id (xid8), and a reader returns only rows below its snapshot's xmin: every
transaction below it has ended, so no row can later appear behind the cursor. On SQLite, which
has one writer at a time, it is a counter bumped by each publishing transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oms.channels.orm import availability_state, channel_availability
from oms.channels.ports import PublishedChange, PublishedNumber
from oms.outbox import outbox
from oms.shared.events import DomainEvent

STATE_ROW = 1
CHUNK = 5000


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

    def change_seq(self) -> int:
        if self.dialect == "postgresql":
            return int(
                self.session.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()
            )
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
        self, numbers: Sequence[PublishedNumber], change_seq: int, now: datetime
    ) -> None:
        """Insert first-time numbers, update the others (their version tells which)."""
        new = [n for n in numbers if n.version == 1]
        known = [n for n in numbers if n.version > 1]
        if new:
            self.session.execute(
                insert(channel_availability),
                [
                    {
                        "channel_id": n.channel_id,
                        "sku_id": n.sku_id,
                        "available": n.available,
                        "version": n.version,
                        "change_seq": change_seq,
                        "changed_at": now,
                    }
                    for n in new
                ],
            )
        if known:
            ca = channel_availability.c
            self.session.execute(
                update(channel_availability)
                .where(ca.channel_id == bindparam("c_id"), ca.sku_id == bindparam("s_id"))
                .values(
                    available=bindparam("n_available"),
                    version=bindparam("n_version"),
                    change_seq=change_seq,
                    changed_at=now,
                )
                .execution_options(synchronize_session=False),
                [
                    {
                        "c_id": n.channel_id,
                        "s_id": n.sku_id,
                        "n_available": n.available,
                        "n_version": n.version,
                    }
                    for n in known
                ],
            )

    def add_availability_events(
        self, events: Sequence[DomainEvent], sequences: Sequence[int], now: datetime
    ) -> None:
        if events:
            self.session.execute(
                insert(outbox),
                [
                    {
                        "event": e.name,
                        "partition_key": e.partition_key,
                        "sequence": seq,
                        "payload": e.payload,
                        "created_at": now,
                    }
                    for e, seq in zip(events, sequences, strict=True)
                ],
            )

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
