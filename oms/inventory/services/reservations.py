"""Use cases of reservations: reserve, release, ship."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from oms.idempotency import fingerprint
from oms.inventory.domain import (
    MAX_MOVEMENT_QUANTITY,
    InsufficientStock,
    MovementRequest,
    MovementType,
    Reservation,
    ReservationLine,
    ReservationStatus,
    SkuKind,
    StockDelta,
    StockLevel,
    admit_reservations,
    delta_for,
    merge_reservation_lines,
)
from oms.inventory.ports import InventoryStore
from oms.inventory.services._base import (
    ServiceCore,
    _check_text,
    _PendingEvents,
    _reservation_ref,
)
from oms.inventory.services.commands import ReserveStock
from oms.inventory.services.results import ReservationResult
from oms.shared.admission import Admission
from oms.shared.errors import Conflict, IdempotencyKeyReused, InvalidInput, NotFound
from oms.shared.transaction import retry_transaction

MAX_REFERENCE = 160  # the ledger's reference column (200) also holds "reservation:<id> "


OPERATION = "reservation.create"
# Callers taken into one transaction at most, and how long one may wait for its turn.
MAX_BATCH = 64
MAX_WAIT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class _Ask:
    """One reservation asked for, checked and ready to be taken with others."""

    key: str
    fingerprint: str | None  # None: no idempotency claim (inside a caller's transaction)
    reference: str | None
    actor: str | None
    channel: str | None
    lines: list[ReservationLine]  # merged, sorted: the writers' order
    given: Sequence[ReservationLine]  # as sent: errors name these indexes


class _Refused(Exception):
    """A stock row refused the batch's total: taken again, admitting first come first."""


class _Alone(Exception):
    """A ring-fenced SKU: this reservation is taken in a transaction of its own."""


_admission_lock = threading.Lock()


class ReservationUseCases(ServiceCore):
    """Reserve stock for an order, then release it or ship it."""

    def reserve(self, cmd: ReserveStock) -> ReservationResult:
        """All lines or none. Concurrent reservations of this process are taken together in
        one transaction (`oms.shared.admission`), first come first served: one UPDATE per
        stock row for all of them, their ledger rows, reservations and events each in one
        statement, and the stock rows' locks taken last, just before commit."""
        lines = merge_reservation_lines(cmd.lines)
        # Like transfers: no key means a fresh one; a blank key is refused, not shared by all.
        key = (
            self._check_key(cmd.idempotency_key)
            if cmd.idempotency_key is not None
            else f"auto:{uuid.uuid4()}"
        )
        reference = _check_text(cmd.reference, "reference", MAX_REFERENCE)
        actor = _check_text(cmd.actor, "actor", 100)
        channel = _check_channel(cmd.channel)
        body: dict[str, Any] = {
            "lines": [[ln.sku, ln.location, ln.quantity] for ln in lines],
            "reference": reference,
        }
        if channel is not None:  # keys sent before channels existed keep their fingerprint
            body["channel"] = channel
        ask = _Ask(
            key,
            fingerprint(OPERATION, body, cmd.caller),
            reference,
            actor,
            channel,
            lines,
            list(cmd.lines),
        )
        return self._admission().submit(ask, key)

    def _admission(self) -> Admission[_Ask, ReservationResult]:
        admission: Admission[_Ask, ReservationResult] | None = getattr(
            self, "_reservation_admission", None
        )
        if admission is None:
            with _admission_lock:
                admission = getattr(self, "_reservation_admission", None)
                if admission is None:
                    admission = Admission(
                        self._reserve_together, max_batch=MAX_BATCH, max_wait=MAX_WAIT_SECONDS
                    )
                    self._reservation_admission = admission
        return admission

    def _reserve_together(self, asks: Sequence[_Ask]) -> list[ReservationResult | Exception]:
        """One transaction for these asks; each gets its reservation id, its replay or its
        own refusal. Asks with ring-fenced SKUs are then taken one by one."""
        now = self._clock()

        def attempt(_earlier: object) -> list[int | ReservationResult | Exception]:
            admit_first = False
            while True:
                try:
                    with self._uow() as uow:
                        outcomes = self._write_reservations(
                            uow.inventory, asks, now, admit_first=admit_first
                        )
                        if any(isinstance(o, int) for o in outcomes):
                            uow.publish_changes()
                            uow.commit()
                        return outcomes
                except _Refused:
                    if admit_first:  # the rows were locked: cannot happen twice
                        raise
                    admit_first = True

        written = retry_transaction(attempt)
        outcomes: list[ReservationResult | Exception] = []
        for ask, outcome in zip(asks, written, strict=True):
            if isinstance(outcome, _Alone):
                try:
                    outcome = self._reserve_together([ask])[0]
                except Exception as error:  # that ask's own refusal
                    outcome = error
            elif isinstance(outcome, int):
                outcome = ReservationResult(
                    Reservation(
                        id=outcome,
                        reference=ask.reference,
                        status=ReservationStatus.ACTIVE,
                        lines=ask.lines,
                        idempotency_key=ask.key,
                        created_at=now,
                        channel=ask.channel,
                    )
                )
            outcomes.append(outcome)
        return outcomes

    def _write_reservations(
        self,
        store: InventoryStore,
        asks: Sequence[_Ask],
        now: datetime,
        *,
        admit_first: bool,
    ) -> list[int | ReservationResult | Exception]:
        """Write what these asks reserve, in the caller's transaction. One ask alone raises
        its refusal; several get theirs as outcomes (and a stock row that refuses their
        total raises `_Refused`: take them again with `admit_first`, which locks the rows
        first and admits them in order)."""
        alone = len(asks) == 1
        outcomes: list[int | ReservationResult | Exception | None] = [None] * len(asks)

        def refuse(i: int, error: Exception) -> None:
            if alone:
                raise error
            outcomes[i] = error

        fence = store.fence
        for i, ask in enumerate(asks):
            if ask.fingerprint is None:
                continue  # inside a caller's transaction: the caller (an order) knows its channel
            if ask.channel is not None and fence is not None and not fence.knows(ask.channel):
                # Another channel's code would draw on its pool and count in its velocity.
                refuse(i, InvalidInput(f"there is no channel {ask.channel!r}", field="channel"))
        live = [i for i, o in enumerate(outcomes) if o is None]
        refs, location_ids = self._known_refs(
            store,
            {ln.sku for i in live for ln in asks[i].given},
            {ln.location for i in live for ln in asks[i].given},
        )
        for i in live:
            unresolved = _unresolved(asks[i].given, refs, location_ids)
            if unresolved is not None:
                refuse(i, unresolved)
        fenced: set[str] = set()
        if fence is not None:
            fenced = fence.fenced_skus({ln.sku for a in asks for ln in a.lines})
        if fenced and not alone:
            for i, ask in enumerate(asks):
                if outcomes[i] is None and any(ln.sku in fenced for ln in ask.lines):
                    outcomes[i] = _Alone()
        self._claim_keys(store, asks, outcomes, refuse, now)
        todo = [i for i, o in enumerate(outcomes) if o is None]

        def ids(line: ReservationLine) -> tuple[int, int]:
            return refs[line.sku][0], location_ids[line.location]

        pairs = sorted({ids(ln) for i in todo for ln in asks[i].lines})
        # One stock row (a hot SKU): its lock is taken last, by a conditional UPDATE just
        # before commit. Several: locked first, in order, in one statement, and changed in one
        # round trip; a deadlock between two such writers is impossible.
        locked: dict[tuple[int, int], tuple[int, int, int, int, int]] | None = None
        if len(pairs) == 1 and len(todo) > 1:
            # Callers' units together past what one line may hold could pass what the row's
            # 32-bit columns hold (an error for the whole batch on PostgreSQL): weigh them
            # against the locked row instead, each its own answer.
            total = sum(ln.quantity for i in todo for ln in asks[i].lines)
            admit_first = admit_first or total > MAX_MOVEMENT_QUANTITY
        if (admit_first or len(pairs) > 1) and todo:
            locked = store.lock_levels(pairs)
            available = {
                (ln.sku, ln.location): _available(locked.get(ids(ln)))
                for i in todo
                for ln in asks[i].lines
            }
            admitted, shortages = admit_reservations([asks[i].lines for i in todo], available)
            for i, ok, short in zip(todo, admitted, shortages, strict=True):
                if not ok:
                    refuse(i, InsufficientStock(short))
            todo = [i for i, ok in zip(todo, admitted, strict=True) if ok]
        if not todo:
            return [o for o in outcomes if o is not None]

        reservation_ids = store.add_reservations(
            [(asks[i].reference, asks[i].key, asks[i].actor, asks[i].channel) for i in todo], now
        )
        store.add_lines(
            [
                (rid, *ids(ln), ln.quantity)
                for rid, i in zip(reservation_ids, todo, strict=True)
                for ln in asks[i].lines
            ]
        )
        if fenced:  # one ask alone: its pools are checked, rows locked, before stock moves
            _claim_fenced(store, asks[todo[0]].channel, reservation_ids[0], asks[todo[0]].lines)
        groups = []
        totals: dict[tuple[int, int], int] = {}
        codes: dict[tuple[int, int], tuple[str, str]] = {}
        for rid, i in zip(reservation_ids, todo, strict=True):
            ask = asks[i]
            entries = _line_movements(MovementType.RESERVE, [(*ids(ln), ln) for ln in ask.lines])
            groups.append((entries, ask.key, _reservation_ref(rid, ask.reference), ask.actor))
            for ln in ask.lines:
                pair = ids(ln)
                totals[pair] = totals.get(pair, 0) + ln.quantity
                codes[pair] = (ln.sku, ln.location)
        store.add_movement_groups(groups, now)
        events = _PendingEvents()
        references: set[str | None] = {
            _reservation_ref(rid, asks[i].reference)
            for rid, i in zip(reservation_ids, todo, strict=True)
        }
        if locked is None:  # the hot row, last: a conditional UPDATE for everyone's units
            pair = next(iter(totals))
            delta = StockDelta(reserved=totals[pair])
            after = store.apply_delta(pair[0], pair[1], delta, now)
            if after is None:
                if alone:
                    self._raise_refusal(store, [(codes[pair], delta)])
                raise _Refused()
            events.add(pair[0], StockLevel(*codes[pair], *after), {"reserve"}, None)
        else:
            changes = [(p[0], p[1], StockDelta(reserved=totals[p])) for p in sorted(totals)]
            if store.apply_deltas(changes, now) != len(changes):
                raise RuntimeError("a stock row locked and checked refused its change")
            for sku_id, location_id, delta in changes:
                on_hand, reserved, quarantined, in_transit, version = locked[(sku_id, location_id)]
                level = StockLevel(
                    *codes[(sku_id, location_id)],
                    on_hand,
                    reserved + delta.reserved,
                    quarantined,
                    in_transit,
                    version + 1,
                )
                events.add(sku_id, level, {"reserve"}, None)
        events.available_moved.update(p[0] for p in totals)
        events.references = references
        events.flush(store, now)
        for rid, i in zip(reservation_ids, todo, strict=True):
            outcomes[i] = rid
        return [o for o in outcomes if o is not None]

    def _known_refs(
        self, store: InventoryStore, sku_codes: set[str], location_codes: set[str]
    ) -> tuple[dict[str, tuple[int, SkuKind]], dict[str, int]]:
        """`store.refs`, remembered by the process: a code's id and a SKU's kind never change
        once made (codes are not reused, nothing is deleted), so a found code is asked once."""
        known_skus, known_locations = self._known_skus, self._known_locations
        missing_skus = sku_codes - known_skus.keys()
        missing_locations = location_codes - known_locations.keys()
        if missing_skus or missing_locations:
            found_skus, found_locations = store.refs(missing_skus, missing_locations)
            known_skus.update(found_skus)
            known_locations.update(found_locations)
        return (
            {c: known_skus[c] for c in sku_codes if c in known_skus},
            {c: known_locations[c] for c in location_codes if c in known_locations},
        )

    def _claim_keys(
        self,
        store: InventoryStore,
        asks: Sequence[_Ask],
        outcomes: list[int | ReservationResult | Exception | None],
        refuse: Callable[[int, Exception], None],
        now: datetime,
    ) -> None:
        """Claim the asks' idempotency keys; an ask whose key did its work before gets that
        reservation back (or a 409 when the key came with another body)."""
        claiming = [
            i for i, o in enumerate(outcomes) if o is None and asks[i].fingerprint is not None
        ]
        claimed = store.claim_keys(
            [(asks[i].key, OPERATION, asks[i].fingerprint or "") for i in claiming], now
        )
        taken = [i for i in claiming if asks[i].key not in claimed]
        if not taken:
            return
        priors = store.prior_reservations([asks[i].key for i in taken])
        for i in taken:
            prior_fp, reservation_id = priors.get(asks[i].key, (None, None))
            if prior_fp != asks[i].fingerprint:
                refuse(i, IdempotencyKeyReused(asks[i].key))
                continue
            try:
                outcomes[i] = self._replayed_reservation(store, reservation_id)
            except Conflict as gone:
                refuse(i, gone)

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

    def release(self, reservation_id: int, actor: str | None = None) -> Reservation:
        """Give reserved units back. Releasing twice is harmless: the second does nothing."""
        now = self._clock()
        with self._uow() as uow:
            reservation = self.release_within(uow.inventory, reservation_id, actor, now)
            uow.publish_changes()
            uow.commit()
        return reservation

    def ship_reservation(self, reservation_id: int, actor: str | None = None) -> Reservation:
        """Reserved units leave the building: on_hand and reserved both go down."""
        now = self._clock()
        with self._uow() as uow:
            reservation = self.ship_within(uow.inventory, reservation_id, actor, now)
            uow.publish_changes()
            uow.commit()
        return reservation

    # ------------------------------------------------------------------ in a caller's transaction
    # For another context's use case that must reserve, release or ship in its own transaction
    # (an order's placement, a shipment's dispatch). The caller commits, or rolls back.

    def lock_within(self, store: InventoryStore, pairs: Iterable[tuple[str, str]]) -> None:
        """Before several reservations or releases in one transaction: lock every (SKU,
        location) they touch at once, in the writers' one order, so that two such
        transactions cannot deadlock."""
        pairs = list(pairs)
        fence = store.fence
        fenced = fence.fenced_skus({sku for sku, _ in pairs}) if fence is not None else set()
        store.lock_stock(pairs, whole_skus=fenced)

    def reserve_within(
        self,
        store: InventoryStore,
        lines: Sequence[ReservationLine],
        *,
        reference: str | None,
        actor: str | None,
        now: datetime,
        channel: str | None = None,
    ) -> int:
        """All lines or none, the same writes as `reserve`. On `InsufficientStock` some rows
        may already be written: the caller rolls back (to a savepoint) before going on."""
        ask = _Ask(
            f"auto:{uuid.uuid4()}",
            None,
            reference,
            actor,
            channel,
            merge_reservation_lines(lines),
            list(lines),
        )
        outcome = self._write_reservations(store, [ask], now, admit_first=False)[0]
        if not isinstance(outcome, int):  # one ask alone raises its refusal
            raise RuntimeError(f"unexpected reservation outcome {outcome!r}")
        return outcome

    def release_within(
        self, store: InventoryStore, reservation_id: int, actor: str | None, now: datetime
    ) -> Reservation:
        _lock_stock_of(store, reservation_id)
        reservation = store.reservation(reservation_id, lock=True)
        if reservation is None:
            raise NotFound(f"no reservation {reservation_id}", field="id")
        if reservation.status is not ReservationStatus.ACTIVE:
            if reservation.status is ReservationStatus.SHIPPED:
                raise Conflict("a shipped reservation cannot be released", field="id")
            return reservation
        if not store.close_reservation(reservation_id, ReservationStatus.RELEASED, now):
            return store.reservation(reservation_id) or reservation
        if store.fence is not None and reservation.channel is not None:
            store.fence.released(reservation_id)
        self._apply(
            store,
            _line_movements(MovementType.RELEASE, store.reservation_lines(reservation_id)),
            key=f"reservation:{reservation_id}:release",
            reference=_reservation_ref(reservation_id, reservation.reference),
            actor=actor,
            now=now,
        )
        return replace(reservation, status=ReservationStatus.RELEASED, closed_at=now)

    def ship_within(
        self, store: InventoryStore, reservation_id: int, actor: str | None, now: datetime
    ) -> Reservation:
        _lock_stock_of(store, reservation_id)
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
        return replace(reservation, status=ReservationStatus.SHIPPED, closed_at=now)

    def get_reservation(self, reservation_id: int) -> Reservation:
        with self._uow() as uow:
            reservation = uow.inventory.reservation(reservation_id)
        if reservation is None:
            raise NotFound(f"no reservation {reservation_id}", field="id")
        return reservation


def _claim_fenced(
    store: InventoryStore,
    channel: str | None,
    reservation_id: int,
    lines: Sequence[ReservationLine],
) -> None:
    """Before the stock is taken: the lines of ring-fenced SKUs leave what is held for others
    and draw from their own channel's holding first. Every stock row of those SKUs is locked
    first (again, if the caller did): the check reads them all, and nobody may move one
    between the check and the commit. The lines' own rows go in the same call, so the rows
    are taken in the writers' one order."""
    fence = store.fence
    if fence is None:
        return
    fenced = fence.fenced_skus({ln.sku for ln in lines})
    if not fenced:
        return
    store.lock_stock([(ln.sku, ln.location) for ln in lines], whole_skus=fenced)
    fence.claim(channel, reservation_id, [ln for ln in lines if ln.sku in fenced])


def _lock_stock_of(store: InventoryStore, reservation_id: int) -> None:
    """Lock the reservation's stock rows before the reservation itself: a count locks the
    stock row, then the reservations there (to cut them), so every writer takes them in that
    order, and no count and release can deadlock."""
    store.lock_stock((ln.sku, ln.location) for _, _, ln in store.reservation_lines(reservation_id))


def _check_channel(channel: str | None) -> str | None:
    """A channel code as a label: the inventory does not know channels, velocity reads it."""
    if channel is None:
        return None
    channel = channel.strip()
    if not channel or len(channel) > 64:
        raise InvalidInput("channel must be a channel code of 1 to 64 characters", field="channel")
    return channel


def _available(level: tuple[int, int, int, int, int] | None) -> int:
    """What a locked row has available, by the domain's one definition (none: nothing)."""
    return 0 if level is None else StockLevel("", "", *level).available


def _unresolved(
    given: Sequence[ReservationLine],
    refs: dict[str, tuple[int, SkuKind]],
    location_ids: dict[str, int],
) -> InvalidInput | None:
    """Unknown codes and bundles (which hold no stock) are refused, naming the line."""
    for i, line in enumerate(given):
        if line.sku not in refs:
            return InvalidInput(f"SKU {line.sku!r} does not exist", field=f"lines[{i}].sku")
        if refs[line.sku][1] is SkuKind.BUNDLE:
            return InvalidInput(
                f"{line.sku} is a bundle: it holds no stock of its own, move its components",
                field=f"lines[{i}].sku",
            )
        if line.location not in location_ids:
            return InvalidInput(
                f"location {line.location!r} does not exist", field=f"lines[{i}].location"
            )
    return None


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
