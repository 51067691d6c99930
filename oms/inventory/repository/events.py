"""Outbox rows: the events a transaction commits with its data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Integer, bindparam, select, update

from oms.inventory.orm import skus
from oms.inventory.repository._base import SqlBase
from oms.outbox import write_events
from oms.shared.events import DomainEvent


class SqlEvents(SqlBase):
    """Number the events per SKU and write them to the outbox."""

    def bump_event_seqs(self, sku_ids: Iterable[int]) -> dict[int, int]:
        """Number this transaction's events per SKU, under the SKU row's lock (commit order).

        A plain `WHERE id IN (...)` UPDATE would lock the rows in the order its plan visits
        them (physical order under a seq scan), so two writers of the same SKUs could lock them
        in opposite orders and deadlock: the rows are locked in id order by a subquery first.
        """
        ids = sorted(set(sku_ids))
        if len(ids) == 1:
            return {ids[0]: self.session.execute(_BUMP_SEQ, {"sku": ids[0]}).scalar_one()}
        # Several: the subquery locks the rows in id order before the UPDATE touches them.
        rows = self.session.execute(_BUMP_SEQS, {"skus": ids})
        return {int(row[0]): int(row[1]) for row in rows}

    def add_events(self, events: Sequence[tuple[DomainEvent, int]], now: datetime) -> None:
        write_events(self.session, events, now)


_BUMP_SEQ = (
    update(skus)
    .where(skus.c.id == bindparam("sku", type_=Integer))
    .values(event_seq=skus.c.event_seq + 1)
    .returning(skus.c.event_seq)
)
_BUMP_SEQS = (
    update(skus)
    .where(
        skus.c.id.in_(
            select(skus.c.id)
            .where(skus.c.id.in_(bindparam("skus", expanding=True)))
            .order_by(skus.c.id)
            .with_for_update(key_share=True)
            .scalar_subquery()
        )
    )
    .values(event_seq=skus.c.event_seq + 1)
    .returning(skus.c.id, skus.c.event_seq)
)
