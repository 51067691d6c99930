"""All SQL of the channels context, for SQLite and PostgreSQL alike.

`SqlChannels` is the whole: channels, safety stock, exclusions, buffers, shares, caps and the
rule audit here, ring-fenced pools in `pools`, the published numbers in `published_store`,
over the session and keyed-row helpers of `_base`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update

from oms.channels.availability.domain.rules import (
    Buffer,
    BufferScope,
    Cap,
    Channel,
    ChannelKind,
    DefaultSafetyStock,
    Exclusion,
    ExclusionKind,
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
    channel_shares,
    channels,
    rule_changes,
    safety_stock,
    safety_stock_defaults,
)
from oms.channels.availability.repository.pools import SqlPools


class SqlChannels(SqlPools):
    """The channels' storage, bound to one session (one transaction)."""

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
        ).all()  # fetched at once: row by row costs more than the query for 100,000 SKUs
        return {(sku, location): quantity for sku, location, quantity in rows}

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
