"""Request and response bodies of the orders API. Pydantic lives here, at the edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from oms.http_models import (
    Code,
    Happened,
    Line,
    Promised,
    RequestBody,
    StrictBool,
    StrictInt,
    Text,
)
from oms.inventory.domain import MAX_MOVEMENT_QUANTITY
from oms.orders.domain.order import (
    MAX_LINE_QUANTITY,
    MAX_LINES,
    MAX_UNIT_PRICE,
    Carrier,
    LineState,
    NewOrderLine,
    Order,
    RejectReason,
    Shipment,
    ShipmentStatus,
    ShipTo,
)
from oms.orders.domain.sourcing_explain import without_ship_to
from oms.orders.domain.sourcing_policy import (
    MAX_SHIPMENT_VALUE,
    MAX_SHIPMENTS_LIMIT,
    RankingFactor,
)
from oms.orders.ports import Decision
from oms.orders.services.fulfilment import RejectedLine
from oms.orders.services.placement import PlaceOrder
from oms.orders.services.settings import MAX_DAILY_CAPACITY, MAX_PRIORITY

# --------------------------------------------------------------------------- requests


class OrderLineBody(RequestBody):
    line_id: Line = Field(min_length=1, max_length=64)
    sku: Code
    quantity: StrictInt = Field(ge=1, le=MAX_LINE_QUANTITY)
    unit_price: StrictInt = Field(ge=0, le=MAX_UNIT_PRICE, description="Integer minor units (yen)")


class ShipToBody(RequestBody):
    name: Line = Field(min_length=1, max_length=200)
    postal_code: str = Field(
        min_length=7,
        max_length=8,
        description="123-4567 or 1234567",
        json_schema_extra={"pattern": r"^[0-9]{3}-?[0-9]{4}$"},
    )
    prefecture: str = Field(
        description="JIS code, 01 (Hokkaido) to 47 (Okinawa)",
        json_schema_extra={"pattern": r"^(0?[1-9]|[1-3][0-9]|4[0-7])$"},
    )
    city: Line = Field(min_length=1, max_length=200)
    address1: Line = Field(min_length=1, max_length=300)
    address2: Line | None = Field(default=None, max_length=300)
    phone: str | None = Field(
        default=None, max_length=20, json_schema_extra={"pattern": r"^\+?[0-9][0-9\- ]{5,19}$"}
    )


class PlaceOrderRequest(RequestBody):
    multi_line_fields = frozenset({"gift_note"})

    channel: Code
    external_id: Line = Field(min_length=1, max_length=100)
    ordered_at: Happened
    currency: Literal["JPY"] = "JPY"
    lines: list[OrderLineBody] = Field(min_length=1, max_length=MAX_LINES)
    ship_to: ShipToBody
    shipping_method: Line | None = Field(default=None, max_length=64)
    promised_by: Promised | None = None
    gift_note: Text | None = Field(default=None, max_length=500)

    def to_command(self) -> PlaceOrder:
        return PlaceOrder(
            channel=self.channel,
            external_id=self.external_id,
            ordered_at=self.ordered_at,
            currency=self.currency,
            lines=[
                NewOrderLine(ln.line_id, ln.sku, ln.quantity, ln.unit_price) for ln in self.lines
            ],
            ship_to=self.ship_to.model_dump(),
            shipping_method=self.shipping_method,
            promised_by=self.promised_by,
            gift_note=self.gift_note,
        )


class CancelRequest(RequestBody):
    lines: dict[str, Annotated[StrictInt, Field(ge=0, le=MAX_LINE_QUANTITY)]] | None = Field(
        default=None, description="line_id -> units to cancel; omit to cancel the whole order"
    )


class ShipRequest(RequestBody):
    carrier: Carrier
    tracking_number: str = Field(
        min_length=4, max_length=40, json_schema_extra={"pattern": r"^[A-Za-z0-9\-]{4,40}$"}
    )
    shipped_at: Happened | None = None


class RejectedLineBody(RequestBody):
    sku: Code
    quantity: StrictInt = Field(ge=1, le=MAX_LINE_QUANTITY)
    reason: RejectReason = Field(description="not_found (give `counted`) or damaged")
    counted: StrictInt | None = Field(
        default=None, ge=0, le=MAX_MOVEMENT_QUANTITY, description="not_found: units on the shelf"
    )


class RejectRequest(RequestBody):
    lines: list[RejectedLineBody] = Field(min_length=1)

    def to_lines(self) -> list[RejectedLine]:
        return [RejectedLine(ln.sku, ln.quantity, ln.reason, ln.counted) for ln in self.lines]


class LocationShippingRequest(RequestBody):
    priority: StrictInt = Field(
        default=100, ge=-MAX_PRIORITY, le=MAX_PRIORITY, description="Lower ships first"
    )
    daily_capacity: StrictInt | None = Field(
        default=None, ge=0, le=MAX_DAILY_CAPACITY, description="Shipments a day"
    )


class SourcingProfileRequest(RequestBody):
    """A channel's sourcing guardrails; fields left out keep their value."""

    max_shipments: StrictInt | None = Field(
        default=None, ge=1, le=MAX_SHIPMENTS_LIMIT, description="Parcels an order may split into"
    )
    min_shipment_value: StrictInt | None = Field(
        default=None,
        ge=0,
        le=MAX_SHIPMENT_VALUE,
        description="Smallest value (minor units) worth a parcel of its own",
    )
    ranking: list[RankingFactor] | None = Field(
        default=None, description="How candidate locations are ordered, first factor first"
    )
    allow_backorder: StrictBool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields sent, as the service stores them."""
        sent = self.model_dump(mode="json", exclude_unset=True)
        return {k: v for k, v in sent.items() if v is not None}


# --------------------------------------------------------------------------- responses


class ShipToResponse(BaseModel):
    name: str
    postal_code: str
    prefecture: str
    city: str
    address1: str
    address2: str | None
    phone: str | None

    @classmethod
    def of(cls, ship_to: ShipTo) -> ShipToResponse:
        return cls(**ship_to.as_json())


class OrderLineResponse(BaseModel):
    line_id: str
    sku: str
    quantity: int
    unit_price: int
    components: dict[str, int] = Field(description="Units of each SKU one unit takes")
    allocated: int
    shipped: int
    backordered: int
    cancelled: int


class ShipmentLineResponse(BaseModel):
    line_id: str
    sku: str
    quantity: int


class ShipmentResponse(BaseModel):
    id: int
    order_id: int
    location: str
    status: ShipmentStatus
    lines: list[ShipmentLineResponse]
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    created_at: datetime | None

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentResponse:
        return cls(
            id=shipment.id or 0,
            order_id=shipment.order_id,
            location=shipment.location,
            status=shipment.status,
            lines=[
                ShipmentLineResponse(line_id=ln.line_id, sku=ln.sku, quantity=ln.quantity)
                for ln in shipment.lines
            ],
            carrier=shipment.carrier.value if shipment.carrier else None,
            tracking_number=shipment.tracking_number,
            shipped_at=shipment.shipped_at,
            created_at=shipment.created_at,
        )


class OrderResponse(BaseModel):
    id: int
    channel: str
    external_id: str
    status: str
    ordered_at: datetime
    currency: str
    total: int = Field(description="Sum of quantity x unit_price, minor units")
    lines: list[OrderLineResponse]
    shipments: list[ShipmentResponse]
    ship_to: ShipToResponse | None = Field(
        description="Personal data: null for roles that do not need it"
    )
    shipping_method: str | None
    promised_by: datetime | None
    gift_note: str | None = Field(description="Personal data: null for roles that do not need it")
    created_at: datetime | None

    @classmethod
    def of(cls, order: Order, *, personal: bool) -> OrderResponse:
        states: dict[str, LineState] = {s.line_id: s for s in order.line_states()}
        return cls(
            id=order.id or 0,
            channel=order.channel,
            external_id=order.external_id,
            status=order.status.value,
            ordered_at=order.ordered_at,
            currency=order.currency,
            total=sum(line.value for line in order.lines),
            lines=[
                OrderLineResponse(
                    line_id=line.line_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    components=line.components,
                    allocated=states[line.line_id].allocated,
                    shipped=states[line.line_id].shipped,
                    backordered=states[line.line_id].backordered,
                    cancelled=line.cancelled,
                )
                for line in order.lines
            ],
            shipments=[ShipmentResponse.of(s) for s in order.shipments],
            ship_to=ShipToResponse.of(order.ship_to) if personal else None,
            shipping_method=order.shipping_method,
            promised_by=order.promised_by,
            # Free text from the buyer, often personal: only for who may read the address.
            gift_note=order.gift_note if personal else None,
            created_at=order.created_at,
        )


class DecisionResponse(BaseModel):
    id: int
    trigger: str = Field(description="placed, backorder, rejected")
    engine_version: int
    decided_at: datetime
    decision: dict[str, Any] = Field(description="Per line: where from, and why not elsewhere")

    @classmethod
    def of(cls, decision: Decision, *, personal: bool = True) -> DecisionResponse:
        """`personal`: the reader may see the customer's prefecture (see `_personal`)."""
        return cls(
            id=decision.id,
            trigger=decision.trigger,
            engine_version=decision.engine_version,
            decided_at=decision.decided_at,
            decision=decision.decision if personal else without_ship_to(decision.decision),
        )


class SourcingResponse(BaseModel):
    order_id: int
    decisions: list[DecisionResponse]
