"""Inputs of the sourcing engine: the channel's profile, the candidate locations, the order's
lines, and what the caller excluded since the last plan. Validated on construction.

Pure: the stdlib and `oms.shared` only. `oms.orders.domain.sourcing` re-exports everything public
here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from oms.orders.domain.geography import prefecture
from oms.shared.errors import InvalidInput

LOCATION_KINDS = frozenset({"store", "warehouse", "factory", "marketplace_fc"})
# Bounds of a profile: beyond them a value is a typo, and it must fit the JSON it is kept in
# and every integer column it meets (a 2**63 max_shipments was stored as given).
MAX_SHIPMENTS_LIMIT = 100
MAX_SHIPMENT_VALUE = 10**10  # yen, as MAX_UNIT_PRICE


class RankingFactor(StrEnum):
    """What orders locations that could equally ship a line; lower is better for each."""

    PRIORITY = "priority"  # the brand's own order: Candidate.priority
    PROXIMITY = (
        "proximity"  # zone from the location to the destination (oms.orders.domain.geography)
    )
    STORE_BALANCE = "store_balance"  # walk-in units a store would give up
    CAPACITY = "capacity"  # shipments the location can still start today (more is better)


DEFAULT_RANKING: tuple[RankingFactor, ...] = (
    RankingFactor.PRIORITY,
    RankingFactor.PROXIMITY,
    RankingFactor.STORE_BALANCE,
    RankingFactor.CAPACITY,
)


def _whole(value: int, *, field_name: str, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_name} must be a whole number, got {value!r}", field=field_name)
    if value < minimum:
        raise InvalidInput(f"{field_name} must be {minimum} or more, got {value}", field=field_name)
    if maximum is not None and value > maximum:
        raise InvalidInput(
            f"{field_name} must be at most {maximum:,}, got {value:,}", field=field_name
        )
    return value


def _frozen(mapping: Mapping[str, int]) -> Mapping[str, int]:
    # A copy: a plan keeps its request, and the caller's dict may change afterwards. A plain
    # dict (typed read-only), not a MappingProxyType, so dataclasses.asdict() can store a plan.
    return dict(sorted(mapping.items()))


@dataclass(frozen=True, slots=True)
class SourcingProfile:
    """A channel's sourcing rules. Stored with each plan by name and version.

    ``ranking`` orders the factors of `RankingFactor` that break ties between locations, most
    important first (a lexicographic order, not weights: each reason then names one factor);
    a factor left out is ignored. The location code is always the last tie-break.
    ``min_shipment_value`` is in yen (no minor units). With ``allow_backorder`` False a plan that
    cannot source every unit is refused rather than partly allocated.
    """

    name: str = "default"
    version: int = 1
    max_shipments: int = 3
    min_shipment_value: int = 0
    ranking: tuple[RankingFactor, ...] = DEFAULT_RANKING
    allow_backorder: bool = True

    def __post_init__(self) -> None:
        _whole(self.version, field_name="version", minimum=1)
        _whole(
            self.max_shipments, field_name="max_shipments", minimum=1, maximum=MAX_SHIPMENTS_LIMIT
        )
        _whole(self.min_shipment_value, field_name="min_shipment_value", maximum=MAX_SHIPMENT_VALUE)
        if not isinstance(self.allow_backorder, bool):
            raise InvalidInput("allow_backorder must be true or false", field="allow_backorder")
        factors = tuple(RankingFactor(f) for f in self.ranking)
        if len(set(factors)) != len(factors):
            raise InvalidInput(f"ranking lists a factor twice: {self.ranking}", field="ranking")
        object.__setattr__(self, "ranking", factors)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One location that may ship the order, as the caller sees it now.

    ``available`` is what this order may take per simple SKU (the caller has already subtracted
    reservations, quarantine and whatever else it must); a negative figure counts as 0.
    ``walk_in_reserve`` (stores only) is the part of it the store would rather keep for walk-in
    customers: taking it is allowed but costs the STORE_BALANCE factor one point per unit.
    ``remaining_capacity`` is how many more shipments it can start today; None is unlimited, 0
    rules it out. ``priority``: lower is preferred.
    """

    code: str
    kind: str
    prefecture: str
    available: Mapping[str, int]
    priority: int = 0
    remaining_capacity: int | None = None
    walk_in_reserve: Mapping[str, int] = field(default_factory=dict)
    active: bool = True
    ships_to_customers: bool = True

    def __post_init__(self) -> None:
        if not self.code:
            raise InvalidInput("a candidate needs a location code", field="code")
        if self.kind not in LOCATION_KINDS:
            raise InvalidInput(
                f"kind must be one of {', '.join(sorted(LOCATION_KINDS))}, got {self.kind!r}",
                field="kind",
            )
        object.__setattr__(self, "prefecture", prefecture(self.prefecture).code)
        _whole(self.priority, field_name="priority", minimum=-(2**31))
        if self.remaining_capacity is not None:
            _whole(self.remaining_capacity, field_name="remaining_capacity")
        for sku, units in self.available.items():
            _whole(units, field_name=f"available[{sku}]", minimum=-(2**63))
        for sku, units in self.walk_in_reserve.items():
            _whole(units, field_name=f"walk_in_reserve[{sku}]")
        if self.walk_in_reserve and self.kind != "store":
            raise InvalidInput(
                f"only a store keeps a walk-in reserve, {self.code} is a {self.kind}",
                field="walk_in_reserve",
            )
        object.__setattr__(self, "available", _frozen(self.available))
        object.__setattr__(self, "walk_in_reserve", _frozen(self.walk_in_reserve))

    def units_of(self, sku: str) -> int:
        return max(0, self.available.get(sku, 0))


@dataclass(frozen=True, slots=True)
class OrderLineDemand:
    """One order line. A bundle (set product) line names its components, simple SKU -> units
    per bundle; with ``ship_together`` each bundle unit ships whole from one location, without
    it the components are sourced like separate lines (tops from a store, bottoms from the DC).
    ``unit_price`` is in yen, per unit (per bundle for a bundle line).
    """

    line_id: str
    sku: str
    quantity: int
    unit_price: int = 0
    components: Mapping[str, int] = field(default_factory=dict)
    ship_together: bool = True

    def __post_init__(self) -> None:
        if not self.line_id:
            raise InvalidInput("an order line needs a line_id", field="line_id")
        _whole(self.quantity, field_name=f"lines[{self.line_id}].quantity", minimum=1)
        _whole(self.unit_price, field_name=f"lines[{self.line_id}].unit_price")
        for sku, per in self.components.items():
            _whole(per, field_name=f"lines[{self.line_id}].components[{sku}]", minimum=1)
            if sku == self.sku:
                raise InvalidInput(f"bundle {self.sku} cannot contain itself", field="components")
        object.__setattr__(self, "components", _frozen(self.components))

    @property
    def is_bundle(self) -> bool:
        return bool(self.components)


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A location the caller rules out since the last plan, for one SKU (or all, ``sku=None``),
    with the reason the explanation repeats: a store that could not find the item, a concurrent
    order that took the last unit. A bundle line's SKU excludes all its components there.
    """

    location: str
    sku: str | None
    reason: str

    @classmethod
    def rejected(cls, location: str, sku: str | None, why: str) -> Exclusion:
        """The location refused the line (e.g. ``not_found`` at the shelf)."""
        return cls(location, sku, f"rejected at {location}: {why}")

    def applies_to(self, location: str, skus: tuple[str, ...]) -> bool:
        return self.location == location and (self.sku is None or self.sku in skus)


@dataclass(frozen=True, slots=True)
class SourcingRequest:
    """Everything one plan depends on, kept with the plan so it can be re-planned and audited."""

    destination: str
    lines: tuple[OrderLineDemand, ...]
    candidates: tuple[Candidate, ...]
    profile: SourcingProfile = field(default_factory=SourcingProfile)
    exclusions: tuple[Exclusion, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "destination", prefecture(self.destination).code)
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "candidates", tuple(self.candidates))
        object.__setattr__(self, "exclusions", tuple(self.exclusions))
        if not self.lines:
            raise InvalidInput("an order needs at least one line", field="lines")
        line_ids = [line.line_id for line in self.lines]
        if len(set(line_ids)) != len(line_ids):
            raise InvalidInput(f"line ids must be distinct, got {line_ids}", field="lines")
        codes = [c.code for c in self.candidates]
        if len(set(codes)) != len(codes):
            raise InvalidInput(f"candidates must have distinct codes, got {codes}", field="code")

    def excluding(self, *exclusions: Exclusion) -> SourcingRequest:
        """The same request with more exclusions (e.g. a location rejected a line)."""
        return replace(self, exclusions=self.exclusions + exclusions)

    def with_available(self, changes: Mapping[tuple[str, str], int]) -> SourcingRequest:
        """The same request with (location, SKU) availability replaced, e.g. after a concurrent
        order took stock."""
        unknown = {loc for loc, _ in changes} - {c.code for c in self.candidates}
        if unknown:
            raise InvalidInput(f"unknown candidates {sorted(unknown)}", field="available")
        candidates = []
        for candidate in self.candidates:
            mine = {sku: units for (loc, sku), units in changes.items() if loc == candidate.code}
            available = {**candidate.available, **mine}
            candidates.append(replace(candidate, available=available) if mine else candidate)
        return replace(self, candidates=tuple(candidates))
