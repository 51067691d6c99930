"""SQL of whole-catalogue reads: every SKU, bundle component and stock level in one query each.

For recomputing every channel's numbers at once; the per-SKU reads stay in `catalogue` and
`levels`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from oms.inventory.orm import bundle_components, locations, skus, stock_levels
from oms.inventory.repository._base import SqlBase


class SqlBulkReads(SqlBase):
    """Every SKU, bundle component and active stock level, as plain rows."""

    def all_sku_rows(self) -> list[tuple[str, str, str, dict[str, Any], bool]]:
        """(code, name, kind, attributes, ship_together) of every SKU."""
        rows = self.session.execute(
            select(skus.c.code, skus.c.name, skus.c.kind, skus.c.attributes, skus.c.ship_together)
        )
        return [(r[0], r[1], r[2], dict(r[3] or {}), bool(r[4])) for r in rows]

    def all_bundle_components(self) -> list[tuple[str, str, int]]:
        """(bundle, component, quantity) of every bundle's direct components."""
        bundle = skus.alias("bundle")
        component = skus.alias("component")
        rows = self.session.execute(
            select(bundle.c.code, component.c.code, bundle_components.c.quantity)
            .select_from(bundle_components)
            .join(bundle, bundle.c.id == bundle_components.c.bundle_id)
            .join(component, component.c.id == bundle_components.c.component_id)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def active_location_codes(self) -> set[str]:
        rows = self.session.execute(select(locations.c.code).where(locations.c.active.is_(True)))
        return {r[0] for r in rows}

    def all_active_available(self) -> list[tuple[str, str, int]]:
        """(sku, location, on_hand - reserved - quarantined) of each level at an active location."""
        sl = stock_levels.c
        rows = self.session.execute(
            select(skus.c.code, locations.c.code, sl.on_hand - sl.reserved - sl.quarantined)
            .select_from(stock_levels)
            .join(skus, skus.c.id == sl.sku_id)
            .join(locations, locations.c.id == sl.location_id)
            .where(locations.c.active.is_(True))
        )
        return [(r[0], r[1], r[2]) for r in rows]
