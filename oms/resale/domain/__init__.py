"""Resale's pure core: the unit and its state machine, grades, prices, listing windows."""

from __future__ import annotations

from oms.resale.domain.grades import CONDITIONS, NEEDS_PHOTOS, Grade, parse_grade
from oms.resale.domain.listing import validate_listing, validate_segment
from oms.resale.domain.pricing import (
    DEFAULT_CATEGORY,
    DEFAULT_FACTORS,
    MAX_PRICE,
    BaseSource,
    MarkdownStep,
    PriceChange,
    PricingMode,
    Schedule,
    UnitPricing,
    default_schedule,
    scheduled_price,
    starting_price,
    validate_factors,
    validate_price,
    validate_reason,
    validate_schedule,
)
from oms.resale.domain.unit import (
    ON_SALE,
    TERMINAL,
    TRANSITIONS,
    EarlyAccess,
    ResaleAction,
    ResaleStatus,
    ResaleUnit,
    Stage,
)

__all__ = [
    "CONDITIONS",
    "DEFAULT_CATEGORY",
    "DEFAULT_FACTORS",
    "MAX_PRICE",
    "NEEDS_PHOTOS",
    "ON_SALE",
    "TERMINAL",
    "TRANSITIONS",
    "BaseSource",
    "EarlyAccess",
    "Grade",
    "MarkdownStep",
    "PriceChange",
    "PricingMode",
    "ResaleAction",
    "ResaleStatus",
    "ResaleUnit",
    "Schedule",
    "Stage",
    "UnitPricing",
    "default_schedule",
    "parse_grade",
    "scheduled_price",
    "starting_price",
    "validate_factors",
    "validate_listing",
    "validate_price",
    "validate_reason",
    "validate_schedule",
    "validate_segment",
]
