"""The warranty decision: the product's term (12 months when the SKU does not say), a
partner's extra months or its own term, month ends, and an override that keeps the computed
decision beside it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from oms.repairs.domain import PartnerTerms, add_months, compute_warranty, parse_contact
from oms.shared.errors import InvalidInput


def test_the_product_term_defaults_to_twelve_months() -> None:
    w = compute_warranty(date(2025, 5, 1), date(2026, 5, 1), {}, None)
    assert (w.term_months, w.product_term_source, w.expires_on) == (12, "default", date(2026, 5, 1))
    assert w.in_warranty
    assert not compute_warranty(date(2025, 5, 1), date(2026, 5, 2), {}, None).in_warranty


def test_the_sku_term_and_the_partner_terms_add_up_or_replace() -> None:
    sku = {"warranty_months": 24}
    extra = PartnerTerms("TOKYU-HANDS", extra_months=6)
    own = PartnerTerms("LOFT", term_months=3)
    assert compute_warranty(date(2024, 1, 1), date(2026, 1, 1), sku, None).term_months == 24
    with_extra = compute_warranty(date(2024, 1, 1), date(2026, 6, 30), sku, extra)
    assert (with_extra.term_months, with_extra.in_warranty) == (30, True)
    assert with_extra.partner_extra_months == 6
    assert with_extra.product_term_months == 24
    assert compute_warranty(date(2024, 1, 1), date(2024, 4, 2), sku, own).in_warranty is False


def test_a_sku_term_that_is_not_a_number_of_months_is_ignored() -> None:
    for odd in ("two years", -1, 3.5, True, 999):
        assert (
            compute_warranty(
                date(2025, 1, 1), date(2025, 1, 1), {"warranty_months": odd}, None
            ).product_term_source
            == "default"
        )
    assert (
        compute_warranty(
            date(2025, 1, 1), date(2025, 1, 1), {"warranty_months": "36"}, None
        ).term_months
        == 36
    )


def test_months_end_on_the_month_s_last_day() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 31), 13) == date(2026, 2, 28)
    assert add_months(date(2025, 11, 15), 2) == date(2026, 1, 15)


def test_an_override_is_in_force_and_the_computed_decision_is_kept() -> None:
    w = compute_warranty(date(2020, 1, 1), date(2026, 1, 1), {}, None)
    at = datetime(2026, 1, 2, tzinfo=UTC)
    over = w.overridden(True, "receipt shows a later date", "cs:hanako", at)
    assert over.in_warranty
    assert not over.computed_in_warranty
    assert type(over).from_json(over.as_json()) == over


def test_partner_terms_are_bounded() -> None:
    with pytest.raises(InvalidInput) as bad:
        PartnerTerms("X", extra_months=-1)
    assert bad.value.field == "extra_months"


def test_a_contact_is_checked_field_by_field() -> None:
    contact = parse_contact(
        {"name": " 山田 花子 ", "kana": "ヤマダ ハナコ", "postal_code": "1500002", "prefecture": 13}
    )
    assert contact == {
        "name": "山田 花子",
        "kana": "ヤマダ ハナコ",
        "postal_code": "150-0002",
        "prefecture": "13",
    }
    for raw, where in (
        ({}, "contact.name"),
        ({"name": "A", "phone": "call me"}, "contact.phone"),
        ({"name": "A", "email": "nobody"}, "contact.email"),
        ({"name": "A", "prefecture": "48"}, "contact.prefecture"),
        ({"name": "A", "address_lines": ["1", "2", "3", "4"]}, "contact.address_lines"),
        ({"name": "A", "fax": "03"}, "contact.fax"),
    ):
        with pytest.raises(InvalidInput) as bad:
            parse_contact(raw)
        assert bad.value.field == where
