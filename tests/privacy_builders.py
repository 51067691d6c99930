"""Marketplace orders with personal data, for the privacy tests: the shop of
`tests.order_builders` plus an Amazon channel `AMZ` fed by the DC."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from oms.bootstrap import Services, bootstrap
from oms.channels.availability.services.channels import CreateChannel
from oms.orders.domain.order import NewOrderLine, Order
from oms.orders.orm import orders as orders_table
from oms.orders.services.placement import PlaceOrder
from oms.returns.orm import return_lines
from tests.order_builders import DC, ORDERED_AT, PRICES, TEE, Shop, open_shipments

AMAZON = "AMZ"
_serial = itertools.count(1)

AMAZON_ADDRESS: dict[str, Any] = {
    "name": "山田 花子",
    "postal_code": "150-0041",
    "prefecture": "13",
    "city": "渋谷区",
    "address1": "神南1-2-3",
    "address2": "渋谷ハイツ101",
    "phone": "03-1234-5678",
}


def amazon_shop(engine: Engine, units: int = 50) -> Shop:
    shop = Shop(engine).build().stock((TEE, DC, units))
    shop.channels.create_channel(CreateChannel(AMAZON, "Amazon", "amazon", locations=[DC]))
    return shop


def an_amazon_order(
    ship_to: dict[str, Any] | None = None,
    gift_note: str | None = "お誕生日おめでとう 太郎より",
    ordered_at: datetime = ORDERED_AT,
    quantity: int = 1,
    channel: str = AMAZON,
) -> PlaceOrder:
    return PlaceOrder(
        channel=channel,
        external_id=f"503-{next(_serial):07d}",
        ordered_at=ordered_at,
        currency="JPY",
        lines=[NewOrderLine("1", TEE, quantity, PRICES[TEE])],
        ship_to=dict(ship_to or AMAZON_ADDRESS),
        gift_note=gift_note,
    )


def shipped(shop: Shop, cmd: PlaceOrder | None = None) -> tuple[Order, datetime]:
    """Place and ship an order; the order and when its parcel left."""
    placed = shop.place_again(cmd or an_amazon_order())
    [parcel] = open_shipments(placed.order)
    sent = shop.ship(parcel.id or 0)
    assert sent.shipped_at is not None
    return shop.order(placed.order.id), sent.shipped_at


def cancelled(shop: Shop, cmd: PlaceOrder | None = None) -> Order:
    placed = shop.place_again(cmd or an_amazon_order())
    return shop.orders.cancel(placed.order.id or 0)


def services(engine: Engine) -> Services:
    return bootstrap(engine=engine)


def stored_order(engine: Engine, order_id: int) -> dict[str, Any]:
    """The order's row as stored (ship_to and gift note as the database has them)."""
    with engine.connect() as conn:
        row = conn.execute(select(orders_table).where(orders_table.c.id == order_id)).one()
    return dict(row._mapping)


def reason_texts(engine: Engine, return_id: int) -> list[str | None]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(return_lines.c.reason_text).where(return_lines.c.return_id == return_id)
            ).scalars()
        )
