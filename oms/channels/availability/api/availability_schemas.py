"""Response bodies of the availability and explain endpoints. Pydantic lives here, at the edge.

The availability pipeline (`oms.channels.availability.domain.model`) decides the numbers and writes
the trace;
these bodies only copy them out.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from oms.channels.availability.domain.model import LocationTrace, TraceStep
from oms.channels.availability.services.changes import ChangesPage
from oms.channels.availability.services.read_path import SkuAvailability


class AvailabilityItemResponse(BaseModel):
    sku: str
    available: int


class ChannelAvailabilityResponse(BaseModel):
    channel: str
    pipeline_version: int = Field(description="Version of the rules' precedence that computed it")
    items: list[AvailabilityItemResponse]

    @classmethod
    def of(
        cls, channel: str, version: int, found: list[SkuAvailability]
    ) -> ChannelAvailabilityResponse:
        return cls(
            channel=channel,
            pipeline_version=version,
            items=[
                AvailabilityItemResponse(sku=x.availability.sku, available=x.availability.available)
                for x in found
            ],
        )


class ChangedItemResponse(BaseModel):
    sku: str
    available: int
    version: int = Field(description="Counts the changes of this number; keep the highest")
    changed_at: datetime


class AvailabilityChangesResponse(BaseModel):
    """`?changed_since=`: every SKU whose number changed since the cursor."""

    channel: str
    pipeline_version: int
    items: list[ChangedItemResponse]
    next_cursor: str = Field(description="Pass it as changed_since next time")
    more: bool = Field(description="The page was full: call again at once with next_cursor")

    @classmethod
    def of(cls, version: int, page: ChangesPage) -> AvailabilityChangesResponse:
        return cls(
            channel=page.channel,
            pipeline_version=version,
            items=[
                ChangedItemResponse(
                    sku=x.sku, available=x.available, version=x.version, changed_at=x.changed_at
                )
                for x in page.items
            ],
            next_cursor=page.next_cursor,
            more=page.more,
        )


class LocationTraceResponse(BaseModel):
    location: str
    input: int
    output: int
    rule: str

    @classmethod
    def of(cls, row: LocationTrace) -> LocationTraceResponse:
        return cls(location=row.location, input=row.input, output=row.output, rule=row.rule)


class TraceStepResponse(BaseModel):
    name: str
    rule: str = Field(description="The rule that applied, in words")
    input: int
    output: int
    locations: list[LocationTraceResponse] = Field(description="Per location, where it applies")

    @classmethod
    def of(cls, step: TraceStep) -> TraceStepResponse:
        return cls(
            name=step.name,
            rule=step.rule,
            input=step.input,
            output=step.output,
            locations=[LocationTraceResponse.of(row) for row in step.locations],
        )


class AvailabilityExplanationResponse(BaseModel):
    channel: str
    sku: str
    bundle: bool
    available: int = Field(description="The published number: the last step's output")
    pipeline_version: int
    summary: str = Field(description="The steps in one line: each step's name and output")
    pooled: int = Field(description="Units ring-fenced for this channel")
    shared: int = Field(description="Unpooled sellable units the channel sees, before buffer")
    steps: list[TraceStepResponse]
    notes: list[str] = Field(description="How stored rules mapped onto the pipeline")

    @classmethod
    def of(cls, found: SkuAvailability) -> AvailabilityExplanationResponse:
        result = found.availability
        path = " -> ".join(f"{step.name} {step.output}" for step in result.trace)
        return cls(
            channel=result.channel,
            sku=result.sku,
            bundle=found.bundle,
            available=result.available,
            pipeline_version=result.version,
            summary=f"{result.channel} shows {result.available} of {result.sku}: {path}",
            pooled=result.pooled,
            shared=result.shared,
            steps=[TraceStepResponse.of(step) for step in result.trace],
            notes=list(found.notes),
        )
