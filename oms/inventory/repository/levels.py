"""SQL of the projection: stock levels and their one write path, a conditional UPDATE."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, tuple_, update

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

    def lock_levels(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """(sku_id, location_id) -> available, each row locked (PostgreSQL) in the writers' one
        order: the rows are locked as the sorted rows come out, so two writers cannot
        deadlock. A pair with no row is left out (nothing there)."""
        sl = stock_levels.c
        query = (
            select(sl.sku_id, sl.location_id, sl.on_hand - sl.reserved - sl.quarantined)
            .where(tuple_(sl.sku_id, sl.location_id).in_(sorted(set(pairs))))
            .order_by(sl.sku_id, sl.location_id)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return {(row[0], row[1]): int(row[2]) for row in self.session.execute(query)}

    def ensure_levels(self, pairs: Iterable[tuple[int, int]], now: datetime) -> None:
        rows = [
            {"sku_id": s, "location_id": loc, "updated_at": now} for s, loc in sorted(set(pairs))
        ]
        if rows:
            self.session.execute(self._insert_ignore(stock_levels), rows)

    def apply_delta(
        self, sku_id: int, location_id: int, delta: StockDelta, now: datetime
    ) -> tuple[int, int, int, int, int] | None:
        """The one write path to a stock level: a conditional UPDATE.

        The WHERE clause re-checks every rule against the row as it is now, under its lock, so
        concurrent writers can never drive a bucket or `available` negative; no row back means
        the movement was refused.
        """
        sl = stock_levels.c
        on_hand = sl.on_hand + delta.on_hand
        reserved = sl.reserved + delta.reserved
        quarantined = sl.quarantined + delta.quarantined
        in_transit = sl.in_transit + delta.in_transit
        guards = [sl.sku_id == sku_id, sl.location_id == location_id]
        if delta.reserved > 0 or delta.quarantined > 0 or delta.on_hand < 0:
            guards.append(on_hand - reserved - quarantined >= 0)
        for bucket, change in (
            (sl.on_hand, delta.on_hand),
            (sl.reserved, delta.reserved),
            (sl.quarantined, delta.quarantined),
            (sl.in_transit, delta.in_transit),
        ):
            if change < 0:
                guards.append(bucket >= -change)
        row = self.session.execute(
            update(stock_levels)
            .where(and_(*guards))
            .values(
                on_hand=on_hand,
                reserved=reserved,
                quarantined=quarantined,
                in_transit=in_transit,
                version=sl.version + 1,
                updated_at=now,
            )
            .returning(sl.on_hand, sl.reserved, sl.quarantined, sl.in_transit, sl.version)
        ).first()
        return None if row is None else (row[0], row[1], row[2], row[3], row[4])
