"""SQL that keeps channel numbers current: the reads and locks of the writing transaction.

The inventory does not know channels; it tells its `listener` what a transaction changed (see
`SqlBase`), and the listener, wired by the unit of work, reads what it needs through these.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select, text, tuple_

from oms.inventory.domain import ReservationStatus, SkuKind
from oms.inventory.orm import (
    bundle_components,
    locations,
    reservation_lines,
    reservations,
    skus,
    stock_levels,
)
from oms.inventory.ports import SkuFacts
from oms.inventory.repository._base import SqlBase

# IN lists are sent in chunks: SQLite allows 32,766 variables, PostgreSQL 65,535 parameters.
CHUNK = 5000


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


class SqlPublicationReads(SqlBase):
    """Reads and locks for keeping channel numbers current."""

    def sku_facts(self, sku_ids: Iterable[int]) -> dict[int, SkuFacts]:
        found: dict[int, SkuFacts] = {}
        for chunk in _chunks(sku_ids):
            rows = self.session.execute(
                select(
                    skus.c.id, skus.c.code, skus.c.kind, skus.c.attributes, skus.c.ship_together
                ).where(skus.c.id.in_(chunk))
            )
            for r in rows:
                found[r[0]] = SkuFacts(r[0], r[1], SkuKind(r[2]), dict(r[3] or {}), bool(r[4]))
        return found

    def sku_ids_by_code(self, codes: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = self.session.execute(select(skus.c.code, skus.c.id).where(skus.c.code.in_(wanted)))
        return {r[0]: r[1] for r in rows}

    def all_sku_ids(self) -> list[int]:
        return list(self.session.execute(select(skus.c.id).order_by(skus.c.id)).scalars())

    def bundle_edges(self) -> list[tuple[int, int, int]]:
        """(bundle_id, component_id, quantity) of every bundle's direct components."""
        bc = bundle_components.c
        rows = self.session.execute(select(bc.bundle_id, bc.component_id, bc.quantity))
        return [(r[0], r[1], r[2]) for r in rows]

    def available_by_sku(self, sku_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """sku_id -> active location -> on_hand - reserved - quarantined (may be negative)."""
        sl = stock_levels.c
        found: dict[int, dict[str, int]] = {}
        for chunk in _chunks(sku_ids):
            rows = self.session.execute(
                select(sl.sku_id, locations.c.code, sl.on_hand - sl.reserved - sl.quarantined)
                .join(locations, locations.c.id == sl.location_id)
                .where(sl.sku_id.in_(chunk), locations.c.active.is_(True))
            )
            for sku_id, location, available in rows:
                found.setdefault(sku_id, {})[location] = available
        return found

    def sold_since(
        self, channels: Iterable[str], sku_ids: Iterable[int], since: datetime
    ) -> dict[tuple[str, int], int]:
        """Units reserved per (channel, SKU) since `since`, released reservations left out."""
        wanted = sorted(set(channels))
        sold: dict[tuple[str, int], int] = {}
        if not wanted:
            return sold
        r, rl = reservations.c, reservation_lines.c
        for chunk in _chunks(sku_ids):
            rows = self.session.execute(
                select(r.channel, rl.sku_id, func.sum(rl.quantity))
                .select_from(reservation_lines)
                .join(reservations, r.id == rl.reservation_id)
                .where(
                    r.channel.in_(wanted),
                    r.created_at >= since,
                    r.status != ReservationStatus.RELEASED.value,
                    rl.sku_id.in_(chunk),
                )
                .group_by(r.channel, rl.sku_id)
            )
            for channel, sku_id, units in rows:
                sold[(channel, sku_id)] = int(units)
        return sold

    def sold_since_by_code(
        self, channels: Iterable[str], since: datetime
    ) -> dict[tuple[str, str], int]:
        """Units reserved per (channel, SKU code) since `since`, released reservations left
        out: every SKU at once, for a full recompute."""
        wanted = sorted(set(channels))
        if not wanted:
            return {}
        r, rl = reservations.c, reservation_lines.c
        rows = self.session.execute(
            select(r.channel, skus.c.code, func.sum(rl.quantity))
            .select_from(reservation_lines)
            .join(reservations, r.id == rl.reservation_id)
            .join(skus, skus.c.id == rl.sku_id)
            .where(
                r.channel.in_(wanted),
                r.created_at >= since,
                r.status != ReservationStatus.RELEASED.value,
            )
            .group_by(r.channel, skus.c.code)
        )
        return {(channel, code): int(units) for channel, code, units in rows}

    def lock_skus(self, sku_ids: Iterable[int]) -> None:
        """Lock SKU rows in id order (PostgreSQL; SQLite has one writer at a time).

        FOR NO KEY UPDATE, the lock the event numbering's UPDATE takes anyway: a plain FOR
        UPDATE would also wait for the FOR KEY SHARE that every insert referencing the SKU
        takes (a reservation line, a ledger row), and a reservation inserts those before it
        waits for the stock row this transaction holds: a deadlock."""
        if self.dialect != "postgresql":
            return
        for chunk in _chunks(sku_ids):
            self.session.execute(
                select(skus.c.id)
                .where(skus.c.id.in_(chunk))
                .order_by(skus.c.id)
                .with_for_update(key_share=True)
            ).all()

    def lock_stock(self, pairs: Iterable[tuple[str, str]], whole_skus: Iterable[str] = ()) -> None:
        """Lock the stock rows of (SKU, location) codes, and every stock row of `whole_skus`,
        then their SKU rows, in the writers' one order (stock rows by (sku_id, location_id),
        SKU rows by id): for a use case that makes several reservations in one transaction,
        or one that must read a SKU's stock everywhere while nobody moves it (a ring-fenced
        SKU: what a pool holds at one location depends on the others). PostgreSQL; SQLite has
        one writer at a time."""
        wanted = sorted(set(pairs))
        whole = sorted(set(whole_skus))
        if self.dialect != "postgresql" or not (wanted or whole):
            return
        sl = stock_levels.c
        conditions = []
        if wanted:
            conditions.append(tuple_(skus.c.code, locations.c.code).in_(wanted))
        if whole:
            conditions.append(skus.c.code.in_(whole))
        rows = self.session.execute(
            select(sl.sku_id, sl.location_id)
            .join(skus, skus.c.id == sl.sku_id)
            .join(locations, locations.c.id == sl.location_id)
            .where(or_(*conditions))
            .order_by(sl.sku_id, sl.location_id)
            .with_for_update(of=stock_levels)
        ).all()
        self.lock_skus({r.sku_id for r in rows})

    def lock_catalogue(self) -> None:
        """Hold every SKU still: waits for the writers in flight, blocks new ones, not reads."""
        if self.dialect == "postgresql":
            self.session.execute(text("LOCK TABLE skus IN EXCLUSIVE MODE"))
