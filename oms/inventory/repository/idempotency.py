"""Idempotency records: a key is claimed in the transaction that does the work."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from oms.idempotency import idempotency_records
from oms.inventory.repository._base import SqlBase


class SqlIdempotency(SqlBase):
    """Claim an idempotency key; store what the command returned."""

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

    def fingerprints(self, keys: Iterable[str]) -> dict[str, str]:
        """The fingerprint of each of these keys that was claimed (read only, no claim)."""
        rows = self.session.execute(
            select(idempotency_records.c.key, idempotency_records.c.fingerprint).where(
                idempotency_records.c.key.in_(list(keys))
            )
        )
        return {row.key: row.fingerprint for row in rows}
