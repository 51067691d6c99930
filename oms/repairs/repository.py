"""All SQL of repairs, for SQLite and PostgreSQL alike: `SqlRepairs` implements
`oms.repairs.ports.RepairsStore` over one session (one transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oms.outbox import write_events
from oms.repairs.domain import (
    Outcome,
    PartLine,
    PartnerTerms,
    Quote,
    Repair,
    RepairStatus,
    RequestedBy,
    StatePeriod,
    Warranty,
)
from oms.repairs.orm import repair_partner_terms, repair_parts, repair_states, repairs
from oms.repairs.ports import PartUse, StoredRequest
from oms.shared.errors import GaveWay
from oms.shared.events import DomainEvent


class SqlRepairs:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_repair(
        self,
        repair: Repair,
        created_by: str,
        now: datetime,
        *,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> int:
        statement = (
            insert(repairs)
            .values(
                **_columns(repair),
                requested_by=repair.requested_by.value,
                channel=repair.channel,
                order_id=repair.order_id,
                line_id=repair.line_id,
                partner=repair.partner,
                sku=repair.sku,
                serial=repair.serial,
                symptom=repair.symptom,
                contact=repair.contact,
                purchase_date=repair.purchase_date,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            .returning(repairs.c.id)
        )
        try:
            new_id = int(self.session.execute(statement).scalar_one())
        except IntegrityError:
            if idempotency_key is None:
                raise
            # A concurrent request with the same key inserted first (PostgreSQL made this one
            # wait for it): this transaction gives way, and its retry replays that repair.
            raise GaveWay(
                "a request with this Idempotency-Key was made at the same time; send it again "
                "to get its repair"
            ) from None
        repair.id = new_id
        self._write_periods(repair, already=0)
        return new_id

    def repair_by_id(self, repair_id: int, *, lock: bool = False) -> Repair | None:
        query = select(repairs).where(repairs.c.id == repair_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return self._load([row])[0] if row is not None else None

    def repair_by_key(self, idempotency_key: str) -> StoredRequest | None:
        row = self.session.execute(
            select(repairs).where(repairs.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        return StoredRequest(self._load([row])[0], row.request_fingerprint)

    def save_repair(self, repair: Repair, now: datetime) -> None:
        if repair.id is None:
            raise ValueError("save_repair needs a stored repair")
        self.session.execute(
            update(repairs)
            .where(repairs.c.id == repair.id)
            .values(**_columns(repair), updated_at=now)
        )
        stored = self.session.execute(
            select(repair_states.c.seq, repair_states.c.left_at).where(
                repair_states.c.repair_id == repair.id
            )
        ).all()
        already = len(stored)
        if already:
            # Only the last stored period can have ended since: the others are history.
            last = repair.periods[already - 1]
            self.session.execute(
                update(repair_states)
                .where(repair_states.c.repair_id == repair.id, repair_states.c.seq == already)
                .values(left_at=last.left_at)
            )
        self._write_periods(repair, already=already)

    def _write_periods(self, repair: Repair, *, already: int) -> None:
        new = repair.periods[already:]
        if not new:
            return
        self.session.execute(
            insert(repair_states),
            [
                {
                    "repair_id": repair.id,
                    "seq": already + i,
                    "status": p.status.value,
                    "entered_at": p.entered_at,
                    "left_at": p.left_at,
                    "actor": p.actor,
                    "note": p.note,
                }
                for i, p in enumerate(new, start=1)
            ],
        )

    def add_parts(
        self,
        repair_id: int,
        batch: int,
        lines: Sequence[PartLine],
        location: str,
        actor: str,
        now: datetime,
        request_key: str | None = None,
    ) -> None:
        self.session.execute(
            insert(repair_parts),
            [
                {
                    "repair_id": repair_id,
                    "batch": batch,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "location": location,
                    "used_by": actor,
                    "used_at": now,
                    "request_key": request_key,
                }
                for line in lines
            ],
        )

    def parts_used(self, repair_id: int) -> list[PartUse]:
        return self._parts(repair_parts.c.repair_id == repair_id)

    def parts_by_key(self, repair_id: int, request_key: str) -> list[PartUse]:
        return self._parts(
            and_(repair_parts.c.repair_id == repair_id, repair_parts.c.request_key == request_key)
        )

    def _parts(self, condition: Any) -> list[PartUse]:
        rows = self.session.execute(
            select(repair_parts).where(condition).order_by(repair_parts.c.batch, repair_parts.c.sku)
        ).all()
        return [PartUse(r.batch, r.sku, r.quantity, r.location, r.used_by, r.used_at) for r in rows]

    def repairs_page(
        self,
        status: RepairStatus | None,
        order_id: int | None,
        after_id: int,
        limit: int,
    ) -> list[Repair]:
        conditions = [repairs.c.id > after_id]
        if status is not None:
            conditions.append(repairs.c.status == status.value)
        if order_id is not None:
            conditions.append(repairs.c.order_id == order_id)
        rows = self.session.execute(
            select(repairs).where(and_(*conditions)).order_by(repairs.c.id).limit(limit)
        ).all()
        return self._load(rows)

    def add_event(self, event: DomainEvent, sequence: int, now: datetime) -> None:
        write_events(self.session, [(event, sequence)], now)

    def partner_terms(self, partner: str) -> PartnerTerms | None:
        row = self.session.execute(
            select(repair_partner_terms).where(repair_partner_terms.c.partner == partner)
        ).first()
        return None if row is None else PartnerTerms(row.partner, row.extra_months, row.term_months)

    def all_partner_terms(self) -> list[PartnerTerms]:
        rows = self.session.execute(
            select(repair_partner_terms).order_by(repair_partner_terms.c.partner)
        ).all()
        return [PartnerTerms(r.partner, r.extra_months, r.term_months) for r in rows]

    def set_partner_terms(self, terms: PartnerTerms, now: datetime) -> None:
        # Delete then insert: one statement pair both databases run alike (no upsert dialects).
        self.session.execute(
            delete(repair_partner_terms).where(repair_partner_terms.c.partner == terms.partner)
        )
        self.session.execute(
            insert(repair_partner_terms).values(
                partner=terms.partner,
                extra_months=terms.extra_months,
                term_months=terms.term_months,
                updated_at=now,
            )
        )

    def _load(self, rows: Sequence[Any]) -> list[Repair]:
        ids = [r.id for r in rows]
        periods: dict[int, list[StatePeriod]] = {i: [] for i in ids}
        if ids:
            for p in self.session.execute(
                select(repair_states)
                .where(repair_states.c.repair_id.in_(ids))
                .order_by(repair_states.c.repair_id, repair_states.c.seq)
            ):
                periods[p.repair_id].append(
                    StatePeriod(RepairStatus(p.status), p.entered_at, p.left_at, p.actor, p.note)
                )
        return [
            Repair(
                requested_by=RequestedBy(r.requested_by),
                sku=r.sku,
                channel=r.channel,
                purchase_date=r.purchase_date,
                symptom=r.symptom,
                contact=dict(r.contact),
                warranty=Warranty.from_json(r.warranty),
                order_id=r.order_id,
                line_id=r.line_id,
                partner=r.partner,
                serial=r.serial,
                status=RepairStatus(r.status),
                location=r.location,
                diagnosis=r.diagnosis,
                quote=None
                if r.quote_amount is None
                else Quote(r.quote_amount, r.quote_currency or "JPY"),
                outcome=Outcome(r.outcome) if r.outcome else None,
                outcome_reason=r.outcome_reason,
                periods=periods[r.id],
                parts_batches=r.parts_batches,
                id=r.id,
            )
            for r in rows
        ]


def _columns(repair: Repair) -> dict[str, Any]:
    """What changes over a repair's life."""
    return {
        "status": repair.status.value,
        "in_warranty": repair.warranty.in_warranty,
        "warranty": repair.warranty.as_json(),
        "location": repair.location,
        "diagnosis": repair.diagnosis,
        "quote_amount": repair.quote.amount if repair.quote else None,
        "quote_currency": repair.quote.currency if repair.quote else None,
        "outcome": repair.outcome.value if repair.outcome else None,
        "outcome_reason": repair.outcome_reason,
        "parts_batches": repair.parts_batches,
    }
