"""Request and response bodies of the channels API. Pydantic lives here, at the edge only.

Requests check shapes and types (unknown fields, strict numbers); the business rules (known
locations and SKUs, ranges) stay in the services, which name the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from oms.channels.availability.domain.rules import (
    DEFAULT_PUSH_LATENCY_SECONDS,
    MAX_PUSH_LATENCY_SECONDS,
    MAX_RULE_QUANTITY,
    Buffer,
    BufferScope,
    Cap,
    Channel,
    ChannelKind,
    ChannelRules,
    DefaultSafetyStock,
    Exclusion,
    ExclusionKind,
    Pool,
    RuleChange,
    RuleKind,
    SafetyStock,
    Share,
)
from oms.channels.availability.services.channels import CreateChannel, UpdateChannel
from oms.http_models import Code, RequestBody, StrictBool, StrictInt, StrictNumber

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=100)]
# Rule quantities (safety stock, pools, buffers, caps), stated here for the OpenAPI; the
# services check the same bounds (oms.channels.rules) for every caller.
RuleUnits = Annotated[StrictInt, Field(ge=0, le=MAX_RULE_QUANTITY)]
Percent = Annotated[StrictNumber, Field(ge=0, le=100)]
Latency = Annotated[StrictNumber, Field(ge=0, le=MAX_PUSH_LATENCY_SECONDS)]
LATENCY_DESCRIPTION = (
    "The channel's measured push latency in seconds (>= 0), configurable until the sync "
    "jobs report it; the latency buffer is ceil(velocity x latency)."
)
SETTINGS_DESCRIPTION = "Reserved for the channel adapter (endpoints, credentials): stored as is."


# --------------------------------------------------------------------------- channels


class CreateChannelRequest(RequestBody):
    code: Code
    name: Name
    kind: ChannelKind
    active: StrictBool = True
    locations: list[Code] = Field(
        default_factory=list, description="Codes of the locations whose stock the channel sells"
    )
    auto_buffer: StrictBool = False
    push_latency_seconds: Latency = Field(
        default=DEFAULT_PUSH_LATENCY_SECONDS, description=LATENCY_DESCRIPTION
    )
    settings: dict[str, Any] = Field(default_factory=dict, description=SETTINGS_DESCRIPTION)

    def to_command(self) -> CreateChannel:
        return CreateChannel(
            code=self.code,
            name=self.name,
            kind=self.kind.value,
            active=self.active,
            locations=list(self.locations),
            auto_buffer=self.auto_buffer,
            push_latency_seconds=self.push_latency_seconds,
            settings=self.settings,
        )


class UpdateChannelRequest(RequestBody):
    """Only the fields sent change; `locations` and `settings` replace the old ones whole."""

    not_null_fields = frozenset(
        {"name", "kind", "active", "locations", "auto_buffer", "push_latency_seconds", "settings"}
    )

    name: Name | None = None
    kind: ChannelKind | None = None
    active: StrictBool | None = None
    locations: list[Code] | None = None
    auto_buffer: StrictBool | None = None
    push_latency_seconds: Latency | None = Field(default=None, description=LATENCY_DESCRIPTION)
    settings: dict[str, Any] | None = Field(default=None, description=SETTINGS_DESCRIPTION)

    def to_command(self, code: str) -> UpdateChannel:
        return UpdateChannel(
            code=code,
            name=self.name,
            kind=self.kind.value if self.kind else None,
            active=self.active,
            locations=None if self.locations is None else list(self.locations),
            auto_buffer=self.auto_buffer,
            push_latency_seconds=self.push_latency_seconds,
            settings=self.settings,
        )


class ChannelResponse(BaseModel):
    code: str
    name: str
    kind: ChannelKind
    active: bool
    locations: list[str]
    auto_buffer: bool
    push_latency_seconds: float
    settings: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, channel: Channel) -> ChannelResponse:
        return cls(
            code=channel.code,
            name=channel.name,
            kind=channel.kind,
            active=channel.active,
            locations=list(channel.locations),
            auto_buffer=channel.auto_buffer,
            push_latency_seconds=channel.push_latency_seconds,
            settings=channel.settings,
            created_at=channel.created_at,
            updated_at=channel.updated_at,
        )


# --------------------------------------------------------------------------- safety stock


class SetSafetyStockRequest(RequestBody):
    sku: Code
    location: Code
    quantity: RuleUnits | None = Field(description="Units kept back; null removes the rule")


class SetDefaultSafetyStockRequest(RequestBody):
    location: Code
    quantity: RuleUnits | None = Field(description="Units kept back; null removes the rule")


class SafetyStockResponse(BaseModel):
    sku: str
    location: str
    quantity: int | None

    @classmethod
    def of(cls, rule: SafetyStock) -> SafetyStockResponse:
        return cls(sku=rule.sku, location=rule.location, quantity=rule.quantity)


class DefaultSafetyStockResponse(BaseModel):
    location: str
    quantity: int | None

    @classmethod
    def of(cls, rule: DefaultSafetyStock) -> DefaultSafetyStockResponse:
        return cls(location=rule.location, quantity=rule.quantity)


# --------------------------------------------------------------------------- channel rules


class ExclusionRequest(RequestBody):
    kind: ExclusionKind
    sku: Code | None = None
    attribute: Text | None = Field(default=None, description="A SKU attribute, e.g. `category`")
    value: Text | None = None
    location: Code | None = None


class ExclusionResponse(BaseModel):
    id: int | None
    kind: ExclusionKind
    sku: str | None
    attribute: str | None
    value: str | None
    location: str | None

    @classmethod
    def of(cls, exclusion: Exclusion) -> ExclusionResponse:
        return cls(
            id=exclusion.id,
            kind=exclusion.kind,
            sku=exclusion.sku,
            attribute=exclusion.attribute,
            value=exclusion.value,
            location=exclusion.location,
        )


class SetPoolRequest(RequestBody):
    quantity: RuleUnits | None = Field(description="Units ring-fenced; null removes the pool")


class PoolResponse(BaseModel):
    sku: str
    quantity: int | None

    @classmethod
    def of(cls, pool: Pool) -> PoolResponse:
        return cls(sku=pool.sku, quantity=pool.quantity)


class SetBufferRequest(RequestBody):
    scope: BufferScope
    key: Text | None = Field(default=None, description="The SKU or category; none for default")
    units: RuleUnits | None = Field(description="Units held back; null removes the buffer")


class BufferResponse(BaseModel):
    scope: BufferScope
    key: str | None
    units: int | None

    @classmethod
    def of(cls, buffer: Buffer) -> BufferResponse:
        return cls(scope=buffer.scope, key=buffer.key, units=buffer.units)


class SetShareRequest(RequestBody):
    sku: Code | None = Field(default=None, description="Leave out for the channel's default")
    percent: Percent | None = Field(
        description="0 to 100 of the shared remainder; null removes the share"
    )


class ShareResponse(BaseModel):
    sku: str | None
    percent: float | None

    @classmethod
    def of(cls, share: Share) -> ShareResponse:
        return cls(sku=share.sku, percent=share.percent)


class SetCapRequest(RequestBody):
    sku: Code | None = Field(default=None, description="Leave out for the channel's default")
    cap: RuleUnits | None = Field(description="At most this many published; null removes it")


class CapResponse(BaseModel):
    sku: str | None
    cap: int | None

    @classmethod
    def of(cls, cap: Cap) -> CapResponse:
        return cls(sku=cap.sku, cap=cap.cap)


class ChannelRulesResponse(BaseModel):
    channel: str
    exclusions: list[ExclusionResponse]
    pools: list[PoolResponse]
    buffers: list[BufferResponse]
    shares: list[ShareResponse]
    caps: list[CapResponse]

    @classmethod
    def of(cls, rules: ChannelRules) -> ChannelRulesResponse:
        return cls(
            channel=rules.channel,
            exclusions=[ExclusionResponse.of(x) for x in rules.exclusions],
            pools=[PoolResponse.of(x) for x in rules.pools],
            buffers=[BufferResponse.of(x) for x in rules.buffers],
            shares=[ShareResponse.of(x) for x in rules.shares],
            caps=[CapResponse.of(x) for x in rules.caps],
        )


class RuleChangeResponse(BaseModel):
    id: int | None
    kind: RuleKind
    channel: str | None
    key: str
    old: Any
    new: Any
    actor: str
    at: datetime

    @classmethod
    def of(cls, change: RuleChange) -> RuleChangeResponse:
        return cls(
            id=change.id,
            kind=change.kind,
            channel=change.channel,
            key=change.key,
            old=change.old,
            new=change.new,
            actor=change.actor,
            at=change.at,
        )
