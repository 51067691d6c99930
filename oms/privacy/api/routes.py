"""HTTP API of personal data: channels' PII policies, legal holds, the audit log of reads.

Roles: `admin` sets policies, releases holds and reads the audit log; `customer_service`
places holds and sees how an order's personal data stands. Thin handlers, one service call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from oms.access import Principal, Role
from oms.http import READ_PROBLEMS, WRITE_PROBLEMS, Cursor, Id, PageResponse
from oms.privacy.api.schemas import (
    AuditEntryResponse,
    HoldRequest,
    LegalHoldResponse,
    OrderPrivacyResponse,
    PiiPolicyRequest,
    PiiPolicyResponse,
)
from oms.privacy.services.audit import MAX_PAGE, AuditService
from oms.privacy.services.holds import LegalHoldService
from oms.privacy.services.policies import PolicyService
from oms.shared.bounds import MAX_ID

Policies = NamedDependency[PolicyService]
Holds = NamedDependency[LegalHoldService]
Audit = NamedDependency[AuditService]
Caller = NamedDependency[Principal]

ADMIN: dict[str, Any] = {"roles": frozenset({Role.ADMIN})}
HOLDERS: dict[str, Any] = {"roles": frozenset({Role.ADMIN, Role.CUSTOMER_SERVICE})}


class PiiPolicyController(Controller):
    path = "/channels/{code:str}/pii-policy"
    tags = ("personal data",)

    @get("/", opt=ADMIN, sync_to_thread=True, responses=READ_PROBLEMS)
    def get_policy(self, code: FromPath[str], pii_policies: Policies) -> PiiPolicyResponse:
        """The policy in force: the stored one, else the default of the channel's kind (Amazon:
        30 days after the last parcel left, cancelled orders 30 days after the order date;
        other kinds: off until set)."""
        return PiiPolicyResponse.of(pii_policies.policy(code))

    @put("/", opt=ADMIN, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_policy(
        self,
        code: FromPath[str],
        data: JSONBody[PiiPolicyRequest],
        pii_policies: Policies,
        principal: Caller,
    ) -> PiiPolicyResponse:
        """Which personal fields this channel's orders lose, and when. The whole policy."""
        policy = pii_policies.set_policy(
            code,
            enabled=data.enabled,
            fields=data.fields,
            days_after_delivery=data.days_after_delivery,
            days_after_cancellation=data.days_after_cancellation,
            actor=principal.name,
        )
        return PiiPolicyResponse.of(policy)


class LegalHoldController(Controller):
    path = "/orders/{order_id:int}"
    tags = ("personal data",)

    @get("/privacy", opt=HOLDERS, sync_to_thread=True, responses=READ_PROBLEMS)
    def order_privacy(self, order_id: Id, legal_holds: Holds) -> OrderPrivacyResponse:
        """When the order's personal data was anonymised (null: not yet) and its holds."""
        return OrderPrivacyResponse.of(legal_holds.order_privacy(order_id))

    @post(
        "/legal-hold",
        opt=HOLDERS,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=201,
    )
    def place_hold(
        self,
        order_id: Id,
        data: JSONBody[HoldRequest],
        legal_holds: Holds,
        principal: Caller,
    ) -> LegalHoldResponse:
        """Keep the order's personal data past its deadline (a tax audit, a 古物台帳 entry, a
        dispute). 409 when it is held already or was anonymised."""
        return LegalHoldResponse.of(legal_holds.place_hold(order_id, data.reason, principal.name))

    @post(
        "/legal-hold/release",
        opt=ADMIN,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def release_hold(
        self,
        order_id: Id,
        data: JSONBody[HoldRequest],
        legal_holds: Holds,
        principal: Caller,
    ) -> LegalHoldResponse:
        """End the standing hold, with a reason; the next run anonymises the order if due."""
        return LegalHoldResponse.of(legal_holds.release_hold(order_id, data.reason, principal.name))


class AuditController(Controller):
    path = "/audit/personal-data"
    tags = ("personal data",)

    @get("/", opt=ADMIN, sync_to_thread=True, responses=READ_PROBLEMS)
    def reads(
        self,
        audit: Audit,
        order: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
        actor: Annotated[str | None, QueryParameter(min_length=1, max_length=100)] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="ISO 8601; without an offset it is UTC")
        ] = None,
        until: Annotated[datetime | None, QueryParameter(description="ISO 8601, exclusive")] = None,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Page size")] = 50,
    ) -> PageResponse[AuditEntryResponse]:
        """Every read of personal data by a person, oldest first: who (API key name and role),
        when, which order and record, which kinds of data, through which route."""
        page = audit.reads(
            order_id=order,
            actor=actor,
            since=since,
            until=until,
            cursor=cursor,
            limit=limit,
        )
        return PageResponse(
            items=[AuditEntryResponse.of(e) for e in page.items], next_cursor=page.next_cursor
        )


CONTROLLERS = [PiiPolicyController, LegalHoldController, AuditController]
