"""Outbox rows: the events a transaction commits with its data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import update

from oms.inventory.orm import skus
from oms.inventory.repository._base import SqlBase
from oms.outbox import write_events
from oms.shared.events import DomainEvent


class SqlEvents(SqlBase):
    """Number the events per SKU and write them to the outbox."""

    def bump_event_seqs(self, sku_ids: Iterable[int]) -> dict[int, int]:
        """Number this transaction's events per SKU, under the SKU row's lock (commit order).

        One UPDATE per SKU, in id order: a single `WHERE id IN (...)` UPDATE locks the rows in
        the order its plan visits them (physical order under a seq scan), so two writers of the
        same SKUs could lock them in opposite orders and deadlock.
        """
        seqs: dict[int, int] = {}
        for sku_id in sorted(set(sku_ids)):
            seqs[sku_id] = self.session.execute(
                update(skus)
                .where(skus.c.id == sku_id)
                .values(event_seq=skus.c.event_seq + 1)
                .returning(skus.c.event_seq)
            ).scalar_one()
        return seqs

    def add_events(self, events: Sequence[tuple[DomainEvent, int]], now: datetime) -> None:
        write_events(self.session, events, now)
