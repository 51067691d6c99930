"""A graded returned item becomes a resale unit: its own SKU, one unit of stock, lineage and
a first price. Called by the returns context's RESALE disposition in its own transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oms.inventory.domain import SINGLE_UNIT, MovementType, Sku
from oms.inventory.services import CreateSku
from oms.resale.domain import (
    CONDITIONS,
    BaseSource,
    Grade,
    PricingMode,
    ResaleUnit,
    Stage,
    UnitPricing,
    default_schedule,
    parse_grade,
    starting_price,
)
from oms.resale.ports import ResaleUnitOfWork
from oms.resale.services.core import (
    CONDITION_ATTRIBUTE,
    GRADE_ATTRIBUTE,
    PARENT_ATTRIBUTE,
    STAGE_ATTRIBUTE,
    ResaleCore,
)
from oms.shared.errors import InvalidInput, NotFound

MAX_CODE = 64
MAX_NAME = 200
# The parent SKU's attribute holding its new price in yen (whole number).
PRICE_ATTRIBUTE = "price"


@dataclass(frozen=True, slots=True)
class ResaleSource:
    """What the disposition knows of the unit it sends to resale."""

    unit_id: int  # the returns context's unit
    barcode: str
    parent_sku: str
    location: str
    grade: str  # N U A B C D J
    functional: str
    defects: list[dict[str, Any]] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    order_id: int | None = None
    channel: str | None = None  # the original order's
    return_id: int | None = None


def unit_code(parent: str, unit_id: int) -> str:
    """`{parent}-U{unit_id}`; a long parent code is cut so the whole stays a valid code."""
    suffix = f"-U{unit_id}"
    return f"{parent[: MAX_CODE - len(suffix)]}{suffix}"


class IntakeUseCases(ResaleCore):
    def create_unit_within(
        self, uow: ResaleUnitOfWork, source: ResaleSource, actor: str, now: datetime
    ) -> ResaleUnit:
        """In the caller's transaction (the caller publishes and commits): the unit's SKU
        (simple, a single unit, carrying grade, parent and the parent's category), a RECEIPT of
        1 at the location held back in quarantine until the unit is listed, the unit with its
        lineage, and its first price. The same returns unit again returns the unit made the
        first time."""
        store = uow.resale
        existing = store.unit_for_returns_unit(source.unit_id)
        if existing is not None:
            return existing
        grade = parse_grade(source.grade)
        _check_source(source)
        parent = uow.inventory.sku_by_code(source.parent_sku)
        if parent is None:
            raise NotFound(f"no SKU {source.parent_sku!r}", field="parent_sku")
        if parent.is_bundle:
            raise InvalidInput("a set is never one unit: resell its parts", field="parent_sku")
        category = _text_attribute(parent, "category")
        unit = ResaleUnit(
            code=unit_code(parent.code, source.unit_id),
            returns_unit_id=source.unit_id,
            barcode=source.barcode,
            parent_sku=parent.code,
            category=category,
            location=source.location,
            grade=grade,
            functional=source.functional,
            defects=list(source.defects),
            photos=list(source.photos),
            order_id=source.order_id,
            channel=source.channel,
            return_id=source.return_id,
            stage=Stage.HIDDEN,
        )
        unit.pricing = self._first_pricing(uow, parent, grade, category, source.order_id)
        # The parent's attributes (style, season, ...), so that every rule a channel has for
        # the parent (an exclusion by style, a category's buffer) holds for its used units
        # too; never its catalogue price, which a used unit must not show (景品表示法).
        attributes: dict[str, Any] = {
            k: v for k, v in parent.attributes.items() if k != PRICE_ATTRIBUTE
        }
        attributes |= {
            SINGLE_UNIT: True,
            GRADE_ATTRIBUTE: grade.value,
            CONDITION_ATTRIBUTE: CONDITIONS[grade],
            PARENT_ATTRIBUTE: parent.code,
            STAGE_ATTRIBUTE: Stage.HIDDEN.value,
        }
        if category is not None:
            attributes["category"] = category  # category buffers and exclusions apply alike
        else:
            attributes.pop("category", None)  # an empty one
        self._inventory.create_sku_within(
            uow,
            CreateSku(
                code=unit.code,
                name=f"{parent.name} [{grade.value}] #{source.unit_id}"[:MAX_NAME],
                attributes=attributes,
            ),
            now,
        )
        store.add_unit(unit, actor, now)
        self._move(
            uow,
            unit,
            "intake",
            [
                (MovementType.RECEIPT, "resale unit received"),
                (MovementType.QUARANTINE, "resale unit not listed yet"),
            ],
            actor,
            now,
        )
        if unit.pricing.price is not None:
            price, unit.pricing.price = unit.pricing.price, None
            # Not the factor: with the price it would give the new item's price away.
            reason = f"grade {grade.value} price (from the {unit.pricing.base_source} price)"
            self._price(store, unit, price, reason, actor, now)
        return unit

    def _first_pricing(
        self,
        uow: ResaleUnitOfWork,
        parent: Sku,
        grade: Grade,
        category: str | None,
        order_id: int | None,
    ) -> UnitPricing:
        """Base price: the parent's catalogue `price` (the brand's list price, the same for
        every unit of it); failing that, what the original buyer paid per unit on the order
        line of the parent (a discount they had lowers it); failing both, none: a person sets
        the price by hand before the unit can be readied."""
        factor = self._factors(uow.resale, category)[grade]
        base: int | None = None
        source: BaseSource | None = None
        listed = _whole_yen(parent.attributes.get(PRICE_ATTRIBUTE))
        if listed is not None and listed > 0:
            base, source = listed, BaseSource.CATALOGUE
        elif order_id is not None:
            order = uow.orders.order(order_id)
            paid = (
                [ln.unit_price for ln in order.lines if ln.sku == parent.code and ln.unit_price > 0]
                if order is not None
                else []
            )
            if paid:
                base, source = max(paid), BaseSource.ORDER_LINE
        start = starting_price(base, factor) if base is not None else None
        return UnitPricing(
            base=base,
            base_source=source,
            factor=factor,
            start=start,
            mode=PricingMode.SCHEDULE,
            schedule=default_schedule(start) if start is not None else None,
            price=start,
        )


MAX_PHOTOS = 20
MAX_PHOTO_REF = 500


def check_photos(photos: object, field_name: str = "photos") -> list[str]:
    if not isinstance(photos, list) or len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"{field_name} must be a list of at most {MAX_PHOTOS}", field=field_name)
    for i, ref in enumerate(photos):
        if not isinstance(ref, str) or not ref.strip() or len(ref) > MAX_PHOTO_REF:
            raise InvalidInput(
                f"{field_name}[{i}] must be a reference of 1-{MAX_PHOTO_REF} characters",
                field=f"{field_name}[{i}]",
            )
    return list(photos)


def _check_source(source: ResaleSource) -> None:
    if not source.barcode or len(source.barcode) > 32:
        raise InvalidInput("barcode must be 1-32 characters", field="barcode")
    if not source.functional or len(source.functional) > 8:
        raise InvalidInput("functional must be 1-8 characters", field="functional")
    if not isinstance(source.defects, list) or not all(isinstance(d, dict) for d in source.defects):
        raise InvalidInput("defects must be a list of objects", field="defects")
    check_photos(source.photos)


def _text_attribute(sku: Sku, name: str) -> str | None:
    value = sku.attributes.get(name)
    return str(value)[:100] if value not in (None, "") else None


def _whole_yen(value: object) -> int | None:
    """A catalogue price as attributes hold it: a whole number, or its ASCII digits as text
    (spreadsheets and CSV imports write "10000"); anything else is no price."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None
