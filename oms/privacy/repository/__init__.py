"""All SQL of the privacy context, for SQLite and PostgreSQL alike: `SqlPrivacy` implements
`oms.privacy.ports.PrivacyStore` over one session (one transaction).

The anonymisation is set-based: one UPDATE per scrubbed place for a whole batch of orders, the
batch's ids bound as one parameter (an array on PostgreSQL, a JSON list on SQLite), and the
JSON documents changed in the database (`jsonb_set` / `json_replace`), never row by row in
Python. Other contexts' tables are named, not imported (`places.SCRUBBED_PLACES`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    String,
    and_,
    column,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from oms.db import BigId, UtcDateTime
from oms.privacy.domain import AuditEntry, LegalHold, PiiPolicy
from oms.privacy.domain.scrub import PLACEHOLDER, replacement
from oms.privacy.orm import (
    legal_holds,
    personal_data_reads,
    pii_anonymised_orders,
    pii_policies,
    pii_runs,
)
from oms.privacy.repository.places import (
    DERIVED_ORDERS,
    SCRUBBED_PLACES,
    JsonPlace,
    Place,
    TextPlace,
)
from oms.shared.personal_data import (
    ADDRESS_KEYS,
    PersonalDataRead,
    PersonalField,
    Reader,
    Subject,
)

# Other contexts' tables, by name: only the columns read here.
_orders = table(
    "orders",
    column("id", BigId),
    column("channel", String),
    column("status", String),
    column("ordered_at", UtcDateTime),
)
_shipments = table(
    "shipments",
    column("order_id", BigId),
    column("status", String),
    column("shipped_at", UtcDateTime),
)
_channels = table("channels", column("code", String), column("kind", String))

SHIPPED, CANCELLED = "shipped", "cancelled"


class SqlPrivacy:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # ---------------------------------------------------------------- channels and policies

    def channel_kinds(self) -> dict[str, str]:
        rows = self.session.execute(select(_channels.c.code, _channels.c.kind)).all()
        return {str(r.code): str(r.kind) for r in rows}

    def policy(self, channel: str) -> PiiPolicy | None:
        row = self.session.execute(
            select(pii_policies).where(pii_policies.c.channel == channel)
        ).first()
        return _policy(row) if row is not None else None

    def policies(self) -> list[PiiPolicy]:
        rows = self.session.execute(select(pii_policies).order_by(pii_policies.c.channel))
        return [_policy(r) for r in rows]

    def put_policy(self, policy: PiiPolicy, actor: str, now: datetime) -> None:
        values = {
            "enabled": policy.enabled,
            "fields": sorted(f.value for f in policy.fields),
            "days_after_delivery": policy.days_after_delivery,
            "days_after_cancellation": policy.days_after_cancellation,
            "updated_by": actor,
            "updated_at": now,
        }
        # An upsert: two people saving the same channel's policy at once is not a 500.
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        statement = dialect_insert(pii_policies).values(channel=policy.channel, **values)
        self.session.execute(
            statement.on_conflict_do_update(index_elements=["channel"], set_=values)
        )

    # ---------------------------------------------------------------- orders and holds

    def lock_order(self, order_id: int) -> bool:
        found = self.session.execute(
            select(_orders.c.id).where(_orders.c.id == order_id).with_for_update(key_share=True)
        ).first()
        return found is not None

    def order_exists(self, order_id: int) -> bool:
        found = self.session.execute(select(_orders.c.id).where(_orders.c.id == order_id))
        return found.first() is not None

    def anonymised_at(self, order_id: int) -> datetime | None:
        value: datetime | None = self.session.execute(
            select(pii_anonymised_orders.c.anonymised_at).where(
                pii_anonymised_orders.c.order_id == order_id
            )
        ).scalar()
        return value

    def holds(self, order_id: int) -> list[LegalHold]:
        rows = self.session.execute(
            select(legal_holds).where(legal_holds.c.order_id == order_id).order_by(legal_holds.c.id)
        )
        return [_hold(r) for r in rows]

    def standing_hold(self, order_id: int) -> LegalHold | None:
        row = self.session.execute(
            select(legal_holds).where(
                legal_holds.c.order_id == order_id, legal_holds.c.released_at.is_(None)
            )
        ).first()
        return _hold(row) if row is not None else None

    def add_hold(self, order_id: int, reason: str, actor: str, now: datetime) -> LegalHold:
        new_id = int(
            self.session.execute(
                insert(legal_holds)
                .values(order_id=order_id, reason=reason, placed_by=actor, placed_at=now)
                .returning(legal_holds.c.id)
            ).scalar_one()
        )
        return LegalHold(new_id, order_id, reason, actor, now)

    def release_hold(self, hold_id: int, reason: str, actor: str, now: datetime) -> None:
        self.session.execute(
            update(legal_holds)
            .where(legal_holds.c.id == hold_id)
            .values(released_by=actor, released_at=now, release_reason=reason)
        )

    # ---------------------------------------------------------------- anonymisation

    def _due(self, channel: str, shipped_before: datetime, ordered_before: datetime) -> list[Any]:
        o, s = _orders.c, _shipments.c
        # "The last parcel left at or before the cutoff" without an aggregate: no parcel of
        # the order left after it.
        shipped_due = and_(
            o.status == SHIPPED,
            ~exists().where(s.order_id == o.id, s.status == SHIPPED, s.shipped_at > shipped_before),
        )
        cancelled_due = and_(o.status == CANCELLED, o.ordered_at <= ordered_before)
        return [
            or_(o.channel == channel, o.id.in_(_derived_from(channel))),
            o.status.in_((SHIPPED, CANCELLED)),
            or_(shipped_due, cancelled_due),
            ~exists().where(pii_anonymised_orders.c.order_id == o.id),
        ]

    def due_orders(
        self,
        channel: str,
        shipped_before: datetime,
        ordered_before: datetime,
        after_id: int,
        limit: int,
    ) -> list[int]:
        rows = self.session.execute(
            select(_orders.c.id)
            .where(*self._due(channel, shipped_before, ordered_before), _orders.c.id > after_id)
            .order_by(_orders.c.id)
            .limit(limit)
        )
        return [int(r[0]) for r in rows]

    def count_due(
        self, channel: str, shipped_before: datetime, ordered_before: datetime
    ) -> tuple[int, int]:
        held = exists().where(
            legal_holds.c.order_id == _orders.c.id, legal_holds.c.released_at.is_(None)
        )
        due = self._due(channel, shipped_before, ordered_before)
        free = self.session.execute(select(func.count()).where(*due, ~held)).scalar_one()
        blocked = self.session.execute(select(func.count()).where(*due, held)).scalar_one()
        return int(free), int(blocked)

    def lock_free(self, order_ids: Sequence[int]) -> list[int]:
        if not order_ids:
            return []
        # NO KEY UPDATE: the rows are about to change, not their keys; a concurrent insert
        # that only refers to an order (its key share) is not blocked by it.
        self.session.execute(
            select(_orders.c.id)
            .where(_orders.c.id.in_(order_ids))
            .order_by(_orders.c.id)
            .with_for_update(key_share=True)
        ).all()
        held = set(
            self.session.execute(
                select(legal_holds.c.order_id).where(
                    legal_holds.c.order_id.in_(order_ids), legal_holds.c.released_at.is_(None)
                )
            ).scalars()
        )
        done = self.anonymised_among(order_ids)
        return [i for i in order_ids if i not in held and i not in done]

    def anonymise(
        self,
        order_ids: Sequence[int],
        channel: str,
        fields: frozenset[PersonalField],
        now: datetime,
    ) -> None:
        if not order_ids:
            return
        for place in SCRUBBED_PLACES:
            statement = self._scrub(place, fields)
            if statement is not None:
                sql, params = statement
                self.session.execute(text(sql), {**params, **self._ids(order_ids)})
        o = _orders.c
        self.session.execute(
            insert(pii_anonymised_orders).from_select(
                ["order_id", "channel", "anonymised_at", "fields"],
                select(
                    o.id,
                    literal(channel, String),
                    literal(now, UtcDateTime),
                    literal(sorted(f.value for f in fields), JSON),
                ).where(o.id.in_(order_ids)),
            )
        )

    def _ids(self, order_ids: Sequence[int]) -> dict[str, Any]:
        ids = [int(i) for i in order_ids]
        return {"ids": ids if self._postgres else json.dumps(ids)}

    def _in_ids(self, key: str) -> str:
        if self._postgres:
            return f"{key} = ANY(CAST(:ids AS BIGINT[]))"
        return f"{key} IN (SELECT value FROM json_each(:ids))"  # noqa: S608 (a place's column)

    def _rows_of(self, place: Place) -> str:
        if place.via is None:
            return self._in_ids(place.order_key)
        via = place.via
        parents = self._in_ids(via.parent_order_key)
        return f"{via.key} IN (SELECT id FROM {via.parent} WHERE {parents})"  # noqa: S608

    def _scrub(
        self, place: Place, fields: frozenset[PersonalField]
    ) -> tuple[str, dict[str, Any]] | None:
        """One UPDATE for the place over the batch: (SQL, its values), or None when the place
        holds none of `fields`. Table and column names come from SCRUBBED_PLACES, not input."""
        where = self._rows_of(place)
        col = place.column
        if isinstance(place, TextPlace):
            if place.field not in fields:
                return None
            sql = f"UPDATE {place.table} SET {col} = :placeholder WHERE {col} IS NOT NULL"  # noqa: S608
            return f"{sql} AND {where}", {"placeholder": PLACEHOLDER}
        keys = [key for key, field in ADDRESS_KEYS.items() if field in fields]
        if not keys:
            return None
        params: dict[str, Any] = {}
        if self._postgres:
            # jsonb_set(..., false) replaces a key the document has and adds none.
            expr = f"CAST({col} AS JSONB)"
            for i, key in enumerate(keys):
                params[f"v{i}"] = json.dumps(replacement(key))
                expr = f"jsonb_set({expr}, '{{{key}}}', CAST(:v{i} AS JSONB), false)"
            expr = f"CAST({expr} AS JSON)"
        else:
            # json_replace, unlike json_set, leaves absent keys absent; NULL becomes null.
            pairs = []
            for i, key in enumerate(keys):
                # json(): the replacement as JSON (a list stays a list, None becomes null).
                params[f"v{i}"] = json.dumps(replacement(key))
                pairs.append(f"'$.{key}', json(:v{i})")
            expr = f"json_replace({col}, {', '.join(pairs)})"
        sql = f"UPDATE {place.table} SET {col} = {expr} WHERE {where}"  # noqa: S608 (names from SCRUBBED_PLACES)
        return sql, params

    def start_run(self, trigger: str, now: datetime) -> int:
        return int(
            self.session.execute(
                insert(pii_runs)
                .values(trigger=trigger, dry_run=False, started_at=now, orders=0)
                .returning(pii_runs.c.id)
            ).scalar_one()
        )

    def finish_run(self, run_id: int, orders: int, now: datetime) -> None:
        self.session.execute(
            update(pii_runs).where(pii_runs.c.id == run_id).values(finished_at=now, orders=orders)
        )

    def last_run(self, trigger: str) -> datetime | None:
        value: datetime | None = self.session.execute(
            select(func.max(pii_runs.c.started_at)).where(pii_runs.c.trigger == trigger)
        ).scalar()
        return value

    # ---------------------------------------------------------------- audit

    def anonymised_among(self, order_ids: Sequence[int]) -> set[int]:
        if not order_ids:
            return set()
        return {
            int(i)
            for i in self.session.execute(
                select(pii_anonymised_orders.c.order_id).where(
                    pii_anonymised_orders.c.order_id.in_(order_ids)
                )
            ).scalars()
        }

    def add_reads(
        self, reader: Reader, purpose: str, reads: Sequence[PersonalDataRead], now: datetime
    ) -> None:
        if not reads:
            return
        self.session.execute(
            insert(personal_data_reads),
            [
                {
                    "read_at": now,
                    "actor": reader.actor[:100],
                    "role": reader.role[:32],
                    "purpose": purpose[:200],
                    "order_id": read.order_id,
                    "subject": read.subject.value,
                    "subject_id": read.subject_id,
                    "fields": sorted(f.value for f in read.fields),
                }
                for read in reads
            ],
        )

    def reads_page(
        self,
        order_id: int | None,
        actor: str | None,
        since: datetime | None,
        until: datetime | None,
        after_id: int,
        limit: int,
    ) -> list[AuditEntry]:
        r = personal_data_reads.c
        query = select(personal_data_reads).where(r.id > after_id)
        if order_id is not None:
            query = query.where(r.order_id == order_id)
        if actor is not None:
            query = query.where(r.actor == actor)
        if since is not None:
            query = query.where(r.read_at >= since)
        if until is not None:
            query = query.where(r.read_at < until)
        rows = self.session.execute(query.order_by(r.id).limit(limit))
        return [
            AuditEntry(
                id=int(row.id),
                read_at=row.read_at,
                actor=row.actor,
                role=row.role,
                purpose=row.purpose,
                order_id=None if row.order_id is None else int(row.order_id),
                subject=Subject(row.subject),
                subject_id=row.subject_id,
                fields=frozenset(PersonalField(f) for f in row.fields),
            )
            for row in rows
        ]


def _derived_from(channel: str) -> Any:
    """Ids of the orders derived from `channel`'s orders (places.DERIVED_ORDERS)."""
    selects: list[Select[Any]] = []
    for derived in DERIVED_ORDERS:
        via = derived.via
        rows = table(derived.table, column(derived.order_column, BigId), column(via.key, BigId))
        parents = table(via.parent, column("id", BigId), column(via.parent_order_key, BigId))
        source = _orders.alias(f"source_{len(selects)}")
        selects.append(
            select(rows.c[derived.order_column])
            .join(parents, parents.c.id == rows.c[via.key])
            .join(source, source.c.id == parents.c[via.parent_order_key])
            .where(source.c.channel == channel, rows.c[derived.order_column].is_not(None))
        )
    return selects[0] if len(selects) == 1 else union_all(*selects)


def _policy(row: Any) -> PiiPolicy:
    return PiiPolicy(
        channel=row.channel,
        enabled=bool(row.enabled),
        fields=frozenset(PersonalField(f) for f in row.fields),
        days_after_delivery=int(row.days_after_delivery),
        days_after_cancellation=int(row.days_after_cancellation),
        stored=True,
    )


def _hold(row: Any) -> LegalHold:
    return LegalHold(
        id=int(row.id),
        order_id=int(row.order_id),
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        released_by=row.released_by,
        released_at=row.released_at,
        release_reason=row.release_reason,
    )


__all__ = ["SCRUBBED_PLACES", "JsonPlace", "SqlPrivacy", "TextPlace"]
