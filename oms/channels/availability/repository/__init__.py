"""All SQL of the channels context, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oms.channels.availability.domain.rules import (
    Buffer,
    BufferScope,
    Cap,
    Channel,
    ChannelKind,
    DefaultSafetyStock,
    Exclusion,
    ExclusionKind,
    Pool,
    RuleChange,
    RuleKind,
    SafetyStock,
    Share,
)
from oms.channels.availability.orm import (
    ALL_SKUS,
    channel_buffers,
    channel_caps,
    channel_exclusions,
    channel_locations,
    channel_pool_draws,
    channel_pools,
    channel_shares,
    channels,
    rule_changes,
    safety_stock,
    safety_stock_defaults,
)
from oms.channels.availability.repository.published_store import SqlPublished


class SqlChannels(SqlPublished):
    """The channels' storage, bound to one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def _upsert(self, table: Any, values: dict[str, Any], keys: list[str], changed: str) -> None:
        module = postgresql if self.dialect == "postgresql" else sqlite
        statement = module.insert(table).values(**values)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=keys, set_={changed: getattr(statement.excluded, changed)}
            )
        )

    def _rule_value(self, table: Any, keys: dict[str, Any], column: str) -> Any:
        """The value of one keyed rule row, or None when the rule is not set."""
        return self.session.execute(
            select(table.c[column]).where(*(table.c[k] == v for k, v in keys.items()))
        ).scalar_one_or_none()

    def _set_rule_value(
        self, table: Any, keys: dict[str, Any], column: str, value: Any | None
    ) -> None:
        """Set one keyed rule row; None removes it."""
        if value is None:
            self.session.execute(delete(table).where(*(table.c[k] == v for k, v in keys.items())))
            return
        self._upsert(table, {**keys, column: value}, list(keys), column)

    # ------------------------------------------------------------------ channels

    def add_channel(self, channel: Channel) -> int:
        new_id = int(
            self.session.execute(
                insert(channels)
                .values(
                    code=channel.code,
                    name=channel.name,
                    kind=channel.kind.value,
                    active=channel.active,
                    auto_buffer=channel.auto_buffer,
                    push_latency_seconds=channel.push_latency_seconds,
                    settings=channel.settings,
                    created_at=channel.created_at,
                    updated_at=channel.updated_at,
                )
                .returning(channels.c.id)
            ).scalar_one()
        )
        self._write_locations(new_id, channel.locations)
        return new_id

    def _write_locations(self, channel_id: int, codes: list[str]) -> None:
        if codes:
            self.session.execute(
                insert(channel_locations),
                [
                    {"channel_id": channel_id, "location": code, "position": i}
                    for i, code in enumerate(codes)
                ],
            )

    def update_channel(self, channel: Channel) -> None:
        if channel.id is None:
            raise ValueError("update_channel needs a stored channel")
        self.session.execute(
            update(channels)
            .where(channels.c.id == channel.id)
            .values(
                name=channel.name,
                kind=channel.kind.value,
                active=channel.active,
                auto_buffer=channel.auto_buffer,
                push_latency_seconds=channel.push_latency_seconds,
                settings=channel.settings,
                updated_at=channel.updated_at,
            )
        )
        self.session.execute(
            delete(channel_locations).where(channel_locations.c.channel_id == channel.id)
        )
        self._write_locations(channel.id, channel.locations)

    def _channels(self, rows: list[Any]) -> list[Channel]:
        feeding: dict[int, list[str]] = {}
        if rows:
            found = self.session.execute(
                select(channel_locations.c.channel_id, channel_locations.c.location)
                .where(channel_locations.c.channel_id.in_([r.id for r in rows]))
                .order_by(channel_locations.c.channel_id, channel_locations.c.position)
            )
            for r in found:
                feeding.setdefault(r.channel_id, []).append(r.location)
        return [
            Channel(
                code=r.code,
                name=r.name,
                kind=ChannelKind(r.kind),
                active=r.active,
                locations=feeding.get(r.id, []),
                auto_buffer=r.auto_buffer,
                push_latency_seconds=float(r.push_latency_seconds),
                settings=dict(r.settings or {}),
                id=r.id,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
            for r in rows
        ]

    def channel_by_code(self, code: str, *, lock: bool = False) -> Channel | None:
        query = select(channels).where(channels.c.code == code)
        if lock:
            # FOR NO KEY UPDATE: rule changes of a channel still run one at a time, but rows
            # that only refer to the channel (its published numbers, its pools' draws) can be
            # written meanwhile. Their foreign key check takes a KEY SHARE lock on this row,
            # which FOR UPDATE would block while the rule change waits for a SKU row that such
            # a writer holds: a deadlock.
            query = query.with_for_update(key_share=True)
        found = self._channels(list(self.session.execute(query).all()))
        return found[0] if found else None

    def list_channels(self, after_id: int, limit: int) -> list[Channel]:
        rows = self.session.execute(
            select(channels).where(channels.c.id > after_id).order_by(channels.c.id).limit(limit)
        ).all()
        return self._channels(list(rows))

    # ------------------------------------------------------------------ safety stock

    def safety_stock(self, sku: str, location: str) -> int | None:
        keys = {"sku": sku, "location": location}
        return self._rule_value(safety_stock, keys, "quantity")  # type: ignore[no-any-return]

    def set_safety_stock(self, sku: str, location: str, quantity: int | None) -> None:
        self._set_rule_value(safety_stock, {"sku": sku, "location": location}, "quantity", quantity)

    def safety_stocks(
        self,
        *,
        sku: str | None,
        location: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[SafetyStock]:
        query = select(safety_stock)
        if sku is not None:
            query = query.where(safety_stock.c.sku == sku)
        if location is not None:
            query = query.where(safety_stock.c.location == location)
        if after is not None:
            query = query.where(
                or_(
                    safety_stock.c.sku > after[0],
                    and_(safety_stock.c.sku == after[0], safety_stock.c.location > after[1]),
                )
            )
        rows = self.session.execute(
            query.order_by(safety_stock.c.sku, safety_stock.c.location).limit(limit)
        )
        return [SafetyStock(r.sku, r.location, r.quantity) for r in rows]

    def safety_stock_overrides(self) -> dict[tuple[str, str], int]:
        """Every (SKU, location) safety stock, in one query: for recomputing every SKU."""
        rows = self.session.execute(
            select(safety_stock.c.sku, safety_stock.c.location, safety_stock.c.quantity)
        )
        return {(r[0], r[1]): r[2] for r in rows}

    def safety_stock_at(
        self, skus: Sequence[str], locations: Sequence[str]
    ) -> dict[tuple[str, str], int]:
        """Units kept back per (SKU, location): the SKU's own, else the location's default."""
        if not skus or not locations:
            return {}
        rows = self.session.execute(
            select(safety_stock_defaults.c.location, safety_stock_defaults.c.quantity).where(
                safety_stock_defaults.c.location.in_(list(locations))
            )
        )
        defaults: dict[str, int] = {r[0]: r[1] for r in rows}
        kept = {(sku, loc): defaults[loc] for sku in skus for loc in locations if loc in defaults}
        for sku, loc, quantity in self.session.execute(
            select(safety_stock.c.sku, safety_stock.c.location, safety_stock.c.quantity).where(
                safety_stock.c.sku.in_(list(skus)), safety_stock.c.location.in_(list(locations))
            )
        ):
            kept[(sku, loc)] = quantity
        return kept

    def default_safety_stock(self, location: str) -> int | None:
        keys = {"location": location}
        return self._rule_value(safety_stock_defaults, keys, "quantity")  # type: ignore[no-any-return]

    def set_default_safety_stock(self, location: str, quantity: int | None) -> None:
        self._set_rule_value(safety_stock_defaults, {"location": location}, "quantity", quantity)

    def default_safety_stocks(self) -> list[DefaultSafetyStock]:
        rows = self.session.execute(
            select(safety_stock_defaults).order_by(safety_stock_defaults.c.location)
        )
        return [DefaultSafetyStock(r.location, r.quantity) for r in rows]

    # ------------------------------------------------------------------ exclusions

    @staticmethod
    def _exclusion(row: Any) -> Exclusion:
        return Exclusion(
            ExclusionKind(row.kind),
            sku=row.sku,
            attribute=row.attribute,
            value=row.value,
            location=row.location,
            id=row.id,
        )

    def exclusions(self, channel_id: int) -> list[Exclusion]:
        rows = self.session.execute(
            select(channel_exclusions)
            .where(channel_exclusions.c.channel_id == channel_id)
            .order_by(channel_exclusions.c.id)
        )
        return [self._exclusion(r) for r in rows]

    def exclusion_by_key(self, channel_id: int, key: str) -> Exclusion | None:
        row = self.session.execute(
            select(channel_exclusions).where(
                channel_exclusions.c.channel_id == channel_id, channel_exclusions.c.key == key
            )
        ).first()
        return self._exclusion(row) if row else None

    def exclusion(self, channel_id: int, exclusion_id: int) -> Exclusion | None:
        row = self.session.execute(
            select(channel_exclusions).where(
                channel_exclusions.c.channel_id == channel_id,
                channel_exclusions.c.id == exclusion_id,
            )
        ).first()
        return self._exclusion(row) if row else None

    def add_exclusion(self, channel_id: int, exclusion: Exclusion) -> int:
        return int(
            self.session.execute(
                insert(channel_exclusions)
                .values(
                    channel_id=channel_id,
                    kind=exclusion.kind.value,
                    key=exclusion.key,
                    sku=exclusion.sku,
                    attribute=exclusion.attribute,
                    value=exclusion.value,
                    location=exclusion.location,
                )
                .returning(channel_exclusions.c.id)
            ).scalar_one()
        )

    def remove_exclusion(self, channel_id: int, exclusion_id: int) -> None:
        self.session.execute(
            delete(channel_exclusions).where(
                channel_exclusions.c.channel_id == channel_id,
                channel_exclusions.c.id == exclusion_id,
            )
        )

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
        c = channel_pools.c
        rows = self.session.execute(
            select(c.sku)
            .distinct()
            .join(channels, channels.c.id == c.channel_id)
            .where(c.sku.in_(wanted), c.quantity > c.drawn, channels.c.active.is_(True))
        )
        return set(rows.scalars())

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

    # ------------------------------------------------------------------ buffers

    def buffers(self, channel_id: int) -> list[Buffer]:
        rows = self.session.execute(
            select(channel_buffers)
            .where(channel_buffers.c.channel_id == channel_id)
            .order_by(channel_buffers.c.scope, channel_buffers.c.key)
        )
        return [Buffer(BufferScope(r.scope), r.key or None, r.units) for r in rows]

    def buffer(self, channel_id: int, scope: BufferScope, key: str | None) -> int | None:
        keys = {"channel_id": channel_id, "scope": scope.value, "key": key or ""}
        return self._rule_value(channel_buffers, keys, "units")  # type: ignore[no-any-return]

    def set_buffer(
        self, channel_id: int, scope: BufferScope, key: str | None, units: int | None
    ) -> None:
        keys = {"channel_id": channel_id, "scope": scope.value, "key": key or ""}
        self._set_rule_value(channel_buffers, keys, "units", units)

    # ------------------------------------------------------------------ shares and caps

    def shares(self, channel_id: int) -> list[Share]:
        rows = self.session.execute(
            select(channel_shares)
            .where(channel_shares.c.channel_id == channel_id)
            .order_by(channel_shares.c.sku)
        )
        return [Share(r.sku or None, float(r.percent)) for r in rows]

    def share(self, channel_id: int, sku: str | None) -> float | None:
        keys = {"channel_id": channel_id, "sku": sku or ALL_SKUS}
        found = self._rule_value(channel_shares, keys, "percent")
        return None if found is None else float(found)

    def set_share(self, channel_id: int, sku: str | None, percent: float | None) -> None:
        keys = {"channel_id": channel_id, "sku": sku or ALL_SKUS}
        self._set_rule_value(channel_shares, keys, "percent", percent)

    def caps(self, channel_id: int) -> list[Cap]:
        rows = self.session.execute(
            select(channel_caps)
            .where(channel_caps.c.channel_id == channel_id)
            .order_by(channel_caps.c.sku)
        )
        return [Cap(r.sku or None, r.cap) for r in rows]

    def cap(self, channel_id: int, sku: str | None) -> int | None:
        keys = {"channel_id": channel_id, "sku": sku or ALL_SKUS}
        return self._rule_value(channel_caps, keys, "cap")  # type: ignore[no-any-return]

    def set_cap(self, channel_id: int, sku: str | None, cap: int | None) -> None:
        keys = {"channel_id": channel_id, "sku": sku or ALL_SKUS}
        self._set_rule_value(channel_caps, keys, "cap", cap)

    # ------------------------------------------------------------------ audit

    def add_rule_change(self, change: RuleChange) -> None:
        self.session.execute(
            insert(rule_changes).values(
                kind=change.kind.value,
                channel=change.channel,
                key=change.key,
                old_value=change.old,
                new_value=change.new,
                actor=change.actor,
                at=change.at,
            )
        )

    def rule_changes(
        self, *, channel: str | None, before_id: int | None, limit: int
    ) -> list[RuleChange]:
        query = select(rule_changes)
        if channel is not None:
            query = query.where(rule_changes.c.channel == channel)
        if before_id is not None:
            query = query.where(rule_changes.c.id < before_id)
        rows = self.session.execute(query.order_by(rule_changes.c.id.desc()).limit(limit))
        return [
            RuleChange(
                kind=RuleKind(r.kind),
                channel=r.channel,
                key=r.key,
                old=r.old_value,
                new=r.new_value,
                actor=r.actor,
                at=r.at,
                id=r.id,
            )
            for r in rows
        ]
