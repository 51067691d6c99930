"""From stored facts to a sourcing plan: the candidates as the pure engine wants them.

Candidates are the locations feeding the order's channel, with what each has of the order's
SKUs now that the channel may take (on_hand - reserved - quarantined, less what other channels'
ring-fenced pools hold there), their priority and what is left of today's shipping capacity,
and, for stores, the units kept for walk-in customers (the channels' safety stock there), which
the engine avoids taking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from oms.orders.domain.order import Order, ShipmentStatus
from oms.orders.domain.sourcing import (
    Candidate,
    Exclusion,
    OrderLineDemand,
    SourcingPlan,
    SourcingProfile,
    SourcingRequest,
    plan_sourcing,
)
from oms.orders.ports import ChannelFacts, LocationShipping, OrderUnitOfWork, SourcingFacts
from oms.orders.services.settings import profile_from, profile_json

__all__ = ["Exclusion", "PlanOutcome", "plan_order"]


@dataclass(slots=True)
class PlanOutcome:
    """A plan, what the service must do with it, and what to record."""

    plan: SourcingPlan
    attempt: int
    parts: dict[str, str] = field(default_factory=dict)  # a part's own line id -> its set's
    notes: list[str] = field(default_factory=list)
    applied: bool = True  # False: every reservation of it lost its race; nothing was booked

    @property
    def version(self) -> int:
        return self.plan.version

    @property
    def allocations(self) -> list[tuple[str, str, str, int]]:
        """(order line_id, SKU, location, units); a part's own line `<line_id>/<sku>` maps
        back to its set's line."""
        return [
            (self.parts.get(a.line_id, a.line_id), a.sku, a.location, a.quantity)
            for a in self.plan.allocations
        ]

    @property
    def backordered(self) -> int:
        return sum(s.quantity for s in self.plan.shortfalls)

    @property
    def allow_backorder(self) -> bool:
        """The channel takes orders it cannot ship whole now (its profile says)."""
        return self.plan.request.profile.allow_backorder

    def backorder_reasons(self) -> list[str]:
        # "line 1: 2 x TEE short (...)": the line id alone read as a count ("1 1 x TEE").
        return [
            f"line {s.line_id}: {s.quantity} x {s.sku} short ({s.reason})"
            for s in self.plan.shortfalls
        ]

    def note(self, text: str) -> None:
        self.notes.append(text)

    def as_json(self) -> dict[str, Any]:
        request = self.plan.request
        return {
            "status": self.plan.status.value if self.applied else "backordered",
            "engine_version": self.plan.version,
            "attempt": self.attempt + 1,
            "profile": profile_json(request.profile),
            "destination": request.destination,
            "candidates": [
                {
                    "location": c.code,
                    "kind": c.kind,
                    "prefecture": c.prefecture,
                    "priority": c.priority,
                    "remaining_capacity": c.remaining_capacity,
                    "available": dict(c.available),
                    "walk_in_reserve": dict(c.walk_in_reserve),
                }
                for c in request.candidates
            ],
            "exclusions": [
                {"location": e.location, "sku": e.sku, "reason": e.reason}
                for e in request.exclusions
            ],
            "lines": [
                {
                    "line_id": e.line_id,
                    "sku": e.sku,
                    "quantity": e.quantity,
                    "chosen": [
                        {"location": c.location, "units": c.units, "reason": c.reason}
                        for c in e.chosen
                    ],
                    "not_chosen": [
                        {"location": c.location, "units": c.units, "reason": c.reason}
                        for c in e.not_chosen
                    ],
                    "backordered": e.backordered,
                    "backorder_reason": e.backorder_reason,
                }
                for e in self.plan.explanations
            ],
            "shipments": [
                {
                    "location": s.location,
                    "value": s.value,
                    "units": sum(a.quantity for a in s.allocations),
                }
                for s in self.plan.shipments
            ],
            "notes": [*self.plan.notes, *self.notes],
        }


def plan_order(
    uow: OrderUnitOfWork,
    order: Order,
    facts: ChannelFacts,
    sourcing: SourcingFacts,
    exclusions: Sequence[Exclusion],
    now: datetime,
    *,
    attempt: int = 0,
) -> PlanOutcome:
    """Plan every unit of `order` that is in no parcel yet, on the stock as it is now.

    A set shipped apart whose parts are partly in parcels asks only for the missing parts, each
    as a line of its own (`<line_id>/<sku>`): its other part is not booked twice."""
    demand: list[OrderLineDemand] = []
    parts: dict[str, str] = {}
    taken = {line.line_id for line in order.lines}
    for line in order.lines:
        missing = order.missing(line)
        if not missing:
            continue
        if not line.is_bundle:
            demand.append(
                OrderLineDemand(line.line_id, line.sku, missing[line.sku], line.unit_price)
            )
            continue
        need = line.quantity - line.cancelled
        held = order.component_units(line)
        kits_held = min(held.get(sku, 0) // per for sku, per in line.components.items())
        if line.ship_together or not any(held.values()):
            demand.append(
                OrderLineDemand(
                    line_id=line.line_id,
                    sku=line.sku,
                    quantity=need - kits_held,
                    unit_price=line.unit_price,
                    components=dict(line.components),
                    ship_together=line.ship_together,
                )
            )
            continue
        for sku, units in sorted(missing.items()):
            part = f"{line.line_id}/{sku}"
            while part in taken:
                part += "'"
            taken.add(part)
            parts[part] = line.line_id
            demand.append(OrderLineDemand(part, sku, units, 0))
    skus = sorted({sku for line in order.lines for sku in line.components})
    candidates = _candidates(uow, facts, sourcing, skus, now)
    profile, budget_exclusions = _parcel_budget(
        order, profile_from(sourcing.profile or {}), [c.code for c in candidates]
    )
    request = SourcingRequest(
        destination=order.ship_to.prefecture,
        lines=tuple(demand),
        candidates=tuple(candidates),
        profile=profile,
        exclusions=(*exclusions, *budget_exclusions),
    )
    return PlanOutcome(plan_sourcing(request), attempt, parts)


def _parcel_budget(
    order: Order, profile: SourcingProfile, candidates: Sequence[str]
) -> tuple[SourcingProfile, list[Exclusion]]:
    """An order re-sourced later keeps its channel's parcel limit: the parcels it already has
    count, a pending one may take more units, a new location only while the limit allows."""
    used = {s.location for s in order.shipments if s.status is not ShipmentStatus.CANCELLED}
    if not used:
        return profile, []
    pending = {s.location for s in order.shipments if s.status is ShipmentStatus.PENDING}
    budget = profile.max_shipments - len(used)
    if budget > 0:
        return replace(profile, max_shipments=budget + len(pending)), []
    reason = (
        f"the order already has {len(used)} parcel{'s' if len(used) > 1 else ''} "
        f"(max {profile.max_shipments})"
    )
    blocked = [Exclusion(code, None, reason) for code in candidates if code not in pending]
    return replace(profile, max_shipments=max(1, len(pending))), blocked


def _candidates(
    uow: OrderUnitOfWork,
    facts: ChannelFacts,
    sourcing: SourcingFacts,
    skus: Sequence[str],
    now: datetime,
) -> list[Candidate]:
    locations = sourcing.locations
    shipping = {c: loc.shipping for c, loc in locations.items() if loc.shipping is not None}
    limited = [code for code in facts.locations if _capacity(shipping, code) is not None]
    started_today = (
        uow.orders.shipments_created_since(limited, _start_of_day(now)) if limited else {}
    )
    # What the channel may take: other channels' ring-fenced pools are not for its orders.
    fenced = uow.directory.ring_fenced(facts.code, skus)
    available: dict[str, dict[str, int]] = {}
    for level in sourcing.levels:
        held = fenced.get(level.sku, {}).get(level.location, 0)
        available.setdefault(level.location, {})[level.sku] = max(0, level.available - held)
    stores = [c for c in facts.locations if c in locations and locations[c].kind == "store"]
    reserve = uow.directory.walk_in_reserve(stores, skus) if stores else {}
    candidates = []
    for code in facts.locations:
        location = locations.get(code)
        if location is None:
            continue
        settings = shipping.get(code)
        capacity = _capacity(shipping, code)
        candidates.append(
            Candidate(
                code=code,
                kind=location.kind,
                prefecture=location.prefecture,
                available=available.get(code, {}),
                priority=settings.priority if settings else 100,
                remaining_capacity=(
                    None if capacity is None else max(0, capacity - started_today.get(code, 0))
                ),
                walk_in_reserve=reserve.get(code, {}),
                active=location.active,
                ships_to_customers=location.ships_to_customers,
            )
        )
    return candidates


def _capacity(shipping: Mapping[str, LocationShipping], code: str) -> int | None:
    settings = shipping.get(code)
    return None if settings is None else settings.daily_capacity


def _start_of_day(now: datetime) -> datetime:
    """Midnight in Japan (UTC+9), when a location's daily capacity starts again."""
    jst = now + timedelta(hours=9)
    return jst.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=9)
