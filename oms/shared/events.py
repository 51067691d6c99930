"""Domain events: facts written to the outbox in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventName(StrEnum):
    """Every event the outbox carries. The worker routes by these, so a misspelt name cannot
    pass mypy; the values are stored in `outbox.event` and are stable once deployed."""

    STOCK_CHANGED = "StockChanged"
    AVAILABILITY_CHANGED = "AvailabilityChanged"
    SHIPMENT_SHIPPED = "ShipmentShipped"
    ORDER_PLACED = "OrderPlaced"
    ORDER_ALLOCATED = "OrderAllocated"
    ORDER_CANCELLED = "OrderCancelled"
    ORDER_RESOURCED = "OrderResourced"
    RETURN_CHANGED = "ReturnChanged"  # opened, or its status, hold or resolution changed
    UNIT_CHANGED = "UnitChanged"  # a returned unit received, graded or dispositioned
    REPAIR_CHANGED = "RepairChanged"  # opened, or it entered a state (for customer notices)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """`partition_key` orders delivery: events with the same key are published in order."""

    name: EventName
    partition_key: str
    payload: dict[str, Any] = field(default_factory=dict)
