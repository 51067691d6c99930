"""The sourcing search: which locations ship which units of an order. Numbers only;
`oms.orders.domain.sourcing_explain` writes the reasons from what this returns. The rules are
described
in `oms.orders.domain.sourcing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations
from math import comb, lcm
from typing import Protocol

from oms.orders.domain.geography import zone
from oms.orders.domain.sourcing_policy import (
    Candidate,
    OrderLineDemand,
    RankingFactor,
    SourcingRequest,
)

# Location sets tried one by one; past it, the search extends its best plan greedily. A brand
# with 30 stores and a DC at max 3 shipments stays under it (31 + 465 + 4,495 sets).
SEARCH_BUDGET = 5_000

RankKey = tuple[tuple[int, ...], str]
# (units unsourced, their value, shipments, shipments under the minimum, split lines, ranks)
PlanKey = tuple[int, int, int, int, int, tuple[RankKey, ...]]


@dataclass(frozen=True, slots=True)
class Item:
    """What is sourced as one: a line, a ship-together bundle line (each unit a kit of its
    components from one location), or one component of a bundle shipped apart."""

    index: int
    line_id: str
    sku: str  # named in the explanation: the line's SKU, or the component's
    line_sku: str
    recipe: tuple[tuple[str, int], ...]  # simple SKU -> units per item unit
    units: int
    unit_value: int  # yen per item unit, times World.scale (exact for bundles shipped apart)
    kit: bool

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(sku for sku, _ in self.recipe)

    def label(self, units: int | None = None) -> str:
        return f"{self.units if units is None else units} x {self.sku}"


def items_of(lines: Sequence[OrderLineDemand]) -> tuple[list[Item], int]:
    """The items of an order, and the scale of their values: a bundle shipped apart spreads its
    price over its component units, so values are kept as whole multiples of 1/scale yen."""
    items: list[Item] = []
    scale = lcm(1, *(sum(line.components.values()) for line in lines if line.is_bundle))

    def add(
        line: OrderLineDemand,
        sku: str,
        recipe: dict[str, int],
        units: int,
        value: int,
        kit: bool,
    ) -> None:
        items.append(
            Item(len(items), line.line_id, sku, line.sku, tuple(recipe.items()), units, value, kit)
        )

    for line in lines:
        if not line.is_bundle:
            add(line, line.sku, {line.sku: 1}, line.quantity, line.unit_price * scale, False)
        elif line.ship_together:
            kit_value = line.unit_price * scale
            add(line, line.sku, dict(line.components), line.quantity, kit_value, True)
        else:
            # The bundle's price spread over its component units, for the minimum value only.
            per_unit = line.unit_price * scale // sum(line.components.values())
            for sku, per in line.components.items():
                add(line, sku, {sku: 1}, line.quantity * per, per_unit, False)
    return items, scale


@dataclass(frozen=True, slots=True)
class Rank:
    """One location's standing for one plan (or one item): every factor, whichever are used."""

    code: str
    priority: int
    zone: int
    walk_in_units: int
    capacity: int | None

    def key(self, ranking: Iterable[RankingFactor]) -> RankKey:
        values: list[int] = []
        for factor in ranking:
            if factor is RankingFactor.PRIORITY:
                values.append(self.priority)
            elif factor is RankingFactor.PROXIMITY:
                values.append(self.zone)
            elif factor is RankingFactor.STORE_BALANCE:
                values.append(self.walk_in_units)
            else:  # more capacity ranks first; unlimited first of all
                values.extend((0, 0) if self.capacity is None else (1, -self.capacity))
        return tuple(values), self.code


@dataclass(slots=True)
class World:
    """The request, read once: items, who may ship what, and each location's standing."""

    request: SourcingRequest
    items: list[Item]
    scale: int  # item values are in 1/scale yen
    candidates: dict[str, Candidate]  # by code, in code order
    blocked: dict[str, str]  # location -> why it ships nothing
    item_blocked: dict[tuple[int, str], str]  # (item, location) -> the caller's exclusion
    zones: dict[str, int]  # location -> zone to the destination
    # Memos: the search asks the same questions of thousands of location sets.
    _stock: dict[str, dict[str, int]] = field(default_factory=dict)
    _fits: dict[tuple[int, str], int] = field(default_factory=dict)
    _item_ranks: dict[tuple[int, str], Rank] = field(default_factory=dict)
    _item_keys: dict[tuple[int, str], RankKey] = field(default_factory=dict)

    @classmethod
    def of(cls, request: SourcingRequest) -> World:
        items, scale = items_of(request.lines)
        candidates = {c.code: c for c in sorted(request.candidates, key=lambda c: c.code)}
        blocked: dict[str, str] = {}
        for code, c in candidates.items():
            everywhere = [e for e in request.exclusions if e.location == code and e.sku is None]
            if not c.active:
                blocked[code] = "inactive"
            elif not c.ships_to_customers:
                blocked[code] = "does not ship to customers"
            elif everywhere:
                blocked[code] = everywhere[0].reason
            elif c.remaining_capacity == 0:
                blocked[code] = "capacity exhausted"
        item_blocked: dict[tuple[int, str], str] = {}
        for item in items:
            for code in candidates:
                for exclusion in request.exclusions:
                    if exclusion.applies_to(code, (*item.skus, item.line_sku)):
                        item_blocked.setdefault((item.index, code), exclusion.reason)
        zones = {code: zone(c.prefecture, request.destination) for code, c in candidates.items()}
        return cls(request, items, scale, candidates, blocked, item_blocked, zones)

    @property
    def ranking(self) -> tuple[RankingFactor, ...]:
        return self.request.profile.ranking

    def stock(self, location: str) -> dict[str, int]:
        """A fresh copy of the location's units of every SKU the order needs."""
        stock = self._stock.get(location)
        if stock is None:
            candidate = self.candidates[location]
            stock = {sku: candidate.units_of(sku) for item in self.items for sku in item.skus}
            self._stock[location] = stock
        return dict(stock)

    def fits(self, location: str, item: Item, stock: Mapping[str, int] | None = None) -> int:
        """Item units the location can ship with this stock (its full stock by default)."""
        if stock is None:
            known = self._fits.get((item.index, location))
            if known is None:
                known = self.fits(location, item, self.stock(location))
                self._fits[(item.index, location)] = known
            return known
        if location in self.blocked or (item.index, location) in self.item_blocked:
            return 0
        return min(stock.get(sku, 0) // per for sku, per in item.recipe)

    def rank(self, location: str, taken: Mapping[str, int]) -> Rank:
        candidate = self.candidates[location]
        walk_in = 0
        for sku, units in taken.items():
            free = max(0, candidate.units_of(sku) - candidate.walk_in_reserve.get(sku, 0))
            walk_in += max(0, units - free)
        return Rank(
            location,
            candidate.priority,
            self.zones[location],
            walk_in,
            candidate.remaining_capacity,
        )

    def item_rank(self, location: str, item: Item, units: int | None = None) -> Rank:
        """The location's standing for this item alone (as much of it as it has, by default)."""
        if units is not None:
            return self.rank(location, {sku: units * per for sku, per in item.recipe})
        cached = self._item_ranks.get((item.index, location))
        if cached is None:
            n = min(item.units, self.fits(location, item))
            cached = self.rank(location, {sku: n * per for sku, per in item.recipe})
            self._item_ranks[(item.index, location)] = cached
        return cached

    def item_key(self, location: str, item: Item) -> RankKey:
        key = self._item_keys.get((item.index, location))
        if key is None:
            key = self._item_keys[(item.index, location)] = self.item_rank(location, item).key(
                self.ranking
            )
        return key


class _Take(Protocol):
    def __call__(self, location: str, item: Item, units: int, sign: int = 1) -> None: ...


class _Record(Protocol):
    def __call__(self, plan: SetPlan) -> None: ...


@dataclass(frozen=True, slots=True)
class Placement:
    item: int
    location: str
    units: int  # item units (bundles for a ship-together bundle)


@dataclass(slots=True)
class SetPlan:
    """The plan for one set of locations, and what it scores."""

    placements: list[Placement]
    short: dict[int, int]  # item -> units not sourced
    taken: dict[str, dict[str, int]]  # location -> simple SKU -> units
    values: dict[str, Fraction]  # location -> shipment value in yen
    used: tuple[str, ...]  # shipping locations, best ranked first
    ranks: dict[str, Rank]
    small: tuple[str, ...]  # shipments under the minimum value
    moved: dict[int, str]  # item -> the location it was moved from to lift a small shipment
    key: PlanKey

    def at(self, item: int) -> list[Placement]:
        return [p for p in self.placements if p.item == item]


def allocate(world: World, locations: Sequence[str]) -> SetPlan:
    """Greedy placement over a fixed set: ship-together bundles first, then the items the
    fewest of these locations can take whole; each whole at its best-ranked location, split in
    rank order only when none can take it whole; then lift shipments under the minimum."""
    stock = {loc: world.stock(loc) for loc in locations}
    placements: list[Placement] = []
    short: dict[int, int] = {}

    def take(location: str, item: Item, units: int, sign: int = 1) -> None:
        for sku, per in item.recipe:
            stock[location][sku] -= sign * units * per

    def whole_count(item: Item) -> int:
        return sum(world.fits(loc, item) >= item.units for loc in locations)

    def by_rank(item: Item) -> list[str]:
        return sorted(locations, key=lambda loc: world.item_key(loc, item))

    for item in sorted(world.items, key=lambda it: (not it.kit, whole_count(it), it.index)):
        ranked = by_rank(item)
        whole = [loc for loc in ranked if world.fits(loc, item, stock[loc]) >= item.units]
        if whole:
            placements.append(Placement(item.index, whole[0], item.units))
            take(whole[0], item, item.units)
            continue
        need = item.units
        for loc in ranked:
            units = min(need, world.fits(loc, item, stock[loc]))
            if units:
                placements.append(Placement(item.index, loc, units))
                take(loc, item, units)
                need -= units
        if need:
            short[item.index] = need

    moved = _lift_small_shipments(world, placements, stock, take)
    return _score(world, placements, short, moved)


def _values(world: World, placements: Iterable[Placement]) -> dict[str, int]:
    """Shipment value per location, in 1/scale yen."""
    values: dict[str, int] = {}
    for p in placements:
        values[p.location] = values.get(p.location, 0) + p.units * world.items[p.item].unit_value
    return values


def _lift_small_shipments(
    world: World, placements: list[Placement], stock: dict[str, dict[str, int]], take: _Take
) -> dict[int, str]:
    """Move one whole item at a time into a shipment under the minimum when that lifts it to
    the minimum and leaves the giving shipment at the minimum or empty (not merely worth ¥0:
    a ¥0 line left behind would make it small). Each move removes at least one small
    shipment and adds none, so this ends."""
    minimum = world.request.profile.min_shipment_value * world.scale
    moved: dict[int, str] = {}
    if minimum == 0:
        return moved
    while True:
        values = _values(world, placements)
        small = sorted((v, loc) for loc, v in values.items() if v < minimum)
        move = None
        counts: dict[int, int] = {}
        shipping: dict[str, int] = {}
        for p in placements:
            counts[p.item] = counts.get(p.item, 0) + 1
            shipping[p.location] = shipping.get(p.location, 0) + 1
        for value, receiver in small:
            movable = [
                p
                for p in placements
                if p.location != receiver
                and counts[p.item] == 1
                and p.units == world.items[p.item].units
                and world.fits(receiver, world.items[p.item], stock[receiver]) >= p.units
            ]
            movable.sort(key=lambda p: (p.units * world.items[p.item].unit_value, p.item))
            for p in movable:
                worth = p.units * world.items[p.item].unit_value
                left = values[p.location] - worth
                emptied = shipping[p.location] == 1
                if value + worth >= minimum and (left >= minimum or emptied):
                    move = (p, receiver)
                    break
            if move:
                break
        if move is None:
            return moved
        p, receiver = move
        item = world.items[p.item]
        take(p.location, item, p.units, -1)
        take(receiver, item, p.units)
        placements[placements.index(p)] = Placement(p.item, receiver, p.units)
        origin = moved.pop(p.item, p.location)  # where the ranking put it first
        if origin != receiver:
            moved[p.item] = origin


def _score(
    world: World, placements: list[Placement], short: dict[int, int], moved: dict[int, str]
) -> SetPlan:
    ranking = world.ranking
    profile = world.request.profile
    taken: dict[str, dict[str, int]] = {}
    parts: dict[int, int] = {}
    for p in placements:
        for sku, per in world.items[p.item].recipe:
            at = taken.setdefault(p.location, {})
            at[sku] = at.get(sku, 0) + p.units * per
        parts[p.item] = parts.get(p.item, 0) + 1
    ranks = {loc: world.rank(loc, units) for loc, units in taken.items()}
    used = tuple(sorted(ranks, key=lambda loc: ranks[loc].key(ranking)))
    values = _values(world, placements)
    small = tuple(loc for loc in used if values[loc] < profile.min_shipment_value * world.scale)
    short_units = sum(
        units * sum(per for _, per in world.items[i].recipe) for i, units in short.items()
    )
    short_value = sum(units * world.items[i].unit_value for i, units in short.items())
    key: PlanKey = (
        short_units,
        short_value,
        len(used),
        len(small),
        sum(n > 1 for n in parts.values()),
        tuple(ranks[loc].key(ranking) for loc in used),
    )
    in_yen = {loc: Fraction(values[loc], world.scale) for loc in used}
    return SetPlan(placements, short, taken, in_yen, used, ranks, small, moved, key)


@dataclass(slots=True)
class SearchResult:
    best: SetPlan
    singles: dict[str, SetPlan]  # each useful location alone
    best_with: dict[tuple[int, str], SetPlan]  # (item, location) -> best plan shipping it there
    tried: int
    greedy: bool


def search(world: World) -> SearchResult:
    """The best plan by `PlanKey`: location sets of 1, 2, ... up to max_shipments, stopping at
    the first size that sources every unit; greedy past `SEARCH_BUDGET` sets."""
    ranking = world.ranking
    useful = sorted(
        (
            loc
            for loc in world.candidates
            if loc not in world.blocked and any(world.fits(loc, it) for it in world.items)
        ),
        key=lambda loc: world.rank(loc, {}).key(ranking),
    )
    result = SearchResult(allocate(world, ()), {}, {}, 0, greedy=False)

    def record(plan: SetPlan) -> None:
        result.tried += 1
        if plan.key < result.best.key:
            result.best = plan
        for p in plan.placements:
            known = result.best_with.get((p.item, p.location))
            if known is None or plan.key < known.key:
                result.best_with[(p.item, p.location)] = plan

    limit = min(world.request.profile.max_shipments, len(useful))
    for size in range(1, limit + 1):
        if size > 1 and result.tried + comb(len(useful), size) > SEARCH_BUDGET:
            result.greedy = True
            _extend_greedily(world, useful, limit, result, record)
            break
        for locations in combinations(useful, size):
            plan = allocate(world, locations)
            if size == 1:
                result.singles[locations[0]] = plan
            record(plan)
        if result.best.key[0] == 0:  # every unit sourced: more shipments cannot do better
            break
    return result


def _extend_greedily(
    world: World,
    useful: Sequence[str],
    limit: int,
    result: SearchResult,
    record: _Record,
) -> None:
    current = result.best
    while len(current.used) < limit and current.key[0] > 0:
        options = [
            allocate(world, (*current.used, loc)) for loc in useful if loc not in current.used
        ]
        for option in options:
            record(option)
        better = min(options, key=lambda plan: plan.key, default=None)
        if better is None or better.key >= current.key:
            return
        current = better
