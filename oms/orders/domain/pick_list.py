"""Ship instructions for one location: what to pick, grouped by SKU, and a slip per parcel.

Pure: built from the shipments and their orders. The renderers (HTML for printing, CSV) and
the API read this one model, so the three always say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from oms.orders.domain.order import Order, Shipment, ShipmentStatus, ShipTo


@dataclass(frozen=True, slots=True)
class PickEntry:
    """Units of one SKU for one shipment."""

    shipment_id: int
    order_id: int
    channel: str
    external_id: str
    line_id: str
    quantity: int
    set_sku: str | None = None  # the set this unit is a component of, if any


@dataclass(slots=True)
class PickRow:
    sku: str
    name: str
    total: int
    entries: list[PickEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SlipLine:
    line_id: str
    sku: str
    name: str
    quantity: int
    set_sku: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentSlip:
    """One parcel: its lines, how to assemble sets, notes, and where the rest of the order
    ships from."""

    shipment_id: int
    order_id: int
    channel: str
    external_id: str
    status: ShipmentStatus
    parcel: int
    parcels: int
    other_locations: tuple[str, ...]
    lines: tuple[SlipLine, ...]
    assembly: tuple[str, ...]
    notes: tuple[str, ...]
    shipping_method: str | None
    promised_by: datetime | None
    ship_to: ShipTo | None  # None when the reader may not see personal data

    @property
    def split_note(self) -> str | None:
        if self.parcels == 1:
            return None
        where = ", ".join(self.other_locations)
        others = "the other ships" if self.parcels == 2 else "the others ship"
        return f"parcel {self.parcel} of {self.parcels}: {others} from {where}"


@dataclass(frozen=True, slots=True)
class PickList:
    location: str
    statuses: tuple[ShipmentStatus, ...]
    generated_at: datetime
    rows: tuple[PickRow, ...]
    shipments: tuple[ShipmentSlip, ...]

    @property
    def units(self) -> int:
        return sum(row.total for row in self.rows)


def build_pick_list(
    location: str,
    statuses: Sequence[ShipmentStatus],
    shipments: Sequence[Shipment],
    orders: Mapping[int, Order],
    names: Mapping[str, str],
    now: datetime,
    *,
    with_personal_data: bool,
) -> PickList:
    rows: dict[str, PickRow] = {}
    slips: list[ShipmentSlip] = []
    for shipment in sorted(shipments, key=lambda s: s.id or 0):
        order = orders[shipment.order_id]
        set_of = {line.line_id: line.sku for line in order.lines if line.is_bundle}
        for ln in shipment.lines:
            row = rows.setdefault(ln.sku, PickRow(ln.sku, names.get(ln.sku, ln.sku), 0))
            row.total += ln.quantity
            row.entries.append(
                PickEntry(
                    shipment.id or 0,
                    order.id or 0,
                    order.channel,
                    order.external_id,
                    ln.line_id,
                    ln.quantity,
                    set_of.get(ln.line_id),
                )
            )
        parcels = sorted(
            (s for s in order.shipments if s.status is not ShipmentStatus.CANCELLED),
            key=lambda s: s.id or 0,
        )
        ids = [s.id for s in parcels]
        parcel = ids.index(shipment.id) + 1 if shipment.id in ids else 1
        others = tuple(sorted({s.location for s in parcels if s.id != shipment.id}))
        slips.append(
            ShipmentSlip(
                shipment_id=shipment.id or 0,
                order_id=order.id or 0,
                channel=order.channel,
                external_id=order.external_id,
                status=shipment.status,
                parcel=parcel,
                parcels=max(len(parcels), 1),
                other_locations=others,
                lines=tuple(
                    SlipLine(
                        ln.line_id,
                        ln.sku,
                        names.get(ln.sku, ln.sku),
                        ln.quantity,
                        set_of.get(ln.line_id),
                    )
                    for ln in shipment.lines
                ),
                assembly=_assembly(order, shipment, names),
                notes=_notes(order),
                shipping_method=order.shipping_method,
                promised_by=order.promised_by,
                ship_to=order.ship_to if with_personal_data else None,
            )
        )
    ordered_rows = tuple(rows[sku] for sku in sorted(rows))
    return PickList(location, tuple(statuses), now, ordered_rows, tuple(slips))


def _assembly(order: Order, shipment: Shipment, names: Mapping[str, str]) -> tuple[str, ...]:
    """How to put each set together, for the sets whose every component is in this parcel."""
    notes = []
    for line in order.lines:
        if not line.is_bundle:
            continue
        units = shipment.units_of(line)
        if units == 0:
            continue
        parts = " + ".join(
            f"{per} x {sku} ({names.get(sku, sku)})" for sku, per in sorted(line.components.items())
        )
        notes.append(f"assemble {units} x {line.sku} ({names.get(line.sku, line.sku)}): {parts}")
    return tuple(notes)


def _notes(order: Order) -> tuple[str, ...]:
    """Gift and handling notes (shipping method and promised-by have their own fields)."""
    return (f"gift: {order.gift_note}",) if order.gift_note else ()
