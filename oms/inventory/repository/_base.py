"""What every part of `SqlInventory` works with: the session and its dialect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oms.inventory.ports import RingFence, StockListener


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

    def _insert_ignore(self, table: Any) -> Any:
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table).on_conflict_do_nothing()
