"""SQL of whole-catalogue reads: every SKU, bundle component and stock level, a query each.

For recomputing every channel's numbers at once; the per-SKU reads stay in `catalogue` and
`levels`. The statements are built with SQLAlchemy but their rows are fetched from the
driver's cursor as plain tuples: for 500,000 stock levels, SQLAlchemy's row objects and type
processing cost more than the query itself. Stock comes as one row per location holding two
arrays (SKU ids, available), not a row per level: the database builds them faster than the
driver turns half a million rows into Python tuples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.sql import ColumnElement, Select

from oms.inventory.domain import SkuKind
from oms.inventory.orm import bundle_components, locations, skus, stock_levels
from oms.inventory.repository._base import SqlBase


class SqlBulkReads(SqlBase):
    """Every SKU, bundle component and active stock level, as plain rows and columns."""

    def skus_by_attributes(self) -> list[tuple[str, list[int], list[str]]]:
        """Every SKU, grouped by its attributes: (attributes as JSON text, ids, codes) per
        distinct text, the i-th id going with the i-th code.

        A catalogue has few distinct attribute sets: grouped by the database, each comes once
        and the SKUs as two arrays, not a row each (for 100,000 SKUs, a sixth of the time).
        """
        text = cast(skus.c.attributes, Text)
        ids: ColumnElement[Any]
        codes: ColumnElement[Any]
        if self.dialect == "postgresql":
            ids, codes = func.array_agg(skus.c.id), func.array_agg(skus.c.code)
        else:
            ids, codes = func.json_group_array(skus.c.id), func.json_group_array(skus.c.code)
        rows = self._driver_rows(select(text, ids, codes).group_by(text))
        groups: list[tuple[str, list[int], list[str]]] = []
        for attributes, group_ids, group_codes in rows:
            if isinstance(group_ids, str):  # SQLite: JSON arrays as text
                group_ids, group_codes = json.loads(group_ids), json.loads(group_codes)
            if len(group_ids) != len(group_codes):
                raise RuntimeError("SKU ids and codes grouped apart")
            groups.append((attributes, list(group_ids), list(group_codes)))
        return groups

    def bundle_rows(self) -> list[tuple[str, bool]]:
        """(code, ship_together) of every bundle."""
        rows = self._driver_rows(
            select(skus.c.code, skus.c.ship_together).where(skus.c.kind == SkuKind.BUNDLE.value)
        )
        return [(code, bool(ship_together)) for code, ship_together in rows]

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

    def active_location_ids(self) -> dict[int, str]:
        """Id -> code of every active location."""
        rows = self._driver_rows(
            select(locations.c.id, locations.c.code).where(locations.c.active.is_(True))
        )
        return dict(rows)

    def available_by_location(self, location_ids: Iterable[int]) -> dict[int, dict[int, int]]:
        """Location id -> SKU id -> on_hand - reserved - quarantined, for every level at these
        locations (their ids written into the statement: a join with `locations` would cost
        PostgreSQL more than the aggregation).

        One row per location with two arrays built by the same aggregation, which feeds both
        the same rows in the same order: the i-th SKU id goes with the i-th figure.
        """
        sl = stock_levels.c
        available = sl.on_hand - sl.reserved - sl.quarantined
        wanted = sorted(set(location_ids))
        if not wanted:
            return {}
        if self.dialect == "postgresql":
            statement = select(sl.location_id, func.array_agg(sl.sku_id), func.array_agg(available))
        else:
            statement = select(
                sl.location_id, func.json_group_array(sl.sku_id), func.json_group_array(available)
            )
        rows = self._driver_rows(
            statement.where(sl.location_id.in_(wanted)).group_by(sl.location_id),
            binary=self.dialect == "postgresql",
        )
        by_location: dict[int, dict[int, int]] = {}
        for location_id, sku_ids, units in rows:
            if isinstance(sku_ids, str):  # SQLite: JSON arrays as text
                sku_ids, units = json.loads(sku_ids), json.loads(units)
            if len(sku_ids) != len(units):
                raise RuntimeError(f"stock at location {location_id}: ids and figures differ")
            by_location[location_id] = dict(zip(sku_ids, units, strict=True))
        return by_location

    def _driver_rows(
        self, statement: Select[*tuple[Any, ...]], *, binary: bool = False
    ) -> list[Any]:
        """Every row of `statement` as the driver's plain tuples, in this session's transaction.

        Values come as the driver gives them (SQLite: booleans as 0/1, JSON as text): the
        statement has no parameters, its literals are rendered into the SQL. `binary`
        (PostgreSQL): results in binary form, which psycopg turns into arrays of ints faster.
        """
        connection = self.session.connection()
        sql = str(
            statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        )
        raw = connection.connection
        # Binary: asked of psycopg's own connection (the pool's proxy has no such option).
        driver: Any = raw.driver_connection
        cursor = driver.cursor(binary=True) if binary else raw.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()
