"""HTTP API of orders and shipments. Thin handlers, one service call each.

Roles: `channel_sync` places orders; `warehouse` picks, packs, ships and rejects;
`customer_service` cancels, re-sources and reads; `admin` does everything. Shipping addresses,
phone numbers and gift notes are personal data: `channel_sync` (which sent them) does not read
them back, and every response that shows them to a person is recorded in the audit log (the
`PersonalDataAudit` port) before it is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from oms.access import Principal, Role
from oms.http import READ_PROBLEMS, WRITE_PROBLEMS, Cursor, Id, PageResponse
from oms.orders.api.pick_list_render import pick_list_csv, pick_list_html
from oms.orders.api.schemas import (
    CancelRequest,
    DecisionResponse,
    LocationShippingRequest,
    OrderResponse,
    PlaceOrderRequest,
    RejectRequest,
    ShipmentResponse,
    ShipRequest,
    SourcingProfileRequest,
    SourcingResponse,
)
from oms.orders.domain.order import Order
from oms.orders.domain.pick_list import PickList
from oms.orders.ports import OrderUnitOfWork
from oms.orders.services.fulfilment import FulfilmentService
from oms.orders.services.placement import MAX_PAGE, OrderService
from oms.orders.services.settings import OrderSettingsService
from oms.shared.errors import InvalidInput
from oms.shared.personal_data import (
    PersonalDataAudit,
    PersonalDataRead,
    PersonalField,
    Reader,
    Subject,
    address_fields,
)

Orders = NamedDependency[OrderService]
Fulfilment = NamedDependency[FulfilmentService]
OrderSettings = NamedDependency[OrderSettingsService]
Caller = NamedDependency[Principal]
Audit = NamedDependency[PersonalDataAudit]

PLACE: dict[str, Any] = {"roles": frozenset({Role.ADMIN, Role.CHANNEL_SYNC})}
CANCEL: dict[str, Any] = {"roles": frozenset({Role.ADMIN, Role.CUSTOMER_SERVICE})}
WAREHOUSE: dict[str, Any] = {"roles": frozenset({Role.ADMIN, Role.WAREHOUSE})}
ADMIN: dict[str, Any] = {"roles": frozenset({Role.ADMIN})}
PERSONAL_DATA_READERS = frozenset({Role.ADMIN, Role.WAREHOUSE, Role.CUSTOMER_SERVICE})
REPLAYED_HEADER = "Oms-Replayed"


def _personal(principal: Principal) -> bool:
    return principal.role in PERSONAL_DATA_READERS


def _shown(
    audit: PersonalDataAudit, principal: Principal, purpose: str, orders: Iterable[Order]
) -> None:
    """Record that these orders' personal data goes to this person (nothing for a role that
    sees none). Before the response: if the record fails, nothing is shown."""
    if not _personal(principal):
        return
    audit.record_reads(_reader(principal), purpose, _reads(orders))


def _reader(principal: Principal) -> Reader:
    return Reader(principal.name, principal.role.value)


def _reads(orders: Iterable[Order]) -> list[PersonalDataRead]:
    return [
        PersonalDataRead(
            order.id or 0,
            address_fields(order.ship_to.as_json())
            | ({PersonalField.NOTES} if order.gift_note else frozenset()),
        )
        for order in orders
    ]


def _slips_shown(
    audit: PersonalDataAudit, principal: Principal, purpose: str, pick_list: PickList
) -> None:
    reads = [
        PersonalDataRead(
            slip.order_id,
            address_fields(slip.ship_to.as_json() if slip.ship_to else None)
            | ({PersonalField.NOTES} if slip.notes and slip.ship_to else frozenset()),
            Subject.SHIPMENT,
            slip.shipment_id,
        )
        for slip in pick_list.shipments
    ]
    audit.record_reads(Reader(principal.name, principal.role.value), purpose, reads)


class OrderController(Controller):
    path = "/orders"
    tags = ("orders",)

    @post(
        "/",
        opt=PLACE,
        sync_to_thread=True,
        responses={
            200: ResponseSpec(
                data_container=OrderResponse,
                description="This (channel, external_id) was taken before: the existing order",
            ),
            **WRITE_PROBLEMS,
        },
        status_code=201,
    )
    def place_order(
        self, data: JSONBody[PlaceOrderRequest], orders: Orders, principal: Caller, audit: Audit
    ) -> Response[OrderResponse]:
        """Take an order once per (channel, external_id), source it and reserve its stock.

        201 with the new order; 200 with the existing one when the same order comes again
        (header `Oms-Replayed: true`); 409 when the same key comes with other content."""
        purpose = "POST /v1/orders"

        def shown(uow: OrderUnitOfWork, order: Order) -> None:
            # A new order's record is written with it: one transaction, not two.
            reads = _reads([order])
            audit.record_reads_within(uow, _reader(principal), purpose, reads)

        placed = orders.place_order(
            data.to_command(),
            actor=principal.name,
            shown=shown if _personal(principal) else None,
        )
        if not placed.created:
            _shown(audit, principal, purpose, [placed.order])
        body = OrderResponse.of(placed.order, personal=_personal(principal))
        if placed.created:
            return Response(body, status_code=201)
        return Response(body, status_code=200, headers={REPLAYED_HEADER: "true"})

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_orders(
        self,
        orders: Orders,
        principal: Caller,
        audit: Audit,
        channel: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Page size")] = 50,
    ) -> PageResponse[OrderResponse]:
        """Oldest first; `status`: pending, backordered, allocated, partially_shipped, shipped,
        cancelled."""
        page = orders.list_orders(channel or None, status or None, cursor, limit)
        _shown(audit, principal, "GET /v1/orders", page.items)
        personal = _personal(principal)
        return PageResponse(
            items=[OrderResponse.of(o, personal=personal) for o in page.items],
            next_cursor=page.next_cursor,
        )

    @get("/{order_id:int}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_order(
        self, order_id: Id, orders: Orders, principal: Caller, audit: Audit
    ) -> OrderResponse:
        order = orders.get_order(order_id)
        _shown(audit, principal, "GET /v1/orders/{id}", [order])
        return OrderResponse.of(order, personal=_personal(principal))

    @get("/{order_id:int}/sourcing", sync_to_thread=True, responses=READ_PROBLEMS)
    def sourcing(self, order_id: Id, orders: Orders, principal: Caller) -> SourcingResponse:
        """Every sourcing decision: for each line, the location chosen and why, and why not
        each other candidate (no stock, too far, a shipment too many, rejected...). Without
        the customer's prefecture for `channel_sync`."""
        personal = _personal(principal)
        return SourcingResponse(
            order_id=order_id,
            decisions=[
                DecisionResponse.of(d, personal=personal) for d in orders.sourcing(order_id)
            ],
        )

    @post(
        "/{order_id:int}/cancel",
        opt=CANCEL,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def cancel(
        self,
        order_id: Id,
        data: JSONBody[CancelRequest],
        orders: Orders,
        principal: Caller,
        audit: Audit,
    ) -> OrderResponse:
        """Cancel units not yet shipped: the whole order (no `lines`) or `{"lines": {"L1":
        1}}`. Their reservations are released; cancelling shipped units is a 409."""
        order = orders.cancel(order_id, data.lines, actor=principal.name)
        _shown(audit, principal, "POST /v1/orders/{id}/cancel", [order])
        return OrderResponse.of(order, personal=_personal(principal))

    @post(
        "/{order_id:int}/resource",
        opt=CANCEL,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def resource(
        self, order_id: Id, orders: Orders, principal: Caller, audit: Audit
    ) -> OrderResponse:
        """Source again, now, every unit of the order that waits for stock (backordered): the
        decision is recorded (`GET /v1/orders/{id}/sourcing`) and `OrderResourced` written. 409
        when nothing waits."""
        order = orders.resource(order_id, actor=principal.name)
        _shown(audit, principal, "POST /v1/orders/{id}/resource", [order])
        return OrderResponse.of(order, personal=_personal(principal))


class ShipmentController(Controller):
    path = "/shipments"
    tags = ("shipments",)

    @get("/{shipment_id:int}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_shipment(self, shipment_id: Id, fulfilment: Fulfilment) -> ShipmentResponse:
        return ShipmentResponse.of(fulfilment.get_shipment(shipment_id))

    @post(
        "/{shipment_id:int}/pick",
        opt=WAREHOUSE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def pick(self, shipment_id: Id, fulfilment: Fulfilment, principal: Caller) -> ShipmentResponse:
        """pending -> picking."""
        return ShipmentResponse.of(fulfilment.pick(shipment_id, principal.name))

    @post(
        "/{shipment_id:int}/pack",
        opt=WAREHOUSE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def pack(self, shipment_id: Id, fulfilment: Fulfilment, principal: Caller) -> ShipmentResponse:
        """picking (or pending) -> packed."""
        return ShipmentResponse.of(fulfilment.pack(shipment_id, principal.name))

    @post(
        "/{shipment_id:int}/ship",
        opt=WAREHOUSE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def ship(
        self,
        shipment_id: Id,
        data: JSONBody[ShipRequest],
        fulfilment: Fulfilment,
        principal: Caller,
    ) -> ShipmentResponse:
        """packed -> shipped: the stock leaves through the ledger, the channel is told
        (ShipmentShipped). The same confirmation again changes nothing."""
        shipment = fulfilment.ship(
            shipment_id, data.carrier, data.tracking_number, data.shipped_at, principal.name
        )
        return ShipmentResponse.of(shipment)

    @post(
        "/{shipment_id:int}/reject",
        opt=WAREHOUSE,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def reject(
        self,
        shipment_id: Id,
        data: JSONBody[RejectRequest],
        fulfilment: Fulfilment,
        principal: Caller,
        audit: Audit,
    ) -> OrderResponse:
        """Units this location cannot send: `not_found` (the shelf is counted: give `counted`)
        or `damaged` (quarantined). They leave the shipment and are sourced elsewhere."""
        order = fulfilment.reject(shipment_id, data.to_lines(), principal.name)
        _shown(audit, principal, "POST /v1/shipments/{id}/reject", [order])
        return OrderResponse.of(order, personal=_personal(principal))


class ShipInstructionsController(Controller):
    path = "/locations/{code:str}"
    tags = ("shipments",)

    @get("/ship-instructions", opt=WAREHOUSE, sync_to_thread=True, responses=READ_PROBLEMS)
    def ship_instructions(
        self,
        code: FromPath[str],
        fulfilment: Fulfilment,
        principal: Caller,
        audit: Audit,
        status: FromQuery[list[str] | None] = None,
        format: FromQuery[str] = "json",
    ) -> Response[Any]:
        """The pick list grouped by SKU and a slip per parcel, for shipments in `status`
        (default pending). `format`: json, html (printable, A4, a barcode per shipment) or
        csv (UTF-8 with a BOM, for Excel)."""
        if format not in ("json", "html", "csv"):
            raise InvalidInput("format must be json, html or csv", field="format")
        pick_list = fulfilment.ship_instructions(
            code, status or ["pending"], personal=_personal(principal)
        )
        # The CSV is the pick list alone (no slips, no addresses): nothing personal to record.
        if _personal(principal) and format != "csv":
            purpose = f"GET /v1/locations/{{code}}/ship-instructions?format={format}"
            _slips_shown(audit, principal, purpose, pick_list)
        if format == "html":
            return Response(pick_list_html(pick_list), media_type="text/html")
        if format == "csv":
            return Response(
                pick_list_csv(pick_list),
                media_type="text/csv",
                headers={
                    "Content-Disposition": f'attachment; filename="ship-instructions-{code}.csv"'
                },
            )
        return Response(_pick_list_json(pick_list))

    @put("/shipping", opt=ADMIN, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_shipping(
        self,
        code: FromPath[str],
        data: JSONBody[LocationShippingRequest],
        order_settings: OrderSettings,
    ) -> dict[str, Any]:
        """How this location ranks when sourcing (`priority`, lower first) and how many
        shipments it can send a day (`daily_capacity`, null: no limit)."""
        value = order_settings.set_location_shipping(code, data.priority, data.daily_capacity)
        return {
            "location": value.location,
            "priority": value.priority,
            "daily_capacity": value.daily_capacity,
        }


class SourcingProfileController(Controller):
    path = "/channels/{code:str}/sourcing-profile"
    tags = ("orders",)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_profile(self, code: FromPath[str], order_settings: OrderSettings) -> dict[str, Any]:
        return order_settings.sourcing_profile(code)

    @put("/", opt=ADMIN, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_profile(
        self,
        code: FromPath[str],
        data: JSONBody[SourcingProfileRequest],
        order_settings: OrderSettings,
    ) -> dict[str, Any]:
        """The channel's sourcing guardrails; fields not sent keep their values."""
        return order_settings.set_sourcing_profile(code, data.changes())


def _pick_list_json(pick_list: Any) -> dict[str, Any]:
    return {
        "location": pick_list.location,
        "statuses": [s.value for s in pick_list.statuses],
        "generated_at": pick_list.generated_at.isoformat(),
        "units": pick_list.units,
        "skus": [
            {
                "sku": row.sku,
                "name": row.name,
                "total": row.total,
                "entries": [
                    {
                        "shipment_id": e.shipment_id,
                        "order_id": e.order_id,
                        "channel": e.channel,
                        "external_id": e.external_id,
                        "line_id": e.line_id,
                        "quantity": e.quantity,
                        "set_sku": e.set_sku,
                    }
                    for e in row.entries
                ],
            }
            for row in pick_list.rows
        ],
        "shipments": [
            {
                "shipment_id": slip.shipment_id,
                "order_id": slip.order_id,
                "channel": slip.channel,
                "external_id": slip.external_id,
                "status": slip.status.value,
                "parcel": slip.parcel,
                "parcels": slip.parcels,
                "split_note": slip.split_note,
                "other_locations": list(slip.other_locations),
                "lines": [
                    {
                        "line_id": ln.line_id,
                        "sku": ln.sku,
                        "name": ln.name,
                        "quantity": ln.quantity,
                        "set_sku": ln.set_sku,
                    }
                    for ln in slip.lines
                ],
                "assembly": list(slip.assembly),
                "notes": list(slip.notes),
                "ship_to": slip.ship_to.as_json() if slip.ship_to else None,
            }
            for slip in pick_list.shipments
        ],
    }


CONTROLLERS = [
    OrderController,
    ShipmentController,
    ShipInstructionsController,
    SourcingProfileController,
]
