"""The resale unit and its state machine (reference §4.3).

```
intake ─prepare─▶ preparing ─ready─▶ ready ─publish─▶ listed ─reserve─▶ reserved ─sell─▶ sold (T)
  │                   │                │                │   ▲──release──┘
  └───────────────────┴────withdraw────┴────────────────┴─▶ withdrawn ─dispose─▶ disposed (T)
```

`sell` is the shipment of the order that holds it ("when it ships, the unit is sold"); the
reference's separate `shipped` would be the same moment here, since an order, not a person,
sells it. A sold unit that comes back is a new return and a new unit: terminal states are
immutable, corrections are new records. Withdrawal is allowed before listing too (a unit found
unfit while being prepared), which the reference's diagram leaves implicit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from oms.resale.domain.grades import Grade
from oms.resale.domain.pricing import PricingMode, UnitPricing
from oms.shared.errors import Conflict


class ResaleStatus(StrEnum):
    INTAKE = "intake"
    PREPARING = "preparing"
    READY = "ready"
    LISTED = "listed"
    RESERVED = "reserved"
    SOLD = "sold"
    WITHDRAWN = "withdrawn"
    DISPOSED = "disposed"


class ResaleAction(StrEnum):
    PREPARE = "prepare"
    READY = "ready"
    PUBLISH = "publish"
    RESERVE = "reserve"
    RELEASE = "release"
    SELL = "sell"
    WITHDRAW = "withdraw"
    DISPOSE = "dispose"


S, A = ResaleStatus, ResaleAction
TRANSITIONS: dict[tuple[ResaleStatus, ResaleAction], ResaleStatus] = {
    (S.INTAKE, A.PREPARE): S.PREPARING,
    (S.PREPARING, A.READY): S.READY,
    (S.READY, A.PUBLISH): S.LISTED,
    (S.LISTED, A.RESERVE): S.RESERVED,
    (S.RESERVED, A.RELEASE): S.LISTED,
    (S.RESERVED, A.SELL): S.SOLD,
    (S.INTAKE, A.WITHDRAW): S.WITHDRAWN,
    (S.PREPARING, A.WITHDRAW): S.WITHDRAWN,
    (S.READY, A.WITHDRAW): S.WITHDRAWN,
    (S.LISTED, A.WITHDRAW): S.WITHDRAWN,
    (S.WITHDRAWN, A.DISPOSE): S.DISPOSED,
}
TERMINAL = frozenset({S.SOLD, S.DISPOSED})
# Where the unit's stock is sellable (out of quarantine): listed, or held by an order.
ON_SALE = frozenset({S.LISTED, S.RESERVED})


class Stage(StrEnum):
    """What the unit's SKU tells the channels (its `resale_stage` attribute): `hidden` until
    listed, `early` before `public_from` (only the segments with early access see it; the
    marketplaces exclude it), `public` after."""

    HIDDEN = "hidden"
    EARLY = "early"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class EarlyAccess:
    segment: str
    visible_from: datetime


@dataclass(slots=True)
class ResaleUnit:
    code: str  # also its SKU's code
    returns_unit_id: int
    barcode: str
    parent_sku: str
    category: str | None
    location: str
    grade: Grade
    functional: str
    defects: list[dict[str, Any]]
    photos: list[str]
    order_id: int | None
    channel: str | None
    return_id: int | None
    status: ResaleStatus = ResaleStatus.INTAKE
    stage: Stage = Stage.HIDDEN
    public_from: datetime | None = None
    early_access: list[EarlyAccess] = field(default_factory=list)
    pricing: UnitPricing = field(
        default_factory=lambda: UnitPricing(None, None, 0, None, PricingMode.SCHEDULE, None, None)
    )
    listed_at: datetime | None = None
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def can(self, action: ResaleAction) -> bool:
        return (self.status, action) in TRANSITIONS

    def apply(self, action: ResaleAction) -> ResaleStatus:
        """Move along the diagram, or refuse (409) naming where the unit stands."""
        target = TRANSITIONS.get((self.status, action))
        if target is None:
            raise Conflict(
                f"resale unit {self.code} is {self.status}: it cannot {action}",
                field="status",
                extra={"status": self.status.value},
            )
        self.status = target
        return target

    def stage_at(self, now: datetime) -> Stage:
        """The stage the channels should see now."""
        if self.status not in ON_SALE or self.public_from is None:
            return Stage.HIDDEN
        return Stage.PUBLIC if now >= self.public_from else Stage.EARLY

    def next_due(self, now: datetime) -> datetime | None:
        """When the due work must look at the unit next: its public time while in early
        access, the next markdown step while priced by schedule; now if one is overdue."""
        if self.status not in ON_SALE:
            return None
        times: list[datetime] = []
        if self.public_from is not None and self.stage_at(now) is not self.stage:
            return now
        if self.stage is Stage.EARLY and self.public_from is not None:
            times.append(self.public_from)
        pricing = self.pricing
        if pricing.due(self.listed_at, now) is not None:
            return now
        if pricing.mode is PricingMode.SCHEDULE and pricing.schedule and self.listed_at:
            steps = (self.listed_at + timedelta(days=s.days) for s in pricing.schedule.steps)
            times.extend(t for t in steps if t > now)
        return min(times, default=None)

    def visible_to(self, segment: str, now: datetime) -> bool:
        """A segment sees a listed unit from its early-access time, everyone from
        `public_from`. Reserved and sold units are no longer offered to anyone."""
        if self.status is not ResaleStatus.LISTED or self.public_from is None:
            return False
        if now >= self.public_from:
            return True
        return any(e.segment == segment and now >= e.visible_from for e in self.early_access)
