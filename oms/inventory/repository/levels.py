"""SQL of the projection: stock levels and their one write path, a conditional UPDATE."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, select, tuple_, update

from oms.inventory.domain import StockDelta, StockLevel
from oms.inventory.orm import locations, skus, stock_levels
from oms.inventory.repository._base import SqlBase


class SqlStockLevels(SqlBase):
    """Read, lock, create and change stock levels."""

    _level_cols = (
        skus.c.code.label("sku"),
        locations.c.code.label("location"),
        stock_levels.c.on_hand,
        stock_levels.c.reserved,
        stock_levels.c.quarantined,
        stock_levels.c.in_transit,
        stock_levels.c.version,
    )

    @staticmethod
    def _level(row: Any) -> StockLevel:
        return StockLevel(
            sku=row.sku,
            location=row.location,
            on_hand=row.on_hand,
            reserved=row.reserved,
            quarantined=row.quarantined,
            in_transit=row.in_transit,
            version=row.version,
        )

    def levels(
        self,
        *,
        sku_codes: Sequence[str] | None = None,
        location_code: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[StockLevel]:
        query = (
            select(*self._level_cols)
            .select_from(stock_levels)
            .join(skus, skus.c.id == stock_levels.c.sku_id)
            .join(locations, locations.c.id == stock_levels.c.location_id)
        )
        if sku_codes is not None:
            query = query.where(skus.c.code.in_(sku_codes))
        if location_code is not None:
            query = query.where(locations.c.code == location_code)
        if after is not None:
            query = query.where(tuple_(skus.c.code, locations.c.code) > tuple_(*after))
        query = query.order_by(skus.c.code, locations.c.code)
        if limit is not None:
            query = query.limit(limit)
        return [self._level(r) for r in self.session.execute(query)]

    def lock_level(self, sku_id: int, location_id: int) -> StockLevel | None:
        """Read a level under a row lock (PostgreSQL); SQLite already holds the write lock."""
        query = (
            select(*self._level_cols)
            .select_from(stock_levels)
            .join(skus, skus.c.id == stock_levels.c.sku_id)
            .join(locations, locations.c.id == stock_levels.c.location_id)
            .where(stock_levels.c.sku_id == sku_id, stock_levels.c.location_id == location_id)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(of=stock_levels)
        row = self.session.execute(query).first()
        return self._level(row) if row else None

    def lock_levels(
        self, pairs: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], tuple[int, int, int, int, int]]:
        """(sku_id, location_id) -> (on_hand, reserved, quarantined, in_transit, version), each
        row locked (PostgreSQL) in the writers' one order: the sorted rows are locked as they
        come out, so two writers cannot deadlock. A pair with no row is left out."""
        rows = self.session.execute(
            _LOCK_LEVELS[self.dialect == "postgresql"], {"pairs": sorted(set(pairs))}
        )
        return {(r[0], r[1]): (r[2], r[3], r[4], r[5], r[6]) for r in rows}

    def apply_deltas(self, changes: Sequence[tuple[int, int, StockDelta]], now: datetime) -> int:
        """`apply_delta` for many rows in one round trip, no rows back: for rows this
        transaction locked and checked (`lock_levels`). Returns how many were changed."""
        result = self.session.execute(
            _APPLY_DELTAS,
            [
                {
                    "s": sku_id,
                    "l": location_id,
                    "d_on_hand": d.on_hand,
                    "d_reserved": d.reserved,
                    "d_quarantined": d.quarantined,
                    "d_in_transit": d.in_transit,
                    "now": now,
                }
                for sku_id, location_id, d in changes
            ],
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def ensure_levels(self, pairs: Iterable[tuple[int, int]], now: datetime) -> None:
        rows = [
            {"sku_id": s, "location_id": loc, "updated_at": now} for s, loc in sorted(set(pairs))
        ]
        if rows:
            self.session.execute(self._insert_ignore(stock_levels), rows)

    def apply_delta(
        self, sku_id: int, location_id: int, delta: StockDelta, now: datetime
    ) -> tuple[int, int, int, int, int] | None:
        """The one write path to a stock level: a conditional UPDATE (`_APPLY_DELTA`).

        The WHERE clause re-checks every rule against the row as it is now, under its lock, so
        concurrent writers can never drive a bucket or `available` negative; no row back means
        the movement was refused.
        """
        row = self.session.execute(
            _APPLY_DELTA,
            {
                "s": sku_id,
                "l": location_id,
                "d_on_hand": delta.on_hand,
                "d_reserved": delta.reserved,
                "d_quarantined": delta.quarantined,
                "d_in_transit": delta.in_transit,
                "now": now,
            },
        ).first()
        return None if row is None else (row[0], row[1], row[2], row[3], row[4])


def _apply_delta_statement(*, returning: bool) -> Any:
    """Built once: a statement built per call costs five times its execution in Python.

    Every bucket and `available` (on_hand - reserved - quarantined) after the change must be
    >= 0, the same rules as the table's CHECK constraints, checked here so that a refusal is
    no row back rather than an error."""
    sl = stock_levels.c
    # The deltas are 64-bit so the checks never overflow: a change past what a 32-bit bucket
    # can reach (reserved + a request beyond 2^31) is a refusal, no row back, as on SQLite;
    # only a result the row would really store past 2^31 (a receipt) is an out-of-range error.
    on_hand = sl.on_hand + bindparam("d_on_hand", type_=BigInteger)
    reserved = sl.reserved + bindparam("d_reserved", type_=BigInteger)
    quarantined = sl.quarantined + bindparam("d_quarantined", type_=BigInteger)
    in_transit = sl.in_transit + bindparam("d_in_transit", type_=BigInteger)
    statement = (
        update(stock_levels)
        .where(
            sl.sku_id == bindparam("s", type_=Integer),
            sl.location_id == bindparam("l", type_=Integer),
            on_hand >= 0,
            reserved >= 0,
            quarantined >= 0,
            in_transit >= 0,
            on_hand - reserved - quarantined >= 0,
        )
        .values(
            on_hand=on_hand,
            reserved=reserved,
            quarantined=quarantined,
            in_transit=in_transit,
            version=sl.version + 1,
            updated_at=bindparam("now"),
        )
    )
    if returning:
        return statement.returning(
            sl.on_hand, sl.reserved, sl.quarantined, sl.in_transit, sl.version
        )
    return statement


_APPLY_DELTA = _apply_delta_statement(returning=True)
_APPLY_DELTAS = _apply_delta_statement(returning=False)  # executemany: no rows back


def _lock_levels_statement(locking: bool) -> Any:
    sl = stock_levels.c
    query = (
        select(
            sl.sku_id,
            sl.location_id,
            sl.on_hand,
            sl.reserved,
            sl.quarantined,
            sl.in_transit,
            sl.version,
        )
        .where(tuple_(sl.sku_id, sl.location_id).in_(bindparam("pairs", expanding=True)))
        .order_by(sl.sku_id, sl.location_id)
    )
    return query.with_for_update() if locking else query


_LOCK_LEVELS = {locking: _lock_levels_statement(locking) for locking in (True, False)}
