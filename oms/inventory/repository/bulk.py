"""SQL of whole-catalogue reads: every SKU, bundle component and stock level in one query each.

For recomputing every channel's numbers at once; the per-SKU reads stay in `catalogue` and
`levels`. The statements are built with SQLAlchemy but their rows are fetched from the
driver's cursor as plain tuples: for 500,000 stock levels, SQLAlchemy's row objects and type
processing cost more than the query itself.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.sql import Select

from oms.inventory.orm import bundle_components, locations, skus, stock_levels
from oms.inventory.repository._base import SqlBase


class SqlBulkReads(SqlBase):
    """Every SKU, bundle component and active stock level, as plain rows."""

    def all_sku_rows(self) -> list[tuple[str, str, str, dict[str, Any], bool]]:
        """(code, name, kind, attributes, ship_together) of every SKU."""
        rows = self._driver_rows(
            select(
                skus.c.code,
                skus.c.name,
                skus.c.kind,
                # As text: SKUs share a few attribute sets, each is parsed once (see below).
                cast(skus.c.attributes, Text),
                skus.c.ship_together,
            )
        )
        parsed: dict[str, dict[str, Any]] = {}
        result: list[tuple[str, str, str, dict[str, Any], bool]] = []
        for code, name, kind, text, ship_together in rows:
            attributes = parsed.get(text)
            if attributes is None:
                attributes = parsed[text] = dict(json.loads(text) or {})
            # A copy each: a caller may change one SKU's attributes without touching others.
            result.append((code, name, kind, dict(attributes), bool(ship_together)))
        return result

    def all_bundle_components(self) -> list[tuple[str, str, int]]:
        """(bundle, component, quantity) of every bundle's direct components."""
        bundle = skus.alias("bundle")
        component = skus.alias("component")
        return self._driver_rows(
            select(bundle.c.code, component.c.code, bundle_components.c.quantity)
            .select_from(bundle_components)
            .join(bundle, bundle.c.id == bundle_components.c.bundle_id)
            .join(component, component.c.id == bundle_components.c.component_id)
        )

    def active_location_codes(self) -> set[str]:
        rows = self._driver_rows(select(locations.c.code).where(locations.c.active.is_(True)))
        return {r[0] for r in rows}

    def all_active_available(self) -> list[tuple[str, str, int]]:
        """(sku, location, on_hand - reserved - quarantined) of each level at an active location."""
        sl = stock_levels.c
        return self._driver_rows(
            select(skus.c.code, locations.c.code, sl.on_hand - sl.reserved - sl.quarantined)
            .select_from(stock_levels)
            .join(skus, skus.c.id == sl.sku_id)
            .join(locations, locations.c.id == sl.location_id)
            .where(locations.c.active.is_(True))
        )

    def _driver_rows(self, statement: Select[Any]) -> list[Any]:
        """Every row of `statement` as the driver's plain tuples, in this session's transaction.

        Values come as the driver gives them (SQLite: booleans as 0/1, JSON as text): the
        statement has no parameters, its literals are rendered into the SQL.
        """
        connection = self.session.connection()
        sql = str(
            statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        )
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()
