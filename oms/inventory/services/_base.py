"""The core every inventory use case shares.

`ServiceCore._apply` is the one write path to the ledger and the projection; the idempotency
claim, code resolution and the StockChanged events of a transaction live here with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from oms.idempotency import fingerprint
from oms.inventory.domain import (
    InsufficientStock,
    Movement,
    MovementRequest,
    SkuKind,
    StockBusy,
    StockDelta,
    StockLevel,
    StockRuleBroken,
)
from oms.inventory.ports import (
    InventoryStore,
    InventoryUnitOfWork,
    ReservationShortfallHandler,
)
from oms.inventory.services.results import MovementResult
from oms.shared.bounds import MAX_SMALL_ID, parse_id
from oms.shared.clock import utcnow
from oms.shared.errors import IdempotencyKeyReused, InvalidInput
from oms.shared.events import DomainEvent, EventName
from oms.shared.transaction import retry_transaction

STOCK_CHANGED = EventName.STOCK_CHANGED
MAX_PAGE = 500
BUSY_ATTEMPTS = 10

T = TypeVar("T")


def retry_when_busy(
    transaction: Callable[[Sequence[StockBusy]], T], attempts: int = BUSY_ATTEMPTS
) -> T:
    """`retry_transaction`, each try told the orders the earlier ones gave way to (a count
    that could not take an order's lock): it waits for those first, in the writers' order."""
    return retry_transaction(
        lambda earlier: transaction([b for b in earlier if isinstance(b, StockBusy)]), attempts
    )


def _clamp_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


def _int_cursor(cursor: str | None) -> int:
    # Locations and SKUs have INTEGER ids.
    return parse_id(cursor, "cursor", upper=MAX_SMALL_ID) or 0


class ServiceCore:
    """State and write path shared by the use-case mixins of `InventoryService`."""

    def __init__(
        self,
        uow: Callable[[], InventoryUnitOfWork],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._shortfall_handler: ReservationShortfallHandler | None = None
        # Codes' ids and SKUs' kinds as found, remembered by the process (they never change).
        self._known_skus: dict[str, tuple[int, SkuKind]] = {}
        self._known_locations: dict[str, int] = {}

    def handle_shortfalls_with(self, handler: ReservationShortfallHandler) -> None:
        """Who is told, in the count's transaction, which reservations a count cut (the
        orders' fulfilment, wired where the services are built). Without one, a cut
        reservation is just smaller: right for standalone reservations only."""
        self._shortfall_handler = handler

    @staticmethod
    def _check_key(key: str | None) -> str:
        if key is None or not key.strip():
            raise InvalidInput("an Idempotency-Key header is required", field="Idempotency-Key")
        key = key.strip()
        if len(key) > 200:
            raise InvalidInput(
                "Idempotency-Key must be at most 200 characters", field="Idempotency-Key"
            )
        return key

    def _claim(
        self,
        store: InventoryStore,
        key: str,
        operation: str,
        body: Any,
        now: datetime,
        caller: str | None = None,
    ) -> Any:
        fp = fingerprint(operation, body, caller)
        prior = store.claim_key(key, operation, fp, now)
        if prior is None:
            return None
        prior_fp, prior_result = prior
        if prior_fp != fp:
            raise IdempotencyKeyReused(key)
        return prior_result if prior_result is not None else {}

    @staticmethod
    def _resolve_one(store: InventoryStore, sku: str, location: str) -> tuple[int, int]:
        sku_ids, location_ids = ServiceCore._resolve(store, [sku], [location], "")
        return sku_ids[sku], location_ids[location]

    @staticmethod
    def _resolve(
        store: InventoryStore,
        sku_codes: Sequence[str],
        location_codes: Sequence[str],
        prefix: str,
        *,
        field_names: Sequence[tuple[str, str]] | None = None,
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Codes to ids; unknown codes and bundles (which hold no stock) are refused."""
        refs, location_ids = store.refs(sku_codes, location_codes)
        for i, code in enumerate(sku_codes):
            where = f"{prefix}[{i}].sku" if prefix else "sku"
            if code not in refs:
                raise InvalidInput(f"SKU {code!r} does not exist", field=where)
            if refs[code][1] is SkuKind.BUNDLE:
                raise InvalidInput(
                    f"{code} is a bundle: it holds no stock of its own, move its components",
                    field=where,
                )
        for i, code in enumerate(location_codes):
            if code not in location_ids:
                where = f"{prefix}[{i}].location" if prefix else "location"
                if field_names is not None:
                    where = field_names[i][1]
                raise InvalidInput(f"location {code!r} does not exist", field=where)
        return {c: r[0] for c, r in refs.items()}, location_ids

    def _apply(
        self,
        store: InventoryStore,
        requests: Sequence[tuple[MovementRequest, int, int]],
        *,
        key: str,
        reference: str | None,
        actor: str | None,
        now: datetime,
        events: _PendingEvents | None = None,
        first_seq: int = 0,
    ) -> MovementResult:
        """Append the ledger rows, update the projection, and write one StockChanged per SKU.

        With `events`, the StockChanged rows are collected there for the caller to write once
        for its whole transaction.

        Locks are taken in one fixed order, stock rows by (sku_id, location_id) then SKU rows
        by id, so concurrent multi-line commands cannot deadlock.
        """
        ids = store.add_movements(
            requests, key=key, reference=reference, actor=actor, now=now, first_seq=first_seq
        )
        totals: dict[tuple[int, int], StockDelta] = {}
        codes: dict[tuple[int, int], tuple[str, str]] = {}
        for request, sku_id, location_id in requests:
            pair = (sku_id, location_id)
            totals[pair] = totals.get(pair, StockDelta()) + request.delta
            codes[pair] = (request.sku, request.location)
        # A missing level row is made only when the delta applies to an empty level (a
        # receipt, a return into quarantine); anything else is refused below.
        creatable = [
            pair
            for pair, d in totals.items()
            if min(d.on_hand, d.reserved, d.quarantined, d.in_transit) >= 0
            and d.on_hand - d.reserved - d.quarantined >= 0
            and (d.on_hand > 0 or d.in_transit > 0)
        ]
        store.ensure_levels(creatable, now)
        levels: list[StockLevel] = []
        refused: list[tuple[tuple[str, str], StockDelta]] = []
        for pair in sorted(totals):
            delta = totals[pair]
            if delta.is_zero:
                continue
            after = store.apply_delta(pair[0], pair[1], delta, now)
            if after is None:
                refused.append((codes[pair], delta))
                continue
            sku, location = codes[pair]
            levels.append(StockLevel(sku, location, *after))
        if refused:
            self._raise_refusal(store, refused)
        pending = events if events is not None else _PendingEvents()
        for level in levels:
            sku_id = next(pair[0] for pair, code in codes.items() if code[0] == level.sku)
            pending.add(sku_id, level, {r.type.value for r, _, _ in requests}, reference)
            if any(
                pair[0] == sku_id and d.on_hand - d.reserved - d.quarantined
                for pair, d in totals.items()
            ):
                pending.available_moved.add(sku_id)
        if events is None:
            pending.flush(store, now)
        movements = [
            Movement(
                id=movement_id,
                type=request.type,
                sku=request.sku,
                location=request.location,
                delta=request.delta,
                quantity=request.quantity,
                reason=request.reason,
                reference=reference,
                idempotency_key=key,
                actor=actor,
                recorded_at=now,
                counted=request.counted,
            )
            for movement_id, (request, _, _) in zip(ids, requests, strict=True)
        ]
        return MovementResult(movements, levels)

    @staticmethod
    def _raise_refusal(
        store: InventoryStore, refused: list[tuple[tuple[str, str], StockDelta]]
    ) -> None:
        current = {
            (lv.sku, lv.location): lv
            for lv in store.levels(sku_codes=sorted({sku for (sku, _), _ in refused}))
        }
        shortages: list[dict[str, Any]] = []
        for (sku, location), delta in refused:
            level = current.get((sku, location), StockLevel(sku, location))
            try:
                level.check(delta)
            except InsufficientStock as short:
                shortages.extend(short.shortages)
                continue
            except StockRuleBroken:
                raise
            # Passed in Python but refused by the database: a row lock race; report it.
            shortages.append(
                {"sku": sku, "location": location, "requested": 0, "available": level.available}
            )
        raise InsufficientStock(shortages)


# --------------------------------------------------------------------------- helpers


@dataclass
class _PendingEvents:
    """StockChanged events of one transaction: one per SKU, with its latest levels."""

    levels: dict[str, tuple[int, dict[str, StockLevel]]] = field(default_factory=dict)
    # SKUs whose available stock moved: only those can change a channel's number (a return
    # into quarantine or a write-off out of it leaves available as it was).
    available_moved: set[int] = field(default_factory=set)
    movement_types: set[str] = field(default_factory=set)
    references: set[str | None] = field(default_factory=set)

    def add(
        self, sku_id: int, level: StockLevel, movement_types: set[str], reference: str | None
    ) -> None:
        self.levels.setdefault(level.sku, (sku_id, {}))[1][level.location] = level
        self.movement_types |= movement_types
        self.references.add(reference)

    def flush(self, store: InventoryStore, now: datetime) -> None:
        """Number and write the events. SKU rows are locked last, in id order (see _apply).

        Only SKUs that get an event are numbered (a zero-variance count gets none): a gap in
        a SKU's sequence would look like a lost event to its consumers.
        """
        if not self.levels:
            return
        seqs = store.bump_event_seqs(sku_id for sku_id, _ in self.levels.values())
        reference = next(iter(self.references)) if len(self.references) == 1 else None
        store.add_events(
            [
                (
                    DomainEvent(
                        STOCK_CHANGED,
                        sku,
                        {
                            "sku": sku,
                            "sequence": seqs[sku_id],
                            "levels": [_level_json(lv) for _, lv in sorted(by_location.items())],
                            "movement_types": sorted(self.movement_types),
                            "reference": reference,
                            "at": now.isoformat(),
                        },
                    ),
                    seqs[sku_id],
                )
                for sku, (sku_id, by_location) in sorted(self.levels.items())
            ],
            now,
        )
        store.stock_changed(self.available_moved)
        self.levels.clear()
        self.available_moved.clear()


def _check_text(value: str | None, field_name: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{field_name} must be at most {limit} characters", field=field_name)
    return value or None


def _reservation_ref(reservation_id: int, reference: str | None) -> str:
    return f"reservation:{reservation_id}" + (f" {reference}" if reference else "")


def _level_json(level: StockLevel) -> dict[str, Any]:
    return {
        "location": level.location,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "quarantined": level.quarantined,
        "in_transit": level.in_transit,
        "available": level.available,
        "version": level.version,
        "sku": level.sku,
    }
