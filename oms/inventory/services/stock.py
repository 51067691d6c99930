"""Use cases that read stock: levels, a SKU's stock, the ledger, stock as of a time, verify."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from oms.inventory.domain import Movement, SkuKind, StockDelta, StockLevel, bundle_units
from oms.inventory.services._base import ServiceCore, _clamp_limit
from oms.inventory.services.results import (
    LedgerDifference,
    LocationStock,
    Page,
    SkuStock,
    VerifyReport,
)
from oms.shared.bounds import check_instant, parse_id
from oms.shared.clock import as_utc
from oms.shared.errors import InvalidInput, NotFound


class StockUseCases(ServiceCore):
    """Reading stock: the projection, the ledger, the ledger as of a time, and verify."""

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
        cursor: str | None = None,
        limit: int = 100,
        *,
        cursor_field: str = "cursor",
    ) -> Page[Movement]:
        """Movements newest first. `cursor` is the `next_cursor` of the last page (the id of
        its last movement); `cursor_field` names it in an error."""
        limit = _clamp_limit(limit)
        before_id = parse_id(cursor, cursor_field)
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
        """The stock as the ledger says it was at `at` (movements recorded at or before it).

        A naive `at` is UTC. It must lie from 2000 to now: the ledger cannot tell the future,
        and a moment such as year 1 at +09:00 does not exist in UTC."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        at = as_utc(check_instant(at, "at", now=self._clock()))
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
