"""Transfers between locations: draft, shipped, received in parts, closed; what never arrived and
what arrived unannounced are recorded as discrepancies, never absorbed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from oms.inventory.domain.catalogue import validate_quantity
from oms.inventory.domain.stock import MovementRequest, MovementType, StockDelta, delta_for
from oms.shared.errors import Conflict, InvalidInput


class TransferStatus(StrEnum):
    DRAFT = "draft"
    SHIPPED = "shipped"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class DiscrepancyKind(StrEnum):
    SHORTFALL = "shortfall"
    EXCESS = "excess"


@dataclass(slots=True)
class TransferLine:
    sku: str
    quantity: int
    shipped: int = 0
    received: int = 0

    @property
    def outstanding(self) -> int:
        return max(0, self.shipped - self.received)


@dataclass(frozen=True, slots=True)
class Discrepancy:
    sku: str
    kind: DiscrepancyKind
    quantity: int
    expected: int
    received: int


@dataclass(frozen=True, slots=True)
class ReceiptEffect:
    """What one receipt of a transfer does at the destination."""

    movements: list[MovementRequest]
    discrepancies: list[Discrepancy]


@dataclass(slots=True)
class Transfer:
    source: str
    destination: str
    lines: list[TransferLine]
    status: TransferStatus = TransferStatus.DRAFT
    reference: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    shipped_at: datetime | None = None
    closed_at: datetime | None = None
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @classmethod
    def draft(
        cls, source: str, destination: str, lines: list[tuple[str, int]], reference: str | None
    ) -> Transfer:
        if source == destination:
            raise InvalidInput("a transfer needs two different locations", field="destination")
        if not lines:
            raise InvalidInput("a transfer needs at least one line", field="lines")
        merged: dict[str, int] = {}
        for i, (sku, qty) in enumerate(lines):
            validate_quantity(qty, field_name=f"lines[{i}].quantity")
            merged[sku] = merged.get(sku, 0) + qty
        return cls(
            source=source,
            destination=destination,
            lines=[TransferLine(sku, qty) for sku, qty in sorted(merged.items())],
            reference=reference,
        )

    def line(self, sku: str) -> TransferLine | None:
        return next((line for line in self.lines if line.sku == sku), None)

    def ship(self) -> list[MovementRequest]:
        if self.status is not TransferStatus.DRAFT:
            raise Conflict(f"transfer is {self.status}, only a draft can ship", field="status")
        self.status = TransferStatus.SHIPPED
        movements: list[MovementRequest] = []
        for line in self.lines:
            line.shipped = line.quantity
            movements.append(
                MovementRequest(
                    MovementType.TRANSFER_OUT,
                    line.sku,
                    self.source,
                    delta_for(MovementType.TRANSFER_OUT, line.quantity),
                    line.quantity,
                )
            )
            movements.append(
                MovementRequest(
                    MovementType.TRANSFER_DISPATCHED,
                    line.sku,
                    self.destination,
                    delta_for(MovementType.TRANSFER_DISPATCHED, line.quantity),
                    line.quantity,
                )
            )
        return movements

    def receive(self, received: list[tuple[str, int]], *, close: bool) -> ReceiptEffect:
        """Book a (partial) receipt. Excess is booked into stock and recorded; on close,
        what never arrived is written off from in_transit and recorded as a shortfall."""
        if self.status not in (TransferStatus.SHIPPED, TransferStatus.PARTIALLY_RECEIVED):
            raise Conflict(
                f"transfer is {self.status}, only a shipped transfer can be received",
                field="status",
            )
        if not received and not close:
            raise InvalidInput("a receipt needs at least one line", field="lines")
        counts: dict[str, int] = {}
        for i, (sku, qty) in enumerate(received):
            validate_quantity(qty, field_name=f"lines[{i}].quantity")
            counts[sku] = counts.get(sku, 0) + qty
        movements: list[MovementRequest] = []
        discrepancies: list[Discrepancy] = []
        for sku, qty in sorted(counts.items()):
            line = self.line(sku)
            if line is None:  # a wrong item arrived: keep it, and say so
                line = TransferLine(sku, 0)
                self.lines.append(line)
            matched = min(qty, line.outstanding)
            excess = qty - matched
            movements.append(
                MovementRequest(
                    MovementType.TRANSFER_IN,
                    sku,
                    self.destination,
                    StockDelta(on_hand=qty, in_transit=-matched),
                    qty,
                )
            )
            line.received += qty
            if excess:
                discrepancies.append(
                    Discrepancy(sku, DiscrepancyKind.EXCESS, excess, line.shipped, line.received)
                )
        if close or all(line.outstanding == 0 for line in self.lines):
            for line in self.lines:
                if line.outstanding:
                    short = line.outstanding
                    movements.append(
                        MovementRequest(
                            MovementType.TRANSFER_SHORTFALL,
                            line.sku,
                            self.destination,
                            delta_for(MovementType.TRANSFER_SHORTFALL, short),
                            short,
                            reason="not received",
                        )
                    )
                    discrepancies.append(
                        Discrepancy(
                            line.sku, DiscrepancyKind.SHORTFALL, short, line.shipped, line.received
                        )
                    )
            self.status = TransferStatus.RECEIVED
        else:
            self.status = TransferStatus.PARTIALLY_RECEIVED
        self.discrepancies.extend(discrepancies)
        return ReceiptEffect(movements, discrepancies)

    def cancel(self) -> None:
        if self.status is not TransferStatus.DRAFT:
            raise Conflict(f"transfer is {self.status}, only a draft can be cancelled")
        self.status = TransferStatus.CANCELLED
