"""Channels and the rules that shape what each one is told: pure values and their validation.

The availability pipeline (`oms.channels.availability.domain.model`) reads these values; the
services store them.
Every check raises `InvalidInput` naming the field at fault, so the API can point at it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from oms.shared.errors import InvalidInput

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")

# Rule quantities are stock quantities: the stock columns are 32-bit integers.
MAX_RULE_QUANTITY = 1_000_000_000
# A push latency above a day is a mistake, not a measurement.
MAX_PUSH_LATENCY_SECONDS = 86_400.0
DEFAULT_PUSH_LATENCY_SECONDS = 300.0
# Sales velocity (units per minute) is measured over this trailing window.
VELOCITY_WINDOW = timedelta(minutes=60)
MAX_ATTRIBUTE_TEXT = 100


class ChannelKind(StrEnum):
    AMAZON = "amazon"
    RAKUTEN = "rakuten"
    STOREFRONT = "storefront"


class RuleKind(StrEnum):
    """What a `RuleChange` changed."""

    SAFETY_STOCK = "safety_stock"
    SAFETY_STOCK_DEFAULT = "safety_stock_default"
    EXCLUSION = "exclusion"
    POOL = "pool"
    BUFFER = "buffer"
    SHARE = "share"
    CAP = "cap"


class ExclusionKind(StrEnum):
    SKU = "sku"
    ATTRIBUTE = "attribute"  # a SKU attribute/category: {"attribute": "category", "value": ...}
    LOCATION = "location"


class BufferScope(StrEnum):
    DEFAULT = "default"  # the channel's default, for every SKU without a narrower buffer
    SKU = "sku"
    CATEGORY = "category"  # the SKU's `category` attribute


# --------------------------------------------------------------------------- validation


def validate_code(value: str, *, field_name: str = "code") -> str:
    """Codes appear in URLs and CSV files: letters, digits, '.', '_' and '-' only."""
    value = value.strip()
    if not _CODE_RE.match(value):
        raise InvalidInput(
            f"{field_name} must be 1-64 characters of letters, digits, '.', '_' or '-' "
            f"starting with a letter or digit, got {value!r}",
            field=field_name,
        )
    return value


def validate_units(value: int, *, field_name: str) -> int:
    """A rule quantity (safety stock, pool, buffer, cap): a whole number, zero or more."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_name} must be an integer", field=field_name)
    if value < 0:
        raise InvalidInput(f"{field_name} must be zero or more, got {value}", field=field_name)
    if value > MAX_RULE_QUANTITY:
        raise InvalidInput(
            f"{field_name} must be at most {MAX_RULE_QUANTITY:,}, got {value}", field=field_name
        )
    return value


def validate_percent(value: float, *, field_name: str = "percent") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{field_name} must be a number", field=field_name)
    if not 0 <= value <= 100:
        raise InvalidInput(f"{field_name} must be from 0 to 100, got {value}", field=field_name)
    return float(value)


def validate_push_latency(value: float) -> float:
    name = "push_latency_seconds"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number of seconds", field=name)
    if not 0 <= value <= MAX_PUSH_LATENCY_SECONDS:
        raise InvalidInput(
            f"{name} must be from 0 to {MAX_PUSH_LATENCY_SECONDS:g} seconds, got {value}",
            field=name,
        )
    return float(value)


def validate_name(value: str, *, limit: int = 200) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput("name must not be empty", field="name")
    if len(value) > limit:
        raise InvalidInput(f"name must be at most {limit} characters", field="name")
    return value


def parse_channel_kind(value: str) -> ChannelKind:
    try:
        return ChannelKind(value)
    except ValueError:
        kinds = ", ".join(k.value for k in ChannelKind)
        raise InvalidInput(f"kind must be one of {kinds}, got {value!r}", field="kind") from None


def validate_feeding_locations(codes: list[str]) -> list[str]:
    """Location codes in the order given; a duplicate is refused, naming its index."""
    seen: set[str] = set()
    cleaned: list[str] = []
    for i, raw in enumerate(codes):
        code = validate_code(raw, field_name=f"locations[{i}]")
        if code in seen:
            raise InvalidInput(f"location {code} is listed twice", field=f"locations[{i}]")
        seen.add(code)
        cleaned.append(code)
    return cleaned


def _attribute_text(value: str | None, field_name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field_name} is required for this kind", field=field_name)
    if len(text) > MAX_ATTRIBUTE_TEXT:
        raise InvalidInput(
            f"{field_name} must be at most {MAX_ATTRIBUTE_TEXT} characters", field=field_name
        )
    return text


# --------------------------------------------------------------------------- channels


@dataclass(slots=True)
class Channel:
    """A sales channel and the locations whose stock it may sell."""

    code: str
    name: str
    kind: ChannelKind
    active: bool = True
    locations: list[str] = field(default_factory=list)
    auto_buffer: bool = False
    # Measured by the sync jobs once they exist; configurable until then.
    push_latency_seconds: float = DEFAULT_PUSH_LATENCY_SECONDS
    # Reserved for the adapter (endpoints, credentials come with the sync issue).
    settings: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class SafetyStock:
    """Units of a SKU kept back at a location (for walk-in customers); never sold online."""

    sku: str
    location: str
    quantity: int


@dataclass(frozen=True, slots=True)
class DefaultSafetyStock:
    """Safety stock of every SKU at a location that has no SKU-specific value."""

    location: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Something a channel never sells from: a SKU, SKUs with an attribute value, a location."""

    kind: ExclusionKind
    sku: str | None = None
    attribute: str | None = None
    value: str | None = None
    location: str | None = None
    id: int | None = None

    @classmethod
    def of(
        cls,
        kind: str,
        *,
        sku: str | None = None,
        attribute: str | None = None,
        value: str | None = None,
        location: str | None = None,
    ) -> Exclusion:
        """Checked: exactly the fields of its kind, no others."""
        try:
            parsed = ExclusionKind(kind)
        except ValueError:
            kinds = ", ".join(k.value for k in ExclusionKind)
            raise InvalidInput(f"kind must be one of {kinds}, got {kind!r}", field="kind") from None
        given = {"sku": sku, "attribute": attribute, "value": value, "location": location}
        allowed = {
            ExclusionKind.SKU: {"sku"},
            ExclusionKind.ATTRIBUTE: {"attribute", "value"},
            ExclusionKind.LOCATION: {"location"},
        }[parsed]
        for name, given_value in given.items():
            if name not in allowed and given_value is not None:
                raise InvalidInput(f"{name} does not belong to a {parsed} exclusion", field=name)
        if parsed is ExclusionKind.SKU:
            return cls(parsed, sku=validate_code(sku or "", field_name="sku"))
        if parsed is ExclusionKind.LOCATION:
            return cls(parsed, location=validate_code(location or "", field_name="location"))
        return cls(
            parsed,
            attribute=_attribute_text(attribute, "attribute"),
            value=_attribute_text(value, "value"),
        )

    @property
    def key(self) -> str:
        """What it excludes, one text per exclusion of a channel: `sku:TEE`, `attribute:a=b`."""
        if self.kind is ExclusionKind.SKU:
            return f"sku:{self.sku}"
        if self.kind is ExclusionKind.LOCATION:
            return f"location:{self.location}"
        return f"attribute:{self.attribute}={self.value}"

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind.value}
        for name in ("sku", "attribute", "value", "location"):
            if getattr(self, name) is not None:
                found[name] = getattr(self, name)
        return found


@dataclass(frozen=True, slots=True)
class Pool:
    """Units of a SKU ring-fenced for one channel: other channels never see them."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Buffer:
    """Units held back from a channel: per SKU, per category, or the channel's default."""

    scope: BufferScope
    key: str | None
    units: int

    @staticmethod
    def check_scope(scope: str, key: str | None) -> tuple[BufferScope, str | None]:
        try:
            parsed = BufferScope(scope)
        except ValueError:
            scopes = ", ".join(s.value for s in BufferScope)
            raise InvalidInput(
                f"scope must be one of {scopes}, got {scope!r}", field="scope"
            ) from None
        if parsed is BufferScope.DEFAULT:
            if key is not None:
                raise InvalidInput("a default buffer has no key", field="key")
            return parsed, None
        if parsed is BufferScope.SKU:
            return parsed, validate_code(key or "", field_name="key")
        return parsed, _attribute_text(key, "key")

    @property
    def rule_key(self) -> str:
        return self.scope.value if self.key is None else f"{self.scope.value}:{self.key}"


@dataclass(frozen=True, slots=True)
class Share:
    """A percentage of the shared remainder; `sku` None is the channel's default."""

    sku: str | None
    percent: float


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `cap` units published; `sku` None is the channel's default."""

    sku: str | None
    cap: int


@dataclass(frozen=True, slots=True)
class ChannelRules:
    """Every rule of one channel (safety stock belongs to locations, not channels)."""

    channel: str
    exclusions: list[Exclusion]
    pools: list[Pool]
    buffers: list[Buffer]
    shares: list[Share]
    caps: list[Cap]


def sku_rule_key(sku: str | None) -> str:
    """The audit key of a per-SKU-or-default rule (share, cap): the SKU, or `default`."""
    return f"sku:{sku}" if sku is not None else "default"


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One change of one rule: who, when, and the value before and after (None: no rule)."""

    kind: RuleKind
    channel: str | None
    key: str
    old: Any
    new: Any
    actor: str
    at: datetime
    id: int | None = None
