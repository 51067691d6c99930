"""All SQL of returns, for SQLite and PostgreSQL alike: `SqlReturns` implements
`oms.returns.ports.ReturnsStore` over one session (one transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from oms.outbox import write_events
from oms.returns.domain import Resolution, ReturnLine, ReturnRequest, ReturnStatus
from oms.returns.orm import return_lines, returns
from oms.returns.repository.units import SqlUnits
from oms.shared.events import DomainEvent

# Returns that no longer stand: their units may be asked back again.
_GONE = (ReturnStatus.DECLINED.value, ReturnStatus.CANCELLED.value, ReturnStatus.EXPIRED.value)


class SqlReturns(SqlUnits):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_return(self, rma: ReturnRequest, created_by: str, now: datetime) -> int:
        new_id = int(
            self.session.execute(
                insert(returns)
                .values(
                    order_id=rma.order_id,
                    channel=rma.channel,
                    status=rma.status.value,
                    channel_return_id=rma.channel_return_id,
                    hold_reason=rma.hold_reason,
                    unexpected=rma.unexpected,
                    note=rma.note,
                    approved_by=rma.approved_by,
                    created_by=created_by,
                    created_at=now,
                    updated_at=now,
                )
                .returning(returns.c.id)
            ).scalar_one()
        )
        self.session.execute(
            insert(return_lines),
            [
                {
                    "return_id": new_id,
                    "line_id": ln.line_id,
                    "sku": ln.sku,
                    "quantity": ln.quantity,
                    "reason_code": ln.reason_code,
                    "reason_text": ln.reason_text,
                    "channel_reason": ln.channel_reason,
                    "received": ln.received,
                    "written_off": ln.written_off,
                    "resolution": ln.resolution.value if ln.resolution else None,
                }
                for ln in rma.lines
            ],
        )
        rma.id = new_id
        return new_id

    def return_by_id(self, return_id: int, *, lock: bool = False) -> ReturnRequest | None:
        query = select(returns).where(returns.c.id == return_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return self._load([row])[0] if row is not None else None

    def return_by_channel_id(self, channel: str, channel_return_id: str) -> ReturnRequest | None:
        row = self.session.execute(
            select(returns).where(
                returns.c.channel == channel, returns.c.channel_return_id == channel_return_id
            )
        ).first()
        return self._load([row])[0] if row is not None else None

    def save_return(self, rma: ReturnRequest, now: datetime) -> None:
        if rma.id is None:
            raise ValueError("save_return needs a stored return")
        self.session.execute(
            update(returns)
            .where(returns.c.id == rma.id)
            .values(
                status=rma.status.value,
                hold_reason=rma.hold_reason,
                approved_by=rma.approved_by,
                updated_at=now,
            )
        )
        # Every line in one executemany, not a statement per line.
        self.session.execute(
            update(return_lines)
            .where(
                return_lines.c.return_id == bindparam("rid"),
                return_lines.c.line_id == bindparam("lid"),
            )
            .values(
                received=bindparam("received"),
                written_off=bindparam("written_off"),
                resolution=bindparam("resolution"),
                refund_amount=bindparam("refund_amount"),
                refund_method=bindparam("refund_method"),
                resolution_order_id=bindparam("resolution_order_id"),
                # When the money was recorded: the first save with a resolution.
                resolved_at=func.coalesce(return_lines.c.resolved_at, bindparam("resolved_now")),
            ),
            [
                {
                    "rid": rma.id,
                    "lid": ln.line_id,
                    "received": ln.received,
                    "written_off": ln.written_off,
                    "resolution": ln.resolution.value if ln.resolution else None,
                    "refund_amount": ln.refund_amount,
                    "refund_method": ln.refund_method,
                    "resolution_order_id": ln.resolution_order_id,
                    "resolved_now": now if ln.resolution else None,
                }
                for ln in rma.lines
            ],
        )

    def add_events(self, events: Sequence[DomainEvent], now: datetime) -> None:
        write_events(self.session, [(e, 0) for e in events], now)

    def returned(self, order_id: int) -> dict[str, int]:
        rows = self.session.execute(
            select(return_lines.c.line_id, func.sum(return_lines.c.quantity))
            .join(returns, returns.c.id == return_lines.c.return_id)
            .where(returns.c.order_id == order_id, returns.c.status.not_in(_GONE))
            .group_by(return_lines.c.line_id)
        ).all()
        return {line_id: int(units) for line_id, units in rows}

    def returns_page(
        self,
        status: ReturnStatus | None,
        order_id: int | None,
        after_id: int,
        limit: int,
    ) -> list[ReturnRequest]:
        conditions = [returns.c.id > after_id]
        if status is not None:
            conditions.append(returns.c.status == status.value)
        if order_id is not None:
            conditions.append(returns.c.order_id == order_id)
        rows = self.session.execute(
            select(returns).where(and_(*conditions)).order_by(returns.c.id).limit(limit)
        ).all()
        return self._load(rows)

    def _load(self, rows: Sequence[Any]) -> list[ReturnRequest]:
        ids = [r.id for r in rows]
        lines: dict[int, list[ReturnLine]] = {i: [] for i in ids}
        if ids:
            for ln in self.session.execute(
                select(return_lines)
                .where(return_lines.c.return_id.in_(ids))
                .order_by(return_lines.c.return_id, return_lines.c.line_id)
            ):
                lines[ln.return_id].append(
                    ReturnLine(
                        line_id=ln.line_id,
                        sku=ln.sku,
                        quantity=ln.quantity,
                        reason_code=ln.reason_code,
                        reason_text=ln.reason_text,
                        channel_reason=ln.channel_reason,
                        received=ln.received,
                        written_off=ln.written_off,
                        resolution=Resolution(ln.resolution) if ln.resolution else None,
                        refund_amount=ln.refund_amount,
                        refund_method=ln.refund_method,
                        resolution_order_id=ln.resolution_order_id,
                        resolved_at=ln.resolved_at,
                    )
                )
        return [
            ReturnRequest(
                order_id=r.order_id,
                lines=lines[r.id],
                status=ReturnStatus(r.status),
                channel=r.channel,
                channel_return_id=r.channel_return_id,
                hold_reason=r.hold_reason,
                unexpected=r.unexpected,
                note=r.note,
                approved_by=r.approved_by,
                id=r.id,
            )
            for r in rows
        ]
