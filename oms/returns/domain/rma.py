"""A return (RMA): what the customer sends back, line by line, and where it stands.

```
requested --approve--> authorized --ship--> in_transit --receive--> receiving --> received
   |  '--decline--> declined (T)     |  '--expire--> expired (T)                    |
   '--cancel--> cancelled (T) <------'                                  inspect --> inspected
                                                   resolve (from in_transit, received, inspected)
                                                                --> resolved --close--> closed (T)
```
Customer service creates returns already authorized; a channel's request starts at requested.
`on_hold` is a flag with a reason, not a state: it blocks `resolve`. Terminal states never
change; a correction is a new record. Receiving never restocks: units go to quarantine and only
a disposition moves them on (see `disposition`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from oms.shared.errors import Conflict, InvalidInput

MAX_REASON_TEXT = 1000


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    IN_TRANSIT = "in_transit"
    RECEIVING = "receiving"
    RECEIVED = "received"
    INSPECTED = "inspected"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TERMINAL = frozenset(
    {ReturnStatus.CLOSED, ReturnStatus.DECLINED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED}
)


class ReturnAction(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    CANCEL = "cancel"
    SHIP = "ship"  # the label or drop-off was scanned
    EXPIRE = "expire"  # the window elapsed before anything was sent
    RECEIVE = "receive"  # some units arrived (all of them: received)
    INSPECT = "inspect"  # every received unit was graded
    RESOLVE = "resolve"
    CLOSE = "close"


S = ReturnStatus
# action -> (states it may be taken from, the state it leads to). RECEIVE leads to RECEIVING or
# RECEIVED depending on what is still expected: `ReturnRequest.receive` decides.
TRANSITIONS: Mapping[ReturnAction, tuple[frozenset[ReturnStatus], ReturnStatus]] = {
    ReturnAction.APPROVE: (frozenset({S.REQUESTED}), S.AUTHORIZED),
    ReturnAction.DECLINE: (frozenset({S.REQUESTED}), S.DECLINED),
    ReturnAction.CANCEL: (frozenset({S.REQUESTED, S.AUTHORIZED}), S.CANCELLED),
    ReturnAction.SHIP: (frozenset({S.AUTHORIZED}), S.IN_TRANSIT),
    ReturnAction.EXPIRE: (frozenset({S.AUTHORIZED}), S.EXPIRED),
    ReturnAction.RECEIVE: (
        frozenset({S.AUTHORIZED, S.IN_TRANSIT, S.RECEIVING}),
        S.RECEIVING,
    ),
    ReturnAction.INSPECT: (frozenset({S.RECEIVED}), S.INSPECTED),
    ReturnAction.RESOLVE: (frozenset({S.IN_TRANSIT, S.RECEIVED, S.INSPECTED}), S.RESOLVED),
    ReturnAction.CLOSE: (frozenset({S.RESOLVED}), S.CLOSED),
}


class Resolution(StrEnum):
    REFUND = "refund"
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"
    REPLACEMENT = "replacement"
    KEEP_ITEM = "keep_item"  # refunded or not, the customer keeps it: nothing comes back
    REJECT = "reject"  # the return is refused: what came back goes back to the customer


@dataclass(slots=True)
class ReturnLine:
    """One order line's units coming back. `channel_reason` is the channel's own code, kept
    verbatim beside the normalised `reason_code`."""

    line_id: str
    sku: str
    quantity: int
    reason_code: str
    reason_text: str | None = None
    channel_reason: str | None = None
    received: int = 0
    written_off: int = 0  # never coming (lost, kept): counts as settled for receipt
    resolution: Resolution | None = None
    # Money is recorded, not moved: what was refunded or credited, how and when.
    refund_amount: int | None = None
    refund_method: str | None = None
    resolution_order_id: int | None = None  # an exchange's or a replacement's order
    resolved_at: datetime | None = None

    @property
    def expected(self) -> int:
        return self.quantity - self.received - self.written_off


@dataclass(slots=True)
class ReturnRequest:
    order_id: int
    lines: list[ReturnLine]
    status: ReturnStatus = ReturnStatus.REQUESTED
    channel: str = ""
    channel_return_id: str | None = None
    hold_reason: str | None = None
    unexpected: bool = False  # a parcel that came with no request: no refund is forced
    note: str | None = None
    approved_by: str | None = None  # a person, or "policy"
    id: int | None = None
    history: list[tuple[ReturnAction, ReturnStatus, ReturnStatus]] = field(default_factory=list)

    @property
    def on_hold(self) -> bool:
        return self.hold_reason is not None

    def line(self, line_id: str) -> ReturnLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise InvalidInput(f"the return has no line {line_id!r}", field="lines")

    # ------------------------------------------------------------------ transitions

    def _move(self, action: ReturnAction, to: ReturnStatus | None = None) -> None:
        allowed, target = TRANSITIONS[action]
        if self.status not in allowed:
            raise Conflict(
                f"a return that is {self.status.value} cannot be {_past(action)}",
                field="status",
                extra={"status": self.status.value, "action": action.value},
            )
        before, self.status = self.status, to or target
        self.history.append((action, before, self.status))

    def approve(self) -> None:
        self._move(ReturnAction.APPROVE)

    def decline(self) -> None:
        self._move(ReturnAction.DECLINE)

    def cancel(self) -> None:
        self._move(ReturnAction.CANCEL)

    def ship(self) -> None:
        self._move(ReturnAction.SHIP)

    def expire(self) -> None:
        self._move(ReturnAction.EXPIRE)

    def receive(self, units: Mapping[str, int]) -> None:
        """Units arrived, per line id. More than a line still expects is a 409 naming it."""
        if not units or any(q <= 0 for q in units.values()):
            raise InvalidInput("receive at least one unit of a line", field="lines")
        allowed, _ = TRANSITIONS[ReturnAction.RECEIVE]
        if self.status not in allowed:
            raise Conflict(
                f"a return that is {self.status.value} cannot be received",
                field="status",
                extra={"status": self.status.value, "action": "receive"},
            )
        for line_id, quantity in units.items():
            line = self.line(line_id)
            if quantity > line.expected:
                raise Conflict(
                    f"line {line_id} expects {line.expected} more units, not {quantity}",
                    field=f"lines.{line_id}.quantity",
                )
        for line_id, quantity in units.items():
            self.line(line_id).received += quantity
        done = all(line.expected == 0 for line in self.lines)
        self._move(ReturnAction.RECEIVE, S.RECEIVED if done else S.RECEIVING)

    def inspect(self) -> None:
        self._move(ReturnAction.INSPECT)

    def resolve(self, resolutions: Mapping[str, Resolution]) -> None:
        """Every line resolved at once. On hold: a 409 naming the hold's reason."""
        if self.on_hold:
            raise Conflict(f"the return is on hold: {self.hold_reason}", field="on_hold")
        missing = [ln.line_id for ln in self.lines if ln.line_id not in resolutions]
        if missing:
            raise InvalidInput(
                f"every line needs a resolution: {missing[0]} has none", field="lines"
            )
        for line_id in resolutions:
            self.line(line_id)
        if self.status is S.IN_TRANSIT and any(
            r is not Resolution.KEEP_ITEM and r is not Resolution.REFUND
            for r in resolutions.values()
        ):
            # Before anything arrived, only a refund on drop-off or keep-item is possible.
            raise Conflict(
                "before the items arrive a return can only be refunded or kept",
                field="lines",
            )
        self._move(ReturnAction.RESOLVE)
        for line_id, resolution in resolutions.items():
            self.line(line_id).resolution = resolution

    def close(self) -> None:
        self._move(ReturnAction.CLOSE)

    def hold(self, reason: str) -> None:
        if self.status in TERMINAL:
            raise Conflict(f"a {self.status.value} return cannot be held", field="status")
        text = reason.strip()
        if not text:
            raise InvalidInput("a hold needs a reason", field="reason")
        self.hold_reason = text[:MAX_REASON_TEXT]

    def release_hold(self) -> None:
        if self.status in TERMINAL:
            # A terminal return never changes, its hold included (a chargeback kept on record).
            raise Conflict(f"a {self.status.value} return cannot be released", field="status")
        self.hold_reason = None


def returnable(
    shipped: Mapping[str, int], returned: Mapping[str, int], asked: Sequence[tuple[str, int]]
) -> None:
    """Returnable = shipped - already returned, per line; asking more is a 409 naming it."""
    wanted: dict[str, int] = {}
    for index, (line_id, quantity) in enumerate(asked):
        if quantity < 1:
            raise InvalidInput("quantity must be at least 1", field=f"lines[{index}].quantity")
        wanted[line_id] = wanted.get(line_id, 0) + quantity
    for index, (line_id, _) in enumerate(asked):
        if line_id not in shipped:
            raise InvalidInput(
                f"the order has no shipped line {line_id!r}", field=f"lines[{index}].line_id"
            )
        left = shipped[line_id] - returned.get(line_id, 0)
        if wanted[line_id] > left:
            raise Conflict(
                f"line {line_id}: {left} units can be returned, not {wanted[line_id]}",
                field=f"lines[{index}].quantity",
                extra={"returnable": left},
            )


def _past(action: ReturnAction) -> str:
    return {
        ReturnAction.APPROVE: "approved",
        ReturnAction.DECLINE: "declined",
        ReturnAction.CANCEL: "cancelled",
        ReturnAction.SHIP: "marked as shipped",
        ReturnAction.EXPIRE: "expired",
        ReturnAction.RECEIVE: "received",
        ReturnAction.INSPECT: "marked as inspected",
        ReturnAction.RESOLVE: "resolved",
        ReturnAction.CLOSE: "closed",
    }[action]
