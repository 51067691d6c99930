"""SQL of the movement ledger: append, read, sums as of a time, verify against the projection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError

from oms.inventory.domain import Movement, MovementRequest, MovementType, StockDelta
from oms.inventory.orm import locations, movements, skus, stock_levels
from oms.inventory.repository._base import SqlBase


class SqlLedger(SqlBase):
    """The append-only movement ledger."""

    def add_movements(
        self,
        entries: Sequence[tuple[MovementRequest, int, int]],
        *,
        key: str,
        reference: str | None,
        actor: str | None,
        now: datetime,
        first_seq: int = 0,
    ) -> list[int]:
        """Append ledger rows; `seq` numbers the lines of one idempotent command (from
        `first_seq`, when the command appends its rows in several calls)."""
        if not entries:
            return []
        rows = _command_rows(entries, key, reference, actor, now, first_seq)
        try:
            result = self.session.execute(_ADD_MOVEMENTS_RETURNING_IDS, rows)
        except IntegrityError as error:
            self._refuse_key_used_before(error, key)
        return [int(r[0]) for r in result]

    def add_movement_groups(
        self,
        groups: Sequence[
            tuple[Sequence[tuple[MovementRequest, int, int]], str, str | None, str | None]
        ],
        now: datetime,
    ) -> None:
        """The ledger rows of several commands in one statement: (entries, key, reference,
        actor) per command, `seq` numbering each command's lines from 0."""
        rows = [
            row
            for entries, key, reference, actor in groups
            for row in _command_rows(entries, key, reference, actor, now)
        ]
        if not rows:
            return
        try:
            self.session.execute(_ADD_MOVEMENTS, rows)
        except IntegrityError as error:
            self._refuse_key_used_before(error, ", ".join(g[1] for g in groups))

    def movement_rows_for_key(self, key: str) -> list[Movement]:
        return self._movements(
            self._movement_query()
            .where(movements.c.idempotency_key == key)
            .order_by(movements.c.seq)
        )

    @staticmethod
    def _movement_query() -> Any:
        return (
            select(
                movements,
                skus.c.code.label("sku"),
                locations.c.code.label("location"),
            )
            .join(skus, skus.c.id == movements.c.sku_id)
            .join(locations, locations.c.id == movements.c.location_id)
        )

    def _movements(self, query: Any) -> list[Movement]:
        return [
            Movement(
                id=r.id,
                type=MovementType(r.type),
                sku=r.sku,
                location=r.location,
                delta=StockDelta(r.d_on_hand, r.d_reserved, r.d_quarantined, r.d_in_transit),
                quantity=r.quantity,
                reason=r.reason,
                reference=r.reference,
                idempotency_key=r.idempotency_key,
                actor=r.actor,
                recorded_at=r.recorded_at,
                counted=r.counted,
            )
            for r in self.session.execute(query)
        ]

    def ledger(
        self,
        *,
        sku_id: int | None,
        location_id: int | None,
        before_id: int | None,
        until: datetime | None,
        limit: int,
    ) -> list[Movement]:
        """Newest first, keyset-paginated on the movement id."""
        query = self._movement_query()
        if sku_id is not None:
            query = query.where(movements.c.sku_id == sku_id)
        if location_id is not None:
            query = query.where(movements.c.location_id == location_id)
        if before_id is not None:
            query = query.where(movements.c.id < before_id)
        if until is not None:
            query = query.where(movements.c.recorded_at <= until)
        return self._movements(query.order_by(movements.c.id.desc()).limit(limit))

    def sums_as_of(self, sku_id: int, at: datetime) -> dict[str, StockDelta]:
        m = movements.c
        rows = self.session.execute(
            select(
                locations.c.code,
                func.sum(m.d_on_hand),
                func.sum(m.d_reserved),
                func.sum(m.d_quarantined),
                func.sum(m.d_in_transit),
            )
            .join(locations, locations.c.id == m.location_id)
            .where(m.sku_id == sku_id, m.recorded_at <= at)
            .group_by(locations.c.code)
            .order_by(locations.c.code)
        )
        return {r[0]: StockDelta(int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}

    def verify_rows(self) -> list[dict[str, Any]]:
        """Every (SKU, location) where the ledger's sums differ from the projection."""
        m = movements.c
        sums = (
            select(
                m.sku_id,
                m.location_id,
                func.sum(m.d_on_hand).label("on_hand"),
                func.sum(m.d_reserved).label("reserved"),
                func.sum(m.d_quarantined).label("quarantined"),
                func.sum(m.d_in_transit).label("in_transit"),
            )
            .group_by(m.sku_id, m.location_id)
            .subquery()
        )
        sl = stock_levels.c
        zero = literal(0)
        pairs = (
            select(sl.sku_id, sl.location_id)
            .union(select(sums.c.sku_id, sums.c.location_id))
            .subquery()
        )
        query = (
            select(
                skus.c.code.label("sku"),
                locations.c.code.label("location"),
                func.coalesce(sl.on_hand, zero).label("p_on_hand"),
                func.coalesce(sl.reserved, zero).label("p_reserved"),
                func.coalesce(sl.quarantined, zero).label("p_quarantined"),
                func.coalesce(sl.in_transit, zero).label("p_in_transit"),
                func.coalesce(sums.c.on_hand, zero).label("l_on_hand"),
                func.coalesce(sums.c.reserved, zero).label("l_reserved"),
                func.coalesce(sums.c.quarantined, zero).label("l_quarantined"),
                func.coalesce(sums.c.in_transit, zero).label("l_in_transit"),
            )
            .select_from(pairs)
            .join(skus, skus.c.id == pairs.c.sku_id)
            .join(locations, locations.c.id == pairs.c.location_id)
            .outerjoin(
                stock_levels,
                and_(sl.sku_id == pairs.c.sku_id, sl.location_id == pairs.c.location_id),
            )
            .outerjoin(
                sums,
                and_(sums.c.sku_id == pairs.c.sku_id, sums.c.location_id == pairs.c.location_id),
            )
            .where(
                or_(
                    func.coalesce(sl.on_hand, zero) != func.coalesce(sums.c.on_hand, zero),
                    func.coalesce(sl.reserved, zero) != func.coalesce(sums.c.reserved, zero),
                    func.coalesce(sl.quarantined, zero) != func.coalesce(sums.c.quarantined, zero),
                    func.coalesce(sl.in_transit, zero) != func.coalesce(sums.c.in_transit, zero),
                )
            )
            .order_by(skus.c.code, locations.c.code)
        )
        return [dict(r._mapping) for r in self.session.execute(query)]

    def count_levels_and_movements(self) -> tuple[int, int]:
        levels = self.session.execute(select(func.count()).select_from(stock_levels)).scalar_one()
        moves = self.session.execute(select(func.count()).select_from(movements)).scalar_one()
        return int(levels), int(moves)


def _command_rows(
    entries: Sequence[tuple[MovementRequest, int, int]],
    key: str,
    reference: str | None,
    actor: str | None,
    now: datetime,
    first_seq: int = 0,
) -> list[dict[str, Any]]:
    """The ledger rows of one command, its lines numbered from `first_seq`."""
    return [
        _movement_row(
            request,
            sku_id=sku_id,
            location_id=location_id,
            key=key,
            seq=seq,
            reference=reference,
            actor=actor,
            now=now,
        )
        for seq, (request, sku_id, location_id) in enumerate(entries, start=first_seq)
    ]


def _movement_row(
    request: MovementRequest,
    *,
    sku_id: int,
    location_id: int,
    key: str,
    seq: int,
    reference: str | None,
    actor: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "type": request.type.value,
        "sku_id": sku_id,
        "location_id": location_id,
        "d_on_hand": request.delta.on_hand,
        "d_reserved": request.delta.reserved,
        "d_quarantined": request.delta.quarantined,
        "d_in_transit": request.delta.in_transit,
        "quantity": request.quantity,
        "counted": request.counted,
        "reason": request.reason,
        "reference": reference,
        "idempotency_key": key,
        "seq": seq,
        "actor": actor,
        "recorded_at": now,
    }


# Built once: every stock change appends through these.
_ADD_MOVEMENTS = insert(movements)
_ADD_MOVEMENTS_RETURNING_IDS = insert(movements).returning(
    movements.c.id, sort_by_parameter_order=True
)
