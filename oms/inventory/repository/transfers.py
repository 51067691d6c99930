"""SQL of transfers between locations, their lines and discrepancies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update

from oms.inventory.domain import (
    Discrepancy,
    DiscrepancyKind,
    Transfer,
    TransferLine,
    TransferStatus,
)
from oms.inventory.orm import locations, skus, transfer_discrepancies, transfer_lines, transfers
from oms.inventory.repository._base import SqlBase


class SqlTransfers(SqlBase):
    """Transfers, their lines and discrepancies."""

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
