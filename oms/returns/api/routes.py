"""HTTP API of returns, received units and the channels' return policies.

Roles: `customer_service` opens returns, approves, declines, cancels, holds and resolves them;
`warehouse` receives (expected or not), grades, records exceptions and executes dispositions;
both may decide a disposition; `channel_sync` opens a channel's return request (it starts at
`requested` unless the channel's policy approves it); `admin` does everything. Returns hold no
personal data: every role reads them.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, JSONBody, QueryParameter

from oms.access import Principal, Role
from oms.http import (
    READ_PROBLEMS,
    REPLAYED_HEADER,
    WRITE_PROBLEMS,
    Cursor,
    Id,
    Limit,
    OptionalKey,
    PageResponse,
)
from oms.orders.domain.barcode import code128_svg
from oms.returns.api.schemas import (
    DispositionRequest,
    ExceptionRequest,
    GradeRequest,
    HoldRequest,
    OpenReturnRequest,
    ReceiveRequest,
    ResolveRequest,
    ReturnPolicyRequest,
    ReturnPolicyResponse,
    ReturnResponse,
    UnexpectedReturnRequest,
    UnitResponse,
    UnitStateResponse,
    UnitSummary,
)
from oms.returns.domain import ReturnRequest
from oms.returns.services.policies import ReturnPolicyService
from oms.returns.services.rma import Received, Retry, ReturnService
from oms.returns.services.units import UnitService
from oms.shared.bounds import MAX_ID, parse_id
from oms.shared.errors import InvalidInput
from oms.shared.personal_data import (
    PersonalDataAudit,
    PersonalDataRead,
    PersonalField,
    Reader,
    Subject,
)

Returns = NamedDependency[ReturnService]
# Not "units": a dependency's name must not be a body field's (Litestar would take a bad
# `units` in a body for a server error).
Units = NamedDependency[UnitService]
ReturnPolicies = NamedDependency[ReturnPolicyService]
Caller = NamedDependency[Principal]
Audit = NamedDependency[PersonalDataAudit]

_A, _CS, _WH, _CH = Role.ADMIN, Role.CUSTOMER_SERVICE, Role.WAREHOUSE, Role.CHANNEL_SYNC
OPEN: dict[str, Any] = {"roles": frozenset({_A, _CS, _CH})}
CUSTOMER_SERVICE: dict[str, Any] = {"roles": frozenset({_A, _CS})}
WAREHOUSE: dict[str, Any] = {"roles": frozenset({_A, _WH})}
DECIDE: dict[str, Any] = {"roles": frozenset({_A, _CS, _WH})}
ADMIN: dict[str, Any] = {"roles": frozenset({_A})}
POLICY_READERS: dict[str, Any] = {"roles": frozenset({_A, _CS})}
StatusFilter = Annotated[str | None, QueryParameter(description="Only this status")]


def _created(body: Any, *, replayed: bool) -> Response[Any]:
    if replayed:
        return Response(body, status_code=200, headers={REPLAYED_HEADER: "true"})
    return Response(body, status_code=201)


def _cursor(cursor: str | None) -> int:
    return parse_id(cursor, "cursor") or 0


def _received(received: Received) -> ReturnResponse:
    return ReturnResponse.of(received.rma, received.units)


class ReturnController(Controller):
    path = "/returns"
    tags = ("returns",)

    @post("/", opt=OPEN, sync_to_thread=True, responses=WRITE_PROBLEMS, status_code=201)
    def open_return(
        self,
        data: JSONBody[OpenReturnRequest],
        returns: Returns,
        principal: Caller,
        idempotency_key: OptionalKey = None,
    ) -> Response[Any]:
        """Open a return. Customer service's is authorized at once; a channel's request
        (`channel_sync`) starts at `requested`, is taken once per `channel_return_id` and is
        approved by the channel's return policy or by a person. Returnable = shipped - already
        asked back, per line: more is a 409 naming the line. The same request again (its
        Idempotency-Key, or the channel's id with the same content) answers 200 with the
        return it opened (header `Idempotent-Replayed: true`); other content under the
        channel's id is a 409 naming `channel_return_id`."""
        by_channel = principal.role is Role.CHANNEL_SYNC
        if by_channel and not data.channel_return_id:
            raise InvalidInput("a channel's request carries its id", field="channel_return_id")
        opened = returns.open(
            data.to_command(by_channel=by_channel),
            principal.name,
            Retry(idempotency_key, principal.client),
        )
        return _created(ReturnResponse.of(opened.rma), replayed=opened.replayed)

    @post(
        "/unexpected", opt=WAREHOUSE, sync_to_thread=True, responses=WRITE_PROBLEMS, status_code=201
    )
    def receive_unexpected(
        self,
        data: JSONBody[UnexpectedReturnRequest],
        returns: Returns,
        principal: Caller,
        idempotency_key: OptionalKey = None,
    ) -> Response[Any]:
        """A parcel that came with no return request: received into quarantine as an
        unexpected return (one unit per item), with no refund forced."""
        received = returns.receive_unexpected(
            data.order_id,
            data.location,
            data.units(),
            principal.name,
            data.note,
            Retry(idempotency_key, principal.client),
        )
        return _created(_received(received), replayed=received.replayed)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_returns(
        self,
        returns: Returns,
        principal: Caller,
        audit: Audit,
        status: StatusFilter = None,
        order: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_ID, description="Order id")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> PageResponse[ReturnResponse]:
        """Oldest first. `status`: requested, authorized, in_transit, receiving, received,
        inspected, resolved, closed, declined, cancelled, expired."""
        page = returns.list_returns(status or None, order, _cursor(cursor), limit)
        personal = _reasons_shown(audit, principal, "GET /v1/returns", page)
        return PageResponse(
            items=[ReturnResponse.of(r, personal=personal) for r in page],
            next_cursor=str(page[-1].id) if len(page) == limit else None,
        )

    @get("/{return_id:int}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_return(
        self, return_id: Id, returns: Returns, principal: Caller, audit: Audit
    ) -> ReturnResponse:
        """The return, its lines (with resolutions) and every unit received for it. The
        buyer's words (`reason_text`) are personal data: shown to people, each read in the
        audit log; null for channel_sync."""
        rma = returns.get_return(return_id)
        personal = _reasons_shown(audit, principal, "GET /v1/returns/{id}", [rma])
        return ReturnResponse.of(rma, returns.units_of(return_id), personal=personal)

    @post(
        "/{return_id:int}/receive",
        opt=WAREHOUSE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def receive(
        self,
        return_id: Id,
        data: JSONBody[ReceiveRequest],
        returns: Returns,
        principal: Caller,
        idempotency_key: OptionalKey = None,
    ) -> Response[Any]:
        """Units arrived at `location`: into quarantine there (never straight to stock), one
        unit with its own label per item (`units` in the answer)."""
        received = returns.receive(
            return_id,
            data.location,
            data.units(),
            principal.name,
            Retry(idempotency_key, principal.client),
        )
        headers = {REPLAYED_HEADER: "true"} if received.replayed else {}
        return Response(_received(received), headers=headers)

    @post(
        "/{return_id:int}/resolve",
        opt=CUSTOMER_SERVICE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def resolve(
        self, return_id: Id, data: JSONBody[ResolveRequest], returns: Returns, principal: Caller
    ) -> ReturnResponse:
        """Every line at once: refund or store_credit (amount and method recorded, not moved),
        exchange or replacement (an order placed through the ordinary ingest, once),
        keep_item, or reject (back to the customer). Refused while on hold."""
        rma = returns.resolve(
            return_id,
            [ln.to_resolution() for ln in data.lines],
            principal.name,
            data.ship_to.model_dump(exclude_none=True) if data.ship_to else None,
        )
        return ReturnResponse.of(rma)

    @post(
        "/{return_id:int}/hold",
        opt=CUSTOMER_SERVICE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def hold(
        self, return_id: Id, data: JSONBody[HoldRequest], returns: Returns, principal: Caller
    ) -> ReturnResponse:
        """On hold with a reason: blocks resolution until released."""
        return ReturnResponse.of(returns.hold(return_id, data.reason, principal.name))

    @post(
        "/{return_id:int}/release",
        opt=CUSTOMER_SERVICE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def release(self, return_id: Id, returns: Returns, principal: Caller) -> ReturnResponse:
        return ReturnResponse.of(returns.hold(return_id, None, principal.name))

    @post(
        "/{return_id:int}/{action:str}",
        opt=CUSTOMER_SERVICE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def act(
        self, return_id: Id, action: FromPath[str], returns: Returns, principal: Caller
    ) -> ReturnResponse:
        """`approve`, `decline`, `cancel`, `ship` (the label was scanned), `expire` or `close`.
        An action the return's state does not allow is a 409 naming its status."""
        return ReturnResponse.of(returns.act(return_id, action, principal.name))


class UnitController(Controller):
    path = "/units"
    tags = ("returns",)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_units(
        self,
        return_units: Units,
        status: StatusFilter = None,
        return_id: Annotated[
            int | None, QueryParameter(name="return", ge=1, le=MAX_ID, description="Return id")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> PageResponse[UnitSummary]:
        """`status`: awaiting_inspection, graded, dispositioned, done, escalated."""
        page = return_units.list_units(status or None, return_id, _cursor(cursor), limit)
        return PageResponse(
            items=[UnitSummary.of(u) for u in page],
            next_cursor=str(page[-1].id) if len(page) == limit else None,
        )

    @get("/{unit_id:int}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_unit(self, unit_id: Id, return_units: Units) -> UnitResponse:
        """The unit with every grade, exception and decision, oldest first."""
        return UnitResponse.of_view(return_units.unit(unit_id))

    @get("/by-label/{barcode:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def by_label(self, barcode: FromPath[str], return_units: Units) -> UnitResponse:
        """The unit whose label was scanned."""
        if len(barcode) > 32:
            raise InvalidInput("a label is at most 32 characters", field="barcode")
        return UnitResponse.of_view(return_units.unit_by_barcode(barcode))

    @get("/{unit_id:int}/label", sync_to_thread=True, responses=READ_PROBLEMS)
    def label(self, unit_id: Id, return_units: Units) -> Response[str]:
        """A printable label (SVG, Code 128) with the unit's barcode and SKU."""
        unit = return_units.unit(unit_id).unit
        svg = code128_svg(unit.barcode, height=48)
        page = (
            '<!doctype html><meta charset="utf-8"><title>'
            f"{unit.barcode}</title><figure>{svg}<figcaption>{unit.barcode} "
            f"{_escape(unit.sku)}</figcaption></figure>"
        )
        return Response(page, media_type="text/html")

    @post(
        "/{unit_id:int}/grade",
        opt=WAREHOUSE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=201,
    )
    def grade(
        self, unit_id: Id, data: JSONBody[GradeRequest], return_units: Units, principal: Caller
    ) -> UnitStateResponse:
        """A grade, or a regrade (a new record; the latest counts). Function other than full
        forces D or J. Grader and time are recorded."""
        return UnitStateResponse.of_outcome(
            return_units.grade(unit_id, data.to_command(), principal.name)
        )

    @post(
        "/{unit_id:int}/exception",
        opt=WAREHOUSE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=201,
    )
    def exception(
        self, unit_id: Id, data: JSONBody[ExceptionRequest], return_units: Units, principal: Caller
    ) -> UnitStateResponse:
        """A receipt exception (wrong item, missing, extra, suspected fraud, counterfeit):
        not a grade. Fraud or a counterfeit puts the return on hold."""
        return UnitStateResponse.of_outcome(
            return_units.record_exception(
                unit_id, data.kind.value, principal.name, data.note, data.actual_sku
            )
        )

    @post(
        "/{unit_id:int}/disposition",
        opt=DECIDE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def disposition(
        self,
        unit_id: Id,
        data: JSONBody[DispositionRequest],
        return_units: Units,
        principal: Caller,
    ) -> UnitStateResponse:
        """A decision (who, why, when; changeable until executed). With `execute`, carried
        out at once (warehouse): RESTOCK back to the SKU's sellable stock, RESALE into a resale
        unit, the others out of stock with their reason. HOLD is never executed."""
        if data.execute and principal.role is Role.CUSTOMER_SERVICE:
            # A matter of role, like POST /execute: a 403, not bad input.
            raise PermissionDeniedException(
                "the role customer_service may not execute a disposition: the warehouse does"
            )
        return UnitStateResponse.of_outcome(
            return_units.decide(
                unit_id,
                data.disposition.value,
                principal.name,
                data.reason,
                execute=data.execute,
            )
        )

    @post(
        "/{unit_id:int}/execute",
        opt=WAREHOUSE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def execute(self, unit_id: Id, return_units: Units, principal: Caller) -> UnitStateResponse:
        """Carry out the unit's decision: its ledger movement out of quarantine."""
        return UnitStateResponse.of_outcome(return_units.execute(unit_id, principal.name))


class ReturnPolicyController(Controller):
    path = "/channels/{code:str}/return-policy"
    tags = ("returns",)

    @get("/", opt=POLICY_READERS, sync_to_thread=True, responses=READ_PROBLEMS)
    def get_policy(self, code: FromPath[str], return_policies: ReturnPolicies) -> Any:
        return ReturnPolicyResponse.of(return_policies.get(code))

    @put("/", opt=ADMIN, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def put_policy(
        self,
        code: FromPath[str],
        data: JSONBody[ReturnPolicyRequest],
        return_policies: ReturnPolicies,
        principal: Caller,
    ) -> ReturnPolicyResponse:
        """Which of the channel's requests are approved without a person: in `window_days`
        from the last shipment, with every line's reason in `reasons`."""
        policy = return_policies.put(
            code,
            data.window_days,
            [r.value for r in data.reasons],
            principal.name,
            auto_approve=data.auto_approve,
            exchange_channel=data.exchange_channel,
        )
        return ReturnPolicyResponse.of(policy)


def _reasons_shown(
    audit: PersonalDataAudit, principal: Principal, purpose: str, shown: list[ReturnRequest]
) -> bool:
    """Whether this caller sees the buyer's words; if so, the reads are recorded first (if
    the record fails, nothing is shown)."""
    if principal.role is Role.CHANNEL_SYNC:
        return False
    reads = [
        PersonalDataRead(rma.order_id, frozenset({PersonalField.NOTES}), Subject.RETURN, rma.id)
        for rma in shown
        if any(line.reason_text for line in rma.lines)
    ]
    audit.record_reads(Reader(principal.name, principal.role.value), purpose, reads)
    return True


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


CONTROLLERS = [ReturnController, UnitController, ReturnPolicyController]
