"""Use cases that record person-entered movements: receipts, adjustments, counts, quarantine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oms.inventory.domain import (
    COUNT_SHORTFALL,
    AdjustmentReason,
    Movement,
    MovementRequest,
    MovementType,
    StockBusy,
    StockLevel,
    count_shortfall,
    delta_for,
    validate_quantity,
)
from oms.inventory.ports import (
    InventoryStore,
    InventoryUnitOfWork,
    ReservationCut,
    StockShortfall,
)
from oms.inventory.services._base import (
    ServiceCore,
    _check_text,
    _level_json,
    _PendingEvents,
    _reservation_ref,
    retry_when_busy,
)
from oms.inventory.services.commands import RecordMovement, SystemMove
from oms.inventory.services.results import MovementResult
from oms.shared.errors import DomainError, InvalidInput

MOVEMENT_OPERATION = "stock.movement"
_PERSON_MOVEMENTS = {
    MovementType.RECEIPT,
    MovementType.ADJUSTMENT,
    MovementType.COUNT,
    MovementType.QUARANTINE,
    MovementType.QUARANTINE_RELEASE,
}
# What other contexts book inside their own transactions (see `record_system_within`).
_SYSTEM_MOVEMENTS = {
    MovementType.RETURN_RECEIPT,
    MovementType.WRITE_OFF,
    MovementType.PART_USED,
    MovementType.QUARANTINE_RELEASE,
    MovementType.RECEIPT,
    # A resale unit is held back from every channel until it is listed, and again when it
    # is withdrawn (oms.resale).
    MovementType.QUARANTINE,
}


class MovementUseCases(ServiceCore):
    """Movements entered by a person, one at a time or as one all-or-none batch."""

    def record_movement(self, cmd: RecordMovement) -> MovementResult:
        """A receipt, adjustment, count or quarantine, once per idempotency key."""
        return retry_when_busy(lambda busy: self._record_one(cmd, busy))

    def _record_one(self, cmd: RecordMovement, busy: Sequence[StockBusy]) -> MovementResult:
        now = self._clock()
        with self._uow() as uow:
            self._wait_for(uow, busy)
            result = self._record_in(uow, cmd, now)
            if not result.replayed:
                uow.publish_changes()
                uow.commit()
        return result

    def record_movements(self, cmds: Sequence[RecordMovement]) -> list[MovementResult]:
        """Several person-entered movements (e.g. a stock file) in ONE transaction: all or none.

        Each keeps its own idempotency key, so re-running the same batch changes nothing.
        A refused movement raises with `extra["index"]` naming its position. Rows are applied
        in the writers' lock order (SKU id, location id), and each SKU gets one StockChanged
        for the whole batch. (A stock file's dry run is `try_movements`, the check that the
        import itself makes before writing: see oms.inventory.services.trial.)
        """
        return retry_when_busy(lambda busy: self._record_batch(cmds, busy))

    def _record_batch(
        self, cmds: Sequence[RecordMovement], busy: Sequence[StockBusy]
    ) -> list[MovementResult]:
        now = self._clock()
        results: dict[int, MovementResult] = {}
        with self._uow() as uow:
            self._wait_for(uow, busy)
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
                    results[index] = self._record_in(uow, cmds[index], now, events)
                except DomainError as error:
                    error.extra.setdefault("index", index)
                    raise
            events.flush(store, now)
            uow.publish_changes()
            uow.commit()
        return [results[i] for i in range(len(cmds))]

    def _wait_for(self, uow: InventoryUnitOfWork, busy: Sequence[StockBusy]) -> None:
        if busy and self._shortfall_handler is not None:
            self._shortfall_handler.wait_for(uow, busy)

    def record_within(
        self, uow: InventoryUnitOfWork, cmd: RecordMovement, now: datetime
    ) -> MovementResult:
        """A person-entered movement in the caller's transaction (e.g. a short pick's count)."""
        return self._record_in(uow, cmd, now)

    def record_system_within(
        self,
        uow: InventoryUnitOfWork,
        moves: Sequence[SystemMove],
        *,
        key: str,
        reference: str | None,
        actor: str,
        now: datetime,
    ) -> MovementResult:
        """Movements another context books in the caller's transaction: a return received into
        quarantine, a disposition executed, parts a repair used. They claim no idempotency key
        of their own: the caller's record (the unit, the repair) is what makes them happen
        once, and `key` (unique per caller record) names their ledger rows.
        """
        if not moves:
            return MovementResult([], [])
        store = uow.inventory
        for move in moves:
            if move.type not in _SYSTEM_MOVEMENTS:
                raise ValueError(f"{move.type} is not booked by other contexts")
            validate_quantity(move.quantity)
            if move.reason is not None and len(move.reason) > 64:
                raise InvalidInput("reason must be at most 64 characters", field="reason")
        sku_ids, location_ids = self._resolve(
            store, [m.sku for m in moves], [m.location for m in moves], ""
        )
        requests = sorted(
            (
                (
                    MovementRequest(
                        m.type,
                        m.sku,
                        m.location,
                        delta_for(m.type, m.quantity),
                        m.quantity,
                        m.reason,
                    ),
                    sku_ids[m.sku],
                    location_ids[m.location],
                )
                for m in moves
            ),
            key=lambda r: (r[1], r[2]),  # the writers' lock order
        )
        return self._apply(store, requests, key=key, reference=reference, actor=actor, now=now)

    def _record_in(
        self,
        uow: InventoryUnitOfWork,
        cmd: RecordMovement,
        now: datetime,
        events: _PendingEvents | None = None,
    ) -> MovementResult:
        store = uow.inventory
        movement_type, reason, key, reference, body = self._movement_body(cmd)
        prior = self._claim(store, key, MOVEMENT_OPERATION, body, now, cmd.caller)
        if prior is not None:
            return self._replayed_movement(store, key, prior)
        sku_id, location_id = self._resolve_one(store, cmd.sku, cmd.location)
        if movement_type is MovementType.COUNT:
            result = self._count(
                uow, cmd, key, reference, reason, (sku_id, location_id), now, events
            )
        else:
            delta = delta_for(movement_type, cmd.quantity)
            request = MovementRequest(
                movement_type, cmd.sku, cmd.location, delta, cmd.quantity, reason
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

    def _count(
        self,
        uow: InventoryUnitOfWork,
        cmd: RecordMovement,
        key: str,
        reference: str | None,
        reason: str | None,
        ids: tuple[int, int],
        now: datetime,
        events: _PendingEvents | None,
    ) -> MovementResult:
        """Record what was counted, always. Below what is reserved and quarantined there, the
        difference is taken first (`count_shortfall`: newest reservations first, then the
        quarantine), each cut a ledger row of its own with the reason `count_shortfall`, and
        the shortfall handler re-sources the orders that lost units, all in this transaction.
        """
        store = uow.inventory
        sku_id, location_id = ids
        store.ensure_levels([ids], now)
        handler = self._shortfall_handler
        # The stock row first: no reservation can slip in between reading and cutting.
        level = store.lock_level(sku_id, location_id)
        if level is None:  # ensure_levels just made it
            raise RuntimeError(f"stock level of {cmd.sku}@{cmd.location} vanished")
        holds = {}
        if level.reserved + level.quarantined > cmd.quantity and level.reserved:
            holds = {h.reservation_id: h for h in store.reservations_at(sku_id, location_id)}
        plan = count_shortfall(
            level, cmd.quantity, [(h.reservation_id, h.quantity) for h in holds.values()]
        )
        pending = events if events is not None else _PendingEvents()
        movements: list[Movement] = []
        cuts: list[ReservationCut] = []
        for reservation_id, units in plan.cuts:
            hold = holds[reservation_id]
            remaining = store.cut_reservation(reservation_id, sku_id, location_id, units, now)
            if store.fence is not None:
                store.fence.cut(reservation_id, cmd.sku, units)
            cuts.append(
                ReservationCut(
                    reservation_id, hold.reference, cmd.sku, cmd.location, units, remaining
                )
            )
            release = MovementRequest(
                MovementType.RELEASE,
                cmd.sku,
                cmd.location,
                delta_for(MovementType.RELEASE, units),
                units,
                COUNT_SHORTFALL,
            )
            movements += self._apply(
                store,
                [(release, sku_id, location_id)],
                key=key,  # the count's key: a replay answers with every row it wrote
                reference=_reservation_ref(reservation_id, hold.reference),
                actor=cmd.actor,
                now=now,
                events=pending,
                first_seq=len(movements),
            ).movements
        if plan.quarantine:
            unheld = MovementRequest(
                MovementType.QUARANTINE_RELEASE,
                cmd.sku,
                cmd.location,
                delta_for(MovementType.QUARANTINE_RELEASE, plan.quarantine),
                plan.quarantine,
                COUNT_SHORTFALL,
            )
            movements += self._apply(
                store,
                [(unheld, sku_id, location_id)],
                key=key,
                reference=reference,
                actor=cmd.actor,
                now=now,
                events=pending,
                first_seq=len(movements),
            ).movements
        delta = delta_for(MovementType.COUNT, cmd.quantity, level=level)
        count = MovementRequest(
            MovementType.COUNT,
            cmd.sku,
            cmd.location,
            delta,
            delta.on_hand,  # the variance
            reason,
            counted=cmd.quantity,
        )
        result = self._apply(
            store,
            [(count, sku_id, location_id)],
            key=key,
            reference=reference,
            actor=cmd.actor,
            now=now,
            events=pending,
            first_seq=len(movements),
        )
        if events is None or (cuts and handler is not None):
            # Before the handler writes: its events must be numbered after these, or a
            # consumer would take these older levels for the newer ones.
            pending.flush(store, now)
        if cuts and handler is not None:
            handler.reservations_cut(
                uow,
                StockShortfall(cmd.sku, cmd.location, cmd.quantity, tuple(cuts), cmd.actor, now),
            )
        return MovementResult(movements + result.movements, result.levels)

    def _movement_body(
        self, cmd: RecordMovement
    ) -> tuple[MovementType, str | None, str, str | None, dict[str, Any]]:
        """The checked command: type, reason, key, reference, and the body its key is for."""
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
        return movement_type, reason, key, reference, body

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
    def _replayed_movement(store: InventoryStore, key: str, prior: Any) -> MovementResult:
        levels = [_level_from_json(d) for d in prior.get("levels", [])]
        return MovementResult(store.movement_rows_for_key(key), levels, replayed=True)


def _person_movement_type(value: str) -> MovementType:
    try:
        movement_type = MovementType(value)
    except ValueError:
        movement_type = None
    if movement_type is None or movement_type not in _PERSON_MOVEMENTS:
        allowed = ", ".join(sorted(t.value for t in _PERSON_MOVEMENTS))
        raise InvalidInput(f"type must be one of {allowed}", field="type")
    return movement_type


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
