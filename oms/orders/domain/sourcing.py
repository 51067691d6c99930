"""Order sourcing: which locations ship which units of an order, and why.

Pure and versioned (`SOURCING_VERSION`): the same request always gives the same plan and the
same reasons, whatever order the candidates come in. A change to the rules below, or to the
zone table of `oms.orders.domain.geography`, is a new version, so a stored decision can always be
explained by the rules that made it.

**Candidates** are the locations the caller passes: the ones feeding the channel. A candidate
that is inactive, does not ship to customers, is excluded by the caller, or has no capacity left
today ships nothing; the explanation says which. A line's units at a candidate are what its
``available`` allows; a ship-together bundle counts whole kits there (min over its components).

**The best plan** is chosen by these criteria, in order:

1. fewest units left unsourced, then the least value left unsourced;
2. fewest shipments (one per location used), never more than ``max_shipments``;
3. fewest shipments under ``min_shipment_value``;
4. fewest lines split across locations;
5. the best-ranked locations: each location ranks by the profile's ``ranking`` factors in
   order (priority, proximity zone to the destination, walk-in units it gives up, capacity
   left), then by code; plans compare their locations best first.

**The search**: location sets of size 1, 2, ... up to ``max_shipments``, stopping after the
first size at which some set sources every unit, so one location that can ship the whole order
always wins. Each set is filled greedily: ship-together bundles first, then the lines the fewest
of its locations can take whole; each line goes whole to its best-ranked location there and is
split, in rank order, only when none can take it whole. Then shipments under the minimum are
lifted by moving one whole line into them from a shipment that stays at the minimum. Past
`SEARCH_BUDGET` sets the search extends its best plan greedily, one location at a time.

**Guardrails**, as these rules give them:
- *one shipment*: a location with the whole order always wins (criteria 1-2);
- *at most N shipments*: units only an (N+1)th location has are backordered, or, with
  ``allow_backorder`` False, the plan is `PlanStatus.REFUSED`: nothing allocated, the
  shortfalls say what is missing; the caller cancels the order or rejects it on the channel;
- *minimum value*: a shipment under it is made only when no plan sourcing as many units in as
  few shipments avoids it (backordering the units would not save the parcel: they would ship
  later, on their own); the notes say so;
- *ship together*: every unit of such a bundle comes whole from one location; a bundle line of
  several units may come from several locations only like any line, when none has them all.

**Re-planning**: the plan keeps its request. After a location rejects a line or a concurrent
order takes the stock, `replan_excluding` plans again with the exclusion (and the new
availability); the explanation names the exclusion for each line it touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from math import floor

from oms.orders.domain.sourcing_explain import CandidateReason, LineExplanation, explain
from oms.orders.domain.sourcing_policy import (
    DEFAULT_RANKING,
    LOCATION_KINDS,
    Candidate,
    Exclusion,
    OrderLineDemand,
    RankingFactor,
    SourcingProfile,
    SourcingRequest,
)
from oms.orders.domain.sourcing_search import SEARCH_BUDGET, World, search

SOURCING_VERSION = 1

__all__ = [
    "DEFAULT_RANKING",
    "LOCATION_KINDS",
    "SEARCH_BUDGET",
    "SOURCING_VERSION",
    "Allocation",
    "Candidate",
    "CandidateReason",
    "Exclusion",
    "LineExplanation",
    "OrderLineDemand",
    "PlanStatus",
    "RankingFactor",
    "Shipment",
    "Shortfall",
    "SourcingPlan",
    "SourcingProfile",
    "SourcingRequest",
    "plan_sourcing",
    "replan_excluding",
]


class PlanStatus(StrEnum):
    COMPLETE = "complete"  # every unit allocated
    PARTIAL = "partial"  # some units allocated, the rest backordered
    BACKORDERED = "backordered"  # nothing can ship now: every unit backordered
    REFUSED = "refused"  # some unit cannot be sourced and backorders are not allowed


@dataclass(frozen=True, slots=True)
class Allocation:
    """Units of one simple SKU (a bundle line's component, for a bundle) from one location."""

    line_id: str
    sku: str
    location: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Units of one simple SKU of a line that no location in the plan ships, and why."""

    line_id: str
    sku: str
    quantity: int
    reason: str


@dataclass(frozen=True, slots=True)
class Shipment:
    """One parcel: everything one location ships for the order. ``value`` in yen."""

    location: str
    allocations: tuple[Allocation, ...]
    value: int


@dataclass(frozen=True, slots=True)
class SourcingPlan:
    """The decision for one order, with its reasons and the request that produced it.

    A refused plan allocates nothing; its explanations and shortfalls describe the best plan
    the rules allowed, so the caller can say what was missing.
    """

    request: SourcingRequest
    status: PlanStatus
    allocations: tuple[Allocation, ...]
    shortfalls: tuple[Shortfall, ...]
    shipments: tuple[Shipment, ...]
    explanations: tuple[LineExplanation, ...]
    notes: tuple[str, ...]
    version: int = SOURCING_VERSION

    @property
    def backorders(self) -> tuple[Shortfall, ...]:
        """Units that wait for stock; none when the plan is refused."""
        return () if self.status is PlanStatus.REFUSED else self.shortfalls

    def explanation(self, line_id: str, sku: str | None = None) -> LineExplanation:
        """The explanation of a line (of one component, for a bundle shipped apart)."""
        found = [e for e in self.explanations if e.line_id == line_id and sku in (None, e.sku)]
        if len(found) != 1:
            raise KeyError((line_id, sku))
        return found[0]


def plan_sourcing(request: SourcingRequest) -> SourcingPlan:
    """The best plan for an order under its channel's profile (see the module docstring)."""
    world = World.of(request)
    result = search(world)
    explained = explain(world, result)
    best = result.best

    allocations: list[Allocation] = []
    shipments: list[Shipment] = []
    for location in best.used:
        here = [
            Allocation(world.items[p.item].line_id, sku, location, p.units * per)
            for p in sorted(best.placements, key=lambda p: p.item)
            if p.location == location
            for sku, per in world.items[p.item].recipe
        ]
        allocations.extend(here)
        shipments.append(Shipment(location, tuple(here), floor(best.values[location])))

    shortfalls = tuple(
        Shortfall(item.line_id, sku, best.short[item.index] * per, reason)
        for item in world.items
        if item.index in best.short
        for reason in (explained.shortfall_reasons[item.index],)
        for sku, per in item.recipe
    )

    if not shortfalls:
        status = PlanStatus.COMPLETE
    elif not request.profile.allow_backorder:
        status = PlanStatus.REFUSED
        allocations, shipments = [], []
    elif allocations:
        status = PlanStatus.PARTIAL
    else:
        status = PlanStatus.BACKORDERED

    return SourcingPlan(
        request=request,
        status=status,
        allocations=tuple(allocations),
        shortfalls=shortfalls,
        shipments=tuple(shipments),
        explanations=explained.lines,
        notes=explained.notes,
    )


def replan_excluding(
    plan: SourcingPlan,
    *exclusions: Exclusion,
    available: Mapping[tuple[str, str], int] | None = None,
) -> SourcingPlan:
    """Plan the same order again without what the caller now excludes (a location rejected a
    line, ...) and with the (location, SKU) availability it now sees."""
    request = plan.request.excluding(*exclusions)
    if available:
        request = request.with_available(available)
    return plan_sourcing(request)
