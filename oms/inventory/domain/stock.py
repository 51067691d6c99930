"""Stock levels and the movements that change them: receipts, adjustments, counts, reservations,
shipping, quarantine.

Pure: no I/O. The database enforces the same stock rules again (conditional UPDATE and
CHECK constraints) because concurrent writers never see each other's Python objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from oms.inventory.domain.catalogue import MAX_MOVEMENT_QUANTITY, validate_quantity
from oms.shared.errors import Conflict, GaveWay, InvalidInput


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
    # Booked by other contexts inside their own transactions, never entered by hand:
    RETURN_RECEIPT = "return_receipt"  # a returned item arrives straight into quarantine
    WRITE_OFF = "write_off"  # a quarantined item leaves stock (disposed of, sold as a unit)
    PART_USED = "part_used"  # a spare part consumed by a repair


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


# --------------------------------------------------------------------------- catalogue


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


class StockBusy(GaveWay):
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
        case MovementType.RETURN_RECEIPT:
            return StockDelta(on_hand=q, quarantined=q)
        case MovementType.WRITE_OFF:
            return StockDelta(on_hand=-q, quarantined=-q)
        case MovementType.PART_USED:
            return StockDelta(on_hand=-q)
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
        field = f"lines[{i}].quantity"
        validate_quantity(line.quantity, field_name=field)
        key = (line.sku, line.location)
        totals[key] = totals.get(key, 0) + line.quantity
        if totals[key] > MAX_MOVEMENT_QUANTITY:
            # The merged line is what is written (a reservation line, a ledger row): bounded
            # like one line, so it never passes what a column holds on either database.
            raise InvalidInput(
                f"{field}: the lines for {line.sku} at {line.location} add up to "
                f"{totals[key]:,}, more than the {MAX_MOVEMENT_QUANTITY:,} one line may hold",
                field=field,
            )
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


def replay(movements: Iterable[tuple[str, str, StockDelta]]) -> dict[tuple[str, str], StockDelta]:
    """Sum the ledger per (SKU, location): what the projection must equal."""
    totals: dict[tuple[str, str], StockDelta] = {}
    for sku, location, delta in movements:
        totals[(sku, location)] = totals.get((sku, location), StockDelta()) + delta
    return totals


def admit_reservations(
    asks: Sequence[Sequence[ReservationLine]], available: Mapping[tuple[str, str], int]
) -> tuple[list[bool], list[list[dict[str, Any]]]]:
    """Reservations taken together, first come first served: each all or nothing against what
    the earlier ones admitted left (`available` = on_hand - reserved - quarantined now).

    Returns, per ask, whether it is admitted and, if not, its shortages (the `InsufficientStock`
    detail: what it asked and what was left for it).
    """
    left = dict(available)
    admitted: list[bool] = []
    shortages: list[list[dict[str, Any]]] = []
    for lines in asks:
        need: dict[tuple[str, str], int] = {}
        for ln in lines:  # the same (SKU, location) twice counts once, summed
            need[(ln.sku, ln.location)] = need.get((ln.sku, ln.location), 0) + ln.quantity
        short = [
            {
                "sku": sku,
                "location": location,
                "requested": units,
                "available": max(0, left.get((sku, location), 0)),
            }
            for (sku, location), units in need.items()
            if left.get((sku, location), 0) < units
        ]
        if not short:
            for pair, units in need.items():
                left[pair] -= units
        admitted.append(not short)
        shortages.append(short)
    return admitted, shortages
