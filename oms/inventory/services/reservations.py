"""Use cases of reservations: reserve, release, ship."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from oms.idempotency import fingerprint
from oms.inventory.domain import (
    InsufficientStock,
    MovementRequest,
    MovementType,
    Reservation,
    ReservationLine,
    ReservationStatus,
    delta_for,
    merge_reservation_lines,
)
from oms.inventory.ports import InventoryStore
from oms.inventory.services._base import ServiceCore, _check_text, _reservation_ref
from oms.inventory.services.commands import ReserveStock
from oms.inventory.services.results import ReservationResult
from oms.shared.errors import Conflict, DomainError, IdempotencyKeyReused, InvalidInput, NotFound
from oms.shared.transaction import retry_transaction

MAX_REFERENCE = 160  # the ledger's reference column (200) also holds "reservation:<id> "


class ReservationUseCases(ServiceCore):
    """Reserve stock for an order, then release it or ship it."""

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
        channel = _check_channel(cmd.channel)
        body: dict[str, Any] = {
            "lines": [[ln.sku, ln.location, ln.quantity] for ln in lines],
            "reference": reference,
        }
        if channel is not None:  # keys sent before channels existed keep their fingerprint
            body["channel"] = channel
        fp = fingerprint("reservation.create", body, cmd.caller)
        now = self._clock()

        def attempt(_earlier: object) -> ReservationResult | int:
            with self._uow() as uow:
                store = uow.inventory
                if (
                    channel is not None
                    and store.fence is not None
                    and not store.fence.knows(channel)
                ):
                    # Another channel's code would draw on its pool and count in its velocity.
                    raise InvalidInput(f"there is no channel {channel!r}", field="channel")
                # A ring-fenced SKU takes the Python path: what a pool holds is the pipeline's
                # allocation, computed in Python, and the check of it must not have a twin in SQL.
                one_call = store.reserves_in_one_statement and not _fenced(store, lines)
                if one_call:
                    outcome = store.reserve_in_one_statement(
                        key=key,
                        fingerprint=fp,
                        reference=reference,
                        actor=actor,
                        now=now,
                        lines=lines,
                        channel=channel,
                    )
                    if outcome.status == "reserved" and outcome.reservation_id is not None:
                        uow.publish_changes()
                        uow.commit()
                        reservation_id = outcome.reservation_id
                    elif outcome.status == "replayed":
                        if outcome.fingerprint != fp:
                            raise IdempotencyKeyReused(key)
                        return self._replayed_reservation(store, outcome.reservation_id)
                    elif outcome.detail.get("kind") == "fenced":
                        one_call = False
                    else:
                        raise _reservation_refusal(outcome.detail, cmd.lines)
                if not one_call:
                    prior_fp = store.claim_key(key, "reservation.create", fp, now)
                    if prior_fp is not None:
                        if prior_fp[0] != fp:
                            raise IdempotencyKeyReused(key)
                        return self._replayed_reservation(store, store.reservation_id_for_key(key))
                    reservation_id = self._reserve_statement_by_statement(
                        store, cmd, lines, key, reference, actor, now, channel
                    )
                    uow.publish_changes()
                    uow.commit()
            return reservation_id

        done = retry_transaction(attempt)
        if isinstance(done, ReservationResult):
            return done
        reservation_id = done
        return ReservationResult(
            Reservation(
                id=reservation_id,
                reference=reference,
                status=ReservationStatus.ACTIVE,
                lines=lines,
                idempotency_key=key,
                created_at=now,
                channel=channel,
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
        channel: str | None,
    ) -> int:
        sku_ids, location_ids = self._resolve(
            store,
            [ln.sku for ln in cmd.lines],
            [ln.location for ln in cmd.lines],
            "lines",
        )
        reservation_id = store.add_reservation(reference, key, actor, now, channel)
        store.add_reservation_lines(
            reservation_id,
            [(sku_ids[ln.sku], location_ids[ln.location], ln.quantity) for ln in lines],
        )
        _claim_fenced(store, channel, reservation_id, lines)
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
        """All lines or none. On `InsufficientStock` some rows may already be written: the
        caller rolls back (to a savepoint) before going on."""
        merged = merge_reservation_lines(lines)
        cmd = ReserveStock(list(lines), reference=reference, actor=actor, channel=channel)
        return self._reserve_statement_by_statement(
            store, cmd, merged, f"auto:{uuid.uuid4()}", reference, actor, now, channel
        )

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


def _fenced(store: InventoryStore, lines: Sequence[ReservationLine]) -> bool:
    """Whether anything is held back of these lines' SKUs. A process that has not yet seen a
    channel skips the question (no channel, no pool): the one-call reservation then refuses
    to commit alone if a channel exists, and asks it itself (`kind: fenced`)."""
    fence, listener = store.fence, store.listener
    if fence is None or (listener is not None and not listener.expects_publication):
        return False
    return bool(fence.fenced_skus({ln.sku for ln in lines}))


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
