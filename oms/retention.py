"""Pruning: handled outbox events and old idempotency records do not pile up for ever.

The ledger is the record and is never pruned. An outbox event is only a message: once handled
(`published_at` set) and older than `outbox_retention`, nobody reads it again. An idempotency
record only has to outlive every resend of its request (`idempotency_retention`, at least the
channels' resend window, see `oms.settings`).

Rows go in small batches, each its own short transaction, so writers never wait long behind a
prune: on PostgreSQL a batch locks only the rows it deletes; on SQLite, with one writer at a
time, a batch holds the write lock for one indexed delete of `prune_batch_size` rows.

Why a loop of our own rather than a scheduler library: the job is one call at a fixed
interval, at most one per process; running it twice at once is harmless (a row deleted by one
is skipped by the other). A thread beside the relay says that in a few lines; APScheduler or
periodiq would add a job store or a second Dramatiq process for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Column, Table, delete, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from oms.idempotency import idempotency_records
from oms.outbox import outbox
from oms.settings import Settings
from oms.shared.clock import utcnow

log = structlog.get_logger("oms.retention")


@dataclass(frozen=True, slots=True)
class PruneReport:
    outbox_events: int
    idempotency_records: int


def prune(
    factory: sessionmaker[Session],
    *,
    outbox_retention: timedelta,
    idempotency_retention: timedelta,
    batch_size: int,
    now: datetime | None = None,
) -> PruneReport:
    """Delete what is past its retention, `batch_size` rows per transaction, until none is."""
    now = now or utcnow()
    events = _prune_table(
        factory,
        outbox,
        outbox.c.id,
        outbox.c.published_at < now - outbox_retention,  # NULL (unhandled) never matches
        batch_size,
    )
    records = _prune_table(
        factory,
        idempotency_records,
        idempotency_records.c.key,
        idempotency_records.c.created_at < now - idempotency_retention,
        batch_size,
    )
    return PruneReport(events, records)


def prune_with(factory: sessionmaker[Session], settings: Settings) -> PruneReport:
    return prune(
        factory,
        outbox_retention=settings.outbox_retention,
        idempotency_retention=settings.idempotency_retention,
        batch_size=settings.prune_batch_size,
    )


def _prune_table(
    factory: sessionmaker[Session],
    table: Table,
    key: Column[object],
    expired: ColumnElement[bool],
    batch_size: int,
) -> int:
    total = 0
    while True:
        with factory.begin() as session:
            # Keys first, then a delete by key: a LIMIT on DELETE is not portable, and the
            # indexed select bounds the batch on both databases.
            keys = session.execute(select(key).where(expired).limit(batch_size)).scalars().all()
            if not keys:
                return total
            session.execute(delete(table).where(key.in_(keys), expired))
        total += len(keys)
        if len(keys) < batch_size:
            return total


class PruneLoop(threading.Thread):
    """Runs `prune` every `prune_interval_seconds` until stopped; the first run comes one
    interval after start, so that starting a process does not begin with a long delete."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        super().__init__(name="oms-prune", daemon=True)
        self._factory = factory
        self._settings = settings
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self._settings.prune_interval_seconds):
            try:
                report = prune_with(self._factory, self._settings)
            except Exception:
                log.exception("prune_failed")
                continue
            if report.outbox_events or report.idempotency_records:
                log.info(
                    "pruned",
                    outbox_events=report.outbox_events,
                    idempotency_records=report.idempotency_records,
                )

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.join(timeout)
