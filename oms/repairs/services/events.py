"""The events a repair's life writes to the outbox, with the data."""

from __future__ import annotations

from datetime import datetime

from oms.repairs.domain import Repair, RepairStatus
from oms.repairs.ports import RepairsUnitOfWork
from oms.shared.events import DomainEvent, EventName


def status_changed(
    uow: RepairsUnitOfWork,
    repair: Repair,
    before: RepairStatus | None,
    action: str,
    now: datetime,
) -> None:
    """The event of a step, with the data. No personal data: a consumer that needs the contact
    reads the repair (and that read is then the audited one)."""
    uow.repairs.add_event(
        DomainEvent(
            EventName.REPAIR_CHANGED,
            f"repair:{repair.id}",
            {
                "repair_id": repair.id,
                "status": repair.status.value,
                "before": before.value if before else None,
                "action": action,
                "channel": repair.channel,
                "order_id": repair.order_id,
                "sku": repair.sku,
                "in_warranty": repair.warranty.in_warranty,
                "outcome": repair.outcome.value if repair.outcome else None,
            },
        ),
        len(repair.periods),
        now,
    )
