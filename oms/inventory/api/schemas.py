"""Request and response bodies of the inventory API. Pydantic lives here, at the edge only.

Requests check shapes and types (unknown fields, strict integers); the business rules
(positive quantities, known SKUs, check digits) stay in the services, which name the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from oms.http_models import Code, Line, RequestBody, StrictBool, StrictInt
from oms.inventory.domain import (
    MAX_MOVEMENT_QUANTITY,
    DiscrepancyKind,
    Location,
    LocationKind,
    Movement,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Sku,
    SkuKind,
    StockLevel,
    Transfer,
    TransferStatus,
)
from oms.inventory.services import (
    CreateLocation,
    CreateSku,
    CreateTransfer,
    MovementResult,
    ReceiveTransfer,
    RecordMovement,
    ReserveStock,
    SkuStock,
    UpdateSku,
)


def _digits_as_text(value: Any) -> Any:
    # A JIS prefecture code is often sent as a number (13); keep the type a plain string.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Reference = Annotated[Line, Field(max_length=200)]
Prefecture = Annotated[
    str,
    BeforeValidator(_digits_as_text),
    Field(max_length=2, json_schema_extra={"pattern": r"^(0?[1-9]|[1-3][0-9]|4[0-7])$"}),
]
# Units of a movement, a reservation or a transfer line; the services refuse 0 and negatives
# where they make no sense (only an adjustment is signed) and name the field.
Units = Annotated[StrictInt, Field(ge=-MAX_MOVEMENT_QUANTITY, le=MAX_MOVEMENT_QUANTITY)]
PositiveUnits = Annotated[StrictInt, Field(ge=1, le=MAX_MOVEMENT_QUANTITY)]
POSTAL_CODE_PATTERN = r"^[0-9]{3}-?[0-9]{4}$"
BARCODE_PATTERN = r"^([0-9]{8}|[0-9]{13})$"
MovementKind = Literal["receipt", "adjustment", "count", "quarantine", "quarantine_release"]


class FromDomain(BaseModel):
    """A response that copies a domain object's attributes (properties included) by name."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, source: object) -> Self:
        return cls.model_validate(source)


# --------------------------------------------------------------------------- locations


class CreateLocationRequest(RequestBody):
    code: Code
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    kind: LocationKind
    prefecture: Prefecture = Field(description="JIS X 0401 code, 01 to 47")
    postal_code: Annotated[
        str,
        Field(
            max_length=8, examples=["270-0000"], json_schema_extra={"pattern": POSTAL_CODE_PATTERN}
        ),
    ]
    ships_to_customers: StrictBool = True
    active: StrictBool = True

    def to_command(self) -> CreateLocation:
        return CreateLocation(
            code=self.code,
            name=self.name,
            kind=self.kind.value,
            prefecture=self.prefecture,
            postal_code=self.postal_code,
            ships_to_customers=self.ships_to_customers,
            active=self.active,
        )


class LocationResponse(BaseModel):
    code: str
    name: str
    kind: LocationKind
    prefecture: str
    postal_code: str
    ships_to_customers: bool
    active: bool
    created_at: datetime | None

    @classmethod
    def of(cls, location: Location) -> LocationResponse:
        return cls(
            code=location.code,
            name=location.name,
            kind=location.kind,
            prefecture=location.prefecture,
            postal_code=location.postal_code,
            ships_to_customers=location.ships_to_customers,
            active=location.active,
            created_at=location.created_at,
        )


# --------------------------------------------------------------------------- SKUs


class ComponentBody(RequestBody):
    sku: Code
    quantity: PositiveUnits


class CreateSkuRequest(RequestBody):
    code: Code
    name: Annotated[Line, Field(min_length=1, max_length=300)]
    kind: SkuKind = SkuKind.SIMPLE
    barcode: str | None = Field(
        default=None,
        description="JAN/EAN-13 or JAN-8 with its check digit",
        json_schema_extra={"pattern": BARCODE_PATTERN},
    )
    attributes: dict[str, Any] = Field(default_factory=dict)
    components: list[ComponentBody] = Field(
        default_factory=list, description="Bundles only: the SKUs one bundle is made of"
    )
    ship_together: StrictBool = True

    def to_command(self) -> CreateSku:
        return CreateSku(
            code=self.code,
            name=self.name,
            kind=self.kind.value,
            barcode=self.barcode or None,
            attributes=self.attributes,
            components=[(c.sku, c.quantity) for c in self.components],
            ship_together=self.ship_together,
        )


class UpdateSkuRequest(RequestBody):
    """Only the fields sent change. `barcode: null` removes the barcode."""

    not_null_fields = frozenset({"name", "attributes", "components", "ship_together"})

    name: Annotated[Line, Field(min_length=1, max_length=300)] | None = None
    barcode: str | None = Field(default=None, json_schema_extra={"pattern": BARCODE_PATTERN})
    attributes: dict[str, Any] | None = Field(default=None, description="Replaces them all")
    components: list[ComponentBody] | None = Field(default=None, description="Replaces them all")
    ship_together: StrictBool | None = None

    def to_command(self, code: str) -> UpdateSku:
        components = self.components
        return UpdateSku(
            code=code,
            name=self.name,
            barcode=self.barcode or None,
            clear_barcode="barcode" in self.model_fields_set and not self.barcode,
            attributes=self.attributes,
            components=None if components is None else [(c.sku, c.quantity) for c in components],
            ship_together=self.ship_together,
        )


class ComponentResponse(BaseModel):
    sku: str
    quantity: int


class SkuResponse(BaseModel):
    code: str
    name: str
    kind: SkuKind
    barcode: str | None
    attributes: dict[str, Any]
    components: list[ComponentResponse]
    ship_together: bool
    created_at: datetime | None

    @classmethod
    def of(cls, sku: Sku) -> SkuResponse:
        return cls(
            code=sku.code,
            name=sku.name,
            kind=sku.kind,
            barcode=sku.barcode,
            attributes=sku.attributes,
            components=[ComponentResponse(sku=c.sku, quantity=c.quantity) for c in sku.components],
            ship_together=sku.ship_together,
            created_at=sku.created_at,
        )


# --------------------------------------------------------------------------- stock


class RecordMovementRequest(RequestBody):
    type: MovementKind
    sku: Code
    location: Code
    quantity: Units = Field(
        description="Units; signed for an adjustment, the counted total for a count"
    )
    reason: Annotated[Line, Field(max_length=64)] | None = Field(
        default=None, description="Required for an adjustment (damaged, lost, found, ...)"
    )
    reference: Reference | None = None

    def to_command(
        self, idempotency_key: str, actor: str, caller: str | None = None
    ) -> RecordMovement:
        return RecordMovement(
            type=self.type,
            sku=self.sku,
            location=self.location,
            quantity=self.quantity,
            idempotency_key=idempotency_key,
            reason=self.reason or None,
            reference=self.reference or None,
            actor=actor,
            caller=caller,
        )


class StockDeltaResponse(BaseModel):
    on_hand: int
    reserved: int
    quarantined: int
    in_transit: int


class MovementResponse(BaseModel):
    id: int
    type: str
    sku: str
    location: str
    quantity: int
    delta: StockDeltaResponse
    reason: str | None
    reference: str | None
    actor: str | None
    counted: int | None
    recorded_at: datetime

    @classmethod
    def of(cls, movement: Movement) -> MovementResponse:
        d = movement.delta
        return cls(
            id=movement.id,
            type=movement.type.value,
            sku=movement.sku,
            location=movement.location,
            quantity=movement.quantity,
            delta=StockDeltaResponse(
                on_hand=d.on_hand,
                reserved=d.reserved,
                quarantined=d.quarantined,
                in_transit=d.in_transit,
            ),
            reason=movement.reason,
            reference=movement.reference,
            actor=movement.actor,
            counted=movement.counted,
            recorded_at=movement.recorded_at,
        )


class StockLevelResponse(FromDomain):
    sku: str
    location: str
    on_hand: int
    reserved: int
    quarantined: int
    in_transit: int
    available: int


class MovementResultResponse(BaseModel):
    movements: list[MovementResponse]
    levels: list[StockLevelResponse]

    @classmethod
    def of(cls, result: MovementResult) -> MovementResultResponse:
        return cls(
            movements=[MovementResponse.of(m) for m in sorted(result.movements, key=_by_id)],
            levels=[StockLevelResponse.of(lv) for lv in sorted(result.levels, key=_by_place)],
        )


class LocationStockResponse(FromDomain):
    location: str = Field(description="`*` for the total")
    on_hand: int
    reserved: int
    quarantined: int
    in_transit: int
    available: int


class SkuStockResponse(BaseModel):
    """A SKU everywhere. For a bundle only `available` counts: bundles derived from the
    components' available units, per location and (from components anywhere) in total."""

    sku: str
    kind: SkuKind
    locations: list[LocationStockResponse]
    total: LocationStockResponse
    components: list[ComponentResponse] = Field(
        description="Bundles: units of each simple SKU one bundle needs, nested bundles flattened"
    )

    @classmethod
    def of(cls, stock: SkuStock) -> SkuStockResponse:
        return cls(
            sku=stock.sku,
            kind=stock.kind,
            locations=[LocationStockResponse.of(s) for s in stock.locations],
            total=LocationStockResponse.of(stock.total),
            components=[
                ComponentResponse(sku=sku, quantity=qty)
                for sku, qty in sorted(stock.components.items())
            ],
        )


# --------------------------------------------------------------------------- reservations


class ReservationLineBody(RequestBody):
    sku: Code
    location: Code
    quantity: PositiveUnits


class ReserveStockRequest(RequestBody):
    lines: list[ReservationLineBody]
    reference: Reference | None = None
    # The sales channel the units are for: counts towards its sales velocity (auto buffer).
    channel: Code | None = None

    def to_command(
        self, idempotency_key: str | None, actor: str, caller: str | None = None
    ) -> ReserveStock:
        return ReserveStock(
            lines=[ReservationLine(ln.sku, ln.location, ln.quantity) for ln in self.lines],
            reference=self.reference or None,
            idempotency_key=idempotency_key,
            actor=actor,
            caller=caller,
            channel=self.channel,
        )


class ReservationLineResponse(BaseModel):
    sku: str
    location: str
    quantity: int


class ReservationResponse(BaseModel):
    id: int
    reference: str | None
    status: ReservationStatus
    lines: list[ReservationLineResponse]
    channel: str | None
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, reservation: Reservation) -> ReservationResponse:
        return cls(
            id=reservation.id,
            reference=reservation.reference,
            status=reservation.status,
            channel=reservation.channel,
            lines=[
                ReservationLineResponse(sku=ln.sku, location=ln.location, quantity=ln.quantity)
                for ln in sorted(reservation.lines, key=_by_place)
            ],
            created_at=reservation.created_at,
            closed_at=reservation.closed_at,
        )


# --------------------------------------------------------------------------- transfers


class TransferLineBody(RequestBody):
    sku: Code
    quantity: PositiveUnits


class CreateTransferRequest(RequestBody):
    source: Code
    destination: Code
    lines: list[TransferLineBody]
    reference: Reference | None = None

    def to_command(
        self, idempotency_key: str | None, actor: str, caller: str | None = None
    ) -> CreateTransfer:
        return CreateTransfer(
            source=self.source,
            destination=self.destination,
            lines=[(ln.sku, ln.quantity) for ln in self.lines],
            reference=self.reference or None,
            idempotency_key=idempotency_key,
            actor=actor,
            caller=caller,
        )


class ReceiveTransferRequest(RequestBody):
    lines: list[TransferLineBody] = Field(default_factory=list)
    close: StrictBool = Field(
        default=False, description="Write off what has not arrived as a shortfall"
    )

    def to_command(
        self,
        transfer_id: int,
        idempotency_key: str | None,
        actor: str,
        caller: str | None = None,
    ) -> ReceiveTransfer:
        return ReceiveTransfer(
            transfer_id=transfer_id,
            lines=[(ln.sku, ln.quantity) for ln in self.lines],
            close=self.close,
            idempotency_key=idempotency_key,
            actor=actor,
            caller=caller,
        )


class TransferLineResponse(BaseModel):
    sku: str
    quantity: int
    shipped: int
    received: int
    outstanding: int


class DiscrepancyResponse(FromDomain):
    sku: str
    kind: DiscrepancyKind
    quantity: int
    expected: int
    received: int


class TransferResponse(BaseModel):
    id: int
    source: str
    destination: str
    status: TransferStatus
    reference: str | None
    lines: list[TransferLineResponse]
    discrepancies: list[DiscrepancyResponse]
    created_at: datetime | None
    shipped_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, transfer: Transfer) -> TransferResponse:
        if transfer.id is None:
            raise ValueError("only a stored transfer can be shown")
        return cls(
            id=transfer.id,
            source=transfer.source,
            destination=transfer.destination,
            status=transfer.status,
            reference=transfer.reference,
            lines=[
                TransferLineResponse(
                    sku=ln.sku,
                    quantity=ln.quantity,
                    shipped=ln.shipped,
                    received=ln.received,
                    outstanding=ln.outstanding,
                )
                for ln in sorted(transfer.lines, key=lambda ln: ln.sku)
            ],
            discrepancies=[DiscrepancyResponse.of(d) for d in transfer.discrepancies],
            created_at=transfer.created_at,
            shipped_at=transfer.shipped_at,
            closed_at=transfer.closed_at,
        )


def _by_id(movement: Movement) -> int:
    return movement.id


def _by_place(line: StockLevel | ReservationLine) -> tuple[str, str]:
    # Sorted here, in Python, so a replayed answer read back from the database (whose
    # collation may order codes differently) is byte-for-byte the first one.
    return (line.sku, line.location)
