"""Whole-catalogue reads: every SKU, its flattened bundle requirements and available stock.

One transaction and one query per kind of row, for recomputing every channel's numbers at
once; a per-SKU read would cost a few round trips for each of 100,000 SKUs. The snapshot is
plain codes and mappings, no `Sku` per row: building 100,000 of them would cost more than
the reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms.inventory.domain import SkuKind
from oms.inventory.services._base import ServiceCore


@dataclass(frozen=True, slots=True)
class CatalogueSnapshot:
    """Every SKU, and the available stock at active locations, read in one transaction."""

    skus: list[str]  # every SKU code, simple and bundle
    # sku -> attributes, for the SKUs that have any
    attributes: dict[str, dict[str, Any]]
    # bundle -> ship_together
    bundles: dict[str, bool]
    # bundle -> simple SKU -> units per bundle, through nested bundles
    requirements: dict[str, dict[str, int]]
    # active location -> sku -> on_hand - reserved - quarantined (levels that exist only)
    available: dict[str, dict[str, int]]
    active_locations: set[str]


class BulkReadUseCases(ServiceCore):
    """Reads of the whole catalogue at once."""

    def sales_since(self, channels: Sequence[str], since: datetime) -> dict[tuple[str, str], int]:
        """Units reserved per (channel, SKU) since `since` (released reservations left out):
        what sales velocity is computed from."""
        with self._uow() as uow:
            return uow.inventory.sold_since_by_code(channels, since)

    def catalogue_snapshot(self) -> CatalogueSnapshot:
        with self._uow() as uow:
            store = uow.inventory
            sku_rows = store.all_sku_rows()
            component_rows = store.all_bundle_components()
            active = store.active_location_codes()
            level_rows = store.all_active_available()
        direct: dict[str, list[tuple[str, int]]] = {}
        for bundle, component, quantity in component_rows:
            direct.setdefault(bundle, []).append((component, quantity))
        codes: list[str] = []
        attributes: dict[str, dict[str, Any]] = {}
        bundles: dict[str, bool] = {}
        bundle_kind = SkuKind.BUNDLE.value
        for code, _name, kind, sku_attributes, ship_together in sku_rows:
            codes.append(code)
            if sku_attributes:
                attributes[code] = sku_attributes
            if kind == bundle_kind:
                bundles[code] = ship_together
        requirements = {bundle: _flatten(bundle, direct) for bundle in bundles}
        available: dict[str, dict[str, int]] = {location: {} for location in active}
        for sku_code, location, units in level_rows:
            available[location][sku_code] = units
        return CatalogueSnapshot(codes, attributes, bundles, requirements, available, active)


def _flatten(bundle: str, direct: dict[str, list[tuple[str, int]]]) -> dict[str, int]:
    """Simple components per unit of `bundle`, as `flattened_requirements` computes them."""
    needs: dict[str, int] = {}
    stack: list[tuple[str, int]] = [(bundle, 1)]
    while stack:
        current, multiplier = stack.pop()
        for component, quantity in sorted(direct.get(current, [])):
            if component in direct:
                stack.append((component, multiplier * quantity))
            else:
                needs[component] = needs.get(component, 0) + multiplier * quantity
    return needs
