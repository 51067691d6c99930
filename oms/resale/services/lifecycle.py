"""A unit along its state machine: prepared, readied, published (out of quarantine, onto the
channels), reserved and sold as orders take and ship it, withdrawn, disposed of."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from oms.inventory.domain import InsufficientStock, MovementType
from oms.resale.domain import (
    NEEDS_PHOTOS,
    Grade,
    ResaleAction,
    ResaleStatus,
    ResaleUnit,
    validate_listing,
)
from oms.resale.ports import ResaleUnitOfWork
from oms.resale.services.core import ResaleCore
from oms.resale.services.intake import check_photos
from oms.shared.errors import Conflict, InvalidInput

MAX_REASON = 64  # it is the ledger movement's reason too


class LifecycleUseCases(ResaleCore):
    def prepare(self, code: str, actor: str) -> ResaleUnit:
        """Taken in hand: cleaning, photos, price."""
        now = self._clock()
        with self._uow() as uow:
            unit = self._unit(uow.resale, code, lock=True)
            unit.apply(ResaleAction.PREPARE)
            uow.resale.save_unit(unit, now)
            uow.commit()
        return unit

    def ready(self, code: str, actor: str, photos: list[str] | None = None) -> ResaleUnit:
        """Prepared: a price, and at least one photo of a used item (A-D) showing its flaws.
        `photos` replaces the unit's photos when given."""
        now = self._clock()
        chosen = check_photos(photos) if photos is not None else None
        with self._uow() as uow:
            unit = self._unit(uow.resale, code, lock=True)
            if chosen is not None:
                unit.photos = chosen
            if unit.can(ResaleAction.READY):
                if unit.pricing.price is None:
                    raise Conflict(f"resale unit {code} has no price: set one first", field="price")
                if unit.grade in NEEDS_PHOTOS and not unit.photos:
                    raise InvalidInput(
                        f"a grade {unit.grade} unit needs at least one photo", field="photos"
                    )
            unit.apply(ResaleAction.READY)
            uow.resale.save_unit(unit, now)
            uow.commit()
        return unit

    def publish(
        self,
        code: str,
        actor: str,
        public_from: datetime,
        early_access: Sequence[tuple[object, object]] = (),
    ) -> ResaleUnit:
        """Listed: out of quarantine, so every channel whose rules allow it shows 1; the
        marketplaces only from `public_from` (they exclude `resale_stage=early`)."""
        public, windows = validate_listing(public_from, early_access)
        now = self._clock()
        if self._marketplaces is not None and now < public:
            # Before the unit's transaction, in transactions of their own: idempotent, and a
            # failed publish leaves only a rule that was wanted anyway.
            self._marketplaces.keep_early_units_off_marketplaces(actor)
        with self._uow() as uow:
            unit = self._unit(uow.resale, code, lock=True)
            if unit.grade is Grade.J and unit.can(ResaleAction.PUBLISH):
                raise Conflict("a J (for parts) unit is never listed", field="grade")
            unit.apply(ResaleAction.PUBLISH)
            unit.public_from, unit.early_access, unit.listed_at = public, windows, now
            self._show_stage(uow, unit, now)
            self._move(
                uow,
                unit,
                "publish",
                [(MovementType.QUARANTINE_RELEASE, "resale unit listed")],
                actor,
                now,
            )
            uow.resale.save_unit(unit, now)
            uow.publish_changes()
            uow.commit()
        return unit

    def withdraw(self, code: str, actor: str, reason: str) -> ResaleUnit:
        """Off sale: a listed unit goes back into quarantine (refused while an order holds
        it: the inventory's reservation is what decides)."""
        why = _reason(reason)
        now = self._clock()
        with self._uow() as uow:
            unit = self._unit(uow.resale, code, lock=True)
            was = unit.status
            unit.apply(ResaleAction.WITHDRAW)
            if was is ResaleStatus.LISTED:
                try:
                    self._move(uow, unit, "withdraw", [(MovementType.QUARANTINE, why)], actor, now)
                except InsufficientStock:
                    raise Conflict(
                        f"an order holds resale unit {code}: it cannot be withdrawn",
                        field="status",
                    ) from None
            self._show_stage(uow, unit, now)
            uow.resale.save_unit(unit, now)
            uow.publish_changes()
            uow.commit()
        return unit

    def dispose(self, code: str, actor: str, reason: str) -> ResaleUnit:
        """A withdrawn unit leaves stock (liquidated, donated, recycled): written off out of
        quarantine."""
        why = _reason(reason)
        now = self._clock()
        with self._uow() as uow:
            unit = self._unit(uow.resale, code, lock=True)
            unit.apply(ResaleAction.DISPOSE)
            self._move(uow, unit, "dispose", [(MovementType.WRITE_OFF, why)], actor, now)
            uow.resale.save_unit(unit, now)
            uow.publish_changes()
            uow.commit()
        return unit

    def observe_stock(self, codes: Sequence[str]) -> int:
        """Follow what orders did to units' stock (run on StockChanged, safe to run twice):
        held by an order -> reserved; let go -> listed again; shipped (no stock left) -> sold.
        The reservation itself was atomic in the order's transaction; this only records it on
        the unit. Returns how many units changed."""
        with self._uow() as uow:
            candidates = [
                u.code
                for u in uow.resale.units_with_codes(codes)
                if u.status in (ResaleStatus.LISTED, ResaleStatus.RESERVED)
            ]
        changed = 0
        for code in candidates:
            now = self._clock()
            with self._uow() as uow:
                unit = self._unit(uow.resale, code, lock=True)
                if self._follow(uow, unit, now):
                    uow.resale.save_unit(unit, now)
                    uow.publish_changes()
                    uow.commit()
                    changed += 1
        return changed

    def _follow(self, uow: ResaleUnitOfWork, unit: ResaleUnit, now: datetime) -> bool:
        levels = uow.inventory.levels(sku_codes=[unit.code], location_code=unit.location)
        on_hand = sum(lv.on_hand for lv in levels)
        reserved = sum(lv.reserved for lv in levels)
        before = unit.status
        if on_hand == 0 and unit.status in (ResaleStatus.LISTED, ResaleStatus.RESERVED):
            if unit.status is ResaleStatus.LISTED:  # reserved and shipped between two looks
                unit.apply(ResaleAction.RESERVE)
            unit.apply(ResaleAction.SELL)
        elif reserved > 0 and unit.status is ResaleStatus.LISTED:
            unit.apply(ResaleAction.RESERVE)
        elif reserved == 0 and on_hand > 0 and unit.status is ResaleStatus.RESERVED:
            unit.apply(ResaleAction.RELEASE)
        if unit.status is before:
            return False
        self._show_stage(uow, unit, now)
        return True


def _reason(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput("reason must say why", field="reason")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"reason must be at most {MAX_REASON} characters", field="reason")
    return text
