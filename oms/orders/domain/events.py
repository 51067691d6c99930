"""The events an order's life writes to the outbox, with the data that changed it."""

from __future__ import annotations

from oms.orders.domain.order import Order
from oms.shared.events import DomainEvent, EventName


def order_event(name: EventName, order: Order) -> DomainEvent:
    return DomainEvent(
        name,
        f"order:{order.id}",
        {
            "order_id": order.id,
            "channel": order.channel,
            "external_id": order.external_id,
            "status": order.status.value,
        },
    )
