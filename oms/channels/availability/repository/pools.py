"""Ring-fenced pools: what each holds for its channel, and what reservations drew from it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, case, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from oms.channels.availability.domain.rules import (
    Pool,
)
from oms.channels.availability.orm import (
    channel_pool_draws,
    channel_pools,
    channels,
)
from oms.channels.availability.repository._base import SqlChannelsBase


class SqlPools(SqlChannelsBase):
    """The pools of every channel, and their draws."""

    # ------------------------------------------------------------------ pools

    def pools(self, channel_id: int) -> list[Pool]:
        rows = self.session.execute(
            select(channel_pools)
            .where(channel_pools.c.channel_id == channel_id)
            .order_by(channel_pools.c.sku)
        )
        return [Pool(r.sku, r.quantity) for r in rows]

    def pool(self, channel_id: int, sku: str) -> int | None:
        keys = {"channel_id": channel_id, "sku": sku}
        return self._rule_value(channel_pools, keys, "quantity")  # type: ignore[no-any-return]

    def set_pool(self, channel_id: int, sku: str, quantity: int | None) -> None:
        """Setting a pool starts it afresh: it holds `quantity` from now on (drawn 0)."""
        keys = {"channel_id": channel_id, "sku": sku}
        if quantity is None:
            self._set_rule_value(channel_pools, keys, "quantity", None)
            return
        module = postgresql if self.dialect == "postgresql" else sqlite
        statement = module.insert(channel_pools).values(**keys, quantity=quantity, drawn=0)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=list(keys), set_={"quantity": quantity, "drawn": 0}
            )
        )

    def pools_held(self, channel_id: int) -> list[Pool]:
        """What each pool of the channel holds now: its quantity less what its channel drew."""
        c = channel_pools.c
        rows = self.session.execute(
            select(c.sku, c.quantity, c.drawn).where(c.channel_id == channel_id).order_by(c.sku)
        )
        return [Pool(r.sku, max(0, r.quantity - r.drawn)) for r in rows]

    def drawn_from_pools(self, skus: Sequence[str]) -> dict[tuple[int, str], int]:
        """(channel id, SKU) -> units drawn, for the pools of these SKUs that were drawn on."""
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        c = channel_pools.c
        rows = self.session.execute(
            select(c.channel_id, c.sku, c.drawn).where(c.sku.in_(wanted), c.drawn > 0)
        )
        return {(r.channel_id, r.sku): r.drawn for r in rows}

    def pooled_skus(self, skus: Sequence[str]) -> set[str]:
        """Those of `skus` that a pool of an active channel holds units of."""
        wanted = sorted(set(skus))
        if not wanted:
            return set()
        return set(self.session.execute(_POOLED_SKUS, {"skus": wanted}).scalars())

    def pool_left(self, channel: str, sku: str) -> tuple[int, int] | None:
        """(channel id, units the pool still holds) of a channel's pool of `sku`, or None."""
        c = channel_pools.c
        row = self.session.execute(
            select(c.channel_id, c.quantity - c.drawn)
            .join(channels, channels.c.id == c.channel_id)
            .where(channels.c.code == channel, c.sku == sku, channels.c.active.is_(True))
        ).first()
        return None if row is None else (int(row[0]), max(0, int(row[1])))

    def draw_from_pool(self, channel_id: int, sku: str, reservation_id: int, units: int) -> None:
        """The reservation took `units` out of the channel's pool of `sku`."""
        c = channel_pools.c
        self.session.execute(
            update(channel_pools)
            .where(c.channel_id == channel_id, c.sku == sku)
            .values(drawn=c.drawn + units)
        )
        self.session.execute(
            insert(channel_pool_draws).values(
                reservation_id=reservation_id, channel_id=channel_id, sku=sku, units=units
            )
        )

    def return_pool_draws(
        self, reservation_id: int, sku: str | None = None, units: int | None = None
    ) -> None:
        """A released reservation gives back what it drew from pools (a pool set again since
        then starts afresh and is not topped up beyond its quantity: drawn stays >= 0).
        With `sku` and `units`: only up to `units` of what it drew of that SKU (a count cut
        them off the reservation)."""
        d, c = channel_pool_draws.c, channel_pools.c
        query = select(d.channel_id, d.sku, d.units).where(d.reservation_id == reservation_id)
        if sku is not None:
            query = query.where(d.sku == sku)
        for draw in self.session.execute(query).all():
            back = draw.units if units is None else min(units, draw.units)
            if back <= 0:
                continue
            self.session.execute(
                update(channel_pools)
                .where(c.channel_id == draw.channel_id, c.sku == draw.sku)
                .values(drawn=case((c.drawn > back, c.drawn - back), else_=0))
            )
            mine = (d.reservation_id == reservation_id) & (d.sku == draw.sku)
            if back == draw.units:
                self.session.execute(delete(channel_pool_draws).where(mine))
            else:
                self.session.execute(
                    update(channel_pool_draws).where(mine).values(units=d.units - back)
                )
            if units is not None:
                units -= back


# Built once: every reservation asks it.
_POOLED_SKUS = (
    select(channel_pools.c.sku)
    .distinct()
    .join(channels, channels.c.id == channel_pools.c.channel_id)
    .where(
        channel_pools.c.sku.in_(bindparam("skus", expanding=True)),
        channel_pools.c.quantity > channel_pools.c.drawn,
        channels.c.active.is_(True),
    )
)
