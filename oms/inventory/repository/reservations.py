"""SQL of reservations: the rows of many reservations written in one statement each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from oms.idempotency import idempotency_records
from oms.inventory.domain import Reservation, ReservationLine, ReservationStatus
from oms.inventory.orm import locations, reservation_lines, reservations, skus
from oms.inventory.ports import ReservationHold
from oms.inventory.repository._base import SqlBase


class SqlReservations(SqlBase):
    """Reservations and their lines."""

    # ------------------------------------------------------------------ many at once

    def claim_keys(self, claims: Sequence[tuple[str, str, str]], now: datetime) -> set[str]:
        """Claim (key, operation, fingerprint) idempotency keys in one statement; the keys
        claimed now are returned, the others were claimed before (a concurrent holder of one
        makes PostgreSQL wait here until it commits or rolls back)."""
        if not claims:
            return set()
        statement = _CLAIM_KEYS[self.dialect == "postgresql"]
        rows = self.session.execute(
            statement,
            [
                {"key": k, "operation": op, "fingerprint": fp, "created_at": now}
                for k, op, fp in claims
            ],
        )
        return {row[0] for row in rows}

    def prior_reservations(self, keys: Sequence[str]) -> dict[str, tuple[str, int | None]]:
        """key -> (fingerprint, id of the reservation it made, if any)."""
        rows = self.session.execute(_PRIOR_RESERVATIONS, {"keys": list(keys)})
        return {row[0]: (row[1], row[2]) for row in rows}

    def add_reservations(
        self,
        rows: Sequence[tuple[str | None, str, str | None, str | None]],
        now: datetime,
    ) -> list[int]:
        """(reference, key, actor, channel) rows, in one statement; their ids, in order."""
        try:
            result = self.session.execute(
                _ADD_RESERVATIONS,
                [
                    {
                        "reference": reference,
                        "status": ReservationStatus.ACTIVE.value,
                        "idempotency_key": key,
                        "actor": actor,
                        "channel": channel,
                        "created_at": now,
                    }
                    for reference, key, actor, channel in rows
                ],
            )
        except IntegrityError as error:
            self._refuse_key_used_before(error, ", ".join(row[1] for row in rows))
        return [int(row[0]) for row in result]

    def add_lines(self, lines: Sequence[tuple[int, int, int, int]]) -> None:
        """(reservation_id, sku_id, location_id, quantity) rows of several reservations."""
        self.session.execute(
            _ADD_LINES,
            [
                {"reservation_id": r, "sku_id": s, "location_id": loc, "quantity": q}
                for r, s, loc, q in lines
            ],
        )

    # ------------------------------------------------------------------ reservations

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
            channel=row.channel,
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

    def reservations_at(
        self, sku_id: int, location_id: int, *, lock: bool = True
    ) -> list[ReservationHold]:
        rl, r = reservation_lines.c, reservations.c
        query = (
            select(r.id, r.reference, rl.quantity)
            .select_from(reservations.join(reservation_lines, rl.reservation_id == r.id))
            .where(
                rl.sku_id == sku_id,
                rl.location_id == location_id,
                r.status == ReservationStatus.ACTIVE.value,
            )
            .order_by(r.id.desc())
        )
        if lock and self.dialect == "postgresql":
            # Taken after the stock row's lock: every writer of these lines holds it too.
            query = query.with_for_update(of=reservations)
        return [
            ReservationHold(row.id, row.reference, row.quantity)
            for row in self.session.execute(query)
        ]

    def cut_reservation(
        self, reservation_id: int, sku_id: int, location_id: int, quantity: int, now: datetime
    ) -> int:
        rl = reservation_lines.c
        line = (
            rl.reservation_id == reservation_id,
            rl.sku_id == sku_id,
            rl.location_id == location_id,
        )
        # quantity > 0 is a CHECK: a line cut to nothing is deleted, not set to 0.
        remaining = self.session.execute(
            update(reservation_lines)
            .where(*line, rl.quantity > quantity)
            .values(quantity=rl.quantity - quantity)
            .returning(rl.quantity)
        ).scalar_one_or_none()
        if remaining is not None:
            return int(remaining)
        gone = self.session.execute(delete(reservation_lines).where(*line, rl.quantity == quantity))
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise RuntimeError(
                f"reservation {reservation_id} holds fewer than the {quantity} units to cut"
            )
        left = self.session.execute(
            select(exists().where(rl.reservation_id == reservation_id))
        ).scalar_one()
        if not left:
            self.close_reservation(reservation_id, ReservationStatus.RELEASED, now)
        return 0


# Built once (a statement built per call costs more than its execution): the writes of
# `InventoryService.reserve`, which a flash sale runs hundreds of times a second.
_CLAIM_KEYS = {
    is_postgresql: dialect.insert(idempotency_records)
    .on_conflict_do_nothing()
    .returning(idempotency_records.c.key)
    for is_postgresql, dialect in ((True, postgresql), (False, sqlite))
}
_PRIOR_RESERVATIONS = (
    select(idempotency_records.c.key, idempotency_records.c.fingerprint, reservations.c.id)
    .select_from(
        idempotency_records.outerjoin(
            reservations, reservations.c.idempotency_key == idempotency_records.c.key
        )
    )
    .where(idempotency_records.c.key.in_(bindparam("keys", expanding=True)))
)
_ADD_RESERVATIONS = insert(reservations).returning(reservations.c.id, sort_by_parameter_order=True)
_ADD_LINES = insert(reservation_lines)
