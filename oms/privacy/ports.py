"""What the privacy services need from storage; `repository.SqlPrivacy` provides it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from oms.privacy.domain import AuditEntry, LegalHold, PiiPolicy
from oms.shared.personal_data import PersonalDataRead, PersonalField, Reader
from oms.shared.transaction import Transaction


class PrivacyStore(Protocol):
    # ---------------------------------------------------------------- channels and policies
    def channel_kinds(self) -> dict[str, str]:
        """Every channel's code -> kind."""
        ...

    def policy(self, channel: str) -> PiiPolicy | None: ...
    def put_policy(self, policy: PiiPolicy, actor: str, now: datetime) -> None: ...
    def policies(self) -> list[PiiPolicy]: ...

    # ---------------------------------------------------------------- orders and holds
    def lock_order(self, order_id: int) -> bool:
        """Lock the order's row for this transaction; False when there is no such order."""
        ...

    def order_exists(self, order_id: int) -> bool: ...
    def anonymised_at(self, order_id: int) -> datetime | None: ...
    def holds(self, order_id: int) -> list[LegalHold]: ...
    def standing_hold(self, order_id: int) -> LegalHold | None: ...
    def add_hold(self, order_id: int, reason: str, actor: str, now: datetime) -> LegalHold: ...
    def release_hold(self, hold_id: int, reason: str, actor: str, now: datetime) -> None: ...

    # ---------------------------------------------------------------- anonymisation
    def due_orders(
        self,
        channel: str,
        shipped_before: datetime,
        ordered_before: datetime,
        after_id: int,
        limit: int,
    ) -> list[int]:
        """Orders of `channel` past their deadline and not anonymised, held ones included,
        ids above `after_id`, ascending."""
        ...

    def count_due(
        self, channel: str, shipped_before: datetime, ordered_before: datetime
    ) -> tuple[int, int]:
        """(due and free, due but held)."""
        ...

    def lock_free(self, order_ids: Sequence[int]) -> list[int]:
        """Lock the orders' rows, then those among them neither held nor anonymised (checked
        after the lock: a hold placed meanwhile is seen)."""
        ...

    def anonymise(
        self,
        order_ids: Sequence[int],
        channel: str,
        fields: frozenset[PersonalField],
        now: datetime,
    ) -> None:
        """Replace `fields` in every scrubbed place of these orders and record them."""
        ...

    def start_run(self, trigger: str, now: datetime) -> int: ...
    def finish_run(self, run_id: int, orders: int, now: datetime) -> None: ...
    def last_run(self, trigger: str) -> datetime | None: ...

    # ---------------------------------------------------------------- audit
    def anonymised_among(self, order_ids: Sequence[int]) -> set[int]: ...
    def add_reads(
        self, reader: Reader, purpose: str, reads: Sequence[PersonalDataRead], now: datetime
    ) -> None: ...
    def reads_page(
        self,
        order_id: int | None,
        actor: str | None,
        since: datetime | None,
        until: datetime | None,
        after_id: int,
        limit: int,
    ) -> list[AuditEntry]: ...


class PrivacyUnitOfWork(Transaction, Protocol):
    @property
    def privacy(self) -> PrivacyStore: ...

    def commit(self) -> None: ...
