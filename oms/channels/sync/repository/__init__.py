"""All SQL of the channel sync, for SQLite and PostgreSQL alike: `SqlSync` implements
`oms.channels.sync.ports.SyncStore` over one session (one transaction)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, column, delete, func, insert, select, table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oms.channels.availability.orm import channels
from oms.channels.sync.domain.model import ChannelKind, ListingRef
from oms.channels.sync.orm import (
    channel_connections,
    channel_listings,
    channel_sync_state,
    channel_told,
    shipment_confirmations,
    sync_failures,
    webhook_deliveries,
)
from oms.channels.sync.ports import (
    Listing,
    StoredConnection,
    SyncFailure,
    SyncState,
    Told,
)
from oms.orders.orm import shipments

# The catalogue's SKU codes, read by name: listing checks need nothing else of the inventory.
_skus = table("skus", column("code"))

_CHUNK = 500  # bound parameters per IN list: SQLite allows 32,766, PostgreSQL 65,535


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _variant(value: str | None) -> str:
    return value or ""


def _ref(row: Any) -> ListingRef:
    return ListingRef(row.sku, row.remote_id, row.remote_variant or None)


class SqlSync:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def _insert(self, table: Any) -> Any:
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table)

    # ------------------------------------------------------------------ connections

    def connection(self, channel: str) -> StoredConnection | None:
        c = channel_connections.c
        row = self.session.execute(
            select(channel_connections, channels.c.kind)
            .join(channels, channels.c.code == c.channel)
            .where(c.channel == channel)
        ).first()
        return _connection(row) if row is not None else None

    def channel_kind(self, channel: str) -> ChannelKind | None:
        """The kind of the channel, None when there is no such channel."""
        kind = self.session.execute(
            select(channels.c.kind).where(channels.c.code == channel)
        ).scalar_one_or_none()
        return None if kind is None else ChannelKind(kind)

    def connected_channels(self) -> list[StoredConnection]:
        c = channel_connections.c
        rows = self.session.execute(
            select(channel_connections, channels.c.kind)
            .join(channels, channels.c.code == c.channel)
            .where(channels.c.active.is_(True))
            .order_by(c.channel)
        ).all()
        return [_connection(r) for r in rows]

    def save_connection(self, connection: StoredConnection) -> None:
        values = {
            "channel": connection.channel,
            "settings": connection.settings,
            "secrets": connection.secrets,
            "push": connection.push,
            "pull_orders": connection.pull_orders,
            "pull_interval_seconds": connection.pull_interval_seconds,
            "updated_at": connection.updated_at,
        }
        statement = self._insert(channel_connections).values(**values)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["channel"],
                set_={k: getattr(statement.excluded, k) for k in values if k != "channel"},
            )
        )

    # ------------------------------------------------------------------ listings

    def listings(self, channel: str, skus: Sequence[str]) -> dict[str, ListingRef]:
        c = channel_listings.c
        found: dict[str, ListingRef] = {}
        for chunk in _chunks(sorted(set(skus))):
            rows = self.session.execute(
                select(c.sku, c.remote_id, c.remote_variant).where(
                    c.channel == channel, c.sku.in_(chunk)
                )
            )
            found.update({r.sku: _ref(r) for r in rows})
        return found

    def existing_skus(self, skus: Sequence[str]) -> set[str]:
        """Those of `skus` that are SKUs of the catalogue."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(skus))):
            rows = self.session.execute(select(_skus.c.code).where(_skus.c.code.in_(chunk)))
            found.update(str(code) for code in rows.scalars())
        return found

    def lock_listings(self, channel: str) -> None:
        """Writers of a channel's listings take turns (PostgreSQL; SQLite has one writer at a
        time anyway): two requests listing the same SKU, or two SKUs as the same channel item,
        would otherwise both pass their checks and one meet a unique key, a server error."""
        if self.dialect != "postgresql":
            return
        digest = hashlib.blake2b(f"channel_listings:{channel}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        self.session.execute(select(func.pg_advisory_xact_lock(key)))

    def listing(self, channel: str, sku: str) -> Listing | None:
        c = channel_listings.c
        row = self.session.execute(
            select(channel_listings).where(c.channel == channel, c.sku == sku)
        ).first()
        return (
            None if row is None else Listing(row.channel, _ref(row), row.created_at, row.updated_at)
        )

    def listing_page(self, channel: str, after_sku: str, limit: int) -> list[Listing]:
        c = channel_listings.c
        rows = self.session.execute(
            select(channel_listings)
            .where(c.channel == channel, c.sku > after_sku)
            .order_by(c.sku)
            .limit(limit)
        ).all()
        return [Listing(r.channel, _ref(r), r.created_at, r.updated_at) for r in rows]

    def skus_for_remote(
        self, channel: str, remote: Sequence[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], str]:
        """Keyed as asked. A line naming a variant finds the listing of that variant, else a
        listing of the item without one; a line naming only the item finds its one listing
        (several variants listed: ambiguous, left unmatched)."""
        c = channel_listings.c
        asked = sorted(set(remote), key=lambda pair: (pair[0], pair[1] or ""))
        by_id: dict[str, dict[str, str]] = {}  # remote_id -> remote_variant ('' none) -> sku
        for chunk in _chunks(sorted({rid for rid, _ in asked})):
            rows = self.session.execute(
                select(c.sku, c.remote_id, c.remote_variant).where(
                    c.channel == channel, c.remote_id.in_(chunk)
                )
            )
            for r in rows:
                by_id.setdefault(r.remote_id, {})[r.remote_variant or ""] = r.sku
        found: dict[tuple[str, str | None], str] = {}
        for rid, variant in asked:
            listed = by_id.get(rid, {})
            sku = listed.get(variant or "") or listed.get("")
            if sku is None and not variant and len(listed) == 1:
                sku = next(iter(listed.values()))
            if sku is not None:
                found[(rid, variant)] = sku
        return found

    def save_listing(self, channel: str, ref: ListingRef, now: datetime) -> bool:
        c = channel_listings.c
        existing = self.session.execute(
            select(c.sku).where(c.channel == channel, c.sku == ref.sku)
        ).first()
        values = {"remote_id": ref.remote_id, "remote_variant": _variant(ref.remote_variant)}
        # New or moved: the channel hears its number anew, and a refusal of the old listing
        # no longer stands in the way.
        self.forget_told(channel, ref.sku)
        self.resolve_failures(channel, "push", [ref.sku], now)
        if existing is None:
            self.session.execute(
                insert(channel_listings).values(
                    channel=channel, sku=ref.sku, created_at=now, updated_at=now, **values
                )
            )
            return True
        self.session.execute(
            update(channel_listings)
            .where(c.channel == channel, c.sku == ref.sku)
            .values(updated_at=now, **values)
        )
        return False

    def remove_listing(self, channel: str, sku: str) -> bool:
        c = channel_listings.c
        done = self.session.execute(
            delete(channel_listings).where(c.channel == channel, c.sku == sku)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    def untold_listings(self, channel: str, limit: int) -> list[str]:
        """Listed SKUs the channel was never told a number for (new listings), leaving out
        those with an open push failure (refused: a person retries them)."""
        c, t, f = channel_listings.c, channel_told.c, sync_failures.c
        refused = (
            select(f.subject)
            .where(f.channel == channel, f.operation == "push", f.resolved_at.is_(None))
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(c.sku)
            .outerjoin(channel_told, and_(t.channel == c.channel, t.sku == c.sku))
            .where(c.channel == channel, t.sku.is_(None), c.sku.not_in(refused))
            .order_by(c.sku)
            .limit(limit)
        )
        return list(rows.scalars())

    def forget_told(self, channel: str, sku: str) -> None:
        """The channel is to be told this SKU's number afresh (its listing changed)."""
        self.session.execute(
            delete(channel_told).where(channel_told.c.channel == channel, channel_told.c.sku == sku)
        )

    def listed_count(self, channel: str) -> int:
        c = channel_listings.c
        return int(
            self.session.execute(
                select(func.count()).select_from(channel_listings).where(c.channel == channel)
            ).scalar_one()
        )

    # ------------------------------------------------------------------ told

    def told(self, channel: str, skus: Sequence[str]) -> dict[str, Told]:
        c = channel_told.c
        found: dict[str, Told] = {}
        for chunk in _chunks(sorted(set(skus))):
            rows = self.session.execute(
                select(channel_told).where(c.channel == channel, c.sku.in_(chunk))
            )
            found.update({r.sku: Told(r.sku, r.quantity, r.version, r.told_at) for r in rows})
        return found

    def save_told(self, channel: str, told: Sequence[Told]) -> None:
        if not told:
            return
        statement = self._insert(channel_told).values(
            [
                {
                    "channel": channel,
                    "sku": t.sku,
                    "quantity": t.quantity,
                    "version": t.version,
                    "told_at": t.told_at,
                }
                for t in told
            ]
        )
        excluded = statement.excluded
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["channel", "sku"],
                set_={
                    "quantity": excluded.quantity,
                    "version": excluded.version,
                    "told_at": excluded.told_at,
                },
                # An older number never overwrites a newer one (two passes racing).
                where=channel_told.c.version <= excluded.version,
            )
        )

    # ------------------------------------------------------------------ state

    def sync_state(self, channel: str, *, lock: bool = False) -> SyncState:
        c = channel_sync_state.c
        query = select(channel_sync_state).where(c.channel == channel)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        if row is None and not lock:
            return SyncState(channel)  # a read writes nothing (GETs on SQLite may not)
        if row is None:
            self.session.execute(
                self._insert(channel_sync_state)
                .values(channel=channel, updated_at=func.now())
                .on_conflict_do_nothing(index_elements=["channel"])
            )
            row = self.session.execute(query).one()
        return SyncState(
            channel=row.channel,
            push_cursor=row.push_cursor,
            order_cursor=row.order_cursor,
            last_push_at=row.last_push_at,
            last_pull_at=row.last_pull_at,
            last_reconcile_at=row.last_reconcile_at,
            pushed=row.pushed,
            pulled=row.pulled,
            throttled=row.throttled,
            latency_p95_seconds=row.latency_p95_seconds,
            last_error=row.last_error,
        )

    def sync_states(self) -> dict[str, SyncState]:
        rows = self.session.execute(select(channel_sync_state.c.channel)).scalars().all()
        return {channel: self.sync_state(channel) for channel in rows}

    def save_sync_state(self, state: SyncState, now: datetime) -> None:
        self.session.execute(
            update(channel_sync_state)
            .where(channel_sync_state.c.channel == state.channel)
            .values(
                push_cursor=state.push_cursor,
                order_cursor=state.order_cursor,
                last_push_at=state.last_push_at,
                last_pull_at=state.last_pull_at,
                last_reconcile_at=state.last_reconcile_at,
                pushed=state.pushed,
                pulled=state.pulled,
                latency_p95_seconds=state.latency_p95_seconds,
                last_error=state.last_error,
                updated_at=now,
            )
        )

    def count_throttled(self, channel: str, calls: int) -> None:
        self.sync_state(channel, lock=True)
        self.session.execute(
            update(channel_sync_state)
            .where(channel_sync_state.c.channel == channel)
            .values(throttled=channel_sync_state.c.throttled + calls)
        )

    # ------------------------------------------------------------------ failures

    def record_failure(
        self,
        channel: str,
        operation: str,
        subject: str,
        message: str,
        now: datetime,
        payload: dict[str, Any] | None = None,
    ) -> int:
        f = sync_failures.c
        existing = self.session.execute(
            select(f.id).where(
                f.channel == channel,
                f.operation == operation,
                f.subject == subject,
                f.resolved_at.is_(None),
            )
        ).scalar_one_or_none()
        if existing is not None:
            self.session.execute(
                update(sync_failures)
                .where(f.id == existing)
                .values(
                    message=message[:2000],
                    attempts=f.attempts + 1,
                    updated_at=now,
                    **({"payload": payload} if payload is not None else {}),
                )
            )
            return int(existing)
        return int(
            self.session.execute(
                insert(sync_failures)
                .values(
                    channel=channel,
                    operation=operation,
                    subject=subject[:200],
                    message=message[:2000],
                    attempts=1,
                    payload=payload,
                    created_at=now,
                    updated_at=now,
                )
                .returning(f.id)
            ).scalar_one()
        )

    def resolve_failures(
        self, channel: str, operation: str, subjects: Sequence[str], now: datetime
    ) -> int:
        f = sync_failures.c
        done = 0
        for chunk in _chunks(sorted(set(subjects))):
            result = self.session.execute(
                update(sync_failures)
                .where(
                    f.channel == channel,
                    f.operation == operation,
                    f.subject.in_(chunk),
                    f.resolved_at.is_(None),
                )
                .values(resolved_at=now, updated_at=now, payload=None)
            )
            done += result.rowcount  # type: ignore[attr-defined]
        return done

    def open_failure_subjects(
        self, channel: str, operation: str, subjects: Sequence[str]
    ) -> set[str]:
        f = sync_failures.c
        found: set[str] = set()
        for chunk in _chunks(sorted(set(subjects))):
            rows = self.session.execute(
                select(f.subject).where(
                    f.channel == channel,
                    f.operation == operation,
                    f.subject.in_(chunk),
                    f.resolved_at.is_(None),
                )
            )
            found.update(rows.scalars())
        return found

    def failure(self, failure_id: int) -> SyncFailure | None:
        row = self.session.execute(
            select(sync_failures).where(sync_failures.c.id == failure_id)
        ).first()
        return _failure(row) if row is not None else None

    def failures(
        self, channel: str | None, open_only: bool, after_id: int, limit: int
    ) -> list[SyncFailure]:
        f = sync_failures.c
        conditions = [f.id > after_id]
        if channel is not None:
            conditions.append(f.channel == channel)
        if open_only:
            conditions.append(f.resolved_at.is_(None))
        rows = self.session.execute(
            select(sync_failures).where(and_(*conditions)).order_by(f.id).limit(limit)
        ).all()
        return [_failure(r) for r in rows]

    def open_failure_counts(self) -> dict[str, int]:
        f = sync_failures.c
        rows = self.session.execute(
            select(f.channel, func.count()).where(f.resolved_at.is_(None)).group_by(f.channel)
        ).all()
        return {channel: int(n) for channel, n in rows}

    # ------------------------------------------------------------------ confirmations

    def confirmed(self, shipment_id: int) -> bool:
        c = shipment_confirmations.c
        return (
            self.session.execute(select(c.shipment_id).where(c.shipment_id == shipment_id)).first()
            is not None
        )

    def delivery_taken(self, channel: str, delivery_id: str) -> bool:
        w = webhook_deliveries.c
        found = self.session.execute(
            select(w.delivery_id).where(w.channel == channel, w.delivery_id == delivery_id[:100])
        ).first()
        return found is not None

    def take_delivery(self, channel: str, delivery_id: str, now: datetime) -> bool:
        """Record a webhook delivery; False when it was taken before."""
        done = self.session.execute(
            self._insert(webhook_deliveries)
            .values(channel=channel, delivery_id=delivery_id[:100], received_at=now)
            .on_conflict_do_nothing(index_elements=["channel", "delivery_id"])
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    def order_of_shipment(self, shipment_id: int) -> int | None:
        found = self.session.execute(
            select(shipments.c.order_id).where(shipments.c.id == shipment_id)
        ).scalar_one_or_none()
        return int(found) if found is not None else None

    def mark_confirmed(self, shipment_id: int, channel: str, now: datetime) -> bool:
        done = self.session.execute(
            self._insert(shipment_confirmations)
            .values(shipment_id=shipment_id, channel=channel, confirmed_at=now)
            .on_conflict_do_nothing(index_elements=["shipment_id"])
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


def _connection(row: Any) -> StoredConnection:
    return StoredConnection(
        channel=row.channel,
        kind=ChannelKind(row.kind),
        settings=dict(row.settings),
        secrets=row.secrets,
        push=row.push,
        pull_orders=row.pull_orders,
        pull_interval_seconds=row.pull_interval_seconds,
        updated_at=row.updated_at,
    )


def _failure(row: Any) -> SyncFailure:
    return SyncFailure(
        id=row.id,
        channel=row.channel,
        operation=row.operation,
        subject=row.subject,
        message=row.message,
        attempts=row.attempts,
        created_at=row.created_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        payload=row.payload,
    )


__all__ = ["SqlSync"]
