"""Re-sourcing an order on demand, mixed into `OrderService`.

Units wait for stock (a backorder, or what a count or a rejection took off a parcel) until
stock arrives and the worker sources them. Some changes move no stock and so wake no worker:
a location added to the channel, a sourcing profile changed. Customer service re-sources
such an order now, and the decision is recorded like every other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from oms.orders.domain.events import order_event
from oms.orders.domain.order import Order
from oms.orders.ports import ChannelFacts, OrderUnitOfWork, SourcingFacts
from oms.orders.services.planning import Exclusion, PlanOutcome
from oms.shared.errors import Conflict, NotFound
from oms.shared.events import EventName


class ResourcingUseCases:
    """Needs OrderService's unit of work, clock and `_source`."""

    _uow: Callable[[], OrderUnitOfWork]
    _clock: Callable[[], datetime]

    def _source(
        self,
        uow: OrderUnitOfWork,
        order: Order,
        facts: ChannelFacts,
        trigger: str,
        exclusions: Sequence[Exclusion],
        actor: str | None,
        now: datetime,
        known: SourcingFacts | None = None,
    ) -> PlanOutcome | None:
        raise NotImplementedError  # OrderService's

    def resource(self, order_id: int, actor: str | None = None) -> Order:
        """Source again, now, every unit of the order that waits for stock (in no parcel: a
        backorder, or what a count or a rejection took off a parcel), on the stock as it is.
        The decision is recorded like every other (trigger `manual`) and `OrderResourced`
        written, even when nothing could be found. A 409 when nothing waits."""
        now = self._clock()
        with self._uow() as uow:
            order = uow.orders.order(order_id, lock=True)
            if order is None:
                raise NotFound(f"no order {order_id}", field="id")
            if not order.needs_sourcing():
                raise Conflict(
                    f"order {order_id} is {order.status.value}: no unit of it waits for stock, "
                    "so there is nothing to re-source",
                    field="id",
                    extra={"status": order.status.value},
                )
            facts = uow.directory.channel(order.channel)
            if facts is None or not facts.active:
                raise Conflict(
                    f"channel {order.channel} is inactive or gone: its orders cannot be sourced",
                    field="id",
                )
            self._source(uow, order, facts, "manual", [], actor, now)
            uow.orders.add_events([order_event(EventName.ORDER_RESOURCED, order)], now)
            uow.publish_changes()
            uow.commit()
        return order
