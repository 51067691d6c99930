"""What every context's unit of work is, whatever it holds: one transaction, entered with
`with`, whose changes are published and then committed."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self


class Transaction(Protocol):
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def publish_changes(self) -> int:
        """Bring what derives from this transaction's changes (each channel's numbers and their
        AvailabilityChanged events) up to date, in this transaction. Call it before `commit()`,
        which refuses to commit changes that were not published. Returns the numbers changed."""
        ...

    def commit(self) -> None: ...
