"""Whole-catalogue reads: every SKU, its flattened bundle requirements and available stock.

One transaction and one query per kind of row, for recomputing every channel's numbers at
once; a per-SKU read would cost a few round trips for each of 100,000 SKUs. The snapshot is
plain codes, columns and mappings, no `Sku` per row: building 100,000 of them would cost more
than the reads. SKUs come grouped by their attributes (a catalogue has few distinct sets), so
that each set is parsed once and what depends on attributes is worked out once per set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any

from oms.inventory.services._base import ServiceCore


@dataclass(frozen=True, slots=True)
class CatalogueSnapshot:
    """Some SKUs, and their available stock at active locations, as mappings: what channel
    publication reads for the SKUs a batch of stock changes touched."""

    skus: list[str]  # the SKUs to compute, simple and bundle
    # sku -> attributes, for the SKUs that have any (bundle components included)
    attributes: dict[str, dict[str, Any]]
    # bundle -> ship_together
    bundles: dict[str, bool]
    # bundle -> simple SKU -> units per bundle, through nested bundles
    requirements: dict[str, dict[str, int]]
    # active location -> sku -> on_hand - reserved - quarantined (levels that exist only)
    available: dict[str, dict[str, int]]
    active_locations: set[str]


@dataclass(frozen=True, slots=True)
class CatalogueColumns:
    """Every SKU, and the available stock at active locations, read in one transaction, as
    columns: what a full recompute reads."""

    skus: list[str]  # every SKU code, simple and bundle
    # Each distinct attribute set once, with the SKUs that have it; every SKU is in one group.
    # The mappings are shared by the SKUs of a group: read them, never change them.
    attribute_groups: list[tuple[Mapping[str, Any], list[str]]]
    # bundle -> ship_together
    bundles: dict[str, bool]
    # bundle -> simple SKU -> units per bundle, through nested bundles
    requirements: dict[str, dict[str, int]]
    # active location -> on_hand - reserved - quarantined of each SKU, in the order of `skus`
    # (0 where the SKU has no level there)
    available: dict[str, list[int]]
    active_locations: set[str]


class BulkReadUseCases(ServiceCore):
    """Reads of the whole catalogue at once."""

    def sales_since(self, channels: Sequence[str], since: datetime) -> dict[tuple[str, str], int]:
        """Units reserved per (channel, SKU) since `since` (released reservations left out):
        what sales velocity is computed from."""
        with self._uow() as uow:
            return uow.inventory.sold_since_by_code(channels, since)

    def catalogue_snapshot(self) -> CatalogueColumns:
        with self._uow() as uow:
            store = uow.inventory
            groups = store.skus_by_attributes()
            bundle_rows = store.bundle_rows()
            component_rows = store.all_bundle_components()
            locations = store.active_location_ids()
            levels = store.available_by_location(locations)
        ids: list[int] = []
        codes: list[str] = []
        attribute_groups: list[tuple[Mapping[str, Any], list[str]]] = []
        for text, group_ids, group_codes in groups:
            ids += group_ids
            codes += group_codes
            attribute_groups.append((dict(json.loads(text) or {}), group_codes))
        direct: dict[str, list[tuple[str, int]]] = {}
        for bundle, component, quantity in component_rows:
            direct.setdefault(bundle, []).append((component, quantity))
        bundles = dict(bundle_rows)
        requirements = {bundle: _flatten(bundle, direct) for bundle in bundles}
        available = {
            code: list(map(levels.get(location_id, {}).get, ids, repeat(0)))
            for location_id, code in locations.items()
        }
        return CatalogueColumns(
            codes,
            attribute_groups,
            bundles,
            requirements,
            available,
            set(locations.values()),
        )


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
