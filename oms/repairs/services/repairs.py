"""Repairs: a request from a consumer, a wholesale partner or customer service, and every step
of the repair order's state machine, each one transaction that locks the repair.

A request names an order line of ours (any channel: SKU, channel and purchase date come from
the order) or brings its own proof of purchase (date, channel, partner, SKU). The warranty is
decided then, from the purchase date, the SKU's term and the partner's terms, and stored with
those inputs. Parts used are booked in the inventory's ledger in the repair's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from oms.idempotency import fingerprint
from oms.inventory.domain.catalogue import validate_code
from oms.inventory.services import InventoryService
from oms.orders.services.placement import OrderService
from oms.repairs.domain import (
    PartLine,
    PartnerTerms,
    Quote,
    Repair,
    RepairAction,
    RepairStatus,
    RequestedBy,
    compute_warranty,
    parse_contact,
)
from oms.repairs.ports import PartUse, RepairsUnitOfWork
from oms.repairs.services.checks import (
    JST,
    check_key,
    optional_text,
    outcome_of,
    reason_of,
    requested_by_of,
    symptom_of,
)
from oms.repairs.services.events import status_changed
from oms.repairs.services.parts import book_parts
from oms.shared.bounds import EARLIEST, parse_id
from oms.shared.clock import utcnow
from oms.shared.errors import IdempotencyKeyReused, InvalidInput, NotFound
from oms.shared.transaction import retry_transaction

MAX_PAGE = 500
_OPEN = "repairs.open"


@dataclass(frozen=True, slots=True)
class OpenRepair:
    """A repair request: `order_id` + `line_id`, or a proof of purchase (`purchase_date`,
    `channel`, `sku`, and `partner` when bought through one)."""

    requested_by: str
    symptom: str
    contact: Mapping[str, Any]
    order_id: int | None = None
    line_id: str | None = None
    purchase_date: date | None = None
    channel: str | None = None
    partner: str | None = None
    sku: str | None = None
    serial: str | None = None


@dataclass(frozen=True, slots=True)
class OpenedRepair:
    repair: Repair
    created: bool  # False: the same Idempotency-Key and request came again


@dataclass(frozen=True, slots=True)
class ActOnRepair:
    """One action and its inputs (each action reads the ones it needs)."""

    action: RepairAction
    location: str | None = None  # receive
    note: str | None = None
    amount: int | None = None  # quote
    currency: str = "JPY"
    passed: bool | None = None  # test_result
    outcome: str | None = None  # unrepairable
    reason: str | None = None  # decline, unrepairable, cancel, override_warranty
    in_warranty: bool | None = None  # override_warranty
    parts: Sequence[PartLine] = field(default_factory=tuple)
    idempotency_key: str | None = None  # parts: a retry with the same key books nothing


@dataclass(frozen=True, slots=True)
class RepairDetail:
    """A repair with its parts and the instant its clocks were read at."""

    repair: Repair
    parts: list[PartUse]
    as_of: datetime
    replayed: bool = False  # the action was a retry under its Idempotency-Key: nothing done


@dataclass(frozen=True, slots=True)
class RepairPage:
    items: list[Repair]
    next_cursor: str | None
    as_of: datetime


@dataclass(frozen=True, slots=True)
class _CheckedRequest:
    requested_by: RequestedBy
    symptom: str
    serial: str | None
    contact: dict[str, Any]
    partner: str | None
    sku: str
    channel: str
    bought: date
    order_id: int | None
    line_id: str | None


class RepairService:
    def __init__(
        self,
        uow: Callable[[], RepairsUnitOfWork],
        inventory: InventoryService,
        orders: OrderService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._orders = orders
        self._clock = clock

    # ------------------------------------------------------------------ requests

    def open_repair(
        self,
        cmd: OpenRepair,
        actor: str,
        *,
        idempotency_key: str | None = None,
        caller: str | None = None,
    ) -> OpenedRepair:
        """A new repair (requested), or, for an Idempotency-Key the same caller (an API key)
        used before with the same request, the repair it made. The same key with another
        request, or from another caller, is a 409."""
        if idempotency_key is not None:
            check_key(idempotency_key)
        asked = fingerprint(_OPEN, _request_body(cmd), caller)
        checked = self._checked(cmd)

        def attempt(_: object) -> OpenedRepair:
            return self._open(checked, actor, idempotency_key, asked)

        # The same key sent twice at once: the later insert gives way, and its retry replays.
        return retry_transaction(attempt)

    def _checked(self, cmd: OpenRepair) -> _CheckedRequest:
        requested_by = requested_by_of(cmd.requested_by)
        symptom = symptom_of(cmd.symptom)
        serial = optional_text(cmd.serial, "serial", 100)
        contact = parse_contact(cmd.contact)
        partner = None if cmd.partner is None else validate_code(cmd.partner, field_name="partner")
        if requested_by is RequestedBy.WHOLESALE and partner is None:
            raise InvalidInput("a wholesale partner's request names the partner", field="partner")
        sku, channel, bought, line_id = self._purchase(cmd)
        return _CheckedRequest(
            requested_by, symptom, serial, contact, partner, sku, channel, bought,
            cmd.order_id, line_id,
        )  # fmt: skip

    def _open(
        self, req: _CheckedRequest, actor: str, idempotency_key: str | None, asked: str
    ) -> OpenedRepair:
        now = self._clock()
        with self._uow() as uow:
            if idempotency_key is not None:
                stored = uow.repairs.repair_by_key(idempotency_key)
                if stored is not None:
                    if stored.fingerprint != asked:
                        raise IdempotencyKeyReused(idempotency_key)
                    return OpenedRepair(stored.repair, created=False)
            terms = None
            if req.partner is not None:
                terms = uow.repairs.partner_terms(req.partner)
                if terms is None:
                    raise InvalidInput(
                        f"no warranty terms for partner {req.partner!r}: set them first "
                        "(`oms repairs partner`)",
                        field="partner",
                    )
            found = uow.inventory.sku_by_code(req.sku)
            if found is None:
                raise InvalidInput(f"SKU {req.sku!r} does not exist", field="sku")
            repair = Repair(
                requested_by=req.requested_by,
                sku=req.sku,
                channel=req.channel,
                purchase_date=req.bought,
                symptom=req.symptom,
                contact=req.contact,
                warranty=compute_warranty(
                    req.bought, now.astimezone(JST).date(), dict(found.attributes), terms
                ),
                order_id=req.order_id,
                line_id=req.line_id,
                partner=req.partner,
                serial=req.serial,
            )
            repair.start(now, actor)
            uow.repairs.add_repair(
                repair, actor, now, idempotency_key=idempotency_key, fingerprint=asked
            )
            status_changed(uow, repair, None, "open", now)
            uow.commit()
        return OpenedRepair(repair, created=True)

    def _purchase(self, cmd: OpenRepair) -> tuple[str, str, date, str | None]:
        """(sku, channel, purchase date, order line) from the order, or from the proof."""
        if cmd.order_id is not None or cmd.line_id is not None:
            if cmd.order_id is None:
                raise InvalidInput("line_id comes with order_id", field="order_id")
            if cmd.line_id is None:
                raise InvalidInput("order_id comes with line_id", field="line_id")
            for name in ("purchase_date", "channel", "sku"):
                if getattr(cmd, name) is not None:
                    raise InvalidInput(f"{name} is taken from the order: leave it out", field=name)
            try:
                order = self._orders.get_order(cmd.order_id)
            except NotFound:
                raise InvalidInput(f"no order {cmd.order_id}", field="order_id") from None
            try:
                line = order.line(cmd.line_id)
            except InvalidInput:
                raise InvalidInput(
                    f"order {cmd.order_id} has no line {cmd.line_id!r}", field="line_id"
                ) from None
            bought = order.ordered_at.astimezone(JST).date()
            return line.sku, order.channel, bought, line.line_id
        if cmd.purchase_date is None:
            raise InvalidInput(
                "a repair names order_id and line_id, or a proof of purchase with its date",
                field="purchase_date",
            )
        if cmd.channel is None:
            raise InvalidInput("where it was bought: the channel", field="channel")
        if cmd.sku is None:
            raise InvalidInput("which product: the sku", field="sku")
        today = self._clock().astimezone(JST).date()
        if not EARLIEST.date() <= cmd.purchase_date <= today:
            raise InvalidInput(
                f"purchase_date must be between {EARLIEST.date()} and today", field="purchase_date"
            )
        channel = validate_code(cmd.channel, field_name="channel")
        sku = validate_code(cmd.sku, field_name="sku")
        return sku, channel, cmd.purchase_date, None

    # ------------------------------------------------------------------ reads

    def get_repair(self, repair_id: int) -> RepairDetail:
        with self._uow() as uow:
            found = uow.repairs.repair_by_id(repair_id)
            if found is None:
                raise NotFound(f"no repair {repair_id}", field="id")
            parts = uow.repairs.parts_used(repair_id)
        return RepairDetail(found, parts, self._clock())

    def list_repairs(
        self,
        status: str | None = None,
        order_id: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> RepairPage:
        if limit < 1 or limit > MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        try:
            wanted = RepairStatus(status) if status else None
        except ValueError:
            known = ", ".join(s.value for s in RepairStatus)
            raise InvalidInput(f"status must be one of {known}", field="status") from None
        after = parse_id(cursor, "cursor") or 0
        with self._uow() as uow:
            items = uow.repairs.repairs_page(wanted, order_id, after, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return RepairPage(items, str(items[-1].id) if more and items else None, self._clock())

    # ------------------------------------------------------------------ actions

    def act(self, repair_id: int, cmd: ActOnRepair, actor: str) -> RepairDetail:
        """One action of the state machine; a refusal is a 409 naming the state, bad input a
        422 naming the field, and either changes nothing."""
        return retry_transaction(lambda _: self._act(repair_id, cmd, actor))

    def _act(self, repair_id: int, cmd: ActOnRepair, actor: str) -> RepairDetail:
        now = self._clock()
        with self._uow() as uow:
            repair = uow.repairs.repair_by_id(repair_id, lock=True)
            if repair is None:
                raise NotFound(f"no repair {repair_id}", field="id")
            before = repair.status
            booked = self._apply(uow, repair, cmd, actor, now)
            replayed = cmd.action is RepairAction.PARTS and not booked
            if not replayed:
                uow.repairs.save_repair(repair, now)
                if repair.status is not before:
                    status_changed(uow, repair, before, cmd.action.value, now)
                if booked:
                    uow.publish_changes()  # parts left the stock: the channels' numbers follow
                uow.commit()
        detail = self.get_repair(repair_id)
        if replayed:
            return RepairDetail(detail.repair, detail.parts, detail.as_of, replayed=True)
        return detail

    def _apply(
        self,
        uow: RepairsUnitOfWork,
        repair: Repair,
        cmd: ActOnRepair,
        actor: str,
        now: datetime,
    ) -> bool:
        """Run the action on the repair; True when it booked ledger movements."""
        a = RepairAction
        note = optional_text(cmd.note, "note", 1000, multi_line=True)
        match cmd.action:
            case a.AWAIT_ITEM:
                repair.await_item(now, actor)
            case a.RECEIVE:
                location = optional_text(cmd.location, "location", 64)
                if location is None:
                    raise InvalidInput("where the item is received: location", field="location")
                if location not in uow.inventory.location_ids([location]):
                    raise InvalidInput(f"location {location!r} does not exist", field="location")
                repair.receive(location, now, actor)
            case a.DIAGNOSE:
                repair.diagnose(now, actor, note)
            case a.QUOTE:
                if cmd.amount is None:
                    raise InvalidInput("the quote's amount is needed", field="amount")
                repair.make_quote(Quote(cmd.amount, cmd.currency), now, actor)
            case a.APPROVE:
                repair.approve(now, actor)
            case a.DECLINE:
                repair.decline(reason_of(cmd.reason), now, actor)
            case a.AWAIT_PARTS:
                repair.await_parts(now, actor, note)
            case a.IN_REPAIR:
                repair.start_repair(now, actor, note)
            case a.PARTS:
                return book_parts(
                    self._inventory, uow, repair, cmd.parts, actor, now, cmd.idempotency_key
                )
            case a.TESTING:
                repair.start_testing(now, actor, note)
            case a.TEST_RESULT:
                if cmd.passed is None:
                    raise InvalidInput("whether the test passed", field="passed")
                repair.test_result(cmd.passed, now, actor, note)
            case a.RETURNING:
                repair.ship_back(now, actor, note)
            case a.COMPLETE:
                repair.complete(now, actor)
            case a.UNREPAIRABLE:
                repair.unrepairable(outcome_of(cmd.outcome), reason_of(cmd.reason), now, actor)
            case a.CANCEL:
                repair.cancel(reason_of(cmd.reason), now, actor)
            case a.OVERRIDE_WARRANTY:
                if cmd.in_warranty is None:
                    raise InvalidInput("in_warranty is needed", field="in_warranty")
                repair.override_warranty(cmd.in_warranty, reason_of(cmd.reason), now, actor)
        return False

    # ------------------------------------------------------------------ partners

    def set_partner_terms(self, terms: PartnerTerms) -> PartnerTerms:
        """A wholesale partner's warranty terms, replacing any before. Repairs already opened
        keep the terms they were decided with (stored with their warranty)."""
        code = validate_code(terms.partner, field_name="partner")
        terms = PartnerTerms(code, terms.extra_months, terms.term_months)
        with self._uow() as uow:
            uow.repairs.set_partner_terms(terms, self._clock())
            uow.commit()
        return terms

    def partner_terms(self) -> list[PartnerTerms]:
        with self._uow() as uow:
            return uow.repairs.all_partner_terms()


def _request_body(cmd: OpenRepair) -> dict[str, Any]:
    return {
        "requested_by": cmd.requested_by,
        "symptom": cmd.symptom,
        "contact": dict(cmd.contact),
        "order_id": cmd.order_id,
        "line_id": cmd.line_id,
        "purchase_date": cmd.purchase_date.isoformat() if cmd.purchase_date else None,
        "channel": cmd.channel,
        "partner": cmd.partner,
        "sku": cmd.sku,
        "serial": cmd.serial,
    }
