"""HTTP API of resale units. Thin handlers, one service call each.

Roles: every role reads (nothing here is personal data: lineage is ids); `admin` and
`customer_service` price and list units; `warehouse` also prepares, readies, withdraws and
disposes of them; grade factors are `admin`'s.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from oms.access import Principal, Role
from oms.http import READ_PROBLEMS, WRITE_PROBLEMS, Cursor, PageResponse
from oms.resale.api.schemas import (
    GradeFactorsRequest,
    GradeFactorsResponse,
    PublishRequest,
    ReadyRequest,
    ReasonRequest,
    ResaleUnitResponse,
    SetPricingRequest,
)
from oms.resale.services import MAX_PAGE, ResaleService

Resale = NamedDependency[ResaleService]
Caller = NamedDependency[Principal]

PRICING: dict[str, Any] = {"roles": frozenset({Role.ADMIN, Role.CUSTOMER_SERVICE})}
HANDLING: dict[str, Any] = {"roles": frozenset({Role.ADMIN, Role.CUSTOMER_SERVICE, Role.WAREHOUSE})}
ADMIN: dict[str, Any] = {"roles": frozenset({Role.ADMIN})}
_WRITE: dict[str, Any] = {"sync_to_thread": True, "responses": WRITE_PROBLEMS, "status_code": 200}


class ResaleUnitController(Controller):
    path = "/resale-units"
    tags = ("resale",)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_units(
        self,
        resale: Resale,
        parent_sku: FromQuery[str | None] = None,
        grade: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        segment: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Page size")] = 50,
    ) -> PageResponse[ResaleUnitResponse]:
        """Oldest first. `segment`: only the listed units that customer segment may see now
        (its early access, or everyone's `public_from`)."""
        page = resale.list_units(
            parent_sku=parent_sku or None,
            grade=grade or None,
            status=status or None,
            segment=segment,
            cursor=cursor,
            limit=limit,
        )
        return PageResponse(
            items=[ResaleUnitResponse.of(u) for u in page.items], next_cursor=page.next_cursor
        )

    @get("/{code:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_unit(self, code: FromPath[str], resale: Resale) -> ResaleUnitResponse:
        """The unit with its lineage (original order and channel, return), grade, defects,
        photos and every price it has had."""
        view = resale.get_unit(code)
        return ResaleUnitResponse.of(view.unit, view.prices)

    @put(
        "/{code:str}/pricing",
        opt=PRICING,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
    )
    def set_pricing(
        self,
        code: FromPath[str],
        data: JSONBody[SetPricingRequest],
        resale: Resale,
        principal: Caller,
    ) -> ResaleUnitResponse:
        """A price by hand, or the markdown schedule; every change is kept with who and why."""
        resale.set_pricing(code, data.to_command(), principal.name)
        view = resale.get_unit(code)
        return ResaleUnitResponse.of(view.unit, view.prices)

    @post("/{code:str}/publish", opt=PRICING, **_WRITE)
    def publish(
        self,
        code: FromPath[str],
        data: JSONBody[PublishRequest],
        resale: Resale,
        principal: Caller,
    ) -> ResaleUnitResponse:
        """List a ready unit: quantity 1 on every channel whose rules allow its grade; the
        marketplaces from `public_from`, the segments with early access from their time."""
        unit = resale.publish(
            code,
            principal.name,
            data.public_from,
            [(e.segment, e.visible_from) for e in data.early_access],
        )
        return ResaleUnitResponse.of(unit)

    @post("/{code:str}/prepare", opt=HANDLING, **_WRITE)
    def prepare(self, code: FromPath[str], resale: Resale, principal: Caller) -> ResaleUnitResponse:
        """Taken in hand: cleaning, photos, price."""
        return ResaleUnitResponse.of(resale.prepare(code, principal.name))

    @post("/{code:str}/ready", opt=HANDLING, **_WRITE)
    def ready(
        self,
        code: FromPath[str],
        data: JSONBody[ReadyRequest],
        resale: Resale,
        principal: Caller,
    ) -> ResaleUnitResponse:
        """Prepared: needs a price, and a photo of a used (A-D) unit."""
        return ResaleUnitResponse.of(resale.ready(code, principal.name, data.photos))

    @post("/{code:str}/withdraw", opt=HANDLING, **_WRITE)
    def withdraw(
        self,
        code: FromPath[str],
        data: JSONBody[ReasonRequest],
        resale: Resale,
        principal: Caller,
    ) -> ResaleUnitResponse:
        """Off sale, back into quarantine (refused while an order holds the unit)."""
        return ResaleUnitResponse.of(resale.withdraw(code, principal.name, data.reason))

    @post("/{code:str}/dispose", opt=HANDLING, **_WRITE)
    def dispose(
        self,
        code: FromPath[str],
        data: JSONBody[ReasonRequest],
        resale: Resale,
        principal: Caller,
    ) -> ResaleUnitResponse:
        """A withdrawn unit leaves stock (liquidated, donated, recycled)."""
        return ResaleUnitResponse.of(resale.dispose(code, principal.name, data.reason))


class ResalePricingController(Controller):
    path = "/resale-pricing"
    tags = ("resale",)

    @get("/categories/{category:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def factors(self, category: FromPath[str], resale: Resale) -> GradeFactorsResponse:
        """Percent of the new price per grade for units of the category ('*': the default)."""
        return GradeFactorsResponse.of(category, resale.factors(category))

    @put(
        "/categories/{category:str}",
        opt=ADMIN,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
    )
    def set_factors(
        self,
        category: FromPath[str],
        data: JSONBody[GradeFactorsRequest],
        resale: Resale,
        principal: Caller,
    ) -> GradeFactorsResponse:
        """Grade factors for new units of the category; priced units keep theirs."""
        wanted: dict[str, object] = {str(k): v for k, v in data.factors.items()}
        factors = resale.set_factors(category, wanted, principal.name)
        return GradeFactorsResponse.of(category, factors)


CONTROLLERS = [ResaleUnitController, ResalePricingController]
