"""What every context's unit of work is, whatever it holds: one transaction, entered with
`with`, whose changes are published and then committed."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, Self, TypeVar

from oms.shared.errors import GaveWay

T = TypeVar("T")

ATTEMPTS = 10
MAX_PAUSE = 0.5  # seconds


class Transaction(Protocol):
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def publish_changes(self) -> int:
        """Record, in this transaction, what derives from its changes (the SKUs whose channel
        numbers may have moved) for the publisher, which recomputes them and writes their
        AvailabilityChanged events after the commit. Call it before `commit()`, which refuses
        to commit changes that were not recorded. Returns the changes recorded."""
        ...

    def commit(self) -> None: ...


def retry_transaction(transaction: Callable[[Sequence[GaveWay]], T], attempts: int = ATTEMPTS) -> T:
    """Run `transaction` (one whole unit of work) again while it gives way (`GaveWay`): it was
    rolled back, and what it gave way to is about to be done. Each try is told what the earlier
    ones gave way to (to wait for it first, in the order every writer takes it); a short random
    pause keeps two tries from meeting again. The last refusal reaches the caller as a 409."""
    earlier: list[GaveWay] = []
    for attempt in range(1, attempts + 1):
        try:
            return transaction(earlier)
        except GaveWay as refused:
            if attempt == attempts:
                raise
            earlier.append(refused)
            # Exponential, with jitter: two transactions that met once should not meet again.
            pause = min(MAX_PAUSE, 0.005 * 2**attempt)
            time.sleep(random.uniform(pause / 2, pause))  # noqa: S311 (jitter, not secrets)
    raise AssertionError("unreachable")
