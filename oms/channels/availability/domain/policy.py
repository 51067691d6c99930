"""Inputs of the availability pipeline: validated channel rules, stock per location, pools.

Pure: the stdlib and `oms.shared` only. `oms.channels.availability.domain.model` re-exports
everything public here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from oms.shared.errors import InvalidInput

# --------------------------------------------------------------------------- validation


def validate_non_negative(value: int, *, field_name: str) -> int:
    """Whole units, 0 or more: buffers, caps, pools, safety stock, bundle quantities."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_name} must be a whole number, got {value!r}", field=field_name)
    if value < 0:
        raise InvalidInput(f"{field_name} must not be negative, got {value}", field=field_name)
    return value


def validate_share_percent(value: int | None, *, field_name: str = "share_percent") -> int | None:
    """A share is a whole percentage of the shared remainder; shares need not add to 100."""
    if value is None:
        return None
    validate_non_negative(value, field_name=field_name)
    if value > 100:
        raise InvalidInput(f"{field_name} must be between 0 and 100, got {value}", field=field_name)
    return value


def validate_cap(value: int | None, *, field_name: str = "cap") -> int | None:
    if value is None:
        return None
    return validate_non_negative(value, field_name=field_name)


def validate_rate(value: float, *, field_name: str) -> float:
    """Velocity and push latency: finite and not negative."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field_name} must be a number, got {value!r}", field=field_name)
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(
            f"{field_name} must be a finite number, 0 or more, got {value!r}", field=field_name
        )
    return float(value)


# --------------------------------------------------------------------------- rule resolution


def resolve_safety_stock(
    sku: str,
    locations: Iterable[str],
    location_defaults: Mapping[str, int],
    overrides: Mapping[tuple[str, str], int],
) -> dict[str, int]:
    """Safety stock per location: the (SKU, location) override, else the location's default."""
    return {
        location: overrides.get((sku, location), location_defaults.get(location, 0))
        for location in locations
    }


def resolve_buffer_units(
    sku: str,
    category: str | None,
    per_sku: Mapping[str, int],
    per_category: Mapping[str, int],
    channel_default: int,
) -> int:
    """A channel's buffer for one SKU: per SKU, else per category, else the channel default."""
    if sku in per_sku:
        return per_sku[sku]
    if category is not None and category in per_category:
        return per_category[category]
    return channel_default


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class LocationStock:
    """Physical available of one SKU at one location; may be negative after a stock loss."""

    location: str
    available: int


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """A channel's rules for one SKU, already resolved (e.g. the buffer per SKU > category)."""

    code: str
    feeding_locations: frozenset[str]
    excluded_locations: frozenset[str] = frozenset()
    excluded_skus: frozenset[str] = frozenset()
    excluded_attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    buffer_units: int = 0
    share_percent: int | None = None
    cap: int | None = None
    auto_buffer: bool = False
    velocity_per_minute: float = 0.0
    push_latency_minutes: float = 0.0

    def __post_init__(self) -> None:
        validate_non_negative(self.buffer_units, field_name="buffer_units")
        validate_share_percent(self.share_percent)
        validate_cap(self.cap)
        validate_rate(self.velocity_per_minute, field_name="velocity_per_minute")
        validate_rate(self.push_latency_minutes, field_name="push_latency_minutes")

    @property
    def auto_buffer_units(self) -> int:
        """ceil(velocity x latency): what a fast seller sells between two pushes."""
        if not self.auto_buffer:
            return 0
        # Decimal of the shortest repr: 0.1 x 30 is 3, not ceil(3.0000000000000004) = 4.
        units = Decimal(repr(self.velocity_per_minute)) * Decimal(repr(self.push_latency_minutes))
        return math.ceil(units)

    def exclusion_of(self, sku: str, attributes: Mapping[str, str]) -> str | None:
        """Why this SKU is excluded from the channel, or None."""
        if sku in self.excluded_skus:
            return f"SKU {sku} excluded from {self.code}"
        for name in sorted(self.excluded_attributes):
            value = attributes.get(name)
            if value is not None and value in self.excluded_attributes[name]:
                return f"{name}={value} excluded from {self.code}"
        return None


@dataclass(frozen=True, slots=True)
class Pool:
    """Units of one SKU ring-fenced for one channel (e.g. a Rakuten sale event)."""

    channel: str
    quantity: int

    def __post_init__(self) -> None:
        validate_non_negative(self.quantity, field_name="pools.quantity")
