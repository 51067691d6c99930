"""From stored facts to a sourcing plan: the candidates as the pure engine wants them.

Candidates are the locations feeding the order's channel, with what each has of the order's
SKUs now (on_hand - reserved - quarantined), their priority and what is left of today's
shipping capacity, and, for stores, the units kept for walk-in customers (the channels' safety
stock there), which the engine avoids taking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oms.orders.domain import Order
from oms.orders.ports import ChannelFacts, OrderUnitOfWork
from oms.orders.settings import profile_from, profile_json
from oms.orders.sourcing import (
    Candidate,
    Exclusion,
    OrderLineDemand,
    PlanStatus,
    SourcingPlan,
    SourcingRequest,
    plan_sourcing,
)

__all__ = ["Exclusion", "PlanOutcome", "plan_order"]


@dataclass(slots=True)
class PlanOutcome:
    """A plan, what the service must do with it, and what to record."""

    plan: SourcingPlan
    attempt: int
    notes: list[str] = field(default_factory=list)

    @property
    def version(self) -> int:
        return self.plan.version

    @property
    def allocations(self) -> list[tuple[str, str, str, int]]:
        return [(a.line_id, a.sku, a.location, a.quantity) for a in self.plan.allocations]

    @property
    def backordered(self) -> int:
        return sum(s.quantity for s in self.plan.shortfalls)

    @property
    def allow_backorder(self) -> bool:
        return self.plan.status is not PlanStatus.REFUSED

    def backorder_reasons(self) -> list[str]:
        return [f"{s.line_id} {s.quantity} x {s.sku}: {s.reason}" for s in self.plan.shortfalls]

    def note(self, text: str) -> None:
        self.notes.append(text)

    def as_json(self) -> dict[str, Any]:
        request = self.plan.request
        return {
            "status": self.plan.status.value,
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
    profile_settings: Mapping[str, Any],
    exclusions: Sequence[Exclusion],
    now: datetime,
    *,
    attempt: int = 0,
) -> PlanOutcome:
    """Plan every backordered unit of `order` on the stock as it is now."""
    waiting = order.backorders()
    demand = [
        OrderLineDemand(
            line_id=line.line_id,
            sku=line.sku,
            quantity=waiting[line.line_id],
            unit_price=line.unit_price,
            components=dict(line.components) if line.is_bundle else {},
            ship_together=line.ship_together,
        )
        for line in order.lines
        if waiting.get(line.line_id)
    ]
    skus = sorted({sku for line in order.lines for sku in line.components})
    request = SourcingRequest(
        destination=order.ship_to.prefecture,
        lines=tuple(demand),
        candidates=tuple(_candidates(uow, facts, skus, now)),
        profile=profile_from(profile_settings),
        exclusions=tuple(exclusions),
    )
    return PlanOutcome(plan_sourcing(request), attempt)


def _candidates(
    uow: OrderUnitOfWork, facts: ChannelFacts, skus: Sequence[str], now: datetime
) -> list[Candidate]:
    store = uow.inventory
    shipping = uow.orders.location_shipping()
    started_today = uow.orders.shipments_created_since(_start_of_day(now))
    available: dict[str, dict[str, int]] = {}
    for level in store.levels(sku_codes=list(skus)):
        available.setdefault(level.location, {})[level.sku] = level.available
    candidates = []
    for code in facts.locations:
        location = store.location_by_code(code)
        if location is None:
            continue
        settings = shipping.get(code)
        capacity = settings.daily_capacity if settings else None
        kind = location.kind.value
        candidates.append(
            Candidate(
                code=code,
                kind=kind,
                prefecture=location.prefecture,
                available=available.get(code, {}),
                priority=settings.priority if settings else 100,
                remaining_capacity=(
                    None if capacity is None else max(0, capacity - started_today.get(code, 0))
                ),
                walk_in_reserve=(
                    uow.directory.walk_in_reserve(code, skus) if kind == "store" else {}
                ),
                active=location.active,
                ships_to_customers=location.ships_to_customers,
            )
        )
    return candidates


def _start_of_day(now: datetime) -> datetime:
    """Midnight in Japan (UTC+9), when a location's daily capacity starts again."""
    jst = now + timedelta(hours=9)
    return jst.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=9)
