"""Request and response bodies of the repairs API. Pydantic lives here, at the edge."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from oms.http_models import Code, Line, RequestBody, StrictBool, StrictInt, Text
from oms.repairs.domain import (
    Outcome,
    PartLine,
    Repair,
    RepairAction,
    RepairStatus,
    RequestedBy,
)
from oms.repairs.domain.repair import MAX_NOTE, MAX_QUOTE, MAX_SYMPTOM, PAUSED, STOPPED
from oms.repairs.domain.warranty import MAX_TERM_MONTHS, PartnerTerms
from oms.repairs.ports import PartUse
from oms.repairs.services import ActOnRepair, OpenRepair, RepairDetail
from oms.shared.bounds import MAX_ID


def _date_text(value: Any) -> Any:
    # Pydantic (lax) would read a number as seconds since 1970: a date is YYYY-MM-DD text.
    if value is not None and not isinstance(value, str | date):
        raise PydanticCustomError("date_type", "Input should be a date, YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_text)]

# --------------------------------------------------------------------------- requests


class ContactBody(RequestBody):
    """Personal data: who to reach and where the item goes back."""

    name: Line = Field(min_length=1, max_length=200)
    kana: Line | None = Field(default=None, max_length=200)
    phone: str | None = Field(
        default=None, max_length=20, json_schema_extra={"pattern": r"^\+?[0-9][0-9\- ]{5,19}$"}
    )
    email: Line | None = Field(default=None, max_length=254)
    address_lines: list[Annotated[Line, Field(max_length=300)]] | None = Field(
        default=None, max_length=3
    )
    prefecture: str | None = Field(
        default=None,
        description="JIS code, 01 (Hokkaido) to 47 (Okinawa)",
        json_schema_extra={"pattern": r"^(0?[1-9]|[1-3][0-9]|4[0-7])$"},
    )
    postal_code: str | None = Field(
        default=None,
        min_length=7,
        max_length=8,
        json_schema_extra={"pattern": r"^[0-9]{3}-?[0-9]{4}$"},
    )


class OpenRepairRequest(RequestBody):
    """`order_id` + `line_id` (an order of ours: SKU, channel and purchase date come from it),
    or a proof of purchase: `purchase_date`, `channel`, `sku` (and `partner`)."""

    multi_line_fields = frozenset({"symptom"})

    requested_by: RequestedBy
    symptom: Text = Field(min_length=1, max_length=MAX_SYMPTOM)
    contact: ContactBody
    order_id: StrictInt | None = Field(default=None, ge=1, le=MAX_ID)
    line_id: Line | None = Field(default=None, min_length=1, max_length=64)
    purchase_date: IsoDate | None = None
    channel: Code | None = None
    partner: Code | None = Field(default=None, description="A wholesale partner's code")
    sku: Code | None = None
    serial: Line | None = Field(default=None, min_length=1, max_length=100)

    def to_command(self) -> OpenRepair:
        return OpenRepair(
            requested_by=self.requested_by.value,
            symptom=self.symptom,
            contact=self.contact.model_dump(exclude_none=True),
            order_id=self.order_id,
            line_id=self.line_id,
            purchase_date=self.purchase_date,
            channel=self.channel,
            partner=self.partner,
            sku=self.sku,
            serial=self.serial,
        )


class NoteRequest(RequestBody):
    multi_line_fields = frozenset({"note"})

    note: Text | None = Field(default=None, max_length=MAX_NOTE)


class ReceiveRequest(NoteRequest):
    location: Code = Field(description="Where the item is received and repaired")


class QuoteRequest(NoteRequest):
    amount: StrictInt = Field(ge=0, le=MAX_QUOTE, description="Yen")
    currency: Literal["JPY"] = "JPY"


class ReasonRequest(RequestBody):
    multi_line_fields = frozenset({"reason"})

    reason: Text = Field(min_length=1, max_length=MAX_NOTE)


class PartLineBody(RequestBody):
    sku: Code
    quantity: StrictInt = Field(ge=1, le=10_000)


class PartsRequest(RequestBody):
    lines: list[PartLineBody] = Field(min_length=1, max_length=50)


class TestResultRequest(NoteRequest):
    passed: StrictBool


class UnrepairableRequest(ReasonRequest):
    outcome: Outcome


class OverrideWarrantyRequest(ReasonRequest):
    in_warranty: StrictBool


class PartnerTermsRequest(RequestBody):
    extra_months: StrictInt = Field(default=0, ge=0, le=MAX_TERM_MONTHS)
    term_months: StrictInt | None = Field(
        default=None, ge=0, le=MAX_TERM_MONTHS, description="The partner's own term, if any"
    )


def act(
    action: RepairAction, body: RequestBody | None = None, key: str | None = None
) -> ActOnRepair:
    """The service command for `action` with what its body holds (same field names)."""
    if body is None:
        return ActOnRepair(action)
    if isinstance(body, PartsRequest):
        return ActOnRepair(
            action,
            parts=[PartLine(ln.sku, ln.quantity) for ln in body.lines],
            idempotency_key=key,
        )
    return ActOnRepair(action, **body.model_dump())


# --------------------------------------------------------------------------- responses


class ContactResponse(BaseModel):
    name: str | None = None
    kana: str | None = None
    phone: str | None = None
    email: str | None = None
    address_lines: list[str] | None = None
    prefecture: str | None = None
    postal_code: str | None = None


class QuoteResponse(BaseModel):
    amount: int
    currency: str


class WarrantyOverrideResponse(BaseModel):
    in_warranty: bool
    reason: str
    by: str
    at: datetime


class WarrantyResponse(BaseModel):
    in_warranty: bool = Field(description="The decision in force: the override, if any")
    computed_in_warranty: bool
    purchase_date: date
    requested_on: date
    product_term_months: int
    product_term_source: str = Field(description="sku (its warranty_months) or default (12)")
    partner: str | None
    partner_extra_months: int
    partner_term_months: int | None
    term_months: int
    expires_on: date
    override: WarrantyOverrideResponse | None


class StateResponse(BaseModel):
    status: str
    entered_at: datetime
    left_at: datetime | None
    seconds: float
    actor: str
    note: str | None


class SlaResponse(BaseModel):
    running_seconds: float = Field(
        description="Time in states that are ours to act on; paused and stopped states excluded"
    )
    paused_seconds: float = Field(description="Time waiting on the customer (item, quote)")
    paused: bool
    stopped: bool
    as_of: datetime
    seconds_in_states: dict[str, float]


class PartUsedResponse(BaseModel):
    batch: int
    sku: str
    quantity: int
    location: str
    used_by: str
    used_at: datetime

    @classmethod
    def of(cls, part: PartUse) -> PartUsedResponse:
        return cls(
            batch=part.batch,
            sku=part.sku,
            quantity=part.quantity,
            location=part.location,
            used_by=part.used_by,
            used_at=part.used_at,
        )


class RepairResponse(BaseModel):
    id: int
    status: RepairStatus
    requested_by: str
    channel: str
    order_id: int | None
    line_id: str | None
    partner: str | None
    sku: str
    serial: str | None
    symptom: str
    contact: ContactResponse | None = Field(
        description="Personal data: shown by GET (each read in the audit log); null in the"
        " answers to actions"
    )
    location: str | None
    diagnosis: str | None
    quote: QuoteResponse | None
    outcome: str | None
    outcome_reason: str | None
    warranty: WarrantyResponse
    sla: SlaResponse
    states: list[StateResponse]
    parts: list[PartUsedResponse] | None = Field(
        default=None, description="Parts used (on a single repair; null in lists)"
    )

    @classmethod
    def of(
        cls,
        repair: Repair,
        as_of: datetime,
        parts: list[PartUse] | None = None,
        *,
        personal: bool = True,
    ) -> RepairResponse:
        w = repair.warranty
        return cls(
            id=repair.id or 0,
            status=repair.status,
            requested_by=repair.requested_by.value,
            channel=repair.channel,
            order_id=repair.order_id,
            line_id=repair.line_id,
            partner=repair.partner,
            sku=repair.sku,
            serial=repair.serial,
            symptom=repair.symptom,
            contact=ContactResponse(**repair.contact) if personal else None,
            location=repair.location,
            diagnosis=repair.diagnosis,
            quote=None
            if repair.quote is None
            else QuoteResponse(amount=repair.quote.amount, currency=repair.quote.currency),
            outcome=repair.outcome.value if repair.outcome else None,
            outcome_reason=repair.outcome_reason,
            warranty=WarrantyResponse(
                in_warranty=w.in_warranty,
                computed_in_warranty=w.computed_in_warranty,
                purchase_date=w.purchase_date,
                requested_on=w.requested_on,
                product_term_months=w.product_term_months,
                product_term_source=w.product_term_source,
                partner=w.partner,
                partner_extra_months=w.partner_extra_months,
                partner_term_months=w.partner_term_months,
                term_months=w.term_months,
                expires_on=w.expires_on,
                override=None
                if w.override is None
                else WarrantyOverrideResponse(
                    in_warranty=w.override.in_warranty,
                    reason=w.override.reason,
                    by=w.override.by,
                    at=w.override.at,
                ),
            ),
            sla=SlaResponse(
                running_seconds=repair.sla_seconds(as_of),
                paused_seconds=repair.paused_seconds(as_of),
                paused=repair.status in PAUSED,
                stopped=repair.status in STOPPED,
                as_of=as_of,
                seconds_in_states={s.value: t for s, t in repair.seconds_in_states(as_of).items()},
            ),
            states=[
                StateResponse(
                    status=p.status.value,
                    entered_at=p.entered_at,
                    left_at=p.left_at,
                    seconds=p.seconds(as_of),
                    actor=p.actor,
                    note=p.note,
                )
                for p in repair.periods
            ],
            parts=None if parts is None else [PartUsedResponse.of(p) for p in parts],
        )

    @classmethod
    def of_detail(cls, detail: RepairDetail, *, personal: bool = True) -> RepairResponse:
        return cls.of(detail.repair, detail.as_of, detail.parts, personal=personal)


class PartnerTermsResponse(BaseModel):
    partner: str
    extra_months: int
    term_months: int | None

    @classmethod
    def of(cls, terms: PartnerTerms) -> PartnerTermsResponse:
        return cls(
            partner=terms.partner, extra_months=terms.extra_months, term_months=terms.term_months
        )
