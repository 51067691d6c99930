"""What every part of `SqlInventory` works with: the session and its dialect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oms.inventory.ports import RingFence, StockListener
from oms.shared.errors import IdempotencyKeyExpired

# The unique constraints that keep the work of one idempotency key from being done twice, also
# after its idempotency record was pruned (PostgreSQL names them; SQLite names the columns).
_KEY_CONSTRAINTS = (
    "uq_movements_key_seq",
    "uq_reservations_idempotency_key",
    "movements.idempotency_key",
    "reservations.idempotency_key",
)


class SqlBase:
    """A session (one transaction) and the SQL that differs between dialects."""

    # Told what each transaction changed; the unit of work wires it (None: nobody listens).
    listener: StockListener | None = None
    # Asked what a reservation may not take; the unit of work wires it (None: nothing held).
    fence: RingFence | None = None

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def stock_changed(self, sku_ids: Iterable[int]) -> None:
        if self.listener is not None:
            self.listener.stock_changed(sku_ids)

    def catalogue_changed(self, sku_ids: Iterable[int] | None) -> None:
        if self.listener is not None:
            self.listener.catalogue_changed(sku_ids)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _refuse_key_used_before(error: IntegrityError, key: str) -> NoReturn:
        """A write refused by a key's unique constraint: the key did this work before, and its
        idempotency record is gone (pruned). A 409, not a second copy and not a 500."""
        if any(name in str(error.orig) for name in _KEY_CONSTRAINTS):
            raise IdempotencyKeyExpired(key) from error
        raise error

    def _insert_ignore(self, table: Any) -> Any:
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table).on_conflict_do_nothing()
