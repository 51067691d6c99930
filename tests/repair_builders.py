"""A shop that repairs: the order shop (tests.order_builders) plus a kettle with a 24-month
warranty, a heater part, a repair centre, a wholesale partner's terms, and a clock the test
moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from oms.repairs.domain import PartnerTerms
from oms.repairs.services import OpenRepair, RepairService
from tests.builders import a_location, a_sku
from tests.order_builders import ORDERED_AT, Shop, open_shipments

KETTLE, HEATER, MUG = "KETTLE", "HEATER", "MUG"
CENTRE = "REPAIR-CENTER"
PARTNER = "TOKYU-HANDS"
# A year and a bit after the shop's orders (2025-04-01): in a 24-month warranty, out of 12.
NOW = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def a_contact(**overrides: Any) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "name": "山田 花子",
        "kana": "ヤマダ ハナコ",
        "phone": "03-1234-5678",
        "email": "hanako@example.jp",
        "address_lines": ["渋谷区渋谷1-2-3", "渋谷ハイツ101"],
        "prefecture": "13",
        "postal_code": "150-0002",
    }
    contact.update(overrides)
    return contact


class RepairShop:
    def __init__(self, engine: Engine) -> None:
        self.shop = Shop(engine).build()
        a_sku(self.shop.inventory, KETTLE, attributes={"warranty_months": 24})
        a_sku(self.shop.inventory, MUG)  # no warranty attribute: 12 months
        a_sku(self.shop.inventory, HEATER)
        a_location(self.shop.inventory, CENTRE, kind="warehouse")
        self.clock = Clock()
        self.repairs = RepairService(
            self.shop.uow, self.shop.inventory, self.shop.orders, clock=self.clock
        )
        self.repairs.set_partner_terms(PartnerTerms(PARTNER, extra_months=6))

    def sold(self, sku: str = KETTLE) -> tuple[int, str]:
        """An order of one `sku` placed on 2025-04-01 and shipped: (order id, line id)."""
        self.shop.stock((sku, "DC-CHIBA", 1))
        order = self.shop.place((sku, 1))
        [parcel] = open_shipments(order)
        self.shop.ship(parcel.id or 0)
        return order.id or 0, order.lines[0].line_id

    def from_order(self, order_id: int, line_id: str | None, **overrides: Any) -> OpenRepair:
        fields: dict[str, Any] = {
            "requested_by": "consumer",
            "symptom": "does not heat",
            "contact": a_contact(),
            "order_id": order_id,
            "line_id": line_id,
        }
        fields.update(overrides)
        return OpenRepair(**fields)

    @staticmethod
    def with_proof(**overrides: Any) -> OpenRepair:
        fields: dict[str, Any] = {
            "requested_by": "wholesale",
            "symptom": "lid does not close",
            "contact": a_contact(),
            "purchase_date": date(2024, 10, 1),
            "channel": "wholesale",
            "partner": PARTNER,
            "sku": KETTLE,
            "serial": "KT-000123",
        }
        fields.update(overrides)
        return OpenRepair(**fields)


__all__ = ["CENTRE", "HEATER", "KETTLE", "MUG", "NOW", "ORDERED_AT", "PARTNER", "RepairShop"]
