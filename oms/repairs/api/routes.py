"""HTTP API of repairs. Thin handlers, one service call each.

Roles: `customer_service` and `admin` do everything; `warehouse` does what happens to the item
in its hands (receive, diagnose, wait for parts, repair, use parts, test, ship back) and reads
(it needs the address to ship back); `channel_sync` has no business here, reads included:
a repair carries personal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from oms.access import Principal, Role
from oms.http import (
    READ_PROBLEMS,
    REPLAYED_HEADER,
    WRITE_PROBLEMS,
    Cursor,
    Id,
    OptionalKey,
    PageResponse,
    RequiredKey,
)
from oms.repairs.api.schemas import (
    NoteRequest,
    OpenRepairRequest,
    OverrideWarrantyRequest,
    PartnerTermsRequest,
    PartnerTermsResponse,
    PartsRequest,
    QuoteRequest,
    ReasonRequest,
    ReceiveRequest,
    RepairResponse,
    TestResultRequest,
    UnrepairableRequest,
    act,
)
from oms.repairs.domain import PartnerTerms, Repair, RepairAction
from oms.repairs.services import MAX_PAGE, RepairService
from oms.shared.bounds import MAX_ID
from oms.shared.personal_data import (
    PersonalDataAudit,
    PersonalDataRead,
    Reader,
    Subject,
    address_fields,
)

Repairs = NamedDependency[RepairService]
Caller = NamedDependency[Principal]
Audit = NamedDependency[PersonalDataAudit]
A = RepairAction

SERVICE: dict[str, Any] = {"roles": frozenset({Role.ADMIN, Role.CUSTOMER_SERVICE})}
HANDS: dict[str, Any] = {"roles": frozenset({Role.ADMIN, Role.CUSTOMER_SERVICE, Role.WAREHOUSE})}
READERS = HANDS


def _action(path: str, opt: dict[str, Any], doc: str) -> post:
    """An action's route: 200 with the repair after it."""
    return post(
        path,
        opt=opt,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
        description=doc,
    )


class RepairController(Controller):
    path = "/repairs"
    tags = ("repairs",)

    @post(
        "/",
        opt=SERVICE,
        sync_to_thread=True,
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=RepairResponse,
                description=f"Replay of an earlier request with this Idempotency-Key "
                f"(header `{REPLAYED_HEADER}: true`); nothing changed",
            ),
            **WRITE_PROBLEMS,
        },
    )
    def open_repair(
        self,
        data: JSONBody[OpenRepairRequest],
        idempotency_key: RequiredKey,
        repairs: Repairs,
        principal: Caller,
    ) -> Response[RepairResponse]:
        """A repair request (status `requested`) with its warranty decided and stored with its
        inputs. The same Idempotency-Key and body again: 200 with the same repair."""
        opened = repairs.open_repair(
            data.to_command(),
            principal.name,
            idempotency_key=idempotency_key,
            caller=principal.client,
        )
        body = RepairResponse.of_detail(repairs.get_repair(opened.repair.id or 0), personal=False)
        if opened.created:
            return Response(body, status_code=201)
        return Response(body, status_code=200, headers={REPLAYED_HEADER: "true"})

    @get("/", opt=READERS, sync_to_thread=True, responses=READ_PROBLEMS)
    def list_repairs(
        self,
        repairs: Repairs,
        principal: Caller,
        audit: Audit,
        status: FromQuery[str | None] = None,
        order: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_ID, description="An order's id")
        ] = None,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Page size")] = 50,
    ) -> PageResponse[RepairResponse]:
        """Oldest first, by `status` and/or `order`."""
        page = repairs.list_repairs(status or None, order, cursor, limit)
        _contacts_shown(audit, principal, "GET /v1/repairs", page.items)
        return PageResponse(
            items=[RepairResponse.of(r, page.as_of) for r in page.items],
            next_cursor=page.next_cursor,
        )

    @get("/{repair_id:int}", opt=READERS, sync_to_thread=True, responses=READ_PROBLEMS)
    def get_repair(
        self, repair_id: Id, repairs: Repairs, principal: Caller, audit: Audit
    ) -> RepairResponse:
        """The repair, its contact, its warranty with inputs, parts used, every state with its
        times, and the SLA clock (paused while waiting on the customer). Reading the contact
        is recorded in the personal-data audit log."""
        detail = repairs.get_repair(repair_id)
        _contacts_shown(audit, principal, "GET /v1/repairs/{id}", [detail.repair])
        return RepairResponse.of_detail(detail)

    # ------------------------------------------------------------------ actions

    @_action("/{repair_id:int}/await_item", SERVICE, "requested -> awaiting_item")
    def await_item(self, repair_id: Id, repairs: Repairs, principal: Caller) -> RepairResponse:
        return _do(repairs, repair_id, A.AWAIT_ITEM, principal)

    @_action("/{repair_id:int}/receive", HANDS, "awaiting_item -> received, at `location`")
    def receive(
        self, repair_id: Id, data: JSONBody[ReceiveRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.RECEIVE, principal, data)

    @_action("/{repair_id:int}/diagnose", HANDS, "received -> diagnosing; `note`: the finding")
    def diagnose(
        self, repair_id: Id, data: JSONBody[NoteRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.DIAGNOSE, principal, data)

    @_action("/{repair_id:int}/quote", SERVICE, "diagnosing -> quote_pending (SLA paused)")
    def quote(
        self, repair_id: Id, data: JSONBody[QuoteRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.QUOTE, principal, data)

    @_action(
        "/{repair_id:int}/approve",
        SERVICE,
        "quote_pending -> approved (the customer accepted), or diagnosing -> approved when the "
        "repair is in warranty",
    )
    def approve(self, repair_id: Id, repairs: Repairs, principal: Caller) -> RepairResponse:
        return _do(repairs, repair_id, A.APPROVE, principal)

    @_action(
        "/{repair_id:int}/decline",
        SERVICE,
        "quote_pending -> returning: the quote is declined, the item goes back unrepaired",
    )
    def decline(
        self, repair_id: Id, data: JSONBody[ReasonRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.DECLINE, principal, data)

    @_action("/{repair_id:int}/await_parts", HANDS, "approved or in_repair -> awaiting_parts")
    def await_parts(
        self, repair_id: Id, data: JSONBody[NoteRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.AWAIT_PARTS, principal, data)

    @_action("/{repair_id:int}/in_repair", HANDS, "approved or awaiting_parts -> in_repair")
    def in_repair(
        self, repair_id: Id, data: JSONBody[NoteRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.IN_REPAIR, principal, data)

    @post(
        "/{repair_id:int}/parts",
        opt=HANDS,
        sync_to_thread=True,
        status_code=200,
        responses=WRITE_PROBLEMS,
        description="Parts used (in_repair): booked out of the repair location's stock in the "
        "ledger; a part short there is a 409 naming it, and nothing is booked. With an "
        f"Idempotency-Key, a retry books nothing (header `{REPLAYED_HEADER}: true`).",
    )
    def parts(
        self,
        repair_id: Id,
        data: JSONBody[PartsRequest],
        repairs: Repairs,
        principal: Caller,
        idempotency_key: OptionalKey = None,
    ) -> Response[RepairResponse]:
        detail = repairs.act(repair_id, act(A.PARTS, data, idempotency_key), principal.name)
        headers = {REPLAYED_HEADER: "true"} if detail.replayed else None
        return Response(RepairResponse.of_detail(detail, personal=False), headers=headers)

    @_action("/{repair_id:int}/testing", HANDS, "in_repair -> testing")
    def testing(
        self, repair_id: Id, data: JSONBody[NoteRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.TESTING, principal, data)

    @_action(
        "/{repair_id:int}/test_result",
        HANDS,
        "testing -> repaired (passed) or back to in_repair (failed)",
    )
    def test_result(
        self,
        repair_id: Id,
        data: JSONBody[TestResultRequest],
        repairs: Repairs,
        principal: Caller,
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.TEST_RESULT, principal, data)

    @_action(
        "/{repair_id:int}/returning",
        HANDS,
        "repaired (or unrepairable with the outcome `return`) -> returning: shipped back",
    )
    def returning(
        self, repair_id: Id, data: JSONBody[NoteRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.RETURNING, principal, data)

    @_action("/{repair_id:int}/complete", SERVICE, "returning -> completed: delivered")
    def complete(self, repair_id: Id, repairs: Repairs, principal: Caller) -> RepairResponse:
        return _do(repairs, repair_id, A.COMPLETE, principal)

    @_action(
        "/{repair_id:int}/unrepairable",
        SERVICE,
        "diagnosing, awaiting_parts, in_repair or testing -> unrepairable, with the outcome "
        "offered: replacement, refund, return, disposal or resale",
    )
    def unrepairable(
        self,
        repair_id: Id,
        data: JSONBody[UnrepairableRequest],
        repairs: Repairs,
        principal: Caller,
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.UNREPAIRABLE, principal, data)

    @_action("/{repair_id:int}/cancel", SERVICE, "requested or awaiting_item -> cancelled")
    def cancel(
        self, repair_id: Id, data: JSONBody[ReasonRequest], repairs: Repairs, principal: Caller
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.CANCEL, principal, data)

    @_action(
        "/{repair_id:int}/override_warranty",
        SERVICE,
        "Decide the warranty by hand, with a reason; the computed decision is kept beside it",
    )
    def override_warranty(
        self,
        repair_id: Id,
        data: JSONBody[OverrideWarrantyRequest],
        repairs: Repairs,
        principal: Caller,
    ) -> RepairResponse:
        return _do(repairs, repair_id, A.OVERRIDE_WARRANTY, principal, data)


class RepairPartnerController(Controller):
    """Wholesale partners' warranty terms, read when a repair through them is requested."""

    path = "/repair-partners"
    tags = ("repairs",)

    @get("/", opt=SERVICE, sync_to_thread=True, responses=READ_PROBLEMS)
    def list_partner_terms(self, repairs: Repairs) -> list[PartnerTermsResponse]:
        return [PartnerTermsResponse.of(t) for t in repairs.partner_terms()]

    @put("/{partner:str}", opt=SERVICE, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_partner_terms(
        self,
        partner: FromPath[str],
        data: JSONBody[PartnerTermsRequest],
        repairs: Repairs,
    ) -> PartnerTermsResponse:
        """Extra months on the product's term, or (`term_months`) a term of the partner's own.
        Repairs already requested keep the terms they were decided with."""
        terms = PartnerTerms(partner, data.extra_months, data.term_months)
        return PartnerTermsResponse.of(repairs.set_partner_terms(terms))


def _do(
    repairs: RepairService,
    repair_id: int,
    action: RepairAction,
    principal: Principal,
    body: Any = None,
) -> RepairResponse:
    return RepairResponse.of_detail(
        repairs.act(repair_id, act(action, body), principal.name), personal=False
    )


def _contacts_shown(
    audit: PersonalDataAudit, principal: Principal, purpose: str, shown: Iterable[Repair]
) -> None:
    """Record that these repairs' contacts go to this person, before the response: if the
    record fails, nothing is shown."""
    reads = [
        PersonalDataRead(r.order_id, address_fields(r.contact), Subject.REPAIR, r.id) for r in shown
    ]
    audit.record_reads(Reader(principal.name, principal.role.value), purpose, reads)


CONTROLLERS = [RepairController, RepairPartnerController]
