"""The reasons of a sourcing plan: for each line, why each chosen location was chosen and why
every other candidate was not, what was backordered and why, and the order's notes.

Written from what `oms.orders.domain.sourcing_search` computed; it never changes a number. A
location
not used is compared with the best plan the search found that ships the line from it: the first
criterion on which that plan loses (units, shipments, minimum value, splits, rank) is the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from oms.orders.domain.geography import prefecture
from oms.orders.domain.sourcing_policy import RankingFactor
from oms.orders.domain.sourcing_search import (
    SEARCH_BUDGET,
    Item,
    Placement,
    Rank,
    SearchResult,
    SetPlan,
    World,
)
from oms.shared.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class CandidateReason:
    location: str
    units: int  # units of the explained SKU from here (0: not chosen)
    reason: str


@dataclass(frozen=True, slots=True)
class LineExplanation:
    """One line (or one component of a bundle shipped apart): every candidate, with a reason.

    ``sku`` is the line's SKU, or the component's for a bundle shipped apart; ``quantity`` is in
    its units (whole bundles for a ship-together bundle).
    """

    line_id: str
    sku: str
    quantity: int
    chosen: tuple[CandidateReason, ...]
    not_chosen: tuple[CandidateReason, ...]
    backordered: int = 0
    backorder_reason: str | None = None

    def reason_for(self, location: str) -> str:
        for entry in (*self.chosen, *self.not_chosen):
            if entry.location == location:
                return entry.reason
        raise KeyError(location)


@dataclass(frozen=True, slots=True)
class Explained:
    lines: tuple[LineExplanation, ...]
    shortfall_reasons: dict[int, str]  # item -> why its missing units are missing
    notes: tuple[str, ...]


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def yen(value: Fraction | int) -> str:
    return f"¥{math.floor(value):,}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _capacity(rank: Rank) -> str:
    return "unlimited" if rank.capacity is None else f"{rank.capacity} left"


def _first_difference(world: World, a: Rank, b: Rank) -> RankingFactor | None:
    for factor in world.ranking:
        if a.key((factor,))[0] != b.key((factor,))[0]:
            return factor
    return None


def _lower(world: World, a: Rank, b: Rank) -> str:
    """Why `a` ranks after `b`, e.g. "zone 3 vs 0 at STORE-SHIBUYA"."""
    factor = _first_difference(world, a, b)
    if factor is RankingFactor.PRIORITY:
        return f"priority {a.priority} vs {b.priority} at {b.code}"
    if factor is RankingFactor.PROXIMITY:
        return f"zone {a.zone} vs {b.zone} at {b.code}"
    if factor is RankingFactor.STORE_BALANCE:
        return f"{a.walk_in_units} walk-in units vs {b.walk_in_units} at {b.code}"
    if factor is RankingFactor.CAPACITY:
        return f"capacity {_capacity(a)} vs {_capacity(b)} at {b.code}"
    return f"same rank as {b.code}, after it by code"


# What stands for the customer's prefecture in a trace shown to a reader of no personal data.
WITHHELD = "(ship-to)"


def without_ship_to(decision: dict[str, Any]) -> dict[str, Any]:
    """A recorded decision as a reader of no personal data (`channel_sync`) may see it: the
    customer's prefecture is left out, also from the reasons that name it ("closest:
    Chiba→Tokyo" reads "closest: Chiba→(ship-to)")."""
    code = decision.get("destination")
    if not isinstance(code, str):
        return decision
    try:
        arrow: str | None = f"→{prefecture(code).name}"
    except InvalidInput:  # not a code this build knows: nothing to find in the reasons
        arrow = None

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items() if k != "destination"}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str) and arrow is not None:
            return value.replace(arrow, f"→{WITHHELD}")
        return value

    return dict(scrub(decision))


def _first(world: World, a: Rank, b: Rank) -> str:
    """Why `a` ranks before `b`, e.g. "closest: Tokyo→Tokyo zone 0"."""
    factor = _first_difference(world, a, b)
    if factor is RankingFactor.PRIORITY:
        return f"first by priority: {a.priority} vs {b.priority} at {b.code}"
    if factor is RankingFactor.PROXIMITY:
        origin = prefecture(world.candidates[a.code].prefecture).name
        destination = prefecture(world.request.destination).name
        return f"closest: {origin}→{destination} zone {a.zone}"
    if factor is RankingFactor.STORE_BALANCE:
        return (
            f"keeps walk-in stock: {a.walk_in_units} walk-in units vs {b.walk_in_units} at {b.code}"
        )
    if factor is RankingFactor.CAPACITY:
        return f"most capacity left: {_capacity(a)} vs {_capacity(b)} at {b.code}"
    return f"same rank as {b.code}, first by code"


class _Explainer:
    def __init__(self, world: World, result: SearchResult) -> None:
        self.world = world
        self.result = result
        self.best = result.best
        self.profile = world.request.profile

    # ------------------------------------------------------------------ helpers

    def left(self, location: str, item: Item) -> int:
        """Item units still at a location of the plan, not counting this item's own take."""
        stock = self.world.stock(location)
        for sku, units in self.best.taken.get(location, {}).items():
            stock[sku] -= units
        for p in self.best.at(item.index):
            if p.location == location:
                for sku, per in item.recipe:
                    stock[sku] += p.units * per
        return self.world.fits(location, item, stock)

    def whole_order_locations(self) -> list[str]:
        whole = [loc for loc, plan in self.result.singles.items() if plan.key[0] == 0]
        return sorted(whole, key=lambda loc: self.result.singles[loc].key)

    def the_whole_order(self, item: Item) -> str:
        lines = len(self.world.request.lines)
        if lines > 1:
            return f"all {lines} lines"
        if len(self.world.items) == 1:
            return item.label()
        return "the whole order"

    # ------------------------------------------------------------------ chosen

    def chosen(self, item: Item, placement: Placement) -> str:
        world, best, need = self.world, self.best, item.units
        here = placement.location
        parts = best.at(item.index)
        if len(parts) > 1:
            anywhere = any(world.fits(loc, item) >= need for loc in world.candidates)
            where = "location in the plan" if anywhere else "single location"
            text = f"split: no {where} has {item.label()}; {placement.units} here"
        elif best.short.get(item.index):
            text = f"has {placement.units} of {need}; the rest is backordered"
        elif item.index in best.moved:
            text = (
                f"moved here from {best.moved[item.index]} so this shipment reaches the "
                f"minimum {yen(self.profile.min_shipment_value)}"
            )
        elif len(best.used) == 1 and not best.short:
            whole = self.whole_order_locations()
            if len(whole) == 1:
                text = f"only location with {self.the_whole_order(item)}"
            else:
                runner = whole[1] if whole[0] == here else whole[0]
                rival = self.result.singles[runner].ranks[runner]
                text = f"one shipment for the whole order; {self._first(best.ranks[here], rival)}"
        elif not [loc for loc in world.candidates if loc != here and world.fits(loc, item) >= need]:
            text = f"only location with {item.label()}"
        else:
            # Its rivals: the plan's other locations that still have it, else the locations
            # whose best plan with it is as good as this one but for the rank.
            rivals = [loc for loc in best.used if loc != here and self.left(loc, item) >= need]
            if not rivals:
                rivals = [
                    loc
                    for loc in world.candidates
                    if loc not in best.used
                    and world.fits(loc, item) >= need
                    and (other := self.result.best_with.get((item.index, loc))) is not None
                    and other.key[:5] == best.key[:5]
                ]
            ranks = {loc: world.item_rank(loc, item) for loc in (here, *rivals)}
            ahead = min(rivals, key=lambda loc: ranks[loc].key(world.ranking), default=None)
            if ahead is None or ranks[ahead].key(world.ranking) < ranks[here].key(world.ranking):
                text = f"only location in the plan with {item.label()}"
            else:
                text = self._first(ranks[here], ranks[ahead])
        walk_in = world.item_rank(here, item, placement.units).walk_in_units
        if walk_in:
            text += f"; takes {_plural(walk_in, 'walk-in unit')}"
        return text

    def _first(self, a: Rank, b: Rank) -> str:
        return _first(self.world, a, b)

    # ------------------------------------------------------------------ not chosen

    def not_chosen(self, item: Item, location: str) -> str:
        world, best, need = self.world, self.best, item.units
        if location in world.blocked:
            return world.blocked[location]
        if (item.index, location) in world.item_blocked:
            return world.item_blocked[(item.index, location)]
        have = world.fits(location, item)
        if have == 0:
            return self.no_stock(item, location)
        # Part of a line is a reason not to use a location, unless the line was split anyway.
        split = len(best.at(item.index)) > 1 or best.short.get(item.index, 0) > 0
        if have < need and not split:
            return f"only {have} of {need}"
        if location not in best.used:
            return self.versus(item, location)
        left = self.left(location, item)
        if left < need:
            return f"only {left} of {need} left after the other lines"
        chosen = best.at(item.index)
        if chosen and best.moved.get(item.index) == location:
            return (
                f"left to {chosen[0].location} so its shipment reaches the minimum "
                f"{yen(self.profile.min_shipment_value)}"
            )
        if chosen:
            mine = world.item_rank(location, item)
            theirs = world.item_rank(chosen[0].location, item)
            if mine.key(world.ranking) > theirs.key(world.ranking):
                return f"ranked lower: {_lower(world, mine, theirs)}"
            return f"not needed: {chosen[0].location} ships it"
        return "not needed"  # a line the plan does not ship at all cannot get here

    def no_stock(self, item: Item, location: str) -> str:
        candidate = self.world.candidates[location]
        if not item.kit:
            return f"no stock of {item.sku}"
        for sku, per in item.recipe:
            have = candidate.units_of(sku)
            if have == 0:
                return f"no stock of {sku} for {item.sku}"
            if have < per:
                return f"not enough {sku} for one {item.sku}: {have} of {per}"
        return f"no stock for {item.sku}"  # fits() is 0 only for the reasons above

    def versus(self, item: Item, location: str) -> str:
        """A location the plan does not use: the first criterion its best plan loses on."""
        best, profile = self.best, self.profile
        rival = self.result.best_with.get((item.index, location))
        if rival is None:
            return "not needed"
        shipments = len(best.used)
        if rival.key[:2] != best.key[:2] or rival.key[2] > best.key[2]:
            limit = f" (max {profile.max_shipments})" if shipments >= profile.max_shipments else ""
            return f"would make a {ordinal(shipments + 1)} shipment{limit}"
        if rival.key[3] > best.key[3]:
            small = location if location in rival.small else rival.small[0]
            at = "" if small == location else f" at {small}"
            return (
                f"shipment value {yen(rival.values[small])}{at} below minimum "
                f"{yen(profile.min_shipment_value)}"
            )
        if rival.key[4] > best.key[4]:
            return "would split a line across locations"
        return self.ranked_lower(rival, location)

    def ranked_lower(self, rival: SetPlan, location: str) -> str:
        for theirs, ours in zip(rival.key[5], self.best.key[5], strict=False):
            if theirs != ours:
                lower = _lower(self.world, rival.ranks[theirs[1]], self.best.ranks[ours[1]])
                if theirs[1] == location:
                    return f"ranked lower: {lower}"
                return f"ranked lower: with it the plan ships from {theirs[1]}, {lower}"
        return "ranked lower"  # same locations would be the same plan

    # ------------------------------------------------------------------ shortfall and notes

    def shortfall(self, item: Item) -> str:
        world, best = self.world, self.best
        stocked = [loc for loc in world.candidates if world.fits(loc, item) > 0]
        more = [loc for loc in stocked if loc not in best.used]
        if not more:
            enough = "no more stock" if stocked else "no stock"
            return f"{enough} at any location that can ship it"
        shipments, limit = len(best.used), self.profile.max_shipments
        if shipments >= limit:
            has = "has" if len(more) == 1 else "have"
            return (
                f"{', '.join(more)} {has} more but it would make a {ordinal(shipments + 1)} "
                f"shipment (max {limit})"
            )
        return f"not reached by the search ({self.result.tried} location sets tried)"

    def notes(self) -> tuple[str, ...]:
        best, profile, request = self.best, self.profile, self.world.request
        notes: list[str] = []
        if not best.used:
            notes.append("nothing can be shipped: no location that can ship has stock for it")
        elif len(best.used) == 1:
            notes.append(f"one shipment from {best.used[0]}")
        else:
            notes.append(
                f"{len(best.used)} shipments (max {profile.max_shipments}) from "
                f"{', '.join(best.used)}: no single location has the whole order"
            )
        short = best.key[0]
        if short and profile.allow_backorder:
            notes.append(f"{_plural(short, 'unit')} backordered")
        elif short:
            notes.append(
                f"refused: {_plural(short, 'unit')} cannot be sourced and profile "
                f"{profile.name} v{profile.version} allows no backorder; nothing is allocated"
            )
        for location in best.small:
            why = (
                "the whole order is worth less"
                if len(best.used) == 1 and not short
                else "no plan sourcing as many units in as few shipments avoids it"
            )
            notes.append(
                f"shipment from {location} is {yen(best.values[location])}, below the minimum "
                f"{yen(profile.min_shipment_value)}: allowed, {why}"
            )
        for exclusion in request.exclusions:
            what = exclusion.sku or "every SKU"
            notes.append(f"excluded {what} at {exclusion.location}: {exclusion.reason}")
        if self.result.greedy:
            notes.append(
                f"{self.result.tried} location sets tried, the last greedily "
                f"(over {SEARCH_BUDGET:,} sets)"
            )
        return tuple(notes)


def explain(world: World, result: SearchResult) -> Explained:
    explainer = _Explainer(world, result)
    best = result.best
    lines: list[LineExplanation] = []
    shortfall_reasons: dict[int, str] = {}
    for item in world.items:
        placements = best.at(item.index)
        at = {p.location for p in placements}
        chosen = tuple(
            CandidateReason(p.location, p.units, explainer.chosen(item, p)) for p in placements
        )
        not_chosen = tuple(
            CandidateReason(loc, 0, explainer.not_chosen(item, loc))
            for loc in world.candidates
            if loc not in at
        )
        short = best.short.get(item.index, 0)
        reason = explainer.shortfall(item) if short else None
        if reason is not None:
            shortfall_reasons[item.index] = reason
        lines.append(
            LineExplanation(item.line_id, item.sku, item.units, chosen, not_chosen, short, reason)
        )
    return Explained(tuple(lines), shortfall_reasons, explainer.notes())
