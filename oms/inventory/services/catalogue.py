"""Use cases of the catalogue: locations and SKUs (bundles included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms.inventory.domain import (
    BundleComponent,
    Location,
    LocationKind,
    Sku,
    SkuKind,
    check_bundle_components,
    check_no_bundle_cycle,
    validate_barcode,
    validate_code,
    validate_postal_code,
    validate_prefecture,
)
from oms.inventory.ports import InventoryStore, InventoryUnitOfWork
from oms.inventory.services._base import ServiceCore, _clamp_limit, _int_cursor
from oms.inventory.services.commands import CreateLocation, CreateSku, UpdateSku
from oms.inventory.services.results import Page
from oms.shared.errors import Conflict, InvalidInput, NotFound


class CatalogueUseCases(ServiceCore):
    """Locations and SKUs: create, change, read, list."""

    # ------------------------------------------------------------------ locations

    def create_location(self, cmd: CreateLocation) -> Location:
        try:
            kind = LocationKind(cmd.kind)
        except ValueError:
            kinds = ", ".join(k.value for k in LocationKind)
            raise InvalidInput(f"kind must be one of {kinds}", field="kind") from None
        name = cmd.name.strip()
        if not name:
            raise InvalidInput("name must not be empty", field="name")
        location = Location(
            code=validate_code(cmd.code),
            name=name,
            kind=kind,
            prefecture=validate_prefecture(cmd.prefecture),
            postal_code=validate_postal_code(cmd.postal_code),
            ships_to_customers=cmd.ships_to_customers,
            active=cmd.active,
            created_at=self._clock(),
        )
        with self._uow() as uow:
            if uow.inventory.location_by_code(location.code) is not None:
                raise Conflict(f"location {location.code} already exists", field="code")
            location.id = uow.inventory.add_location(location)
            uow.inventory.catalogue_changed(())  # no stock there yet: no number moves
            uow.publish_changes()
            uow.commit()
        return location

    def get_location(self, code: str) -> Location:
        with self._uow() as uow:
            location = uow.inventory.location_by_code(code)
        if location is None:
            raise NotFound(f"no location {code!r}", field="code")
        return location

    def list_locations(self, cursor: str | None = None, limit: int = 100) -> Page[Location]:
        limit = _clamp_limit(limit)
        with self._uow() as uow:
            items = uow.inventory.list_locations(_int_cursor(cursor), limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more and items else None)

    # ------------------------------------------------------------------ SKUs

    def create_sku(self, cmd: CreateSku) -> Sku:
        with self._uow() as uow:
            sku = self.create_sku_within(uow, cmd, self._clock())
            uow.publish_changes()
            uow.commit()
        return sku

    def create_sku_within(self, uow: InventoryUnitOfWork, cmd: CreateSku, now: datetime) -> Sku:
        """A SKU made in the caller's transaction (a resale unit's own SKU); the caller
        publishes and commits."""
        try:
            kind = SkuKind(cmd.kind)
        except ValueError:
            raise InvalidInput("kind must be simple or bundle", field="kind") from None
        name = cmd.name.strip()
        if not name:
            raise InvalidInput("name must not be empty", field="name")
        code = validate_code(cmd.code)
        sku = Sku(
            code=code,
            name=name,
            kind=kind,
            barcode=validate_barcode(cmd.barcode) if cmd.barcode else None,
            attributes=dict(cmd.attributes),
            components=[BundleComponent(s, q) for s, q in cmd.components],
            ship_together=cmd.ship_together,
            created_at=now,
        )
        store = uow.inventory
        if store.sku_by_code(code) is not None:
            raise Conflict(f"SKU {code} already exists", field="code")
        self._check_barcode_free(store, sku.barcode, code)
        component_ids = self._component_ids(store, sku)
        sku.id = store.add_sku(sku, component_ids)
        if sku.kind is SkuKind.BUNDLE:
            store.catalogue_changed([sku.id])  # a bundle of stocked components is sellable
        else:
            # A new simple SKU is in no bundle and no process has its facts cached: its
            # numbers are computed, the cached rules stay (a resale unit is a SKU a minute).
            store.stock_changed([sku.id])
        return sku

    def set_attributes_within(
        self, uow: InventoryUnitOfWork, code: str, changes: dict[str, Any], now: datetime
    ) -> Sku:
        """Change some attributes of a SKU in the caller's transaction (a resale unit's stage):
        the channels' numbers follow them (exclusions by attribute) when the caller publishes."""
        store = uow.inventory
        sku = store.sku_by_code(code)
        if sku is None or sku.id is None:
            raise NotFound(f"no SKU {code!r}", field="code")
        sku.attributes = {**sku.attributes, **changes}
        store.update_sku(sku, self._component_ids(store, sku), now)
        store.catalogue_changed([sku.id])
        return sku

    def update_sku(self, cmd: UpdateSku) -> Sku:
        with self._uow() as uow:
            store = uow.inventory
            sku = store.sku_by_code(cmd.code)
            if sku is None:
                raise NotFound(f"no SKU {cmd.code!r}", field="code")
            if cmd.name is not None:
                if not cmd.name.strip():
                    raise InvalidInput("name must not be empty", field="name")
                sku.name = cmd.name.strip()
            if cmd.clear_barcode:
                sku.barcode = None
            elif cmd.barcode is not None:
                sku.barcode = validate_barcode(cmd.barcode)
                self._check_barcode_free(store, sku.barcode, sku.code)
            if cmd.attributes is not None:
                sku.attributes = dict(cmd.attributes)
            if cmd.ship_together is not None:
                sku.ship_together = cmd.ship_together
            if cmd.components is not None:
                if not sku.is_bundle:
                    raise InvalidInput("only a bundle has components", field="components")
                sku.components = [BundleComponent(s, q) for s, q in cmd.components]
                check_bundle_components(sku.code, sku.components)
            component_ids = self._component_ids(store, sku)
            store.update_sku(sku, component_ids, self._clock())
            if sku.id is not None:  # attributes drive exclusions and category buffers
                store.catalogue_changed([sku.id])
            uow.publish_changes()
            uow.commit()
        return sku

    @staticmethod
    def _check_barcode_free(store: InventoryStore, barcode: str | None, code: str) -> None:
        if barcode:
            owner = store.barcode_owner(barcode)
            if owner is not None and owner != code:
                raise Conflict(f"barcode {barcode} already belongs to {owner}", field="barcode")

    @staticmethod
    def _component_ids(store: InventoryStore, sku: Sku) -> dict[str, int]:
        if not sku.is_bundle:
            return {}
        refs = store.sku_refs(c.sku for c in sku.components)
        for i, component in enumerate(sku.components):
            if component.sku not in refs:
                raise InvalidInput(
                    f"component SKU {component.sku!r} does not exist",
                    field=f"components[{i}].sku",
                )
        check_no_bundle_cycle(sku.code, [c.sku for c in sku.components], store.bundle_contents())
        return {code: ref[0] for code, ref in refs.items()}

    def get_sku(self, code: str) -> Sku:
        with self._uow() as uow:
            sku = uow.inventory.sku_by_code(code)
        if sku is None:
            raise NotFound(f"no SKU {code!r}", field="code")
        return sku

    def list_skus(
        self, cursor: str | None = None, limit: int = 100, kind: str | None = None
    ) -> Page[Sku]:
        limit = _clamp_limit(limit)
        try:
            parsed = SkuKind(kind) if kind else None
        except ValueError:
            raise InvalidInput("kind must be simple or bundle", field="kind") from None
        with self._uow() as uow:
            items = uow.inventory.list_skus(_int_cursor(cursor), limit + 1, parsed)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more and items else None)
