"""The audit log of reads of personal data: who read whose data, when, which kinds, why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oms.shared.personal_data import PersonalField, Subject


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    read_at: datetime
    actor: str
    role: str
    purpose: str  # the route or command that showed it, e.g. "GET /v1/orders/{id}"
    order_id: int | None  # None: a record of no order of ours (a repair's proof of purchase)
    subject: Subject
    subject_id: int | None
    fields: frozenset[PersonalField]
