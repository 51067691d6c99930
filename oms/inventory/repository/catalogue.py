"""SQL of the catalogue: locations, SKUs and bundle components."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, insert, literal, select, union_all, update

from oms.inventory.domain import BundleComponent, Location, LocationKind, Sku, SkuKind
from oms.inventory.orm import bundle_components, locations, skus
from oms.inventory.repository._base import SqlBase


class SqlCatalogue(SqlBase):
    """Locations and SKUs."""

    # ------------------------------------------------------------------ locations

    def add_location(self, location: Location) -> int:
        return int(
            self.session.execute(
                insert(locations)
                .values(
                    code=location.code,
                    name=location.name,
                    kind=location.kind.value,
                    prefecture=location.prefecture,
                    postal_code=location.postal_code,
                    ships_to_customers=location.ships_to_customers,
                    active=location.active,
                    created_at=location.created_at,
                )
                .returning(locations.c.id)
            ).scalar_one()
        )

    def update_location(self, location: Location) -> None:
        self.session.execute(
            update(locations)
            .where(locations.c.id == location.id)
            .values(
                name=location.name,
                kind=location.kind.value,
                prefecture=location.prefecture,
                postal_code=location.postal_code,
                ships_to_customers=location.ships_to_customers,
                active=location.active,
            )
        )

    @staticmethod
    def _location(row: Any) -> Location:
        return Location(
            code=row.code,
            name=row.name,
            kind=LocationKind(row.kind),
            prefecture=row.prefecture,
            postal_code=row.postal_code,
            ships_to_customers=row.ships_to_customers,
            active=row.active,
            id=row.id,
            created_at=row.created_at,
        )

    def location_by_code(self, code: str) -> Location | None:
        row = self.session.execute(select(locations).where(locations.c.code == code)).first()
        return self._location(row) if row else None

    def list_locations(self, after_id: int, limit: int) -> list[Location]:
        rows = self.session.execute(
            select(locations).where(locations.c.id > after_id).order_by(locations.c.id).limit(limit)
        )
        return [self._location(r) for r in rows]

    def location_ids(self, codes: Iterable[str]) -> dict[str, int]:
        wanted = set(codes)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(locations.c.code, locations.c.id).where(locations.c.code.in_(wanted))
        )
        return {r.code: r.id for r in rows}

    # ------------------------------------------------------------------ SKUs

    def add_sku(self, sku: Sku, component_ids: dict[str, int]) -> int:
        new_id = int(
            self.session.execute(
                insert(skus)
                .values(
                    code=sku.code,
                    name=sku.name,
                    kind=sku.kind.value,
                    barcode=sku.barcode,
                    attributes=sku.attributes,
                    ship_together=sku.ship_together,
                    created_at=sku.created_at,
                    updated_at=sku.created_at,
                )
                .returning(skus.c.id)
            ).scalar_one()
        )
        self._write_components(new_id, sku.components, component_ids)
        return new_id

    def _write_components(
        self, bundle_id: int, components: list[BundleComponent], ids: dict[str, int]
    ) -> None:
        if components:
            self.session.execute(
                insert(bundle_components),
                [
                    {"bundle_id": bundle_id, "component_id": ids[c.sku], "quantity": c.quantity}
                    for c in components
                ],
            )

    def update_sku(self, sku: Sku, component_ids: dict[str, int], now: datetime) -> None:
        if sku.id is None:
            raise ValueError("update_sku needs a stored SKU")
        self.session.execute(
            update(skus)
            .where(skus.c.id == sku.id)
            .values(
                name=sku.name,
                barcode=sku.barcode,
                attributes=sku.attributes,
                ship_together=sku.ship_together,
                updated_at=now,
            )
        )
        if sku.is_bundle:
            self.session.execute(
                bundle_components.delete().where(bundle_components.c.bundle_id == sku.id)
            )
            self._write_components(sku.id, sku.components, component_ids)

    def _components_of(self, bundle_ids: Sequence[int]) -> dict[int, list[BundleComponent]]:
        if not bundle_ids:
            return {}
        rows = self.session.execute(
            select(bundle_components.c.bundle_id, skus.c.code, bundle_components.c.quantity)
            .join(skus, skus.c.id == bundle_components.c.component_id)
            .where(bundle_components.c.bundle_id.in_(bundle_ids))
            .order_by(bundle_components.c.bundle_id, skus.c.code)
        )
        found: dict[int, list[BundleComponent]] = {}
        for r in rows:
            found.setdefault(r.bundle_id, []).append(BundleComponent(r.code, r.quantity))
        return found

    def _skus(self, rows: Sequence[Row[Any]]) -> list[Sku]:
        comps = self._components_of([r.id for r in rows if r.kind == SkuKind.BUNDLE.value])
        return [
            Sku(
                code=r.code,
                name=r.name,
                kind=SkuKind(r.kind),
                barcode=r.barcode,
                attributes=dict(r.attributes or {}),
                components=comps.get(r.id, []),
                ship_together=r.ship_together,
                id=r.id,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def sku_names(self, codes: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = self.session.execute(select(skus.c.code, skus.c.name).where(skus.c.code.in_(wanted)))
        return {r[0]: r[1] for r in rows}

    def sku_by_code(self, code: str) -> Sku | None:
        rows = self.session.execute(select(skus).where(skus.c.code == code)).all()
        found = self._skus(rows)
        return found[0] if found else None

    def list_skus(self, after_id: int, limit: int, kind: SkuKind | None = None) -> list[Sku]:
        query = select(skus).where(skus.c.id > after_id)
        if kind is not None:
            query = query.where(skus.c.kind == kind.value)
        rows = self.session.execute(query.order_by(skus.c.id).limit(limit)).all()
        return self._skus(rows)

    def sku_refs(self, codes: Iterable[str]) -> dict[str, tuple[int, SkuKind]]:
        wanted = set(codes)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(skus.c.code, skus.c.id, skus.c.kind).where(skus.c.code.in_(wanted))
        )
        return {r.code: (r.id, SkuKind(r.kind)) for r in rows}

    def refs(
        self, sku_codes: Iterable[str], location_codes: Iterable[str]
    ) -> tuple[dict[str, tuple[int, SkuKind]], dict[str, int]]:
        """`sku_refs` and `location_ids` in one round trip: what every movement resolves."""
        wanted_skus, wanted_locations = set(sku_codes), set(location_codes)
        if not wanted_skus or not wanted_locations:
            return self.sku_refs(wanted_skus), self.location_ids(wanted_locations)
        rows = self.session.execute(
            union_all(
                select(literal("s").label("k"), skus.c.code, skus.c.id, skus.c.kind).where(
                    skus.c.code.in_(wanted_skus)
                ),
                select(
                    literal("l").label("k"),
                    locations.c.code,
                    locations.c.id,
                    literal(None, String).label("kind"),
                ).where(locations.c.code.in_(wanted_locations)),
            )
        )
        found_skus: dict[str, tuple[int, SkuKind]] = {}
        found_locations: dict[str, int] = {}
        for row in rows:
            if row.k == "s":
                found_skus[row.code] = (row.id, SkuKind(row.kind))
            else:
                found_locations[row.code] = row.id
        return found_skus, found_locations

    def barcode_owner(self, barcode: str) -> str | None:
        return self.session.execute(
            select(skus.c.code).where(skus.c.barcode == barcode)
        ).scalar_one_or_none()

    def bundle_contents(self) -> dict[str, list[str]]:
        """Every bundle's component codes: for cycle checks."""
        bundle = skus.alias("bundle")
        component = skus.alias("component")
        rows = self.session.execute(
            select(bundle.c.code.label("bundle"), component.c.code.label("component"))
            .select_from(bundle_components)
            .join(bundle, bundle.c.id == bundle_components.c.bundle_id)
            .join(component, component.c.id == bundle_components.c.component_id)
        )
        contents: dict[str, list[str]] = {}
        for r in rows:
            contents.setdefault(r.bundle, []).append(r.component)
        return contents

    def flattened_requirements(self, bundle_id: int) -> dict[str, int]:
        """Simple components per unit of a bundle, through nested bundles."""
        needs: dict[str, int] = {}
        stack: list[tuple[int, int]] = [(bundle_id, 1)]
        while stack:
            current, multiplier = stack.pop()
            rows = self.session.execute(
                select(skus.c.id, skus.c.code, skus.c.kind, bundle_components.c.quantity)
                .join(skus, skus.c.id == bundle_components.c.component_id)
                .where(bundle_components.c.bundle_id == current)
            )
            for r in rows:
                if r.kind == SkuKind.BUNDLE.value:
                    stack.append((r.id, multiplier * r.quantity))
                else:
                    needs[r.code] = needs.get(r.code, 0) + multiplier * r.quantity
        return needs
