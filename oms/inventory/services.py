"""Inventory use cases, shared by the HTTP API, the CLI and the workers.

Every write runs in one transaction: idempotency claim, ledger rows, the conditional updates of
the projection and the outbox events commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from oms.idempotency import fingerprint
from oms.inventory.domain import (
    AdjustmentReason,
    BundleComponent,
    InsufficientStock,
    Location,
    LocationKind,
    Movement,
    MovementRequest,
    MovementType,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Sku,
    SkuKind,
    StockDelta,
    StockLevel,
    StockRuleBroken,
    Transfer,
    bundle_units,
    check_bundle_components,
    check_count,
    check_no_bundle_cycle,
    delta_for,
    merge_reservation_lines,
    validate_barcode,
    validate_code,
    validate_postal_code,
    validate_prefecture,
    validate_quantity,
)
from oms.inventory.ports import InventoryStore, InventoryUnitOfWork
from oms.shared.clock import as_utc, utcnow
from oms.shared.errors import Conflict, DomainError, IdempotencyKeyReused, InvalidInput, NotFound
from oms.shared.events import DomainEvent

T = TypeVar("T")
STOCK_CHANGED = "StockChanged"
MAX_PAGE = 500

# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class CreateLocation:
    code: str
    name: str
    kind: str
    prefecture: str | int
    postal_code: str
    ships_to_customers: bool = True
    active: bool = True


@dataclass(frozen=True, slots=True)
class CreateSku:
    code: str
    name: str
    kind: str = "simple"
    barcode: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    components: list[tuple[str, int]] = field(default_factory=list)
    ship_together: bool = True


@dataclass(frozen=True, slots=True)
class UpdateSku:
    code: str
    name: str | None = None
    barcode: str | None = None
    clear_barcode: bool = False
    attributes: dict[str, Any] | None = None
    components: list[tuple[str, int]] | None = None
    ship_together: bool | None = None


@dataclass(frozen=True, slots=True)
class RecordMovement:
    """A receipt, adjustment, count, quarantine or quarantine release entered by a person."""

    type: str
    sku: str
    location: str
    quantity: int
    idempotency_key: str
    reason: str | None = None
    reference: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ReserveStock:
    lines: list[ReservationLine]
    reference: str | None = None
    idempotency_key: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class CreateTransfer:
    source: str
    destination: str
    lines: list[tuple[str, int]]
    reference: str | None = None
    idempotency_key: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiveTransfer:
    transfer_id: int
    lines: list[tuple[str, int]]
    close: bool = False
    idempotency_key: str | None = None
    actor: str | None = None


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class MovementResult:
    movements: list[Movement]
    levels: list[StockLevel]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class ReservationResult:
    reservation: Reservation
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class TransferResult:
    transfer: Transfer
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class LocationStock:
    location: str
    on_hand: int
    reserved: int
    quarantined: int
    in_transit: int
    available: int


@dataclass(frozen=True, slots=True)
class SkuStock:
    """A SKU's stock everywhere. For a bundle, `available` is derived from its components."""

    sku: str
    kind: SkuKind
    locations: list[LocationStock]
    total: LocationStock
    components: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LedgerDifference:
    sku: str
    location: str
    projection: StockDelta
    ledger: StockDelta


@dataclass(frozen=True, slots=True)
class VerifyReport:
    levels: int
    movements: int
    differences: list[LedgerDifference]

    @property
    def clean(self) -> bool:
        return not self.differences


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


_PERSON_MOVEMENTS = {
    MovementType.RECEIPT,
    MovementType.ADJUSTMENT,
    MovementType.COUNT,
    MovementType.QUARANTINE,
    MovementType.QUARANTINE_RELEASE,
}


def _clamp_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


def _int_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit():
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return int(cursor)


class InventoryService:
    """Use cases of the inventory. One instance per process; each call is one transaction."""

    def __init__(
        self,
        uow: Callable[[], InventoryUnitOfWork],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._clock = clock

    # ------------------------------------------------------------------ locations

    def create_location(self, cmd: CreateLocation) -> Location:
        try:
            kind = LocationKind(cmd.kind)
        except ValueError:
            kinds = ", ".join(k.value for k in LocationKind)
            raise InvalidInput(f"kind must be one of {kinds}", field="kind") from None
        name = cmd.name.strip()
        if not name:
            raise InvalidInput("name must not be empty", field="name")
        location = Location(
            code=validate_code(cmd.code),
            name=name,
            kind=kind,
            prefecture=validate_prefecture(cmd.prefecture),
            postal_code=validate_postal_code(cmd.postal_code),
            ships_to_customers=cmd.ships_to_customers,
            active=cmd.active,
            created_at=self._clock(),
        )
        with self._uow() as uow:
            if uow.inventory.location_by_code(location.code) is not None:
                raise Conflict(f"location {location.code} already exists", field="code")
            location.id = uow.inventory.add_location(location)
            uow.commit()
        return location

    def get_location(self, code: str) -> Location:
        with self._uow() as uow:
            location = uow.inventory.location_by_code(code)
        if location is None:
            raise NotFound(f"no location {code!r}", field="code")
        return location

    def list_locations(self, cursor: str | None = None, limit: int = 100) -> Page[Location]:
        limit = _clamp_limit(limit)
        with self._uow() as uow:
            items = uow.inventory.list_locations(_int_cursor(cursor), limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more and items else None)

    # ------------------------------------------------------------------ SKUs

    def create_sku(self, cmd: CreateSku) -> Sku:
        try:
            kind = SkuKind(cmd.kind)
        except ValueError:
            raise InvalidInput("kind must be simple or bundle", field="kind") from None
        name = cmd.name.strip()
        if not name:
            raise InvalidInput("name must not be empty", field="name")
        code = validate_code(cmd.code)
        sku = Sku(
            code=code,
            name=name,
            kind=kind,
            barcode=validate_barcode(cmd.barcode) if cmd.barcode else None,
            attributes=dict(cmd.attributes),
            components=[BundleComponent(s, q) for s, q in cmd.components],
            ship_together=cmd.ship_together,
            created_at=self._clock(),
        )
        with self._uow() as uow:
            store = uow.inventory
            if store.sku_by_code(code) is not None:
                raise Conflict(f"SKU {code} already exists", field="code")
            self._check_barcode_free(store, sku.barcode, code)
            component_ids = self._component_ids(store, sku)
            sku.id = store.add_sku(sku, component_ids)
            uow.commit()
        return sku

    def update_sku(self, cmd: UpdateSku) -> Sku:
        with self._uow() as uow:
            store = uow.inventory
            sku = store.sku_by_code(cmd.code)
            if sku is None:
                raise NotFound(f"no SKU {cmd.code!r}", field="code")
            if cmd.name is not None:
                if not cmd.name.strip():
                    raise InvalidInput("name must not be empty", field="name")
                sku.name = cmd.name.strip()
            if cmd.clear_barcode:
                sku.barcode = None
            elif cmd.barcode is not None:
                sku.barcode = validate_barcode(cmd.barcode)
                self._check_barcode_free(store, sku.barcode, sku.code)
            if cmd.attributes is not None:
                sku.attributes = dict(cmd.attributes)
            if cmd.ship_together is not None:
                sku.ship_together = cmd.ship_together
            if cmd.components is not None:
                if not sku.is_bundle:
                    raise InvalidInput("only a bundle has components", field="components")
                sku.components = [BundleComponent(s, q) for s, q in cmd.components]
                check_bundle_components(sku.code, sku.components)
            component_ids = self._component_ids(store, sku)
            store.update_sku(sku, component_ids, self._clock())
            uow.commit()
        return sku

    @staticmethod
    def _check_barcode_free(store: InventoryStore, barcode: str | None, code: str) -> None:
        if barcode:
            owner = store.barcode_owner(barcode)
            if owner is not None and owner != code:
                raise Conflict(f"barcode {barcode} already belongs to {owner}", field="barcode")

    @staticmethod
    def _component_ids(store: InventoryStore, sku: Sku) -> dict[str, int]:
        if not sku.is_bundle:
            return {}
        refs = store.sku_refs(c.sku for c in sku.components)
        for i, component in enumerate(sku.components):
            if component.sku not in refs:
                raise InvalidInput(
                    f"component SKU {component.sku!r} does not exist",
                    field=f"components[{i}].sku",
                )
        check_no_bundle_cycle(sku.code, [c.sku for c in sku.components], store.bundle_contents())
        return {code: ref[0] for code, ref in refs.items()}

    def get_sku(self, code: str) -> Sku:
        with self._uow() as uow:
            sku = uow.inventory.sku_by_code(code)
        if sku is None:
            raise NotFound(f"no SKU {code!r}", field="code")
        return sku

    def list_skus(
        self, cursor: str | None = None, limit: int = 100, kind: str | None = None
    ) -> Page[Sku]:
        limit = _clamp_limit(limit)
        try:
            parsed = SkuKind(kind) if kind else None
        except ValueError:
            raise InvalidInput("kind must be simple or bundle", field="kind") from None
        with self._uow() as uow:
            items = uow.inventory.list_skus(_int_cursor(cursor), limit + 1, parsed)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more and items else None)

    # ------------------------------------------------------------------ movements

    def record_movement(self, cmd: RecordMovement) -> MovementResult:
        """A receipt, adjustment, count or quarantine, once per idempotency key."""
        now = self._clock()
        with self._uow() as uow:
            result = self._record_in(uow.inventory, cmd, now)
            if not result.replayed:
                uow.commit()
        return result

    def record_movements(self, cmds: Sequence[RecordMovement]) -> list[MovementResult]:
        """Several person-entered movements (e.g. a stock file) in ONE transaction: all or none.

        Each keeps its own idempotency key, so re-running the same batch changes nothing.
        A refused movement raises with `extra["index"]` naming its position. Rows are applied
        in the writers' lock order (SKU id, location id), and each SKU gets one StockChanged
        for the whole batch.
        """
        now = self._clock()
        results: dict[int, MovementResult] = {}
        with self._uow() as uow:
            store = uow.inventory
            sku_ids = {c: r[0] for c, r in store.sku_refs({c.sku for c in cmds}).items()}
            location_ids = store.location_ids({c.location for c in cmds})
            unknown = 1 << 62  # unknown codes sort last; their command raises when reached
            order = sorted(
                range(len(cmds)),
                key=lambda i: (
                    sku_ids.get(cmds[i].sku, unknown),
                    location_ids.get(cmds[i].location, unknown),
                    i,
                ),
            )
            events = _PendingEvents()
            for index in order:
                try:
                    results[index] = self._record_in(store, cmds[index], now, events)
                except DomainError as error:
                    error.extra.setdefault("index", index)
                    raise
            events.flush(store, now)
            uow.commit()
        return [results[i] for i in range(len(cmds))]

    def _record_in(
        self,
        store: InventoryStore,
        cmd: RecordMovement,
        now: datetime,
        events: _PendingEvents | None = None,
    ) -> MovementResult:
        movement_type = _person_movement_type(cmd.type)
        reason = self._check_movement_input(movement_type, cmd)
        key = self._check_key(cmd.idempotency_key)
        reference = _check_text(cmd.reference, "reference", 200)
        body = {
            "type": movement_type.value,
            "sku": cmd.sku,
            "location": cmd.location,
            "quantity": cmd.quantity,
            "reason": reason,
            "reference": reference,
        }
        prior = self._claim(store, key, "stock.movement", body, now)
        if prior is not None:
            return self._replayed_movement(store, key, prior)
        sku_id, location_id = self._resolve_one(store, cmd.sku, cmd.location)
        counted: int | None = None
        if movement_type is MovementType.COUNT:
            store.ensure_levels([(sku_id, location_id)], now)
            level = store.lock_level(sku_id, location_id)
            if level is None:  # ensure_levels just made it
                raise RuntimeError(f"stock level of {cmd.sku}@{cmd.location} vanished")
            check_count(level, cmd.quantity)
            delta = delta_for(movement_type, cmd.quantity, level=level)
            counted = cmd.quantity
            quantity = delta.on_hand  # the variance
        else:
            delta = delta_for(movement_type, cmd.quantity)
            quantity = cmd.quantity
        request = MovementRequest(
            movement_type, cmd.sku, cmd.location, delta, quantity, reason, counted
        )
        result = self._apply(
            store,
            [(request, sku_id, location_id)],
            key=key,
            reference=reference,
            actor=cmd.actor,
            now=now,
            events=events,
        )
        store.store_result(key, {"levels": [_level_json(lv) for lv in result.levels]})
        return result

    @staticmethod
    def _check_movement_input(movement_type: MovementType, cmd: RecordMovement) -> str | None:
        if isinstance(cmd.quantity, bool) or not isinstance(cmd.quantity, int):
            raise InvalidInput("quantity must be an integer", field="quantity")
        if movement_type is MovementType.ADJUSTMENT:
            if cmd.quantity == 0:
                raise InvalidInput("an adjustment must change the quantity", field="quantity")
            validate_quantity(abs(cmd.quantity))
            if not cmd.reason:
                reasons = ", ".join(r.value for r in AdjustmentReason)
                raise InvalidInput(f"an adjustment needs a reason: {reasons}", field="reason")
            try:
                return AdjustmentReason(cmd.reason).value
            except ValueError:
                reasons = ", ".join(r.value for r in AdjustmentReason)
                raise InvalidInput(f"reason must be one of {reasons}", field="reason") from None
        if movement_type is MovementType.COUNT:
            validate_quantity(cmd.quantity, allow_zero=True)
        else:
            validate_quantity(cmd.quantity)
        if cmd.reason is not None and len(cmd.reason) > 64:
            raise InvalidInput("reason must be at most 64 characters", field="reason")
        return cmd.reason

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
        self, store: InventoryStore, key: str, operation: str, body: Any, now: datetime
    ) -> Any:
        fp = fingerprint(operation, body)
        prior = store.claim_key(key, operation, fp, now)
        if prior is None:
            return None
        prior_fp, prior_result = prior
        if prior_fp != fp:
            raise IdempotencyKeyReused(key)
        return prior_result if prior_result is not None else {}

    @staticmethod
    def _replayed_movement(store: InventoryStore, key: str, prior: Any) -> MovementResult:
        levels = [_level_from_json(d) for d in prior.get("levels", [])]
        return MovementResult(store.movement_rows_for_key(key), levels, replayed=True)

    @staticmethod
    def _resolve_one(store: InventoryStore, sku: str, location: str) -> tuple[int, int]:
        sku_ids, location_ids = InventoryService._resolve(store, [sku], [location], "")
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
        refs = store.sku_refs(sku_codes)
        location_ids = store.location_ids(location_codes)
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
    ) -> MovementResult:
        """Append the ledger rows, update the projection, and write one StockChanged per SKU.

        With `events`, the StockChanged rows are collected there for the caller to write once
        for its whole transaction.

        Locks are taken in one fixed order, stock rows by (sku_id, location_id) then SKU rows
        by id, so concurrent multi-line commands cannot deadlock.
        """
        ids = store.add_movements(requests, key=key, reference=reference, actor=actor, now=now)
        totals: dict[tuple[int, int], StockDelta] = {}
        codes: dict[tuple[int, int], tuple[str, str]] = {}
        for request, sku_id, location_id in requests:
            pair = (sku_id, location_id)
            totals[pair] = totals.get(pair, StockDelta()) + request.delta
            codes[pair] = (request.sku, request.location)
        creatable = [
            pair
            for pair, d in totals.items()
            if d.on_hand >= 0
            and d.reserved <= 0
            and d.quarantined <= 0
            and d.in_transit >= 0
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

    # ------------------------------------------------------------------ reservations

    def reserve(self, cmd: ReserveStock) -> ReservationResult:
        """All lines or none: one conditional UPDATE per line, in a fixed lock order.

        On PostgreSQL the same writes go to the database in one call (oms_reserve, migration
        0002): a reservation is what a flash sale hammers, and every round trip made while the
        stock row is locked is time other buyers wait.
        """
        lines = merge_reservation_lines(cmd.lines)
        # Like transfers: no key means a fresh one; a blank key is refused, not shared by all.
        key = (
            self._check_key(cmd.idempotency_key) if cmd.idempotency_key else f"auto:{uuid.uuid4()}"
        )
        reference = _check_text(cmd.reference, "reference", MAX_REFERENCE)
        actor = _check_text(cmd.actor, "actor", 100)
        body = {
            "lines": [[ln.sku, ln.location, ln.quantity] for ln in lines],
            "reference": reference,
        }
        fp = fingerprint("reservation.create", body)
        now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            if store.reserves_in_one_statement:
                outcome = store.reserve_in_one_statement(
                    key=key, fingerprint=fp, reference=reference, actor=actor, now=now, lines=lines
                )
                if outcome.status == "reserved" and outcome.reservation_id is not None:
                    uow.commit()
                    reservation_id = outcome.reservation_id
                elif outcome.status == "replayed":
                    if outcome.fingerprint != fp:
                        raise IdempotencyKeyReused(key)
                    return self._replayed_reservation(store, outcome.reservation_id)
                else:
                    raise _reservation_refusal(outcome.detail, cmd.lines)
            else:
                prior_fp = store.claim_key(key, "reservation.create", fp, now)
                if prior_fp is not None:
                    if prior_fp[0] != fp:
                        raise IdempotencyKeyReused(key)
                    return self._replayed_reservation(store, store.reservation_id_for_key(key))
                reservation_id = self._reserve_statement_by_statement(
                    store, cmd, lines, key, reference, actor, now
                )
                uow.commit()
        return ReservationResult(
            Reservation(
                id=reservation_id,
                reference=reference,
                status=ReservationStatus.ACTIVE,
                lines=lines,
                idempotency_key=key,
                created_at=now,
            )
        )

    @staticmethod
    def _replayed_reservation(
        store: InventoryStore, reservation_id: int | None
    ) -> ReservationResult:
        existing = store.reservation(reservation_id) if reservation_id is not None else None
        if existing is None:
            raise Conflict(
                "the reservation for this Idempotency-Key is gone", field="Idempotency-Key"
            )
        return ReservationResult(existing, replayed=True)

    def _reserve_statement_by_statement(
        self,
        store: InventoryStore,
        cmd: ReserveStock,
        lines: list[ReservationLine],
        key: str,
        reference: str | None,
        actor: str | None,
        now: datetime,
    ) -> int:
        sku_ids, location_ids = self._resolve(
            store,
            [ln.sku for ln in cmd.lines],
            [ln.location for ln in cmd.lines],
            "lines",
        )
        reservation_id = store.add_reservation(reference, key, actor, now)
        store.add_reservation_lines(
            reservation_id,
            [(sku_ids[ln.sku], location_ids[ln.location], ln.quantity) for ln in lines],
        )
        self._apply(
            store,
            _line_movements(
                MovementType.RESERVE,
                [(sku_ids[ln.sku], location_ids[ln.location], ln) for ln in lines],
            ),
            key=key,
            reference=_reservation_ref(reservation_id, reference),
            actor=actor,
            now=now,
        )
        return reservation_id

    def release(self, reservation_id: int, actor: str | None = None) -> Reservation:
        """Give reserved units back. Releasing twice is harmless: the second does nothing."""
        now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            reservation = store.reservation(reservation_id, lock=True)
            if reservation is None:
                raise NotFound(f"no reservation {reservation_id}", field="id")
            if reservation.status is not ReservationStatus.ACTIVE:
                if reservation.status is ReservationStatus.SHIPPED:
                    raise Conflict("a shipped reservation cannot be released", field="id")
                return reservation
            if not store.close_reservation(reservation_id, ReservationStatus.RELEASED, now):
                return store.reservation(reservation_id) or reservation
            self._apply(
                store,
                _line_movements(MovementType.RELEASE, store.reservation_lines(reservation_id)),
                key=f"reservation:{reservation_id}:release",
                reference=_reservation_ref(reservation_id, reservation.reference),
                actor=actor,
                now=now,
            )
            uow.commit()
        return replace(reservation, status=ReservationStatus.RELEASED, closed_at=now)

    def ship_reservation(self, reservation_id: int, actor: str | None = None) -> Reservation:
        """Reserved units leave the building: on_hand and reserved both go down."""
        now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            reservation = store.reservation(reservation_id, lock=True)
            if reservation is None:
                raise NotFound(f"no reservation {reservation_id}", field="id")
            if reservation.status is ReservationStatus.SHIPPED:
                return reservation
            if not store.close_reservation(reservation_id, ReservationStatus.SHIPPED, now):
                raise Conflict(f"reservation is {reservation.status}", field="id")
            self._apply(
                store,
                _line_movements(MovementType.SHIP, store.reservation_lines(reservation_id)),
                key=f"reservation:{reservation_id}:ship",
                reference=_reservation_ref(reservation_id, reservation.reference),
                actor=actor,
                now=now,
            )
            uow.commit()
        return replace(reservation, status=ReservationStatus.SHIPPED, closed_at=now)

    def get_reservation(self, reservation_id: int) -> Reservation:
        with self._uow() as uow:
            reservation = uow.inventory.reservation(reservation_id)
        if reservation is None:
            raise NotFound(f"no reservation {reservation_id}", field="id")
        return reservation

    # ------------------------------------------------------------------ reading stock

    def stock_levels(
        self,
        sku: str | None = None,
        location: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[StockLevel]:
        limit = _clamp_limit(limit)
        after: tuple[str, str] | None = None
        if cursor:
            sku_part, sep, location_part = cursor.partition("|")
            if not sep:
                raise InvalidInput("cursor is not one this API returned", field="cursor")
            after = (sku_part, location_part)
        with self._uow() as uow:
            store = uow.inventory
            if sku is not None and not store.sku_refs([sku]):
                raise NotFound(f"no SKU {sku!r}", field="sku")
            if location is not None and not store.location_ids([location]):
                raise NotFound(f"no location {location!r}", field="location")
            items = store.levels(
                sku_codes=[sku] if sku else None,
                location_code=location,
                after=after,
                limit=limit + 1,
            )
        more = len(items) > limit
        items = items[:limit]
        next_cursor = f"{items[-1].sku}|{items[-1].location}" if more and items else None
        return Page(items, next_cursor)

    def sku_stock(self, code: str) -> SkuStock:
        with self._uow() as uow:
            store = uow.inventory
            refs = store.sku_refs([code])
            if code not in refs:
                raise NotFound(f"no SKU {code!r}", field="sku")
            sku_id, kind = refs[code]
            if kind is SkuKind.SIMPLE:
                levels = store.levels(sku_codes=[code])
                return SkuStock(code, kind, [_location_stock(lv) for lv in levels], _total(levels))
            needs = store.flattened_requirements(sku_id)
            component_levels = store.levels(sku_codes=sorted(needs))
        return _bundle_stock(code, needs, component_levels)

    def ledger(
        self,
        sku: str | None = None,
        location: str | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> Page[Movement]:
        """Movements newest first. `before` is a movement id (the cursor of the last page)."""
        limit = _clamp_limit(limit)
        before_id: int | None = None
        if before:
            if not before.isdigit():
                raise InvalidInput("before must be a movement id", field="before")
            before_id = int(before)
        with self._uow() as uow:
            store = uow.inventory
            sku_id = location_id = None
            if sku is not None:
                refs = store.sku_refs([sku])
                if sku not in refs:
                    raise NotFound(f"no SKU {sku!r}", field="sku")
                sku_id = refs[sku][0]
            if location is not None:
                ids = store.location_ids([location])
                if location not in ids:
                    raise NotFound(f"no location {location!r}", field="location")
                location_id = ids[location]
            items = store.ledger(
                sku_id=sku_id,
                location_id=location_id,
                before_id=before_id,
                until=None,
                limit=limit + 1,
            )
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more and items else None)

    def stock_as_of(self, code: str, at: datetime) -> SkuStock:
        """The stock as the ledger says it was at `at` (movements recorded at or before it)."""
        at = as_utc(at)
        with self._uow() as uow:
            store = uow.inventory
            refs = store.sku_refs([code])
            if code not in refs:
                raise NotFound(f"no SKU {code!r}", field="sku")
            sku_id, kind = refs[code]
            if kind is SkuKind.SIMPLE:
                levels = _levels_from_sums(code, store.sums_as_of(sku_id, at))
                return SkuStock(code, kind, [_location_stock(lv) for lv in levels], _total(levels))
            needs = store.flattened_requirements(sku_id)
            component_levels: list[StockLevel] = []
            for component in sorted(needs):
                component_id = store.sku_refs([component])[component][0]
                component_levels += _levels_from_sums(component, store.sums_as_of(component_id, at))
        return _bundle_stock(code, needs, component_levels)

    def verify(self) -> VerifyReport:
        """Replay the whole ledger and compare it with the projection."""
        with self._uow() as uow:
            store = uow.inventory
            rows = store.verify_rows()
            levels, moves = store.count_levels_and_movements()
        return VerifyReport(
            levels,
            moves,
            [
                LedgerDifference(
                    r["sku"],
                    r["location"],
                    StockDelta(
                        r["p_on_hand"], r["p_reserved"], r["p_quarantined"], r["p_in_transit"]
                    ),
                    StockDelta(
                        r["l_on_hand"], r["l_reserved"], r["l_quarantined"], r["l_in_transit"]
                    ),
                )
                for r in rows
            ],
        )

    # ------------------------------------------------------------------ transfers

    def create_transfer(self, cmd: CreateTransfer) -> TransferResult:
        transfer = Transfer.draft(
            validate_code(cmd.source, field_name="source"),
            validate_code(cmd.destination, field_name="destination"),
            cmd.lines,
            _check_text(cmd.reference, "reference", 200),
        )
        transfer.created_at = now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            if cmd.idempotency_key:
                body = {
                    "source": transfer.source,
                    "destination": transfer.destination,
                    "lines": [[ln.sku, ln.quantity] for ln in transfer.lines],
                    "reference": cmd.reference,
                }
                key = self._check_key(cmd.idempotency_key)
                prior = self._claim(store, key, "transfer.create", body, now)
                if prior is not None:
                    existing = store.transfer(int(prior["transfer_id"]))
                    if existing is None:
                        raise Conflict("the transfer for this Idempotency-Key is gone")
                    return TransferResult(existing, replayed=True)
            sku_ids, location_ids = self._resolve(
                store,
                [sku for sku, _ in cmd.lines],
                [transfer.source, transfer.destination],
                "lines",
                field_names=[("source", "source"), ("destination", "destination")],
            )
            transfer.id = store.add_transfer(transfer, location_ids, sku_ids, cmd.actor)
            if cmd.idempotency_key:
                store.store_result(cmd.idempotency_key.strip(), {"transfer_id": transfer.id})
            uow.commit()
        return TransferResult(transfer)

    def get_transfer(self, transfer_id: int) -> Transfer:
        with self._uow() as uow:
            transfer = uow.inventory.transfer(transfer_id)
        if transfer is None:
            raise NotFound(f"no transfer {transfer_id}", field="id")
        return transfer

    def ship_transfer(
        self, transfer_id: int, idempotency_key: str | None = None, actor: str | None = None
    ) -> TransferResult:
        """Source on_hand goes down and the destination's in_transit up, in one transaction."""
        now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            if idempotency_key:
                key = self._check_key(idempotency_key)
                prior = self._claim(store, key, "transfer.ship", {"id": transfer_id}, now)
                if prior is not None:
                    return TransferResult(self._transfer(store, transfer_id), replayed=True)
            transfer = self._transfer(store, transfer_id, lock=True)
            requests = transfer.ship()
            transfer.shipped_at = now
            sku_ids, location_ids = self._resolve(
                store, [r.sku for r in requests], [r.location for r in requests], "lines"
            )
            self._apply(
                store,
                [(r, sku_ids[r.sku], location_ids[r.location]) for r in requests],
                key=f"transfer:{transfer_id}:ship",
                reference=f"transfer:{transfer_id}",
                actor=actor,
                now=now,
            )
            store.save_transfer(transfer, sku_ids, [], now)
            uow.commit()
        return TransferResult(transfer)

    def receive_transfer(self, cmd: ReceiveTransfer) -> TransferResult:
        """Book what arrived; excess and (on close) shortfall are recorded as discrepancies."""
        now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            key = None
            if cmd.idempotency_key:
                key = self._check_key(cmd.idempotency_key)
                body = {
                    "id": cmd.transfer_id,
                    "lines": sorted([list(x) for x in cmd.lines]),
                    "close": cmd.close,
                }
                prior = self._claim(store, key, "transfer.receive", body, now)
                if prior is not None:
                    return TransferResult(self._transfer(store, cmd.transfer_id), replayed=True)
            transfer = self._transfer(store, cmd.transfer_id, lock=True)
            received = [
                (validate_code(sku, field_name=f"lines[{i}].sku"), q)
                for i, (sku, q) in enumerate(cmd.lines)
            ]
            refs = store.sku_refs([sku for sku, _ in received])
            for i, (sku, _) in enumerate(received):
                if sku not in refs:
                    raise InvalidInput(f"SKU {sku!r} does not exist", field=f"lines[{i}].sku")
            effect = transfer.receive(received, close=cmd.close)
            if transfer.status.value == "received":
                transfer.closed_at = now
            all_skus = sorted({ln.sku for ln in transfer.lines})
            sku_ids, location_ids = self._resolve(store, all_skus, [transfer.destination], "lines")
            self._apply(
                store,
                [(r, sku_ids[r.sku], location_ids[r.location]) for r in effect.movements],
                key=key or f"transfer:{cmd.transfer_id}:receipt:{uuid.uuid4()}",
                reference=f"transfer:{cmd.transfer_id}",
                actor=cmd.actor,
                now=now,
            )
            store.save_transfer(transfer, sku_ids, effect.discrepancies, now)
            if key:
                store.store_result(key, {"transfer_id": cmd.transfer_id})
            uow.commit()
        return TransferResult(transfer)

    def cancel_transfer(self, transfer_id: int) -> Transfer:
        with self._uow() as uow:
            store = uow.inventory
            transfer = self._transfer(store, transfer_id, lock=True)
            transfer.cancel()
            transfer.closed_at = self._clock()
            sku_ids = {
                c: r[0] for c, r in store.sku_refs([ln.sku for ln in transfer.lines]).items()
            }
            store.save_transfer(transfer, sku_ids, [], transfer.closed_at)
            uow.commit()
        return transfer

    @staticmethod
    def _transfer(store: InventoryStore, transfer_id: int, *, lock: bool = False) -> Transfer:
        transfer = store.transfer(transfer_id, lock=lock)
        if transfer is None:
            raise NotFound(f"no transfer {transfer_id}", field="id")
        return transfer


# --------------------------------------------------------------------------- helpers


@dataclass
class _PendingEvents:
    """StockChanged events of one transaction: one per SKU, with its latest levels."""

    levels: dict[str, tuple[int, dict[str, StockLevel]]] = field(default_factory=dict)
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
        self.levels.clear()


MAX_REFERENCE = 160  # the ledger's reference column (200) also holds "reservation:<id> "


def _person_movement_type(value: str) -> MovementType:
    try:
        movement_type = MovementType(value)
    except ValueError:
        movement_type = None
    if movement_type is None or movement_type not in _PERSON_MOVEMENTS:
        allowed = ", ".join(sorted(t.value for t in _PERSON_MOVEMENTS))
        raise InvalidInput(f"type must be one of {allowed}", field="type")
    return movement_type


def _check_text(value: str | None, field_name: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{field_name} must be at most {limit} characters", field=field_name)
    return value or None


def _reservation_refusal(detail: dict[str, Any], lines: Sequence[ReservationLine]) -> DomainError:
    """Turn oms_reserve's refusal into the same error the Python path raises."""
    kind = detail.get("kind")
    if kind == "short":
        return InsufficientStock(list(detail["shortages"]))

    def index_of(attr: str, code: str) -> int:
        return next((i for i, ln in enumerate(lines) if getattr(ln, attr) == code), 0)

    if kind == "unknown_sku":
        sku = detail["sku"]
        return InvalidInput(
            f"SKU {sku!r} does not exist", field=f"lines[{index_of('sku', sku)}].sku"
        )
    if kind == "bundle":
        sku = detail["sku"]
        return InvalidInput(
            f"{sku} is a bundle: it holds no stock of its own, move its components",
            field=f"lines[{index_of('sku', sku)}].sku",
        )
    location = detail.get("location", "")
    return InvalidInput(
        f"location {location!r} does not exist",
        field=f"lines[{index_of('location', location)}].location",
    )


def _line_movements(
    movement_type: MovementType, lines: Sequence[tuple[int, int, ReservationLine]]
) -> list[tuple[MovementRequest, int, int]]:
    """One movement per reservation line: (request, sku_id, location_id)."""
    return [
        (
            MovementRequest(
                movement_type,
                line.sku,
                line.location,
                delta_for(movement_type, line.quantity),
                line.quantity,
            ),
            sku_id,
            location_id,
        )
        for sku_id, location_id, line in lines
    ]


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


def _level_from_json(data: dict[str, Any]) -> StockLevel:
    return StockLevel(
        sku=data["sku"],
        location=data["location"],
        on_hand=data["on_hand"],
        reserved=data["reserved"],
        quarantined=data["quarantined"],
        in_transit=data["in_transit"],
        version=data["version"],
    )


def _location_stock(level: StockLevel) -> LocationStock:
    return LocationStock(
        level.location,
        level.on_hand,
        level.reserved,
        level.quarantined,
        level.in_transit,
        level.available,
    )


def _total(levels: Sequence[StockLevel]) -> LocationStock:
    return LocationStock(
        "*",
        sum(lv.on_hand for lv in levels),
        sum(lv.reserved for lv in levels),
        sum(lv.quarantined for lv in levels),
        sum(lv.in_transit for lv in levels),
        sum(lv.available for lv in levels),
    )


def _levels_from_sums(code: str, sums: dict[str, StockDelta]) -> list[StockLevel]:
    return [
        StockLevel(code, loc, d.on_hand, d.reserved, d.quarantined, d.in_transit)
        for loc, d in sorted(sums.items())
    ]


def _bundle_stock(code: str, needs: dict[str, int], levels: Sequence[StockLevel]) -> SkuStock:
    """Per location: bundles shippable from that one place. Total: from components anywhere."""
    by_location: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for level in levels:
        by_location.setdefault(level.location, {})[level.sku] = level.available
        totals[level.sku] = totals.get(level.sku, 0) + level.available
    per_location = [
        LocationStock(loc, 0, 0, 0, 0, bundle_units(needs, avail))
        for loc, avail in sorted(by_location.items())
    ]
    total = LocationStock("*", 0, 0, 0, 0, bundle_units(needs, totals))
    return SkuStock(code, SkuKind.BUNDLE, per_location, total, components=dict(needs))
