"""The events a return's and a unit's life write to the outbox."""

from __future__ import annotations

from oms.returns.domain import ReturnRequest
from oms.returns.domain.units import ReturnedUnit
from oms.shared.events import DomainEvent, EventName


def return_event(rma: ReturnRequest, what: str) -> DomainEvent:
    return DomainEvent(
        EventName.RETURN_CHANGED,
        f"return:{rma.id}",
        {
            "return_id": rma.id,
            "order_id": rma.order_id,
            "channel": rma.channel,
            "status": rma.status.value,
            "on_hold": rma.on_hold,
            "what": what,
        },
    )


def unit_event(unit: ReturnedUnit, what: str) -> DomainEvent:
    return DomainEvent(
        EventName.UNIT_CHANGED,
        f"unit:{unit.id}",
        {
            "unit_id": unit.id,
            "barcode": unit.barcode,
            "return_id": unit.return_id,
            "sku": unit.sku,
            "location": unit.location,
            "status": unit.status.value,
            "grade": unit.grade.value if unit.grade else None,
            "disposition": unit.decision.disposition.value if unit.decision else None,
            "what": what,
        },
    )
