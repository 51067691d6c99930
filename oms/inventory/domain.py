"""Inventory rules: locations, SKUs, stock levels and the movements that change them.

Pure: no I/O. The database enforces the same stock rules again (conditional UPDATE and
CHECK constraints) because concurrent writers never see each other's Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from oms.shared.errors import Conflict, InvalidInput


class LocationKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"
    FACTORY = "factory"
    MARKETPLACE_FC = "marketplace_fc"  # stock held by a marketplace, e.g. Amazon FBA


class SkuKind(StrEnum):
    SIMPLE = "simple"
    BUNDLE = "bundle"


class MovementType(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    RESERVE = "reserve"
    RELEASE = "release"
    SHIP = "ship"
    TRANSFER_OUT = "transfer_out"  # source: units leave on_hand
    TRANSFER_DISPATCHED = "transfer_dispatched"  # destination: units become in_transit
    TRANSFER_IN = "transfer_in"  # destination: in_transit becomes on_hand
    TRANSFER_SHORTFALL = "transfer_shortfall"  # destination: in_transit that never arrived
    QUARANTINE = "quarantine"
    QUARANTINE_RELEASE = "quarantine_release"


class AdjustmentReason(StrEnum):
    DAMAGED = "damaged"
    LOST = "lost"
    FOUND = "found"
    THEFT = "theft"
    EXPIRED = "expired"
    SAMPLE = "sample"
    CORRECTION = "correction"
    OTHER = "other"


# --------------------------------------------------------------------------- values

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
# [0-9], not \d: \d also matches full-width and other Unicode digits, which must not be stored.
_POSTAL_RE = re.compile(r"^([0-9]{3})-?([0-9]{4})$")


def validate_code(value: str, *, field_name: str = "code") -> str:
    """Codes appear in URLs and CSV files: letters, digits, '.', '_' and '-' only."""
    value = value.strip()
    if not _CODE_RE.match(value):
        raise InvalidInput(
            f"{field_name} must be 1-64 characters of letters, digits, '.', '_' or '-' "
            f"starting with a letter or digit, got {value!r}",
            field=field_name,
        )
    return value


def validate_prefecture(value: str | int) -> str:
    """JIS X 0401 prefecture code, 01 (Hokkaido) to 47 (Okinawa), as two digits."""
    text = str(value).strip()
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if not text.isdecimal() or not 1 <= int(text) <= 47:
        raise InvalidInput(
            f"prefecture must be a JIS code from 01 to 47, got {value!r}", field="prefecture"
        )
    return f"{int(text):02d}"


def validate_postal_code(value: str) -> str:
    """Japanese postal code, NNN-NNNN (the hyphen may be omitted on input)."""
    match = _POSTAL_RE.match(value.strip())
    if not match:
        raise InvalidInput(
            f"postal_code must look like 123-4567, got {value!r}", field="postal_code"
        )
    return f"{match.group(1)}-{match.group(2)}"


def gtin_check_digit(body: str) -> int:
    """Check digit of a GTIN (JAN/EAN) without its last digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_barcode(value: str) -> str:
    """JAN/EAN-13 (or the short JAN-8) with a correct check digit."""
    text = value.strip()
    # ASCII only: full-width digits would store a second spelling of the same barcode.
    if not (text.isascii() and text.isdigit()) or len(text) not in (8, 13):
        raise InvalidInput(
            f"barcode must be a JAN/EAN-13 (13 digits) or JAN-8, got {value!r}", field="barcode"
        )
    expected = gtin_check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise InvalidInput(
            f"barcode {text} has check digit {text[-1]}, expected {expected}", field="barcode"
        )
    return text


# No real movement comes near it, and stock columns are 32-bit integers.
MAX_MOVEMENT_QUANTITY = 1_000_000_000


def validate_quantity(value: int, *, field_name: str = "quantity", allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_name} must be an integer", field=field_name)
    if abs(value) > MAX_MOVEMENT_QUANTITY:
        raise InvalidInput(
            f"{field_name} must be at most {MAX_MOVEMENT_QUANTITY:,}, got {value}", field=field_name
        )
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "a positive integer"
        raise InvalidInput(f"{field_name} must be {bound}, got {value}", field=field_name)
    return value


# --------------------------------------------------------------------------- catalogue


@dataclass(slots=True)
class Location:
    code: str
    name: str
    kind: LocationKind
    prefecture: str
    postal_code: str
    ships_to_customers: bool = True
    active: bool = True
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BundleComponent:
    sku: str
    quantity: int


@dataclass(slots=True)
class Sku:
    code: str
    name: str
    kind: SkuKind = SkuKind.SIMPLE
    barcode: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    components: list[BundleComponent] = field(default_factory=list)
    ship_together: bool = True
    id: int | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind is SkuKind.SIMPLE and self.components:
            raise InvalidInput("only a bundle has components", field="components")
        if self.kind is SkuKind.BUNDLE:
            check_bundle_components(self.code, self.components)

    @property
    def is_bundle(self) -> bool:
        return self.kind is SkuKind.BUNDLE


def check_bundle_components(code: str, components: list[BundleComponent]) -> None:
    if not components:
        raise InvalidInput("a bundle needs at least one component", field="components")
    seen: set[str] = set()
    for i, component in enumerate(components):
        validate_quantity(component.quantity, field_name=f"components[{i}].quantity")
        if component.sku == code:
            raise InvalidInput(f"bundle {code} cannot contain itself", field="components")
        if component.sku in seen:
            raise InvalidInput(
                f"component {component.sku} is listed twice", field=f"components[{i}].sku"
            )
        seen.add(component.sku)


def check_no_bundle_cycle(
    code: str, components: Iterable[str], contents: Mapping[str, Iterable[str]]
) -> None:
    """Refuse a bundle that would contain itself through other bundles.

    `contents` maps each existing bundle code to its component codes.
    """
    stack = list(components)
    seen: set[str] = set()
    while stack:
        current = stack.pop()
        if current == code:
            raise InvalidInput(
                f"bundle {code} would contain itself through {sorted(seen) or [current]}",
                field="components",
            )
        if current in seen:
            continue
        seen.add(current)
        stack.extend(contents.get(current, ()))


def bundle_units(requirements: Mapping[str, int], available: Mapping[str, int]) -> int:
    """Whole bundles that the components' available units make: min(floor(avail / qty))."""
    if not requirements:
        return 0
    return max(0, min(max(0, available.get(sku, 0)) // qty for sku, qty in requirements.items()))


# --------------------------------------------------------------------------- stock


@dataclass(frozen=True, slots=True)
class StockDelta:
    """What one movement does to the four buckets of a stock level."""

    on_hand: int = 0
    reserved: int = 0
    quarantined: int = 0
    in_transit: int = 0

    def __add__(self, other: StockDelta) -> StockDelta:
        return StockDelta(
            self.on_hand + other.on_hand,
            self.reserved + other.reserved,
            self.quarantined + other.quarantined,
            self.in_transit + other.in_transit,
        )

    @property
    def is_zero(self) -> bool:
        return not (self.on_hand or self.reserved or self.quarantined or self.in_transit)


class InsufficientStock(Conflict):
    title = "Insufficient stock"

    def __init__(self, shortages: list[dict[str, Any]]) -> None:
        names = ", ".join(f"{s['sku']}@{s['location']}" for s in shortages)
        super().__init__(
            f"not enough available stock for {names}",
            field="lines",
            extra={"short_lines": shortages},
        )
        self.shortages = shortages


class StockBusy(Conflict):
    """A count could not take the lock of what it must change (an order being changed right
    now): the transaction is rolled back and, by the service, tried again."""

    title = "Stock busy"


class StockRuleBroken(Conflict):
    """A movement would leave a bucket negative (e.g. releasing more than is reserved)."""

    title = "Stock rule broken"


@dataclass(slots=True)
class StockLevel:
    """Projection of the movement ledger for one SKU at one location."""

    sku: str
    location: str
    on_hand: int = 0
    reserved: int = 0
    quarantined: int = 0
    in_transit: int = 0
    version: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.quarantined

    def check(self, delta: StockDelta) -> None:
        """Raise unless applying `delta` keeps every bucket and `available` non-negative."""
        on_hand = self.on_hand + delta.on_hand
        reserved = self.reserved + delta.reserved
        quarantined = self.quarantined + delta.quarantined
        in_transit = self.in_transit + delta.in_transit
        if on_hand - reserved - quarantined < 0 and (
            delta.reserved > 0 or delta.quarantined > 0 or delta.on_hand < 0
        ):
            raise InsufficientStock(
                [
                    {
                        "sku": self.sku,
                        "location": self.location,
                        "requested": max(delta.reserved, delta.quarantined, -delta.on_hand),
                        "available": self.available,
                    }
                ]
            )
        for name, value in (
            ("on_hand", on_hand),
            ("reserved", reserved),
            ("quarantined", quarantined),
            ("in_transit", in_transit),
        ):
            if value < 0:
                raise StockRuleBroken(
                    f"{self.sku}@{self.location}: {name} would become {value}", field="quantity"
                )

    def apply(self, delta: StockDelta) -> None:
        self.check(delta)
        self.on_hand += delta.on_hand
        self.reserved += delta.reserved
        self.quarantined += delta.quarantined
        self.in_transit += delta.in_transit
        self.version += 1


def delta_for(
    movement_type: MovementType, quantity: int, *, level: StockLevel | None = None
) -> StockDelta:
    """The effect of a movement of `quantity` units. A count needs the current level."""
    q = quantity
    match movement_type:
        case MovementType.RECEIPT:
            return StockDelta(on_hand=q)
        case MovementType.ADJUSTMENT:
            return StockDelta(on_hand=q)  # signed
        case MovementType.COUNT:
            if level is None:
                raise ValueError("a count needs the current level")
            return StockDelta(on_hand=q - level.on_hand)
        case MovementType.RESERVE:
            return StockDelta(reserved=q)
        case MovementType.RELEASE:
            return StockDelta(reserved=-q)
        case MovementType.SHIP:
            return StockDelta(on_hand=-q, reserved=-q)
        case MovementType.TRANSFER_OUT:
            return StockDelta(on_hand=-q)
        case MovementType.TRANSFER_DISPATCHED:
            return StockDelta(in_transit=q)
        case MovementType.TRANSFER_SHORTFALL:
            return StockDelta(in_transit=-q)
        case MovementType.QUARANTINE:
            return StockDelta(quarantined=q)
        case MovementType.QUARANTINE_RELEASE:
            return StockDelta(quarantined=-q)
        case MovementType.TRANSFER_IN:
            raise ValueError("transfer_in depends on the outstanding quantity: use Transfer")
    raise ValueError(f"unknown movement type {movement_type}")


# Why a release or a quarantine release was booked by a count: the shelf held fewer units
# than were promised and held back there.
COUNT_SHORTFALL = "count_shortfall"


@dataclass(frozen=True, slots=True)
class CountShortfall:
    """What a count below what is reserved and quarantined takes, and from whom.

    `cuts` are (reservation id, units) to take off the location's reservations; `quarantine`
    the units no longer held in quarantine. Applied with the count, they leave `reserved +
    quarantined <= counted`, so `available` is never negative.
    """

    cuts: tuple[tuple[int, int], ...] = ()
    quarantine: int = 0

    @property
    def reserved(self) -> int:
        return sum(units for _, units in self.cuts)


def count_shortfall(
    level: StockLevel, counted: int, holds: Iterable[tuple[int, int]]
) -> CountShortfall:
    """The stated policy when a count finds fewer units than are promised and held there.

    A count always records what was counted (quarantined units are counted too: they are
    physically there). When `counted < reserved + quarantined`, the difference is taken:

    1. from the location's reservations first, the one placed most recently first (highest
       reservation id), so the oldest promises are kept; a reservation loses only the units
       still needed, the next one the rest;
    2. from the quarantine only when the count is below the quarantined units alone: units
       under inspection sit apart from the selling shelf, where the loss was found.

    `holds` are (reservation id, units it holds of this SKU here), in any order; they add up
    to `level.reserved`.
    """
    missing = level.reserved + level.quarantined - counted
    if missing <= 0:
        return CountShortfall()
    from_reservations = min(missing, level.reserved)
    cuts: list[tuple[int, int]] = []
    for reservation_id, units in sorted(holds, key=lambda hold: -hold[0]):
        if from_reservations <= 0:
            break
        taken = min(units, from_reservations)
        if taken > 0:
            cuts.append((reservation_id, taken))
            from_reservations -= taken
    taken_from_reservations = sum(units for _, units in cuts)
    return CountShortfall(tuple(cuts), min(level.quarantined, missing - taken_from_reservations))


@dataclass(frozen=True, slots=True)
class MovementRequest:
    """One line of a command, before the database applies it."""

    type: MovementType
    sku: str
    location: str
    delta: StockDelta
    quantity: int
    reason: str | None = None
    counted: int | None = None


@dataclass(frozen=True, slots=True)
class Movement:
    """A ledger row: append-only."""

    id: int
    type: MovementType
    sku: str
    location: str
    delta: StockDelta
    quantity: int
    reason: str | None
    reference: str | None
    idempotency_key: str
    actor: str | None
    recorded_at: datetime
    counted: int | None = None


@dataclass(frozen=True, slots=True)
class ReservationLine:
    sku: str
    location: str
    quantity: int


def merge_reservation_lines(lines: Iterable[ReservationLine]) -> list[ReservationLine]:
    """Same (SKU, location) twice is one line; sorted so every writer locks in one order."""
    totals: dict[tuple[str, str], int] = {}
    for i, line in enumerate(lines):
        validate_quantity(line.quantity, field_name=f"lines[{i}].quantity")
        key = (line.sku, line.location)
        totals[key] = totals.get(key, 0) + line.quantity
    if not totals:
        raise InvalidInput("a reservation needs at least one line", field="lines")
    return [ReservationLine(sku, loc, qty) for (sku, loc), qty in sorted(totals.items())]


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    SHIPPED = "shipped"


@dataclass(frozen=True, slots=True)
class Reservation:
    id: int
    reference: str | None
    status: ReservationStatus
    lines: list[ReservationLine]
    idempotency_key: str
    created_at: datetime
    closed_at: datetime | None = None
    channel: str | None = None


# --------------------------------------------------------------------------- transfers


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


def replay(movements: Iterable[tuple[str, str, StockDelta]]) -> dict[tuple[str, str], StockDelta]:
    """Sum the ledger per (SKU, location): what the projection must equal."""
    totals: dict[tuple[str, str], StockDelta] = {}
    for sku, location, delta in movements:
        totals[(sku, location)] = totals.get((sku, location), StockDelta()) + delta
    return totals
