"""Request and response bodies of the privacy API. Pydantic lives here, at the edge."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from oms.http_models import Line, RequestBody, StrictBool, StrictInt, Text
from oms.privacy.domain import ANONYMISABLE, AuditEntry, LegalHold, PiiPolicy
from oms.privacy.domain.hold import MAX_REASON
from oms.privacy.domain.policy import MAX_DAYS
from oms.privacy.services.holds import OrderPrivacy

_FIELDS = ", ".join(f.value for f in ANONYMISABLE)


class PiiPolicyRequest(RequestBody):
    enabled: StrictBool = Field(description="False: this channel's orders are never anonymised")
    fields: list[Line] = Field(
        max_length=len(ANONYMISABLE),
        description=f"Personal fields to anonymise: {_FIELDS}. Postal code and prefecture are "
        "always kept.",
    )
    days_after_delivery: StrictInt = Field(
        ge=0,
        le=MAX_DAYS,
        description="Days after the last parcel left (oms knows no delivery date; a parcel is "
        "never delivered before it leaves)",
    )
    days_after_cancellation: StrictInt = Field(
        ge=0, le=MAX_DAYS, description="Days after the order date, for cancelled orders"
    )


class PiiPolicyResponse(BaseModel):
    channel: str
    enabled: bool
    fields: list[str]
    days_after_delivery: int
    days_after_cancellation: int
    source: Literal["stored", "default"] = Field(
        description="default: nothing stored, the default of the channel's kind"
    )

    @classmethod
    def of(cls, policy: PiiPolicy) -> PiiPolicyResponse:
        return cls(
            channel=policy.channel,
            enabled=policy.enabled,
            fields=sorted(f.value for f in policy.fields),
            days_after_delivery=policy.days_after_delivery,
            days_after_cancellation=policy.days_after_cancellation,
            source="stored" if policy.stored else "default",
        )


class HoldRequest(RequestBody):
    reason: Text = Field(min_length=1, max_length=MAX_REASON)


class LegalHoldResponse(BaseModel):
    id: int
    order_id: int
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None
    active: bool

    @classmethod
    def of(cls, hold: LegalHold) -> LegalHoldResponse:
        return cls(
            id=hold.id,
            order_id=hold.order_id,
            reason=hold.reason,
            placed_by=hold.placed_by,
            placed_at=hold.placed_at,
            released_by=hold.released_by,
            released_at=hold.released_at,
            release_reason=hold.release_reason,
            active=hold.active,
        )


class OrderPrivacyResponse(BaseModel):
    order_id: int
    anonymised_at: datetime | None
    held: bool
    holds: list[LegalHoldResponse]

    @classmethod
    def of(cls, state: OrderPrivacy) -> OrderPrivacyResponse:
        return cls(
            order_id=state.order_id,
            anonymised_at=state.anonymised_at,
            held=state.held,
            holds=[LegalHoldResponse.of(h) for h in state.holds],
        )


class AuditEntryResponse(BaseModel):
    id: int
    read_at: datetime
    actor: str
    role: str
    purpose: str
    order_id: int | None = Field(description="null: a record of no order of ours")
    subject: str
    subject_id: int | None
    fields: list[str]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryResponse:
        return cls(
            id=entry.id,
            read_at=entry.read_at,
            actor=entry.actor,
            role=entry.role,
            purpose=entry.purpose,
            order_id=entry.order_id,
            subject=entry.subject.value,
            subject_id=entry.subject_id,
            fields=sorted(f.value for f in entry.fields),
        )
