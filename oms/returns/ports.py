"""What the returns services need from storage; `repository.SqlReturns` provides it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from oms.returns.domain import ReturnRequest, ReturnStatus
from oms.shared.transaction import Transaction


class ReturnsStore(Protocol):
    def add_return(self, rma: ReturnRequest, created_by: str, now: datetime) -> int:
        """Insert the return and its lines; its id."""
        ...

    def return_by_id(self, return_id: int, *, lock: bool = False) -> ReturnRequest | None: ...
    def return_by_channel_id(
        self, channel: str, channel_return_id: str
    ) -> ReturnRequest | None: ...

    def save_return(self, rma: ReturnRequest, now: datetime) -> None:
        """Status, hold and every line's receipts and resolution."""
        ...

    def returned(self, order_id: int) -> dict[str, int]:
        """Units of each order line already asked back by returns still standing (not
        declined, cancelled or expired)."""
        ...

    def returns_page(
        self,
        status: ReturnStatus | None,
        order_id: int | None,
        after_id: int,
        limit: int,
    ) -> list[ReturnRequest]: ...


class ReturnsUnitOfWork(Transaction, Protocol):
    @property
    def returns(self) -> ReturnsStore: ...

    def commit(self) -> None: ...
