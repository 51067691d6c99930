"""All SQL of the inventory context, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from oms.idempotency import idempotency_records
from oms.inventory.domain import (
    BundleComponent,
    Discrepancy,
    DiscrepancyKind,
    Location,
    LocationKind,
    Movement,
    MovementRequest,
    MovementType,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Sku,
    SkuKind,
    StockDelta,
    StockLevel,
    Transfer,
    TransferLine,
    TransferStatus,
)
from oms.inventory.orm import (
    bundle_components,
    locations,
    movements,
    reservation_lines,
    reservations,
    skus,
    stock_levels,
    transfer_discrepancies,
    transfer_lines,
    transfers,
)
from oms.inventory.ports import ReserveOutcome
from oms.outbox import outbox
from oms.shared.events import DomainEvent

_OMS_RESERVE_CALL = (
    "SELECT oms_reserve(%s, %s, %s, %s, %s::timestamptz, %s, %s::text[], %s::text[], %s::integer[])"
)


class SqlInventory:
    """The inventory's storage, bound to one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # ------------------------------------------------------------------ helpers

    def _insert_ignore(self, table: Any) -> Any:
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table).on_conflict_do_nothing()

    # ------------------------------------------------------------------ one-call reservation

    @property
    def reserves_in_one_statement(self) -> bool:
        return self.dialect == "postgresql"

    def reserve_in_one_statement(
        self,
        *,
        key: str,
        fingerprint: str,
        reference: str | None,
        actor: str | None,
        now: datetime,
        lines: Sequence[ReservationLine],
    ) -> ReserveOutcome:
        """PostgreSQL only: oms_reserve (migration 0002) does every write in one round trip."""
        try:
            # Autocommit: the function is one transaction on its own, so the stock row is
            # locked only while it runs, not for two more round trips (BEGIN ... COMMIT).
            outcome = (
                self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                .exec_driver_sql(
                    _OMS_RESERVE_CALL,
                    (
                        key,
                        fingerprint,
                        reference,
                        actor,
                        now,
                        now.isoformat(),
                        [ln.sku for ln in lines],
                        [ln.location for ln in lines],
                        [ln.quantity for ln in lines],
                    ),
                )
                .scalar_one()
            )
        except DBAPIError as error:
            diag = getattr(error.orig, "diag", None)
            if getattr(error.orig, "sqlstate", None) != "P0001" or diag is None:
                raise
            return ReserveOutcome("refused", detail=json.loads(diag.message_detail))
        return ReserveOutcome(
            outcome["status"],
            reservation_id=outcome.get("reservation_id"),
            fingerprint=outcome.get("fingerprint"),
        )

    def reservation_id_for_key(self, key: str) -> int | None:
        return self.session.execute(
            select(reservations.c.id).where(reservations.c.idempotency_key == key)
        ).scalar_one_or_none()

    # ------------------------------------------------------------------ idempotency

    def claim_key(self, key: str, operation: str, fp: str, now: datetime) -> tuple[str, Any] | None:
        """Claim an idempotency key for this transaction.

        Returns None when the key is new (and now ours), else the earlier record. A concurrent
        holder of the same key makes PostgreSQL wait here until it commits or rolls back.
        """
        claimed = self.session.execute(
            self._insert_ignore(idempotency_records)
            .values(key=key, operation=operation, fingerprint=fp, created_at=now)
            .returning(idempotency_records.c.key)
        ).first()
        if claimed is not None:
            return None
        row = self.session.execute(
            select(idempotency_records.c.fingerprint, idempotency_records.c.result).where(
                idempotency_records.c.key == key
            )
        ).one()
        return row.fingerprint, row.result

    def store_result(self, key: str, result: Any) -> None:
        self.session.execute(
            update(idempotency_records)
            .where(idempotency_records.c.key == key)
            .values(result=result)
        )

    # ------------------------------------------------------------------ locations

    def add_location(self, location: Location) -> int:
        return int(
            self.session.execute(
                insert(locations)
                .values(
                    code=location.code,
                    name=location.name,
                    kind=location.kind.value,
                    prefecture=location.prefecture,
                    postal_code=location.postal_code,
                    ships_to_customers=location.ships_to_customers,
                    active=location.active,
                    created_at=location.created_at,
                )
                .returning(locations.c.id)
            ).scalar_one()
        )

    def update_location(self, location: Location) -> None:
        self.session.execute(
            update(locations)
            .where(locations.c.id == location.id)
            .values(
                name=location.name,
                kind=location.kind.value,
                prefecture=location.prefecture,
                postal_code=location.postal_code,
                ships_to_customers=location.ships_to_customers,
                active=location.active,
            )
        )

    @staticmethod
    def _location(row: Any) -> Location:
        return Location(
            code=row.code,
            name=row.name,
            kind=LocationKind(row.kind),
            prefecture=row.prefecture,
            postal_code=row.postal_code,
            ships_to_customers=row.ships_to_customers,
            active=row.active,
            id=row.id,
            created_at=row.created_at,
        )

    def location_by_code(self, code: str) -> Location | None:
        row = self.session.execute(select(locations).where(locations.c.code == code)).first()
        return self._location(row) if row else None

    def list_locations(self, after_id: int, limit: int) -> list[Location]:
        rows = self.session.execute(
            select(locations).where(locations.c.id > after_id).order_by(locations.c.id).limit(limit)
        )
        return [self._location(r) for r in rows]

    def location_ids(self, codes: Iterable[str]) -> dict[str, int]:
        wanted = set(codes)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(locations.c.code, locations.c.id).where(locations.c.code.in_(wanted))
        )
        return {r.code: r.id for r in rows}

    # ------------------------------------------------------------------ SKUs

    def add_sku(self, sku: Sku, component_ids: dict[str, int]) -> int:
        new_id = int(
            self.session.execute(
                insert(skus)
                .values(
                    code=sku.code,
                    name=sku.name,
                    kind=sku.kind.value,
                    barcode=sku.barcode,
                    attributes=sku.attributes,
                    ship_together=sku.ship_together,
                    created_at=sku.created_at,
                    updated_at=sku.created_at,
                )
                .returning(skus.c.id)
            ).scalar_one()
        )
        self._write_components(new_id, sku.components, component_ids)
        return new_id

    def _write_components(
        self, bundle_id: int, components: list[BundleComponent], ids: dict[str, int]
    ) -> None:
        if components:
            self.session.execute(
                insert(bundle_components),
                [
                    {"bundle_id": bundle_id, "component_id": ids[c.sku], "quantity": c.quantity}
                    for c in components
                ],
            )

    def update_sku(self, sku: Sku, component_ids: dict[str, int], now: datetime) -> None:
        if sku.id is None:
            raise ValueError("update_sku needs a stored SKU")
        self.session.execute(
            update(skus)
            .where(skus.c.id == sku.id)
            .values(
                name=sku.name,
                barcode=sku.barcode,
                attributes=sku.attributes,
                ship_together=sku.ship_together,
                updated_at=now,
            )
        )
        if sku.is_bundle:
            self.session.execute(
                bundle_components.delete().where(bundle_components.c.bundle_id == sku.id)
            )
            self._write_components(sku.id, sku.components, component_ids)

    def _components_of(self, bundle_ids: Sequence[int]) -> dict[int, list[BundleComponent]]:
        if not bundle_ids:
            return {}
        rows = self.session.execute(
            select(bundle_components.c.bundle_id, skus.c.code, bundle_components.c.quantity)
            .join(skus, skus.c.id == bundle_components.c.component_id)
            .where(bundle_components.c.bundle_id.in_(bundle_ids))
            .order_by(bundle_components.c.bundle_id, skus.c.code)
        )
        found: dict[int, list[BundleComponent]] = {}
        for r in rows:
            found.setdefault(r.bundle_id, []).append(BundleComponent(r.code, r.quantity))
        return found

    def _skus(self, rows: Sequence[Row[Any]]) -> list[Sku]:
        comps = self._components_of([r.id for r in rows if r.kind == SkuKind.BUNDLE.value])
        return [
            Sku(
                code=r.code,
                name=r.name,
                kind=SkuKind(r.kind),
                barcode=r.barcode,
                attributes=dict(r.attributes or {}),
                components=comps.get(r.id, []),
                ship_together=r.ship_together,
                id=r.id,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def sku_by_code(self, code: str) -> Sku | None:
        rows = self.session.execute(select(skus).where(skus.c.code == code)).all()
        found = self._skus(rows)
        return found[0] if found else None

    def list_skus(self, after_id: int, limit: int, kind: SkuKind | None = None) -> list[Sku]:
        query = select(skus).where(skus.c.id > after_id)
        if kind is not None:
            query = query.where(skus.c.kind == kind.value)
        rows = self.session.execute(query.order_by(skus.c.id).limit(limit)).all()
        return self._skus(rows)

    def sku_refs(self, codes: Iterable[str]) -> dict[str, tuple[int, SkuKind]]:
        wanted = set(codes)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(skus.c.code, skus.c.id, skus.c.kind).where(skus.c.code.in_(wanted))
        )
        return {r.code: (r.id, SkuKind(r.kind)) for r in rows}

    def barcode_owner(self, barcode: str) -> str | None:
        return self.session.execute(
            select(skus.c.code).where(skus.c.barcode == barcode)
        ).scalar_one_or_none()

    def bundle_contents(self) -> dict[str, list[str]]:
        """Every bundle's component codes: for cycle checks."""
        bundle = skus.alias("bundle")
        component = skus.alias("component")
        rows = self.session.execute(
            select(bundle.c.code.label("bundle"), component.c.code.label("component"))
            .select_from(bundle_components)
            .join(bundle, bundle.c.id == bundle_components.c.bundle_id)
            .join(component, component.c.id == bundle_components.c.component_id)
        )
        contents: dict[str, list[str]] = {}
        for r in rows:
            contents.setdefault(r.bundle, []).append(r.component)
        return contents

    def flattened_requirements(self, bundle_id: int) -> dict[str, int]:
        """Simple components per unit of a bundle, through nested bundles."""
        needs: dict[str, int] = {}
        stack: list[tuple[int, int]] = [(bundle_id, 1)]
        while stack:
            current, multiplier = stack.pop()
            rows = self.session.execute(
                select(skus.c.id, skus.c.code, skus.c.kind, bundle_components.c.quantity)
                .join(skus, skus.c.id == bundle_components.c.component_id)
                .where(bundle_components.c.bundle_id == current)
            )
            for r in rows:
                if r.kind == SkuKind.BUNDLE.value:
                    stack.append((r.id, multiplier * r.quantity))
                else:
                    needs[r.code] = needs.get(r.code, 0) + multiplier * r.quantity
        return needs

    # ------------------------------------------------------------------ stock levels

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

    def bump_event_seqs(self, sku_ids: Iterable[int]) -> dict[int, int]:
        """Number this transaction's events per SKU, under the SKU row's lock (commit order).

        One UPDATE per SKU, in id order: a single `WHERE id IN (...)` UPDATE locks the rows in
        the order its plan visits them (physical order under a seq scan), so two writers of the
        same SKUs could lock them in opposite orders and deadlock.
        """
        seqs: dict[int, int] = {}
        for sku_id in sorted(set(sku_ids)):
            seqs[sku_id] = self.session.execute(
                update(skus)
                .where(skus.c.id == sku_id)
                .values(event_seq=skus.c.event_seq + 1)
                .returning(skus.c.event_seq)
            ).scalar_one()
        return seqs

    def add_events(self, events: Sequence[tuple[DomainEvent, int]], now: datetime) -> None:
        if events:
            self.session.execute(
                insert(outbox),
                [
                    {
                        "event": e.name,
                        "partition_key": e.partition_key,
                        "sequence": seq,
                        "payload": e.payload,
                        "created_at": now,
                    }
                    for e, seq in events
                ],
            )

    # ------------------------------------------------------------------ ledger

    def add_movements(
        self,
        entries: Sequence[tuple[MovementRequest, int, int]],
        *,
        key: str,
        reference: str | None,
        actor: str | None,
        now: datetime,
    ) -> list[int]:
        """Append ledger rows; `seq` numbers the lines of one idempotent command."""
        if not entries:
            return []
        rows = [
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
            for seq, (request, sku_id, location_id) in enumerate(entries)
        ]
        result = self.session.execute(
            insert(movements).returning(movements.c.id, sort_by_parameter_order=True), rows
        )
        return [int(r[0]) for r in result]

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

    # ------------------------------------------------------------------ reservations

    def add_reservation(
        self, reference: str | None, key: str, actor: str | None, now: datetime
    ) -> int:
        return int(
            self.session.execute(
                insert(reservations)
                .values(
                    reference=reference,
                    status=ReservationStatus.ACTIVE.value,
                    idempotency_key=key,
                    actor=actor,
                    created_at=now,
                )
                .returning(reservations.c.id)
            ).scalar_one()
        )

    def add_reservation_lines(self, reservation_id: int, lines: list[tuple[int, int, int]]) -> None:
        self.session.execute(
            insert(reservation_lines),
            [
                {"reservation_id": reservation_id, "sku_id": s, "location_id": loc, "quantity": q}
                for s, loc, q in lines
            ],
        )

    def reservation(self, reservation_id: int, *, lock: bool = False) -> Reservation | None:
        query = select(reservations).where(reservations.c.id == reservation_id)
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.session.execute(query).first()
        if row is None:
            return None
        return Reservation(
            id=row.id,
            reference=row.reference,
            status=ReservationStatus(row.status),
            lines=[line for _, _, line in self.reservation_lines(row.id)],
            idempotency_key=row.idempotency_key,
            created_at=row.created_at,
            closed_at=row.closed_at,
        )

    def reservation_lines(self, reservation_id: int) -> list[tuple[int, int, ReservationLine]]:
        rows = self.session.execute(
            select(
                reservation_lines.c.sku_id,
                reservation_lines.c.location_id,
                skus.c.code.label("sku"),
                locations.c.code.label("location"),
                reservation_lines.c.quantity,
            )
            .join(skus, skus.c.id == reservation_lines.c.sku_id)
            .join(locations, locations.c.id == reservation_lines.c.location_id)
            .where(reservation_lines.c.reservation_id == reservation_id)
            .order_by(skus.c.code, locations.c.code)
        )
        return [
            (r.sku_id, r.location_id, ReservationLine(r.sku, r.location, r.quantity)) for r in rows
        ]

    def close_reservation(
        self, reservation_id: int, status: ReservationStatus, now: datetime
    ) -> bool:
        result = self.session.execute(
            update(reservations)
            .where(
                reservations.c.id == reservation_id,
                reservations.c.status == ReservationStatus.ACTIVE.value,
            )
            .values(status=status.value, closed_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ transfers

    def add_transfer(
        self, transfer: Transfer, ids: dict[str, int], sku_ids: dict[str, int], actor: str | None
    ) -> int:
        new_id = int(
            self.session.execute(
                insert(transfers)
                .values(
                    source_id=ids[transfer.source],
                    destination_id=ids[transfer.destination],
                    status=transfer.status.value,
                    reference=transfer.reference,
                    actor=actor,
                    created_at=transfer.created_at,
                )
                .returning(transfers.c.id)
            ).scalar_one()
        )
        self.session.execute(
            insert(transfer_lines),
            [
                {
                    "transfer_id": new_id,
                    "sku_id": sku_ids[line.sku],
                    "quantity": line.quantity,
                    "shipped": line.shipped,
                    "received": line.received,
                }
                for line in transfer.lines
            ],
        )
        return new_id

    def transfer(self, transfer_id: int, *, lock: bool = False) -> Transfer | None:
        src = locations.alias("src")
        dst = locations.alias("dst")
        query = (
            select(transfers, src.c.code.label("source"), dst.c.code.label("destination"))
            .join(src, src.c.id == transfers.c.source_id)
            .join(dst, dst.c.id == transfers.c.destination_id)
            .where(transfers.c.id == transfer_id)
        )
        if lock and self.dialect == "postgresql":
            query = query.with_for_update(of=transfers)
        row = self.session.execute(query).first()
        if row is None:
            return None
        lines = self.session.execute(
            select(
                skus.c.code,
                transfer_lines.c.quantity,
                transfer_lines.c.shipped,
                transfer_lines.c.received,
            )
            .join(skus, skus.c.id == transfer_lines.c.sku_id)
            .where(transfer_lines.c.transfer_id == transfer_id)
            .order_by(skus.c.code)
        )
        found = self.session.execute(
            select(
                skus.c.code,
                transfer_discrepancies.c.kind,
                transfer_discrepancies.c.quantity,
                transfer_discrepancies.c.expected,
                transfer_discrepancies.c.received,
            )
            .join(skus, skus.c.id == transfer_discrepancies.c.sku_id)
            .where(transfer_discrepancies.c.transfer_id == transfer_id)
            .order_by(transfer_discrepancies.c.id)
        )
        return Transfer(
            source=row.source,
            destination=row.destination,
            lines=[TransferLine(r.code, r.quantity, r.shipped, r.received) for r in lines],
            status=TransferStatus(row.status),
            reference=row.reference,
            id=row.id,
            created_at=row.created_at,
            shipped_at=row.shipped_at,
            closed_at=row.closed_at,
            discrepancies=[
                Discrepancy(r.code, DiscrepancyKind(r.kind), r.quantity, r.expected, r.received)
                for r in found
            ],
        )

    def save_transfer(
        self,
        transfer: Transfer,
        sku_ids: dict[str, int],
        new_discrepancies: Sequence[Discrepancy],
        now: datetime,
    ) -> None:
        if transfer.id is None:
            raise ValueError("save_transfer needs a stored transfer")
        self.session.execute(
            update(transfers)
            .where(transfers.c.id == transfer.id)
            .values(
                status=transfer.status.value,
                shipped_at=transfer.shipped_at,
                closed_at=transfer.closed_at,
            )
        )
        existing = {
            r.sku_id
            for r in self.session.execute(
                select(transfer_lines.c.sku_id).where(transfer_lines.c.transfer_id == transfer.id)
            )
        }
        for line in transfer.lines:
            values = {"quantity": line.quantity, "shipped": line.shipped, "received": line.received}
            sku_id = sku_ids[line.sku]
            if sku_id in existing:
                self.session.execute(
                    update(transfer_lines)
                    .where(
                        transfer_lines.c.transfer_id == transfer.id,
                        transfer_lines.c.sku_id == sku_id,
                    )
                    .values(**values)
                )
            else:
                self.session.execute(
                    insert(transfer_lines).values(transfer_id=transfer.id, sku_id=sku_id, **values)
                )
        if new_discrepancies:
            self.session.execute(
                insert(transfer_discrepancies),
                [
                    {
                        "transfer_id": transfer.id,
                        "sku_id": sku_ids[d.sku],
                        "kind": d.kind.value,
                        "quantity": d.quantity,
                        "expected": d.expected,
                        "received": d.received,
                        "recorded_at": now,
                    }
                    for d in new_discrepancies
                ],
            )


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
