"""Request and response bodies of the returns API. Pydantic lives here, at the edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from oms.http_models import Code, Line, RequestBody, StrictBool, StrictInt, Text
from oms.orders.api.schemas import ShipToBody
from oms.returns.domain import (
    Disposition,
    Functional,
    Grade,
    ReceiptException,
    Resolution,
    ReturnRequest,
)
from oms.returns.domain.grading import MAX_DEFECTS, MAX_NOTE, MAX_PHOTOS, Severity
from oms.returns.domain.policy import MAX_WINDOW_DAYS, ReturnPolicy, ReturnReason
from oms.returns.domain.rma import MAX_REASON_TEXT
from oms.returns.domain.units import ReturnedUnit
from oms.returns.services.rma import MAX_LINES, LineResolution, NewReturnLine, OpenReturn
from oms.returns.services.units import GradeUnit, UnitOutcome, UnitView
from oms.shared.bounds import MAX_ID

Quantity = Annotated[StrictInt, Field(ge=1, le=1000)]
LineId = Annotated[Line, Field(min_length=1, max_length=64)]

# --------------------------------------------------------------------------- requests


class ReturnLineBody(RequestBody):
    multi_line_fields = frozenset({"reason_text"})
    line_id: LineId
    quantity: Quantity
    reason_code: ReturnReason = Field(description="Our normalised reason")
    reason_text: Text | None = Field(default=None, max_length=MAX_REASON_TEXT)
    channel_reason: Line | None = Field(
        default=None, max_length=200, description="The channel's own reason code, verbatim"
    )


class OpenReturnRequest(RequestBody):
    multi_line_fields = frozenset({"note"})
    order_id: StrictInt = Field(ge=1, le=MAX_ID)
    lines: list[ReturnLineBody] = Field(min_length=1, max_length=MAX_LINES)
    channel_return_id: Line | None = Field(default=None, min_length=1, max_length=100)
    note: Text | None = Field(default=None, max_length=MAX_REASON_TEXT)

    def to_command(self, *, by_channel: bool) -> OpenReturn:
        return OpenReturn(
            order_id=self.order_id,
            lines=[
                NewReturnLine(
                    ln.line_id, ln.quantity, ln.reason_code.value, ln.reason_text, ln.channel_reason
                )
                for ln in self.lines
            ],
            channel_return_id=self.channel_return_id,
            by_channel=by_channel,
            note=self.note,
        )


class ReceiveLineBody(RequestBody):
    line_id: LineId
    quantity: Quantity


class ReceiveRequest(RequestBody):
    location: Code
    lines: list[ReceiveLineBody] = Field(min_length=1, max_length=MAX_LINES)

    def units(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for line in self.lines:
            found[line.line_id] = found.get(line.line_id, 0) + line.quantity
        return found


class UnexpectedReturnRequest(ReceiveRequest):
    multi_line_fields = frozenset({"note"})
    order_id: StrictInt = Field(ge=1, le=MAX_ID)
    note: Text | None = Field(default=None, max_length=MAX_REASON_TEXT)


class ResolutionBody(RequestBody):
    line_id: LineId
    resolution: Resolution
    amount: StrictInt | None = Field(
        default=None, ge=0, le=10**12, description="Refund or credit, integer minor units (yen)"
    )
    method: Line | None = Field(
        default=None,
        max_length=32,
        description="original_payment, bank_transfer, cash, points, store_credit, marketplace",
    )
    sku: Code | None = Field(default=None, description="Exchange: what to send instead")
    quantity: Quantity | None = None

    def to_resolution(self) -> LineResolution:
        return LineResolution(
            self.line_id, self.resolution, self.amount, self.method, self.sku, self.quantity
        )


class ResolveRequest(RequestBody):
    lines: list[ResolutionBody] = Field(min_length=1, max_length=MAX_LINES)
    ship_to: ShipToBody | None = Field(
        default=None,
        description="Where an exchange or replacement goes: default the order's address;"
        " required once that address was anonymised",
    )


class HoldRequest(RequestBody):
    multi_line_fields = frozenset({"reason"})
    reason: Text = Field(min_length=1, max_length=MAX_REASON_TEXT)


class DefectBody(RequestBody):
    multi_line_fields = frozenset({"note"})
    code: Line = Field(min_length=1, max_length=64)
    zone: Line = Field(min_length=1, max_length=64)
    severity: Severity
    note: Text | None = Field(default=None, max_length=MAX_NOTE)


class CompletenessBody(RequestBody):
    tags: StrictBool = False
    box: StrictBool = False
    manual: StrictBool = False
    accessories: StrictBool = False


class GradeRequest(RequestBody):
    multi_line_fields = frozenset({"note", "disposition_reason"})
    grade: Grade = Field(description="N 新品, U 未使用, A-D 中古A-D, J ジャンク")
    functional: Functional
    defects: list[DefectBody] = Field(default_factory=list, max_length=MAX_DEFECTS)
    completeness: CompletenessBody = Field(default_factory=CompletenessBody)
    photos: list[Annotated[Line, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=MAX_PHOTOS, description="References to stored photos"
    )
    note: Text | None = Field(default=None, max_length=MAX_NOTE)
    rubric_version: Line = Field(default="1", min_length=1, max_length=32)
    disposition: Disposition | None = Field(
        default=None, description="Decide at once, in the grade's transaction"
    )
    disposition_reason: Text | None = Field(default=None, max_length=1000)
    execute: StrictBool = Field(default=False, description="Carry the disposition out too")

    def to_command(self) -> GradeUnit:
        return GradeUnit(
            grade=self.grade.value,
            functional=self.functional.value,
            defects=[d.model_dump() for d in self.defects],
            completeness=self.completeness.model_dump(),
            photos=list(self.photos),
            note=self.note,
            rubric_version=self.rubric_version,
            disposition=self.disposition.value if self.disposition else None,
            disposition_reason=self.disposition_reason,
            execute=self.execute,
        )


class ExceptionRequest(RequestBody):
    multi_line_fields = frozenset({"note"})
    kind: ReceiptException
    note: Text | None = Field(default=None, max_length=MAX_NOTE)
    actual_sku: Code | None = Field(default=None, description="A wrong item: what came instead")


class DispositionRequest(RequestBody):
    multi_line_fields = frozenset({"reason"})
    disposition: Disposition
    reason: Text | None = Field(default=None, max_length=1000)
    execute: StrictBool = Field(
        default=False, description="Carry it out now (its ledger movement); else a decision"
    )


class ReturnPolicyRequest(RequestBody):
    window_days: StrictInt = Field(ge=0, le=MAX_WINDOW_DAYS)
    reasons: list[ReturnReason] = Field(
        default_factory=list, max_length=len(ReturnReason), description="Approved unattended"
    )
    auto_approve: StrictBool = True
    exchange_channel: Code | None = Field(
        default=None, description="Where exchanges and replacements are placed"
    )


# --------------------------------------------------------------------------- responses


class ReturnLineResponse(BaseModel):
    line_id: str
    sku: str
    quantity: int
    received: int
    reason_code: str
    reason_text: str | None = Field(
        description="The buyer's words, personal data: shown by GET to a person (each read in"
        " the audit log), null in the answers to actions and to channel_sync"
    )
    channel_reason: str | None
    resolution: str | None
    refund_amount: int | None
    refund_method: str | None
    resolution_order_id: int | None
    resolved_at: datetime | None


class UnitSummary(BaseModel):
    id: int
    barcode: str
    return_id: int | None
    line_id: str | None
    sku: str
    location: str
    status: str
    grade: str | None
    disposition: str | None
    executed: bool

    @classmethod
    def of(cls, unit: ReturnedUnit) -> UnitSummary:
        return cls(
            id=unit.id or 0,
            barcode=unit.barcode,
            return_id=unit.return_id,
            line_id=unit.line_id,
            sku=unit.sku,
            location=unit.location,
            status=unit.status.value,
            grade=unit.grade.value if unit.grade else None,
            disposition=unit.decision.disposition.value if unit.decision else None,
            executed=bool(unit.decision and unit.decision.executed),
        )


class ReturnResponse(BaseModel):
    id: int
    order_id: int
    channel: str
    status: str
    on_hold: bool
    hold_reason: str | None
    unexpected: bool
    channel_return_id: str | None
    note: str | None
    approved_by: str | None
    lines: list[ReturnLineResponse]
    units: list[UnitSummary] | None = None

    @classmethod
    def of(
        cls,
        rma: ReturnRequest,
        units: list[ReturnedUnit] | None = None,
        *,
        personal: bool = False,
    ) -> ReturnResponse:
        """`personal`: with the buyer's own words (`reason_text`), for a GET by a person."""
        return cls(
            id=rma.id or 0,
            order_id=rma.order_id,
            channel=rma.channel,
            status=rma.status.value,
            on_hold=rma.on_hold,
            hold_reason=rma.hold_reason,
            unexpected=rma.unexpected,
            channel_return_id=rma.channel_return_id,
            note=rma.note,
            approved_by=rma.approved_by,
            lines=[
                ReturnLineResponse(
                    line_id=ln.line_id,
                    sku=ln.sku,
                    quantity=ln.quantity,
                    received=ln.received,
                    reason_code=ln.reason_code,
                    reason_text=ln.reason_text if personal else None,
                    channel_reason=ln.channel_reason,
                    resolution=ln.resolution.value if ln.resolution else None,
                    refund_amount=ln.refund_amount,
                    refund_method=ln.refund_method,
                    resolution_order_id=ln.resolution_order_id,
                    resolved_at=ln.resolved_at,
                )
                for ln in rma.lines
            ],
            units=None if units is None else [UnitSummary.of(u) for u in units],
        )


class UnitStateResponse(UnitSummary):
    """A unit as a command left it; its whole history is `GET /v1/units/{id}`."""

    grade_label: str | None = Field(description="The grade's Japanese label")
    resale_code: str | None

    @classmethod
    def of_outcome(cls, outcome: UnitOutcome) -> UnitStateResponse:
        unit = outcome.unit
        return cls(
            **UnitSummary.of(unit).model_dump(),
            grade_label=unit.grade.label_ja if unit.grade else None,
            resale_code=outcome.resale_code,
        )


class UnitResponse(UnitSummary):
    grade_label: str | None = Field(description="The grade's Japanese label")
    resale_code: str | None
    grades: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    decisions: list[dict[str, Any]]

    @classmethod
    def of_view(cls, view: UnitView) -> UnitResponse:
        unit = view.unit
        return cls(
            **UnitSummary.of(unit).model_dump(),
            grade_label=unit.grade.label_ja if unit.grade else None,
            resale_code=view.resale_code,
            grades=[_plain(g, drop=("unit_id",)) for g in view.grades],
            exceptions=[_plain(e, drop=("unit_id",)) for e in view.exceptions],
            decisions=[_plain(d, drop=("unit_id",)) for d in view.decisions],
        )


class ReturnPolicyResponse(BaseModel):
    channel: str
    window_days: int
    reasons: list[str]
    auto_approve: bool
    exchange_channel: str | None

    @classmethod
    def of(cls, policy: ReturnPolicy) -> ReturnPolicyResponse:
        return cls(
            channel=policy.channel,
            window_days=policy.window_days,
            reasons=sorted(r.value for r in policy.reasons),
            auto_approve=policy.auto_approve,
            exchange_channel=policy.exchange_channel,
        )


def _plain(row: dict[str, Any], drop: tuple[str, ...]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in row.items()
        if k not in drop
    }
