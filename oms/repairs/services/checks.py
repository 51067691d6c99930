"""Checks of what a person or a channel sent, each refusal naming its field."""

from __future__ import annotations

from datetime import timedelta, timezone

from oms.repairs.domain import Outcome, RequestedBy
from oms.repairs.domain.repair import MAX_SYMPTOM
from oms.shared.bounds import check_text
from oms.shared.errors import InvalidInput

MAX_KEY = 200
# Purchase and request dates are the customer's calendar days: Japan's.
JST = timezone(timedelta(hours=9), "JST")


def check_key(key: str) -> None:
    if not key.strip():
        raise InvalidInput("an Idempotency-Key must not be empty", field="Idempotency-Key")
    if len(key) > MAX_KEY:
        raise InvalidInput(
            f"Idempotency-Key must be at most {MAX_KEY} characters", field="Idempotency-Key"
        )
    check_text(key, "Idempotency-Key")


def requested_by_of(value: str) -> RequestedBy:
    try:
        return RequestedBy(value)
    except ValueError:
        known = ", ".join(r.value for r in RequestedBy)
        raise InvalidInput(f"requested_by must be one of {known}", field="requested_by") from None


def outcome_of(value: str | None) -> Outcome:
    try:
        return Outcome(value or "")
    except ValueError:
        known = ", ".join(o.value for o in Outcome)
        raise InvalidInput(f"outcome must be one of {known}", field="outcome") from None


def symptom_of(text: str) -> str:
    symptom = check_text(text.strip(), "symptom", multi_line=True)
    if not symptom:
        raise InvalidInput("what is wrong with it: the symptom", field="symptom")
    if len(symptom) > MAX_SYMPTOM:
        raise InvalidInput(f"symptom must be at most {MAX_SYMPTOM} characters", field="symptom")
    return symptom


def reason_of(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise InvalidInput("a reason is needed", field="reason")
    return check_text(reason, "reason", multi_line=True)


def optional_text(
    text: str | None, where: str, limit: int, *, multi_line: bool = False
) -> str | None:
    if text is None:
        return None
    cleaned = check_text(text.strip(), where, multi_line=multi_line)
    if len(cleaned) > limit:
        raise InvalidInput(f"{where} must be at most {limit} characters", field=where)
    return cleaned or None
