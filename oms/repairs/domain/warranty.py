"""Warranty of a repair: computed once, when the request is made, and stored with its inputs.

Term = the product's (the SKU attribute `warranty_months`; 12 months when the SKU does not say,
the usual manufacturer's warranty in Japan) plus a wholesale partner's extra months, or the
partner's own term when it has one (a partner that sells with its own warranty replaces ours).
The warranty runs to the same day that many months after the purchase date (the month's last
day when it is shorter) and covers a request made on or before that day. Customer service may
override the decision with a reason; the computed one is kept beside the override.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from oms.shared.errors import InvalidInput

DEFAULT_TERM_MONTHS = 12
MAX_TERM_MONTHS = 120
WARRANTY_ATTRIBUTE = "warranty_months"


@dataclass(frozen=True, slots=True)
class PartnerTerms:
    """A wholesale partner's warranty terms: extra months on ours, or its own term."""

    partner: str
    extra_months: int = 0
    term_months: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.extra_months <= MAX_TERM_MONTHS:
            raise InvalidInput(
                f"extra_months must be between 0 and {MAX_TERM_MONTHS}", field="extra_months"
            )
        if self.term_months is not None and not 0 <= self.term_months <= MAX_TERM_MONTHS:
            raise InvalidInput(
                f"term_months must be between 0 and {MAX_TERM_MONTHS}", field="term_months"
            )


@dataclass(frozen=True, slots=True)
class WarrantyOverride:
    in_warranty: bool
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Warranty:
    """The decision and everything it was made from."""

    purchase_date: date
    requested_on: date
    product_term_months: int
    product_term_source: str  # "sku" (its attribute) or "default"
    partner: str | None
    partner_extra_months: int
    partner_term_months: int | None
    term_months: int
    expires_on: date
    computed_in_warranty: bool
    override: WarrantyOverride | None = None

    @property
    def in_warranty(self) -> bool:
        return self.override.in_warranty if self.override else self.computed_in_warranty

    def overridden(self, in_warranty: bool, reason: str, by: str, at: datetime) -> Warranty:
        return replace(self, override=WarrantyOverride(in_warranty, reason, by, at))

    def as_json(self) -> dict[str, Any]:
        return {
            "purchase_date": self.purchase_date.isoformat(),
            "requested_on": self.requested_on.isoformat(),
            "product_term_months": self.product_term_months,
            "product_term_source": self.product_term_source,
            "partner": self.partner,
            "partner_extra_months": self.partner_extra_months,
            "partner_term_months": self.partner_term_months,
            "term_months": self.term_months,
            "expires_on": self.expires_on.isoformat(),
            "computed_in_warranty": self.computed_in_warranty,
            "override": None
            if self.override is None
            else {
                "in_warranty": self.override.in_warranty,
                "reason": self.override.reason,
                "by": self.override.by,
                "at": self.override.at.isoformat(),
            },
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Warranty:
        override = raw.get("override")
        return cls(
            purchase_date=date.fromisoformat(raw["purchase_date"]),
            requested_on=date.fromisoformat(raw["requested_on"]),
            product_term_months=int(raw["product_term_months"]),
            product_term_source=str(raw["product_term_source"]),
            partner=raw.get("partner"),
            partner_extra_months=int(raw["partner_extra_months"]),
            partner_term_months=raw.get("partner_term_months"),
            term_months=int(raw["term_months"]),
            expires_on=date.fromisoformat(raw["expires_on"]),
            computed_in_warranty=bool(raw["computed_in_warranty"]),
            override=None
            if not override
            else WarrantyOverride(
                in_warranty=bool(override["in_warranty"]),
                reason=str(override["reason"]),
                by=str(override["by"]),
                at=datetime.fromisoformat(override["at"]),
            ),
        )


def product_term(attributes: dict[str, Any]) -> tuple[int, str]:
    """The SKU's warranty in months and where it came from. An attribute that is not a whole
    number of months in range is ignored (the catalogue holds free-form attributes)."""
    raw = attributes.get(WARRANTY_ATTRIBUTE)
    if type(raw) is int and 0 <= raw <= MAX_TERM_MONTHS:
        return raw, "sku"
    if isinstance(raw, str) and raw.strip().isdecimal() and int(raw) <= MAX_TERM_MONTHS:
        return int(raw), "sku"
    return DEFAULT_TERM_MONTHS, "default"


def compute_warranty(
    purchase_date: date,
    requested_on: date,
    sku_attributes: dict[str, Any],
    partner: PartnerTerms | None,
) -> Warranty:
    months, source = product_term(sku_attributes)
    if partner is not None and partner.term_months is not None:
        term = partner.term_months
    else:
        term = months + (partner.extra_months if partner else 0)
    expires = add_months(purchase_date, term)
    return Warranty(
        purchase_date=purchase_date,
        requested_on=requested_on,
        product_term_months=months,
        product_term_source=source,
        partner=partner.partner if partner else None,
        partner_extra_months=partner.extra_months if partner else 0,
        partner_term_months=partner.term_months if partner else None,
        term_months=term,
        expires_on=expires,
        computed_in_warranty=requested_on <= expires,
    )


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day (31 Jan + 1 month: 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))
