"""Whole-catalogue reads: every SKU, its flattened bundle requirements and available stock.

One transaction and one query per kind of row, for recomputing every channel's numbers at
once; a per-SKU read would cost a few round trips for each of 100,000 SKUs.
"""

from __future__ import annotations

from dataclasses import dataclass

from oms.inventory.domain import BundleComponent, Sku, SkuKind
from oms.inventory.services._base import ServiceCore


@dataclass(frozen=True, slots=True)
class CatalogueSnapshot:
    """Every SKU, and the available stock at active locations, read in one transaction."""

    skus: list[Sku]  # bundles with their direct components
    # bundle -> simple SKU -> units per bundle, through nested bundles
    requirements: dict[str, dict[str, int]]
    # sku -> active location -> on_hand - reserved - quarantined (levels that exist only)
    available: dict[str, dict[str, int]]
    active_locations: set[str]


class BulkReadUseCases(ServiceCore):
    """Reads of the whole catalogue at once."""

    def catalogue_snapshot(self) -> CatalogueSnapshot:
        with self._uow() as uow:
            store = uow.inventory
            sku_rows = store.all_sku_rows()
            component_rows = store.all_bundle_components()
            active = store.active_location_codes()
            level_rows = store.all_active_available()
        direct: dict[str, list[BundleComponent]] = {}
        for bundle, component, quantity in component_rows:
            direct.setdefault(bundle, []).append(BundleComponent(component, quantity))
        for components in direct.values():
            components.sort(key=lambda c: c.sku)
        skus = [
            Sku(
                code=code,
                name=name,
                kind=SkuKind(kind),
                attributes=attributes,
                components=direct.get(code, []) if kind == SkuKind.BUNDLE.value else [],
                ship_together=ship_together,
            )
            for code, name, kind, attributes, ship_together in sku_rows
        ]
        requirements = {
            sku.code: _flatten(sku.code, direct) for sku in skus if sku.kind is SkuKind.BUNDLE
        }
        available: dict[str, dict[str, int]] = {}
        for sku_code, location, units in level_rows:
            by_location = available.get(sku_code)
            if by_location is None:
                available[sku_code] = {location: units}
            else:
                by_location[location] = units
        return CatalogueSnapshot(skus, requirements, available, active)


def _flatten(bundle: str, direct: dict[str, list[BundleComponent]]) -> dict[str, int]:
    """Simple components per unit of `bundle`, as `flattened_requirements` computes them."""
    needs: dict[str, int] = {}
    stack: list[tuple[str, int]] = [(bundle, 1)]
    while stack:
        current, multiplier = stack.pop()
        for component in direct.get(current, []):
            if component.sku in direct:
                stack.append((component.sku, multiplier * component.quantity))
            else:
                needs[component.sku] = needs.get(component.sku, 0) + multiplier * component.quantity
    return needs
