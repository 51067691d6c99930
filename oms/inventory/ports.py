"""What the inventory services need from storage. `repository.SqlInventory` provides it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from oms.inventory.domain import (
    Discrepancy,
    Location,
    Movement,
    MovementRequest,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Sku,
    SkuKind,
    StockBusy,
    StockDelta,
    StockLevel,
    Transfer,
)
from oms.shared.events import DomainEvent
from oms.shared.transaction import Transaction


@dataclass(frozen=True, slots=True)
class SkuFacts:
    """What channel rules look at on a SKU: its kind, attributes and bundle policy."""

    id: int
    code: str
    kind: SkuKind
    attributes: dict[str, Any]
    ship_together: bool


class StockListener(Protocol):
    """Told, inside the transaction, what the transaction changed (channels keep their
    published numbers current with it). Called before commit; never commits itself."""

    def stock_changed(self, sku_ids: Iterable[int]) -> None: ...
    def catalogue_changed(self, sku_ids: Iterable[int] | None) -> None: ...


class RingFence(Protocol):
    """Stock that a reservation may not take although it is available: units held for
    someone else (the channels' ring-fenced pools). The inventory asks; it does not know why.
    Called in the reserving transaction, after the stock rows of the fenced SKUs are locked."""

    def knows(self, channel: str) -> bool:
        """Whether `channel` is a channel's code (a reservation may only name one)."""
        ...

    def fenced_skus(self, skus: Iterable[str]) -> set[str]:
        """Those of `skus` that anything is held back of; only they need `claim`."""
        ...

    def held_back(self, channel: str | None, skus: Iterable[str]) -> dict[str, dict[str, int]]:
        """SKU -> location -> units a reservation for `channel` must leave there."""
        ...

    def claim(
        self, channel: str | None, reservation_id: int, lines: Sequence[ReservationLine]
    ) -> None:
        """Check the lines (already merged) against what is held back, raising
        `InsufficientStock` naming each line it would break, then book what they draw from
        their channel's own holding. The caller rolls back on the error."""
        ...

    def released(self, reservation_id: int) -> None:
        """The reservation was released: what it drew is held again."""
        ...

    def cut(self, reservation_id: int, sku: str, units: int) -> None:
        """A count took `units` of `sku` off the reservation (they are gone from the shelf):
        as far as it drew them from a pool, the pool holds them again, so the order that
        loses them can draw them anew wherever they are sourced from."""
        ...


@dataclass(frozen=True, slots=True)
class ReservationHold:
    """Units one active reservation holds of a SKU at a location."""

    reservation_id: int
    reference: str | None
    quantity: int


@dataclass(frozen=True, slots=True)
class ReservationCut:
    """Units a count took off one reservation: the shelf had fewer than were promised."""

    reservation_id: int
    reference: str | None
    sku: str
    location: str
    quantity: int  # units taken off
    remaining: int  # units of this SKU the reservation still holds there


@dataclass(frozen=True, slots=True)
class StockShortfall:
    """A count that found fewer units than were reserved there, and the reservations it cut
    (see `oms.inventory.domain.count_shortfall` for which, and why)."""

    sku: str
    location: str
    counted: int
    cuts: tuple[ReservationCut, ...]
    actor: str | None
    at: datetime


class ReservationShortfallHandler(Protocol):
    """Told, inside the count's transaction and after the count and the cuts are booked, which
    reservations a count cut. The orders implement it (their parcels lose the units, which are
    sourced elsewhere or wait as backorders); a reservation that is no order's is simply
    smaller. It writes in `uow`'s transaction and never commits.

    The count holds the stock row's lock when it calls: whatever else it must lock (an order)
    is taken without waiting, or `StockBusy` is raised and the count tried again, since the
    writers of an order take its lock before the stock's."""

    def wait_for(self, uow: InventoryUnitOfWork, busy: Sequence[StockBusy]) -> None:
        """A count tried again, before it locks the stock row: wait for what the earlier tries
        gave way to (lock those orders, in the order their writers take them)."""
        ...

    def reservations_cut(self, uow: InventoryUnitOfWork, shortfall: StockShortfall) -> None: ...


class InventoryStore(Protocol):
    # Told of every change in the transaction; the unit of work wires it.
    listener: StockListener | None
    # Asked before a reservation takes stock; the unit of work wires it (None: nothing held).
    fence: RingFence | None

    def claim_keys(self, claims: Sequence[tuple[str, str, str]], now: datetime) -> set[str]: ...
    def prior_reservations(self, keys: Sequence[str]) -> dict[str, tuple[str, int | None]]: ...
    def add_reservations(
        self, rows: Sequence[tuple[str | None, str, str | None, str | None]], now: datetime
    ) -> list[int]: ...
    def add_lines(self, lines: Sequence[tuple[int, int, int, int]]) -> None: ...
    def lock_levels(
        self, pairs: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], tuple[int, int, int, int, int]]: ...
    def apply_deltas(
        self, changes: Sequence[tuple[int, int, StockDelta]], now: datetime
    ) -> int: ...
    def add_movement_groups(
        self,
        groups: Sequence[
            tuple[Sequence[tuple[MovementRequest, int, int]], str, str | None, str | None]
        ],
        now: datetime,
    ) -> None: ...

    def claim_key(
        self, key: str, operation: str, fp: str, now: datetime
    ) -> tuple[str, Any] | None: ...
    def store_result(self, key: str, result: Any) -> None: ...
    def fingerprints(self, keys: Iterable[str]) -> dict[str, str]: ...

    def add_location(self, location: Location) -> int: ...
    def update_location(self, location: Location) -> None: ...
    def location_by_code(self, code: str) -> Location | None: ...
    def list_locations(self, after_id: int, limit: int) -> list[Location]: ...
    def location_ids(self, codes: Iterable[str]) -> dict[str, int]: ...

    def add_sku(self, sku: Sku, component_ids: dict[str, int]) -> int: ...
    def update_sku(self, sku: Sku, component_ids: dict[str, int], now: datetime) -> None: ...
    def sku_by_code(self, code: str) -> Sku | None: ...
    def sku_names(self, codes: Iterable[str]) -> dict[str, str]: ...
    def list_skus(self, after_id: int, limit: int, kind: SkuKind | None = None) -> list[Sku]: ...
    def sku_refs(self, codes: Iterable[str]) -> dict[str, tuple[int, SkuKind]]: ...
    def refs(
        self, sku_codes: Iterable[str], location_codes: Iterable[str]
    ) -> tuple[dict[str, tuple[int, SkuKind]], dict[str, int]]: ...
    def barcode_owner(self, barcode: str) -> str | None: ...
    def bundle_contents(self) -> dict[str, list[str]]: ...
    def flattened_requirements(self, bundle_id: int) -> dict[str, int]: ...

    def skus_by_attributes(self) -> list[tuple[str, list[int], list[str]]]: ...
    def bundle_rows(self) -> list[tuple[str, bool]]: ...
    def all_bundle_components(self) -> list[tuple[str, str, int]]: ...
    def active_location_codes(self) -> set[str]: ...
    def active_location_ids(self) -> dict[int, str]: ...
    def available_by_location(self, location_ids: Iterable[int]) -> dict[int, dict[int, int]]: ...

    def levels(
        self,
        *,
        sku_codes: Sequence[str] | None = None,
        location_code: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[StockLevel]: ...
    def lock_level(self, sku_id: int, location_id: int) -> StockLevel | None: ...
    def ensure_levels(self, pairs: Iterable[tuple[int, int]], now: datetime) -> None: ...
    def apply_delta(
        self, sku_id: int, location_id: int, delta: StockDelta, now: datetime
    ) -> tuple[int, int, int, int, int] | None: ...
    def bump_event_seqs(self, sku_ids: Iterable[int]) -> dict[int, int]: ...
    def stock_changed(self, sku_ids: Iterable[int]) -> None: ...
    def catalogue_changed(self, sku_ids: Iterable[int] | None) -> None: ...

    # What channel publication reads and locks, in the writing transaction.
    def sku_facts(self, sku_ids: Iterable[int]) -> dict[int, SkuFacts]: ...
    def sku_ids_by_code(self, codes: Iterable[str]) -> dict[str, int]: ...
    def all_sku_ids(self) -> list[int]: ...
    def bundle_edges(self) -> list[tuple[int, int, int]]: ...
    def available_by_sku(self, sku_ids: Iterable[int]) -> dict[int, dict[str, int]]: ...
    def sold_since(
        self, channels: Iterable[str], sku_ids: Iterable[int], since: datetime
    ) -> dict[tuple[str, int], int]: ...
    def sold_since_by_code(
        self, channels: Iterable[str], since: datetime
    ) -> dict[tuple[str, str], int]: ...
    def lock_skus(self, sku_ids: Iterable[int]) -> None: ...
    def lock_stock(
        self, pairs: Iterable[tuple[str, str]], whole_skus: Iterable[str] = ()
    ) -> None: ...
    def lock_catalogue(self) -> None: ...
    def add_events(self, events: Sequence[tuple[DomainEvent, int]], now: datetime) -> None: ...

    def add_movements(
        self,
        entries: Sequence[tuple[MovementRequest, int, int]],
        *,
        key: str,
        reference: str | None,
        actor: str | None,
        now: datetime,
        first_seq: int = 0,
    ) -> list[int]: ...
    def movement_rows_for_key(self, key: str) -> list[Movement]: ...
    def ledger(
        self,
        *,
        sku_id: int | None,
        location_id: int | None,
        before_id: int | None,
        until: datetime | None,
        limit: int,
    ) -> list[Movement]: ...
    def sums_as_of(self, sku_id: int, at: datetime) -> dict[str, StockDelta]: ...
    def verify_rows(self) -> list[dict[str, Any]]: ...
    def count_levels_and_movements(self) -> tuple[int, int]: ...

    def reservation(self, reservation_id: int, *, lock: bool = False) -> Reservation | None: ...
    def reservation_lines(self, reservation_id: int) -> list[tuple[int, int, ReservationLine]]: ...
    def close_reservation(
        self, reservation_id: int, status: ReservationStatus, now: datetime
    ) -> bool: ...
    def reservations_at(
        self, sku_id: int, location_id: int, *, lock: bool = True
    ) -> list[ReservationHold]:
        """The active reservations holding this SKU at this location, newest first; `lock`:
        under a row lock (PostgreSQL), to be taken after the stock row's."""
        ...

    def cut_reservation(
        self, reservation_id: int, sku_id: int, location_id: int, quantity: int, now: datetime
    ) -> int:
        """Take `quantity` units off the reservation's line; returns what the line still
        holds. A line left empty goes, and a reservation left with no line is released."""
        ...

    def add_transfer(
        self, transfer: Transfer, ids: dict[str, int], sku_ids: dict[str, int], actor: str | None
    ) -> int: ...
    def transfer(self, transfer_id: int, *, lock: bool = False) -> Transfer | None: ...
    def save_transfer(
        self,
        transfer: Transfer,
        sku_ids: dict[str, int],
        new_discrepancies: Sequence[Discrepancy],
        now: datetime,
    ) -> None: ...


class InventoryUnitOfWork(Transaction, Protocol):
    @property
    def inventory(self) -> InventoryStore: ...
