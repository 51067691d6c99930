"""Returns (RMA): customer service's requests and a channel's, their state, on both databases.

Returnable = shipped - already asked back by returns that still stand, per order line. Customer
service creates returns already authorized; a channel's request starts at `requested` and is
approved by the channel's policy (window, reasons) or waits for a person. Every action is one
transaction that locks the return. Receiving books the units into quarantine at the receiving
location (one `return_receipt` movement per line) and creates one unit per item, in the same
transaction: never straight to stock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from oms.idempotency import fingerprint
from oms.inventory.domain import MovementType
from oms.inventory.services import InventoryService
from oms.inventory.services.commands import SystemMove
from oms.orders.domain.order import NewOrderLine, Order
from oms.orders.services.placement import OrderService, PlaceOrder
from oms.returns.domain import Resolution, ReturnLine, ReturnRequest, ReturnStatus, returnable
from oms.returns.domain.policy import ReturnReason, parse_reason
from oms.returns.domain.rma import MAX_REASON_TEXT, ReturnAction
from oms.returns.domain.units import ReturnedUnit, new_barcode
from oms.returns.ports import ReturnsUnitOfWork
from oms.returns.services.events import return_event, unit_event
from oms.shared.bounds import MAX_ID, bounded_text
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, IdempotencyKeyReused, InvalidInput, NotFound
from oms.shared.personal_data import ANONYMISED

MAX_LINES = 200
MAX_PAGE = 500
MAX_UNITS_PER_RECEIPT = 1000
MAX_AMOUNT = 10**12  # minor units
POLICY = "policy"
# What `act` takes: the steps that need no more than the return itself.
SIMPLE_ACTIONS = frozenset(
    {
        ReturnAction.APPROVE,
        ReturnAction.DECLINE,
        ReturnAction.CANCEL,
        ReturnAction.SHIP,
        ReturnAction.EXPIRE,
        ReturnAction.CLOSE,
    }
)  # who approved a request the channel's policy approved
_MONEY = frozenset({Resolution.REFUND, Resolution.STORE_CREDIT})
_NEW_ORDER = frozenset({Resolution.EXCHANGE, Resolution.REPLACEMENT})
REFUND_METHODS = frozenset(
    {"original_payment", "bank_transfer", "cash", "points", "store_credit", "marketplace"}
)


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
    note: str | None = None


@dataclass(frozen=True, slots=True)
class LineResolution:
    """How one line is settled. Money is recorded (amount in minor units, method), not moved;
    an exchange or replacement names what to send (`sku`, default the line's) and is placed
    as an order through the ordinary ingest."""

    line_id: str
    resolution: Resolution
    amount: int | None = None
    method: str | None = None
    sku: str | None = None
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class Received:
    rma: ReturnRequest
    units: list[ReturnedUnit]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Opened:
    """A return as opening left it; `replayed`: a retry (the same Idempotency-Key, or a
    channel's request sent again) answered with the return the first one opened."""

    rma: ReturnRequest
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Retry:
    """An optional Idempotency-Key: the same key and request again answers with the first
    result and changes nothing; the same key with another request (or client) is a 409."""

    key: str | None = None
    caller: str | None = None

    def claim(self, uow: ReturnsUnitOfWork, operation: str, body: Any, now: datetime) -> Any:
        """None when the key is new (or absent), else the first request's stored result."""
        if self.key is None:
            return None
        key = bounded_text(self.key, "Idempotency-Key", 200).strip()
        if not key:
            raise InvalidInput("Idempotency-Key must not be blank", field="Idempotency-Key")
        wanted = fingerprint(operation, body, self.caller)
        prior = uow.inventory.claim_key(key, operation, wanted, now)
        if prior is None:
            return None
        if prior[0] != wanted:
            raise IdempotencyKeyReused(key)
        return prior[1] or {}

    def keep(self, uow: ReturnsUnitOfWork, result: Any) -> None:
        if self.key is not None:
            uow.inventory.store_result(self.key.strip(), result)


NO_RETRY = Retry()


class ReturnService:
    def __init__(
        self,
        uow: Callable[[], ReturnsUnitOfWork],
        orders: OrderService,
        inventory: InventoryService | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._orders = orders
        self._inventory = inventory
        self._clock = clock

    # ------------------------------------------------------------------ opening

    def open_return(self, cmd: OpenReturn, actor: str, retry: Retry = NO_RETRY) -> ReturnRequest:
        return self.open(cmd, actor, retry).rma

    def open(self, cmd: OpenReturn, actor: str, retry: Retry = NO_RETRY) -> Opened:
        """Open a return. A channel's request is taken once per `channel_return_id`: the same
        request again is a replay, another request under that id a 409 naming it."""
        _check_order_id(cmd.order_id)
        reasons = _check_lines(cmd.lines)
        note = _check_note(cmd.note)
        if cmd.channel_return_id is not None:
            bounded_text(cmd.channel_return_id, "channel_return_id", 100)
        order = self._orders.get_order(cmd.order_id)
        shipped = {s.line_id: s.shipped for s in order.line_states() if s.shipped}
        skus = {ln.line_id: ln.sku for ln in order.lines}
        now = self._clock()
        with self._uow() as uow:
            prior = retry.claim(uow, "returns.open", asdict(cmd), now)
            if prior is not None:
                return Opened(self._stored(uow, prior["return_id"]), replayed=True)
            _lock_order(uow, cmd.order_id)
            if cmd.channel_return_id:
                existing = uow.returns.return_by_channel_id(order.channel, cmd.channel_return_id)
                if existing is not None:
                    _same_request(existing, cmd, reasons)
                    return Opened(existing, replayed=True)  # the channel sent it again
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
                        reason_code=reason.value,
                        reason_text=ln.reason_text,
                        channel_reason=ln.channel_reason,
                    )
                    for ln, reason in zip(cmd.lines, reasons, strict=True)
                ],
                status=ReturnStatus.REQUESTED if cmd.by_channel else ReturnStatus.AUTHORIZED,
                channel=order.channel,
                channel_return_id=cmd.channel_return_id,
                note=note,
                approved_by=None if cmd.by_channel else actor,
            )
            if cmd.by_channel:
                policy = uow.returns.policy(order.channel)
                if policy is not None and policy.approves(_last_shipped(order), now, reasons):
                    rma.approve()
                    rma.approved_by = POLICY
            uow.returns.add_return(rma, actor, now)
            uow.returns.add_events([return_event(rma, "opened")], now)
            retry.keep(uow, {"return_id": rma.id})
            uow.commit()
        return Opened(rma)

    def receive_unexpected(
        self,
        order_id: int,
        location: str,
        lines: Mapping[str, int],
        actor: str,
        note: str | None = None,
        retry: Retry = NO_RETRY,
    ) -> Received:
        """A parcel that came with no return request: received as an unexpected return, into
        quarantine like any other, with no resolution forced on it."""
        _check_order_id(order_id)
        asked = [
            NewReturnLine(line_id, quantity, ReturnReason.UNEXPECTED.value)
            for line_id, quantity in lines.items()
        ]
        _check_lines(asked)
        order = self._orders.get_order(order_id)
        shipped = {s.line_id: s.shipped for s in order.line_states() if s.shipped}
        skus = {ln.line_id: ln.sku for ln in order.lines}
        now = self._clock()
        with self._uow() as uow:
            body = {"order_id": order_id, "location": location, "lines": dict(lines), "note": note}
            prior = retry.claim(uow, "returns.unexpected", body, now)
            if prior is not None:
                return self._replayed(uow, prior)
            _lock_order(uow, order_id)
            returnable(
                shipped, uow.returns.returned(order_id), [(a.line_id, a.quantity) for a in asked]
            )
            rma = ReturnRequest(
                order_id=order_id,
                lines=[
                    ReturnLine(a.line_id, skus[a.line_id], a.quantity, a.reason_code) for a in asked
                ],
                status=ReturnStatus.AUTHORIZED,
                channel=order.channel,
                unexpected=True,
                note=_check_note(note),
                approved_by=actor,
            )
            uow.returns.add_return(rma, actor, now)
            units = self._receive_in(uow, rma, location, dict(lines), actor, now)
            uow.returns.save_return(rma, now)
            uow.returns.add_events([return_event(rma, "opened")], now)
            retry.keep(uow, {"return_id": rma.id, "units": [u.id for u in units]})
            uow.publish_changes()
            uow.commit()
        return Received(rma, units)

    # ------------------------------------------------------------------ receiving

    def receive(
        self,
        return_id: int,
        location: str,
        lines: Mapping[str, int],
        actor: str,
        retry: Retry = NO_RETRY,
    ) -> Received:
        """Units arrived at `location`: into quarantine there, one unit (with its label) per
        item. More than a line still expects is a 409 naming the line; nothing is written."""
        bounded_text(location, "location", 64)
        now = self._clock()
        with self._uow() as uow:
            body = {"return_id": return_id, "location": location, "lines": dict(lines)}
            prior = retry.claim(uow, "returns.receive", body, now)
            if prior is not None:
                return self._replayed(uow, prior)
            rma = self._locked(uow, return_id)
            units = self._receive_in(uow, rma, location, dict(lines), actor, now)
            uow.returns.save_return(rma, now)
            retry.keep(uow, {"return_id": rma.id, "units": [u.id for u in units]})
            uow.publish_changes()
            uow.commit()
        return Received(rma, units)

    def _receive_in(
        self,
        uow: ReturnsUnitOfWork,
        rma: ReturnRequest,
        location: str,
        lines: dict[str, int],
        actor: str,
        now: datetime,
    ) -> list[ReturnedUnit]:
        if self._inventory is None:
            raise RuntimeError("receiving needs the inventory service")
        for line_id, quantity in lines.items():
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise InvalidInput("quantity must be at least 1", field=f"lines.{line_id}")
        if sum(lines.values()) > MAX_UNITS_PER_RECEIPT:
            raise InvalidInput(
                f"at most {MAX_UNITS_PER_RECEIPT} units in one receipt", field="lines"
            )
        before = rma.status
        rma.receive(lines)
        # A set holds no stock of its own: what comes back is its items, each a unit.
        items = {line_id: _items_of(uow, rma.line(line_id).sku) for line_id in lines}
        units = [
            ReturnedUnit(
                sku=sku,
                location=location,
                barcode=new_barcode(),
                return_id=rma.id,
                line_id=line_id,
            )
            for line_id, quantity in lines.items()
            for _ in range(quantity)
            for sku, per_line_unit in items[line_id].items()
            for _ in range(per_line_unit)
        ]
        if len(units) > MAX_UNITS_PER_RECEIPT:
            raise InvalidInput(
                f"at most {MAX_UNITS_PER_RECEIPT} units in one receipt", field="lines"
            )
        received: dict[str, int] = {}
        for unit in units:
            received[unit.sku] = received.get(unit.sku, 0) + 1
        uow.returns.add_units(units, now)
        first = units[0].id
        try:
            self._inventory.record_system_within(
                uow,
                [
                    SystemMove(MovementType.RETURN_RECEIPT, sku, location, quantity, "return")
                    for sku, quantity in received.items()
                ],
                key=f"return:{rma.id}:receipt:{first}",
                reference=f"return:{rma.id}",
                actor=actor,
                now=now,
            )
        except InvalidInput as bad:
            if bad.field == "location":
                raise InvalidInput(bad.detail, field="location") from None
            raise
        events = [unit_event(u, "received") for u in units]
        if rma.status is not before:
            events.append(return_event(rma, rma.status.value))
        uow.returns.add_events(events, now)
        return units

    # ------------------------------------------------------------------ the other actions

    def act(self, return_id: int, action: ReturnAction | str, actor: str) -> ReturnRequest:
        """One action of the state machine that needs nothing more; a refusal is a 409 naming
        the state. Receiving and resolving have their own methods; inspection follows from
        grading."""
        action = simple_action(action)
        now = self._clock()
        with self._uow() as uow:
            rma = self._locked(uow, return_id)
            getattr(rma, action.value)()
            if action is ReturnAction.APPROVE:
                rma.approved_by = actor
            uow.returns.save_return(rma, now)
            uow.returns.add_events([return_event(rma, rma.status.value)], now)
            uow.commit()
        return rma

    def resolve(
        self,
        return_id: int,
        lines: Sequence[LineResolution],
        actor: str,
        ship_to: Mapping[str, Any] | None = None,
    ) -> ReturnRequest:
        """Every line settled at once: money recorded, exchanges and replacements placed as
        orders (each once: its external id is the return's and the line's, so a retry finds
        the order it placed). Checked whole before any order is placed."""
        if not lines:
            raise InvalidInput("every line needs a resolution", field="lines")
        by_line: dict[str, LineResolution] = {}
        for index, line in enumerate(lines):
            _check_resolution(line, index)
            if line.line_id in by_line:
                raise InvalidInput(
                    f"line {line.line_id} is resolved twice", field=f"lines[{index}].line_id"
                )
            by_line[line.line_id] = line
        rma = self.get_return(return_id)
        for index, line in enumerate(lines):
            returned = next((ln for ln in rma.lines if ln.line_id == line.line_id), None)
            if (
                returned is not None
                and line.quantity is not None
                and line.quantity > returned.quantity
            ):
                # An exchange or a replacement sends what comes back, never more for free.
                raise InvalidInput(
                    f"line {line.line_id} returns {returned.quantity} units: an exchange or"
                    f" replacement sends at most that many, not {line.quantity}",
                    field=f"lines[{index}].quantity",
                )
        original = self._orders.get_order(rma.order_id)
        prices = {ln.line_id: ln.unit_price for ln in original.lines}
        for index, line in enumerate(lines):
            returned = next((ln for ln in rma.lines if ln.line_id == line.line_id), None)
            paid = prices.get(line.line_id, 0) * (returned.quantity if returned else 0)
            if line.resolution is Resolution.REFUND and (line.amount or 0) > paid:
                # A refund gives back at most what was paid for the units coming back;
                # goodwill beyond it is store credit.
                raise InvalidInput(
                    f"line {line.line_id}: a refund is at most the {paid} paid for its units",
                    field=f"lines[{index}].amount",
                )
        trial = copy.deepcopy(rma)
        trial.resolve({k: v.resolution for k, v in by_line.items()})
        order_ids: dict[str, int] = {}
        if any(r.resolution in _NEW_ORDER for r in by_line.values()):
            order_ids = self._place_new_orders(rma, by_line, actor, original, ship_to)
        now = self._clock()
        with self._uow() as uow:
            rma = self._locked(uow, return_id)
            rma.resolve({k: v.resolution for k, v in by_line.items()})
            for line_id, settled in by_line.items():
                settling = rma.line(line_id)
                settling.refund_amount = settled.amount
                settling.refund_method = settled.method
                settling.resolution_order_id = order_ids.get(line_id)
            uow.returns.save_return(rma, now)
            uow.returns.add_events([return_event(rma, rma.status.value)], now)
            uow.commit()
        return self.get_return(return_id)

    def _place_new_orders(
        self,
        rma: ReturnRequest,
        by_line: Mapping[str, LineResolution],
        actor: str,
        original: Order,
        ship_to: Mapping[str, Any] | None,
    ) -> dict[str, int]:
        """Exchanges and replacements go to the original address, or to `ship_to` when given;
        an anonymised original address is no address: then `ship_to` is required."""
        if ship_to is None and original.ship_to.name == ANONYMISED:
            raise Conflict(
                "the order's address was anonymised: send the address to ship to",
                field="ship_to",
            )
        address = dict(ship_to) if ship_to is not None else _ship_to(original)
        with self._uow() as uow:
            policy = uow.returns.policy(original.channel)
        channel = policy.exchange_channel if policy and policy.exchange_channel else None
        placed: dict[str, int] = {}
        for line_id, settled in by_line.items():
            if settled.resolution not in _NEW_ORDER:
                continue
            line = rma.line(line_id)
            result = self._orders.place_order(
                PlaceOrder(
                    channel=channel or original.channel,
                    external_id=f"RMA{rma.id}-{line_id}"[:100],
                    ordered_at=self._clock(),
                    currency=original.currency,
                    lines=[
                        NewOrderLine(
                            "1",
                            settled.sku or line.sku,
                            settled.quantity or line.quantity,
                            0,  # sent at no charge: the money is the original order's
                        )
                    ],
                    ship_to=address,
                    shipping_method=original.shipping_method,
                ),
                actor=actor,
            )
            placed[line_id] = result.order.id or 0
        return placed

    def hold(self, return_id: int, reason: str | None, actor: str = "") -> ReturnRequest:
        """Put on hold with a reason (blocks resolution), or release with None."""
        now = self._clock()
        with self._uow() as uow:
            rma = self._locked(uow, return_id)
            if reason is None:
                rma.release_hold()
            else:
                rma.hold(reason)
            uow.returns.save_return(rma, now)
            uow.returns.add_events(
                [return_event(rma, "held" if reason is not None else "released")], now
            )
            uow.commit()
        return rma

    # ------------------------------------------------------------------ reading

    def get_return(self, return_id: int) -> ReturnRequest:
        with self._uow() as uow:
            found = uow.returns.return_by_id(return_id)
        if found is None:
            raise NotFound(f"no return {return_id}", field="id")
        return found

    def units_of(self, return_id: int) -> list[ReturnedUnit]:
        with self._uow() as uow:
            return uow.returns.units_of_return(return_id)

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

    @staticmethod
    def _stored(uow: ReturnsUnitOfWork, return_id: int) -> ReturnRequest:
        rma = uow.returns.return_by_id(return_id)
        if rma is None:
            raise NotFound(f"no return {return_id}", field="id")
        return rma

    @classmethod
    def _replayed(cls, uow: ReturnsUnitOfWork, prior: Any) -> Received:
        wanted = set(prior["units"])
        units = [u for u in uow.returns.units_of_return(prior["return_id"]) if u.id in wanted]
        return Received(cls._stored(uow, prior["return_id"]), units, replayed=True)

    @staticmethod
    def _locked(uow: ReturnsUnitOfWork, return_id: int) -> ReturnRequest:
        rma = uow.returns.return_by_id(return_id, lock=True)
        if rma is None:
            raise NotFound(f"no return {return_id}", field="id")
        return rma


def _same_request(
    existing: ReturnRequest, cmd: OpenReturn, reasons: Sequence[ReturnReason]
) -> None:
    """A channel's request sent again must be the one it sent: another order or other lines
    under the same `channel_return_id` are refused, never answered with the first return."""
    asked = sorted(
        (ln.line_id, ln.quantity, reason.value, ln.channel_reason)
        for ln, reason in zip(cmd.lines, reasons, strict=True)
    )
    taken = sorted(
        (ln.line_id, ln.quantity, ln.reason_code, ln.channel_reason) for ln in existing.lines
    )
    if existing.order_id != cmd.order_id or asked != taken:
        raise Conflict(
            f"channel return {cmd.channel_return_id!r} was taken already, as return"
            f" {existing.id} with other content",
            field="channel_return_id",
            extra={"return_id": existing.id},
        )


def _check_order_id(order_id: object) -> None:
    # An id the database cannot hold is bad input, never a driver error (a 500).
    if isinstance(order_id, bool) or not isinstance(order_id, int) or not 1 <= order_id <= MAX_ID:
        raise InvalidInput(f"order_id must be between 1 and {MAX_ID}", field="order_id")


def simple_action(value: ReturnAction | str) -> ReturnAction:
    """One of SIMPLE_ACTIONS, from a person's or a URL's word; anything else names `action`."""
    try:
        action = ReturnAction(value)
    except ValueError:
        action = None
    if action not in SIMPLE_ACTIONS or action is None:
        names = ", ".join(sorted(a.value for a in SIMPLE_ACTIONS))
        raise InvalidInput(f"action must be one of {names}", field="action")
    return action


def _check_lines(lines: Sequence[NewReturnLine]) -> list[ReturnReason]:
    if not lines:
        raise InvalidInput("a return needs at least one line", field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} lines", field="lines")
    reasons = []
    for index, line in enumerate(lines):
        bounded_text(line.line_id, f"lines[{index}].line_id", 64)
        bounded_text(line.reason_code, f"lines[{index}].reason_code", 64)
        reasons.append(parse_reason(line.reason_code, f"lines[{index}].reason_code"))
        if line.reason_text is not None:
            bounded_text(
                line.reason_text,
                f"lines[{index}].reason_text",
                MAX_REASON_TEXT,
                multi_line=True,
            )
        if line.channel_reason is not None:
            bounded_text(line.channel_reason, f"lines[{index}].channel_reason", 200)
    return reasons


def _check_note(note: str | None) -> str | None:
    if note is None:
        return None
    bounded_text(note, "note", MAX_REASON_TEXT, multi_line=True)
    return note.strip() or None


def _check_resolution(line: LineResolution, index: int) -> None:
    where = f"lines[{index}]"
    bounded_text(line.line_id, f"{where}.line_id", 64)
    if line.resolution in _MONEY:
        if line.amount is None:
            raise InvalidInput(
                f"a {line.resolution.value} records its amount", field=f"{where}.amount"
            )
        if line.method is None:
            raise InvalidInput(
                f"a {line.resolution.value} records its method", field=f"{where}.method"
            )
    if line.amount is not None and not 0 <= line.amount <= MAX_AMOUNT:
        raise InvalidInput(f"amount must be between 0 and {MAX_AMOUNT}", field=f"{where}.amount")
    if line.method is not None and line.method not in REFUND_METHODS:
        known = ", ".join(sorted(REFUND_METHODS))
        raise InvalidInput(f"method must be one of {known}", field=f"{where}.method")
    if line.resolution not in _NEW_ORDER and (line.sku is not None or line.quantity is not None):
        raise InvalidInput(
            "only an exchange or a replacement sends something: sku and quantity are theirs",
            field=f"{where}.sku",
        )
    if line.quantity is not None and not 1 <= line.quantity <= 1000:
        raise InvalidInput("quantity must be between 1 and 1000", field=f"{where}.quantity")
    if line.sku is not None:
        bounded_text(line.sku, f"{where}.sku", 64)


def _items_of(uow: ReturnsUnitOfWork, sku: str) -> dict[str, int]:
    """The physical items one unit of an order line's SKU is: itself, or a set's simple
    components (through nested sets) with how many of each."""
    found = uow.inventory.sku_by_code(sku)
    if found is None or not found.is_bundle or found.id is None:
        return {sku: 1}
    return dict(sorted(uow.inventory.flattened_requirements(found.id).items()))


def _lock_order(uow: ReturnsUnitOfWork, order_id: int) -> None:
    """Returns of one order are opened one at a time: what is still returnable is read after
    every other return of the order committed, so parallel requests (a channel's, customer
    service's, an unexpected parcel) never ask back more than was shipped. PostgreSQL locks
    the order's row (order writers lock it before any stock, as receiving then does); SQLite
    has one writer."""
    uow.orders.order(order_id, lock=True)


def _last_shipped(order: Order) -> datetime | None:
    times = [s.shipped_at for s in order.shipments if s.shipped_at is not None]
    return max(times) if times else None


def _ship_to(order: Order) -> dict[str, object]:
    return {k: v for k, v in asdict(order.ship_to).items() if v is not None}


__all__ = [
    "NO_RETRY",
    "LineResolution",
    "NewReturnLine",
    "OpenReturn",
    "Opened",
    "Received",
    "Retry",
    "ReturnService",
]
