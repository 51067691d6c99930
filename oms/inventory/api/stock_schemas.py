"""Stock over HTTP: movements, levels, reservations and transfers, as requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from oms.http_models import Code, Line, RequestBody, StrictBool
from oms.inventory.api.schemas import (
    ComponentResponse,
    FromDomain,
    MovementKind,
    PositiveUnits,
    Reference,
    Units,
)
from oms.inventory.domain import (
    DiscrepancyKind,
    Movement,
    Reservation,
    ReservationLine,
    ReservationStatus,
    SkuKind,
    StockLevel,
    Transfer,
    TransferStatus,
)
from oms.inventory.services import (
    CreateTransfer,
    MovementResult,
    ReceiveTransfer,
    RecordMovement,
    ReserveStock,
    SkuStock,
)


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
