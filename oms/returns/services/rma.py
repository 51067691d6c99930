"""Returns (RMA): customer service's requests and a channel's, their state, on both databases.

Returnable = shipped - already asked back by returns that still stand, per order line. Customer
service creates returns already authorized; a channel's request starts at `requested` and waits
for a person or a policy to approve it. Every action is one transaction that locks the return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from oms.orders.services.placement import OrderService
from oms.returns.domain import Resolution, ReturnLine, ReturnRequest, ReturnStatus, returnable
from oms.returns.domain.rma import MAX_REASON_TEXT, ReturnAction
from oms.returns.ports import ReturnsUnitOfWork
from oms.shared.bounds import check_text
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound

MAX_LINES = 200
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class NewReturnLine:
    line_id: str
    quantity: int
    reason_code: str
    reason_text: str | None = None
    channel_reason: str | None = None


@dataclass(frozen=True, slots=True)
class OpenReturn:
    order_id: int
    lines: Sequence[NewReturnLine]
    channel_return_id: str | None = None
    by_channel: bool = False  # a channel's request: starts at requested


class ReturnService:
    def __init__(
        self,
        uow: Callable[[], ReturnsUnitOfWork],
        orders: OrderService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._orders = orders
        self._clock = clock

    def open_return(self, cmd: OpenReturn, actor: str) -> ReturnRequest:
        if not cmd.lines:
            raise InvalidInput("a return needs at least one line", field="lines")
        if len(cmd.lines) > MAX_LINES:
            raise InvalidInput(f"at most {MAX_LINES} lines", field="lines")
        for index, line in enumerate(cmd.lines):
            check_text(line.reason_code, f"lines[{index}].reason_code")
            if not line.reason_code.strip():
                raise InvalidInput("a reason is needed", field=f"lines[{index}].reason_code")
            if line.reason_text is not None and len(line.reason_text) > MAX_REASON_TEXT:
                raise InvalidInput(
                    f"at most {MAX_REASON_TEXT} characters", field=f"lines[{index}].reason_text"
                )
        order = self._orders.get_order(cmd.order_id)
        shipped = {s.line_id: s.shipped for s in order.line_states() if s.shipped}
        skus = {ln.line_id: ln.sku for ln in order.lines}
        now = self._clock()
        with self._uow() as uow:
            if cmd.channel_return_id:
                existing = uow.returns.return_by_channel_id(order.channel, cmd.channel_return_id)
                if existing is not None:
                    return existing  # the channel sent its request again
            returnable(
                shipped,
                uow.returns.returned(cmd.order_id),
                [(ln.line_id, ln.quantity) for ln in cmd.lines],
            )
            rma = ReturnRequest(
                order_id=cmd.order_id,
                lines=[
                    ReturnLine(
                        line_id=ln.line_id,
                        sku=skus[ln.line_id],
                        quantity=ln.quantity,
                        reason_code=ln.reason_code.strip(),
                        reason_text=ln.reason_text,
                        channel_reason=ln.channel_reason,
                    )
                    for ln in cmd.lines
                ],
                status=ReturnStatus.REQUESTED if cmd.by_channel else ReturnStatus.AUTHORIZED,
                channel=order.channel,
                channel_return_id=cmd.channel_return_id,
            )
            uow.returns.add_return(rma, actor, now)
            uow.commit()
        return rma

    def get_return(self, return_id: int) -> ReturnRequest:
        with self._uow() as uow:
            found = uow.returns.return_by_id(return_id)
        if found is None:
            raise NotFound(f"no return {return_id}", field="id")
        return found

    def act(
        self,
        return_id: int,
        action: ReturnAction,
        *,
        units: dict[str, int] | None = None,
        resolutions: dict[str, Resolution] | None = None,
    ) -> ReturnRequest:
        """One action of the state machine; a refusal is a 409 naming the state."""
        with self._uow() as uow:
            rma = uow.returns.return_by_id(return_id, lock=True)
            if rma is None:
                raise NotFound(f"no return {return_id}", field="id")
            if action is ReturnAction.RECEIVE:
                rma.receive(units or {})
            elif action is ReturnAction.RESOLVE:
                rma.resolve(resolutions or {})
            else:
                getattr(rma, action.value)()
            uow.returns.save_return(rma, self._clock())
            uow.commit()
        return rma

    def hold(self, return_id: int, reason: str | None) -> ReturnRequest:
        """Put on hold with a reason (blocks resolution), or release with None."""
        with self._uow() as uow:
            rma = uow.returns.return_by_id(return_id, lock=True)
            if rma is None:
                raise NotFound(f"no return {return_id}", field="id")
            if reason is None:
                rma.release_hold()
            else:
                rma.hold(reason)
            uow.returns.save_return(rma, self._clock())
            uow.commit()
        return rma

    def list_returns(
        self,
        status: str | None = None,
        order_id: int | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[ReturnRequest]:
        if limit < 1 or limit > MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        try:
            wanted = ReturnStatus(status) if status is not None else None
        except ValueError:
            known = ", ".join(s.value for s in ReturnStatus)
            raise InvalidInput(f"status must be one of {known}", field="status") from None
        with self._uow() as uow:
            return uow.returns.returns_page(wanted, order_id, after_id, limit)


__all__ = ["NewReturnLine", "OpenReturn", "ReturnService"]
