"""Request and response bodies of the resale API. Pydantic lives here, at the edge.

No response carries the new item's price (景品表示法: a used unit never shows it as a
"compare at" reference price), nor the grade factor that would give it away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from oms.http_models import Code, Line, Promised, RequestBody, StrictInt
from oms.resale.domain import (
    CONDITIONS,
    MAX_PRICE,
    Grade,
    PriceChange,
    ResaleUnit,
)
from oms.resale.domain.pricing import MAX_DAYS, MAX_STEPS
from oms.resale.services import SetPricing

Segment = Code
GradeCode = Literal["N", "U", "A", "B", "C", "D", "J"]
Percent = Annotated[StrictInt, Field(ge=0, le=100)]

# --------------------------------------------------------------------------- requests


class MarkdownStepBody(RequestBody):
    days: StrictInt = Field(ge=1, le=MAX_DAYS, description="Days listed")
    percent_off: StrictInt = Field(ge=1, le=99, description="Off the grade price")


class ScheduleBody(RequestBody):
    steps: list[MarkdownStepBody] = Field(max_length=MAX_STEPS)
    floor: StrictInt = Field(ge=1, le=MAX_PRICE, description="Never below, yen")


class SetPricingRequest(RequestBody):
    """Either `price` (set by hand: markdowns stop) or `schedule` (the grade price marked down
    by days listed, never below its floor)."""

    price: StrictInt | None = Field(default=None, ge=1, le=MAX_PRICE, description="Yen")
    schedule: ScheduleBody | None = None
    reason: Line = Field(min_length=1, max_length=200)

    def to_command(self) -> SetPricing:
        if self.schedule is None:
            return SetPricing(self.reason, price=self.price)
        return SetPricing(
            self.reason,
            price=self.price,
            steps=[(s.days, s.percent_off) for s in self.schedule.steps],
            floor=self.schedule.floor,
        )


class EarlyAccessBody(RequestBody):
    segment: Segment
    visible_from: Promised


class PublishRequest(RequestBody):
    public_from: Promised
    early_access: list[EarlyAccessBody] = Field(default_factory=list, max_length=20)


class ReadyRequest(RequestBody):
    photos: list[Annotated[Line, Field(min_length=1, max_length=500)]] | None = Field(
        default=None, max_length=20, description="Replaces the unit's photos when given"
    )


class ReasonRequest(RequestBody):
    reason: Line = Field(min_length=1, max_length=64)


class GradeFactorsRequest(RequestBody):
    factors: dict[GradeCode, Percent] = Field(
        min_length=1, description="Percent of the new item's price per grade (J: 0)"
    )


# --------------------------------------------------------------------------- responses


class PriceChangeResponse(BaseModel):
    price: int
    reason: str
    actor: str
    at: datetime

    @classmethod
    def of(cls, change: PriceChange) -> PriceChangeResponse:
        return cls(price=change.price, reason=change.reason, actor=change.actor, at=change.at)


class EarlyAccessResponse(BaseModel):
    segment: str
    visible_from: datetime


class LineageResponse(BaseModel):
    returns_unit_id: int
    barcode: str
    order_id: int | None
    channel: str | None
    return_id: int | None


class MarkdownResponse(BaseModel):
    steps: list[dict[str, int]]
    floor: int


class ResaleUnitResponse(BaseModel):
    code: str
    parent_sku: str
    category: str | None
    location: str
    grade: str
    condition: str
    functional: str
    defects: list[dict[str, Any]]
    photos: list[str]
    status: str
    stage: str
    price: int | None = Field(description="Yen. There is no reference (new) price, by law")
    pricing_mode: str
    markdown: MarkdownResponse | None
    public_from: datetime | None
    early_access: list[EarlyAccessResponse]
    listed_at: datetime | None
    lineage: LineageResponse
    price_history: list[PriceChangeResponse] | None = None
    created_at: datetime | None

    @classmethod
    def of(cls, unit: ResaleUnit, prices: list[PriceChange] | None = None) -> ResaleUnitResponse:
        schedule = unit.pricing.schedule
        return cls(
            code=unit.code,
            parent_sku=unit.parent_sku,
            category=unit.category,
            location=unit.location,
            grade=unit.grade.value,
            condition=CONDITIONS[unit.grade],
            functional=unit.functional,
            defects=unit.defects,
            photos=unit.photos,
            status=unit.status.value,
            stage=unit.stage.value,
            price=unit.pricing.price,
            pricing_mode=unit.pricing.mode.value,
            markdown=MarkdownResponse(**schedule.as_json()) if schedule is not None else None,
            public_from=unit.public_from,
            early_access=[
                EarlyAccessResponse(segment=e.segment, visible_from=e.visible_from)
                for e in unit.early_access
            ],
            listed_at=unit.listed_at,
            lineage=LineageResponse(
                returns_unit_id=unit.returns_unit_id,
                barcode=unit.barcode,
                order_id=unit.order_id,
                channel=unit.channel,
                return_id=unit.return_id,
            ),
            price_history=(
                [PriceChangeResponse.of(p) for p in prices] if prices is not None else None
            ),
            created_at=unit.created_at,
        )


class GradeFactorsResponse(BaseModel):
    category: str
    factors: dict[str, int]

    @classmethod
    def of(cls, category: str, factors: dict[Grade, int]) -> GradeFactorsResponse:
        return cls(category=category, factors={g.value: p for g, p in sorted(factors.items())})
