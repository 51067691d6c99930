"""Orders: what a channel sold, where each unit ships from, and what happened to it.

Pure: the stdlib, `oms.shared` and the inventory's value rules only.

A line's units are accounted in the line's own unit (a set counts in sets). Where they are is
derived from the shipments, never stored twice: a unit is *allocated* when its stock is
reserved in a shipment, *shipped* when that shipment shipped, *cancelled* when the customer or
the channel cancelled it, and *backordered* otherwise (waiting for stock). So

    quantity = backordered + allocated + shipped + cancelled

holds by construction, and a line is never lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from oms.inventory.domain import validate_code, validate_postal_code, validate_prefecture
from oms.shared.bounds import check_text
from oms.shared.errors import Conflict, InvalidInput

MAX_LINES = 200
_MULTI_LINE = frozenset({"gift_note"})  # free text that may hold line breaks
MAX_LINE_QUANTITY = 10_000
MAX_UNIT_PRICE = 10**10  # ¥10 billion in minor units: anything above is a typo
CURRENCIES = frozenset({"JPY"})


class OrderStatus(StrEnum):
    PENDING = "pending"  # taken, not sourced yet
    BACKORDERED = "backordered"  # some units wait for stock
    ALLOCATED = "allocated"  # every open unit is reserved somewhere
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class ShipmentStatus(StrEnum):
    PENDING = "pending"
    PICKING = "picking"
    PACKED = "packed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class Carrier(StrEnum):
    YAMATO = "yamato"
    SAGAWA = "sagawa"
    JAPAN_POST = "japan_post"
    SEINO = "seino"
    FUKUYAMA = "fukuyama"
    AMAZON = "amazon"
    OTHER = "other"


class RejectReason(StrEnum):
    """Why a location could not pick a line."""

    NOT_FOUND = "not_found"  # not on the shelf: the location's stock is set to what was counted
    DAMAGED = "damaged"  # found but unsellable: quarantined


# Which shipment states may move to which (cancel is separate: see Shipment.cancel).
_NEXT: dict[ShipmentStatus, ShipmentStatus] = {
    ShipmentStatus.PENDING: ShipmentStatus.PICKING,
    ShipmentStatus.PICKING: ShipmentStatus.PACKED,
    ShipmentStatus.PACKED: ShipmentStatus.SHIPPED,
}

_PHONE_RE = re.compile(r"^\+?[0-9][0-9\- ]{5,19}$")
_TRACKING_RE = re.compile(r"^[A-Za-z0-9\-]{4,40}$")


# --------------------------------------------------------------------------- values


def _text(value: Any, field_name: str, limit: int, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{field_name} is required", field=field_name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field_name} must be text", field=field_name)
    text: str = value.strip()
    if len(text) > limit:
        raise InvalidInput(f"{field_name} must be at most {limit} characters", field=field_name)
    return check_text(text, field_name, multi_line=field_name in _MULTI_LINE)


@dataclass(frozen=True, slots=True)
class ShipTo:
    """Where the parcel goes. Personal data: shown only to the roles that need it."""

    name: str
    postal_code: str
    prefecture: str
    city: str
    address1: str
    address2: str | None = None
    phone: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], prefix: str = "ship_to") -> ShipTo:
        def where(name: str) -> str:
            return f"{prefix}.{name}"

        try:
            postal = validate_postal_code(str(raw.get("postal_code") or ""))
        except InvalidInput as bad:
            raise InvalidInput(bad.detail, field=where("postal_code")) from None
        try:
            prefecture = validate_prefecture(raw.get("prefecture") or "")
        except InvalidInput as bad:
            raise InvalidInput(bad.detail, field=where("prefecture")) from None
        phone = _text(raw.get("phone"), where("phone"), 20, required=False)
        if phone is not None and not _PHONE_RE.match(phone):
            raise InvalidInput(f"{where('phone')} is not a phone number", field=where("phone"))
        return cls(
            name=_text(raw.get("name"), where("name"), 200) or "",
            postal_code=postal,
            prefecture=prefecture,
            city=_text(raw.get("city"), where("city"), 200) or "",
            address1=_text(raw.get("address1"), where("address1"), 300) or "",
            address2=_text(raw.get("address2"), where("address2"), 300, required=False),
            phone=phone,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "postal_code": self.postal_code,
            "prefecture": self.prefecture,
            "city": self.city,
            "address1": self.address1,
            "address2": self.address2,
            "phone": self.phone,
        }


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    line_id: str
    sku: str
    quantity: int
    unit_price: int


def validate_lines(lines: Sequence[NewOrderLine]) -> list[NewOrderLine]:
    if not lines:
        raise InvalidInput("an order needs at least one line", field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"an order has at most {MAX_LINES} lines", field="lines")
    seen: set[str] = set()
    clean: list[NewOrderLine] = []
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        line_id = _text(line.line_id, f"{where}.line_id", 64) or ""
        if line_id in seen:
            raise InvalidInput(f"line_id {line_id!r} appears twice", field=f"{where}.line_id")
        seen.add(line_id)
        sku = validate_code(line.sku, field_name=f"{where}.sku")
        _whole(line.quantity, f"{where}.quantity", 1, MAX_LINE_QUANTITY)
        _whole(line.unit_price, f"{where}.unit_price", 0, MAX_UNIT_PRICE)
        clean.append(NewOrderLine(line_id, sku, line.quantity, line.unit_price))
    return clean


def _whole(value: Any, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_name} must be a whole number, got {value!r}", field=field_name)
    if value < low or value > high:
        raise InvalidInput(
            f"{field_name} must be between {low:,} and {high:,}, got {value:,}", field=field_name
        )
    return value


def validate_currency(currency: str) -> str:
    if currency not in CURRENCIES:
        raise InvalidInput(
            f"currency must be one of {', '.join(sorted(CURRENCIES))} (money in minor units)",
            field="currency",
        )
    return currency


def validate_tracking(carrier: str, tracking_number: str) -> tuple[Carrier, str]:
    try:
        parsed = Carrier(carrier)
    except ValueError:
        known = ", ".join(c.value for c in Carrier)
        raise InvalidInput(f"carrier must be one of {known}", field="carrier") from None
    number = tracking_number.strip() if isinstance(tracking_number, str) else ""
    if not _TRACKING_RE.match(number):
        raise InvalidInput(
            "tracking_number must be 4 to 40 letters, digits or hyphens", field="tracking_number"
        )
    return parsed, number


# --------------------------------------------------------------------------- the order


@dataclass(slots=True)
class OrderLine:
    line_id: str
    sku: str
    quantity: int
    unit_price: int
    # What one unit takes from stock: {sku: 1} for a simple SKU, the flattened components of
    # a set. `ship_together`: a set's units each leave from one location.
    components: dict[str, int] = field(default_factory=dict)
    ship_together: bool = True
    cancelled: int = 0
    id: int | None = None

    @property
    def is_bundle(self) -> bool:
        return self.components != {self.sku: 1}

    @property
    def value(self) -> int:
        return self.quantity * self.unit_price


@dataclass(slots=True)
class ShipmentLine:
    line_id: str
    sku: str  # the SKU picked: the line's, or a component of its set
    quantity: int


@dataclass(slots=True)
class Shipment:
    """What one location sends for one order: one parcel, one reservation of its stock."""

    order_id: int
    location: str
    lines: list[ShipmentLine]
    status: ShipmentStatus = ShipmentStatus.PENDING
    reservation_id: int | None = None
    carrier: Carrier | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    created_at: datetime | None = None
    id: int | None = None

    def advance(self, to: ShipmentStatus) -> None:
        """pending -> picking -> packed -> shipped, one step at a time (picking may be skipped
        by packing straight away); anything else is a conflict naming the state."""
        allowed = {_NEXT.get(self.status)}
        if self.status is ShipmentStatus.PENDING:
            allowed.add(ShipmentStatus.PACKED)
        if to not in allowed:
            raise Conflict(
                f"shipment {self.id} is {self.status.value}: it cannot be {to.value} now",
                field="status",
                extra={"status": self.status.value},
            )
        self.status = to

    @property
    def open(self) -> bool:
        return self.status not in (ShipmentStatus.SHIPPED, ShipmentStatus.CANCELLED)

    def units_of(self, line: OrderLine) -> int:
        """Whole units of `line` this shipment carries."""
        mine = [ln for ln in self.lines if ln.line_id == line.line_id]
        return line_units(line, {ln.sku: ln.quantity for ln in mine})


def line_units(line: OrderLine, picked: Mapping[str, int]) -> int:
    """Whole units of a line that these component quantities make up."""
    if not line.components:
        return 0
    return min(picked.get(sku, 0) // per for sku, per in line.components.items())


@dataclass(slots=True)
class LineState:
    line_id: str
    quantity: int
    allocated: int
    shipped: int
    cancelled: int

    @property
    def backordered(self) -> int:
        return self.quantity - self.allocated - self.shipped - self.cancelled


@dataclass(slots=True)
class Order:
    channel: str
    external_id: str
    ordered_at: datetime
    currency: str
    lines: list[OrderLine]
    ship_to: ShipTo
    shipping_method: str | None = None
    promised_by: datetime | None = None
    gift_note: str | None = None
    fingerprint: str = ""
    shipments: list[Shipment] = field(default_factory=list)
    created_at: datetime | None = None
    id: int | None = None

    def line(self, line_id: str) -> OrderLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise InvalidInput(f"order has no line {line_id!r}", field="line_id")

    def line_states(self) -> list[LineState]:
        states = []
        for line in self.lines:
            allocated: dict[str, int] = {}
            shipped: dict[str, int] = {}
            for shipment in self.shipments:
                if shipment.status is ShipmentStatus.CANCELLED:
                    continue
                target = shipped if shipment.status is ShipmentStatus.SHIPPED else allocated
                for ln in shipment.lines:
                    if ln.line_id == line.line_id:
                        target[ln.sku] = target.get(ln.sku, 0) + ln.quantity
            total = {
                sku: allocated.get(sku, 0) + shipped.get(sku, 0)
                for sku in set(allocated) | set(shipped)
            }
            done = line_units(line, shipped)
            states.append(
                LineState(
                    line.line_id,
                    line.quantity,
                    line_units(line, total) - done,
                    done,
                    line.cancelled,
                )
            )
        return states

    @property
    def status(self) -> OrderStatus:
        states = self.line_states()
        if all(s.cancelled == s.quantity for s in states):
            return OrderStatus.CANCELLED
        # A parcel has left: part of a set shipped apart counts, even before its set is whole.
        any_shipped = any(s.status is ShipmentStatus.SHIPPED for s in self.shipments)
        open_units = sum(s.allocated + s.backordered for s in states)
        if any_shipped and not open_units:
            return OrderStatus.SHIPPED
        if any_shipped:
            return OrderStatus.PARTIALLY_SHIPPED
        if any(s.backordered for s in states) or self.needs_sourcing():
            return OrderStatus.BACKORDERED
        return OrderStatus.ALLOCATED

    def backorders(self) -> dict[str, int]:
        """line_id -> units waiting for stock."""
        return {s.line_id: s.backordered for s in self.line_states() if s.backordered > 0}

    def component_units(self, line: OrderLine) -> dict[str, int]:
        """Units of each of the line's SKUs in its parcels (shipped ones included)."""
        held: dict[str, int] = {}
        for shipment in self.shipments:
            if shipment.status is ShipmentStatus.CANCELLED:
                continue
            for ln in shipment.lines:
                if ln.line_id == line.line_id:
                    held[ln.sku] = held.get(ln.sku, 0) + ln.quantity
        return held

    def missing(self, line: OrderLine) -> dict[str, int]:
        """Units of each of the line's SKUs in no parcel yet: what sourcing must find. For a
        set shipped apart, one part may be in a parcel while the other waits."""
        need = line.quantity - line.cancelled
        held = self.component_units(line)
        gaps = {sku: per * need - held.get(sku, 0) for sku, per in line.components.items()}
        return {sku: units for sku, units in gaps.items() if units > 0}

    def units_gone(self, line: OrderLine) -> int:
        """Units of the line of which some part has left: they can no longer be cancelled."""
        shipped: dict[str, int] = {}
        for shipment in self.shipments:
            if shipment.status is ShipmentStatus.SHIPPED:
                for ln in shipment.lines:
                    if ln.line_id == line.line_id:
                        shipped[ln.sku] = shipped.get(ln.sku, 0) + ln.quantity
        return max(
            (-(-shipped.get(sku, 0) // per) for sku, per in line.components.items()), default=0
        )

    def needs_sourcing(self) -> bool:
        return any(self.missing(line) for line in self.lines)
