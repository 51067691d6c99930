"""The catalogue: locations and SKUs (set products among them), and the codes, prefectures, postal
codes, barcodes and quantities they are made of.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from oms.shared.errors import InvalidInput


class LocationKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"
    FACTORY = "factory"
    MARKETPLACE_FC = "marketplace_fc"  # stock held by a marketplace, e.g. Amazon FBA


class SkuKind(StrEnum):
    SIMPLE = "simple"
    BUNDLE = "bundle"


# A SKU attribute: true on a SKU that is one physical item (a graded resale unit). Its stock
# never comes back once sold, so an order for it is never left waiting as a backorder.
SINGLE_UNIT = "single_unit"


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


# [0-9], not \d: \d also matches full-width and other Unicode digits, which must not be stored.
_POSTAL_RE = re.compile(r"^([0-9]{3})-?([0-9]{4})$")


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


def validate_prefecture(value: str | int) -> str:
    """JIS X 0401 prefecture code, 01 (Hokkaido) to 47 (Okinawa), as two digits."""
    text = str(value).strip()
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if not text.isdecimal() or not 1 <= int(text) <= 47:
        raise InvalidInput(
            f"prefecture must be a JIS code from 01 to 47, got {value!r}", field="prefecture"
        )
    return f"{int(text):02d}"


def validate_postal_code(value: str) -> str:
    """Japanese postal code, NNN-NNNN (the hyphen may be omitted on input)."""
    match = _POSTAL_RE.match(value.strip())
    if not match:
        raise InvalidInput(
            f"postal_code must look like 123-4567, got {value!r}", field="postal_code"
        )
    return f"{match.group(1)}-{match.group(2)}"


def gtin_check_digit(body: str) -> int:
    """Check digit of a GTIN (JAN/EAN) without its last digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_barcode(value: str) -> str:
    """JAN/EAN-13 (or the short JAN-8) with a correct check digit."""
    text = value.strip()
    # ASCII only: full-width digits would store a second spelling of the same barcode.
    if not (text.isascii() and text.isdigit()) or len(text) not in (8, 13):
        raise InvalidInput(
            f"barcode must be a JAN/EAN-13 (13 digits) or JAN-8, got {value!r}", field="barcode"
        )
    expected = gtin_check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise InvalidInput(
            f"barcode {text} has check digit {text[-1]}, expected {expected}", field="barcode"
        )
    return text


# No real movement comes near it, and stock columns are 32-bit integers.
MAX_MOVEMENT_QUANTITY = 1_000_000_000


def validate_quantity(value: int, *, field_name: str = "quantity", allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_name} must be an integer", field=field_name)
    if abs(value) > MAX_MOVEMENT_QUANTITY:
        raise InvalidInput(
            f"{field_name} must be at most {MAX_MOVEMENT_QUANTITY:,}, got {value}", field=field_name
        )
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "a positive integer"
        raise InvalidInput(f"{field_name} must be {bound}, got {value}", field=field_name)
    return value


@dataclass(slots=True)
class Location:
    code: str
    name: str
    kind: LocationKind
    prefecture: str
    postal_code: str
    ships_to_customers: bool = True
    active: bool = True
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BundleComponent:
    sku: str
    quantity: int


@dataclass(slots=True)
class Sku:
    code: str
    name: str
    kind: SkuKind = SkuKind.SIMPLE
    barcode: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    components: list[BundleComponent] = field(default_factory=list)
    ship_together: bool = True
    id: int | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind is SkuKind.SIMPLE and self.components:
            raise InvalidInput("only a bundle has components", field="components")
        if self.kind is SkuKind.BUNDLE:
            check_bundle_components(self.code, self.components)

    @property
    def is_bundle(self) -> bool:
        return self.kind is SkuKind.BUNDLE


def check_bundle_components(code: str, components: list[BundleComponent]) -> None:
    if not components:
        raise InvalidInput("a bundle needs at least one component", field="components")
    seen: set[str] = set()
    for i, component in enumerate(components):
        validate_quantity(component.quantity, field_name=f"components[{i}].quantity")
        if component.sku == code:
            raise InvalidInput(f"bundle {code} cannot contain itself", field="components")
        if component.sku in seen:
            raise InvalidInput(
                f"component {component.sku} is listed twice", field=f"components[{i}].sku"
            )
        seen.add(component.sku)


def check_no_bundle_cycle(
    code: str, components: Iterable[str], contents: Mapping[str, Iterable[str]]
) -> None:
    """Refuse a bundle that would contain itself through other bundles.

    `contents` maps each existing bundle code to its component codes.
    """
    stack = list(components)
    seen: set[str] = set()
    while stack:
        current = stack.pop()
        if current == code:
            raise InvalidInput(
                f"bundle {code} would contain itself through {sorted(seen) or [current]}",
                field="components",
            )
        if current in seen:
            continue
        seen.add(current)
        stack.extend(contents.get(current, ()))


def bundle_units(requirements: Mapping[str, int], available: Mapping[str, int]) -> int:
    """Whole bundles that the components' available units make: min(floor(avail / qty))."""
    if not requirements:
        return 0
    return max(0, min(max(0, available.get(sku, 0)) // qty for sku, qty in requirements.items()))
