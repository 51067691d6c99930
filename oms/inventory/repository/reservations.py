"""SQL of reservations, including the one-call reservation of PostgreSQL (oms_reserve)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, exists, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from oms.inventory.domain import Reservation, ReservationLine, ReservationStatus
from oms.inventory.orm import locations, reservation_lines, reservations, skus
from oms.inventory.ports import ReservationHold, ReserveOutcome
from oms.inventory.repository._base import SqlBase

_OMS_RESERVE_CALL = (
    "SELECT oms_reserve(%s, %s, %s, %s, %s::timestamptz, %s, %s::text[], %s::text[], "
    "%s::integer[], %s, %s)"
)


class SqlReservations(SqlBase):
    """Reservations and their lines."""

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
        channel: str | None = None,
    ) -> ReserveOutcome:
        """PostgreSQL only: oms_reserve (migrations 0002, 0004) does every write in one call.

        With no channel to tell, the call runs in autocommit on a connection of its own: the
        stock row is locked only while it runs, not for two more round trips (BEGIN ...
        COMMIT). When channels must be told, it runs in this session's transaction and the
        listener publishes before the caller commits. The function refuses to commit alone if
        a channel turned up meanwhile; the call is then made again in the transaction.
        """
        args = [
            key,
            fingerprint,
            reference,
            actor,
            now,
            now.isoformat(),
            [ln.sku for ln in lines],
            [ln.location for ln in lines],
            [ln.quantity for ln in lines],
            channel,
        ]
        listener = self.listener
        if listener is not None and not listener.expects_publication:
            outcome = self._call_oms_reserve(args, in_session=False)
            if outcome.status != "refused" or outcome.detail.get("kind") != "publish":
                return outcome
            listener.expect_publication()
            if self.fence is not None and self.fence.fenced_skus({ln.sku for ln in lines}):
                # A pool holds some of these SKUs: the caller checks it in Python.
                return ReserveOutcome("refused", detail={"kind": "fenced"})
        outcome = self._call_oms_reserve(args, in_session=True)
        if outcome.status == "reserved":
            self.stock_changed(outcome.sku_ids)
        return outcome

    def _call_oms_reserve(self, args: Sequence[object], *, in_session: bool) -> ReserveOutcome:
        try:
            if in_session:
                outcome = (
                    self.session.connection()
                    .exec_driver_sql(_OMS_RESERVE_CALL, (*args, True))
                    .scalar_one()
                )
            else:
                engine = self.session.get_bind()
                if not isinstance(engine, Engine):  # a session bound to a connection
                    raise TypeError("the one-call reservation needs a session bound to an engine")
                with engine.connect() as connection:
                    outcome = (
                        connection.execution_options(isolation_level="AUTOCOMMIT")
                        .exec_driver_sql(_OMS_RESERVE_CALL, (*args, False))
                        .scalar_one()
                    )
        except IntegrityError as error:
            self._refuse_key_used_before(error, str(args[0]))
        except DBAPIError as error:
            diag = getattr(error.orig, "diag", None)
            if getattr(error.orig, "sqlstate", None) != "P0001" or diag is None:
                raise
            return ReserveOutcome("refused", detail=json.loads(diag.message_detail))
        return ReserveOutcome(
            outcome["status"],
            reservation_id=outcome.get("reservation_id"),
            fingerprint=outcome.get("fingerprint"),
            sku_ids=tuple(outcome.get("sku_ids") or ()),
        )

    def reservation_id_for_key(self, key: str) -> int | None:
        return self.session.execute(
            select(reservations.c.id).where(reservations.c.idempotency_key == key)
        ).scalar_one_or_none()

    # ------------------------------------------------------------------ reservations

    def add_reservation(
        self,
        reference: str | None,
        key: str,
        actor: str | None,
        now: datetime,
        channel: str | None = None,
    ) -> int:
        try:
            return int(
                self.session.execute(
                    insert(reservations)
                    .values(
                        reference=reference,
                        status=ReservationStatus.ACTIVE.value,
                        idempotency_key=key,
                        actor=actor,
                        channel=channel,
                        created_at=now,
                    )
                    .returning(reservations.c.id)
                ).scalar_one()
            )
        except IntegrityError as error:
            self._refuse_key_used_before(error, key)

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
