"""What the repairs services need from storage; `repository.SqlRepairs` provides it. Parts
used are booked in the inventory's ledger in the same transaction, so a repairs unit of work is
also an inventory one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from oms.inventory.ports import InventoryUnitOfWork
from oms.repairs.domain import PartLine, PartnerTerms, Repair, RepairStatus
from oms.shared.events import DomainEvent


@dataclass(frozen=True, slots=True)
class PartUse:
    """Parts one `parts` action used."""

    batch: int
    sku: str
    quantity: int
    location: str
    used_by: str
    used_at: datetime


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A repair created under an Idempotency-Key, and what was asked then."""

    repair: Repair
    fingerprint: str | None


class RepairsStore(Protocol):
    def add_repair(
        self,
        repair: Repair,
        created_by: str,
        now: datetime,
        *,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> int:
        """Insert the repair and its first state period; its id."""
        ...

    def repair_by_id(self, repair_id: int, *, lock: bool = False) -> Repair | None: ...
    def repair_by_key(self, idempotency_key: str) -> StoredRequest | None: ...

    def save_repair(self, repair: Repair, now: datetime) -> None:
        """Everything that changes after creation, and the state periods (new ones added, the
        last one's end)."""
        ...

    def add_parts(
        self,
        repair_id: int,
        batch: int,
        lines: Sequence[PartLine],
        location: str,
        actor: str,
        now: datetime,
        request_key: str | None = None,
    ) -> None: ...

    def parts_used(self, repair_id: int) -> list[PartUse]: ...
    def parts_by_key(self, repair_id: int, request_key: str) -> list[PartUse]:
        """The parts of the batch `request_key` booked on this repair (none: [])."""
        ...

    def repairs_page(
        self,
        status: RepairStatus | None,
        order_id: int | None,
        after_id: int,
        limit: int,
    ) -> list[Repair]: ...

    def add_event(self, event: DomainEvent, sequence: int, now: datetime) -> None:
        """Into the outbox, with the data (`sequence`: the repair's state number)."""
        ...

    def partner_terms(self, partner: str) -> PartnerTerms | None: ...
    def all_partner_terms(self) -> list[PartnerTerms]: ...
    def set_partner_terms(self, terms: PartnerTerms, now: datetime) -> None: ...


class RepairsUnitOfWork(InventoryUnitOfWork, Protocol):
    @property
    def repairs(self) -> RepairsStore: ...
