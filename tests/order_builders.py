"""A shop to take orders in: the order services wired like `oms.app`, over a real database.

The cast: DC-CHIBA (the warehouse, Chiba), STORE-SHIBUYA (a store in Tokyo) and STORE-UMEDA (a
store in Osaka), all feeding the storefront channel `web`. Simple SKUs TEE (a top), PANTS (a
bottom) and CAP; SET is TEE + CAP shipped together; COORD is TEE + PANTS, which may ship apart
(tops from a store, bottoms from the DC). No stock until a test receives some.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from oms.channels.availability.services.channels import ChannelService, CreateChannel
from oms.db import make_session_factory
from oms.inventory.domain import ReservationStatus, StockLevel
from oms.inventory.orm import reservations
from oms.inventory.services import InventoryService
from oms.orders.domain.order import NewOrderLine, Order, Shipment, ShipmentStatus
from oms.orders.orm import orders as orders_table
from oms.orders.services.fulfilment import FulfilmentService
from oms.orders.services.placement import OrderService, PlacedOrder, PlaceOrder
from oms.orders.services.settings import OrderSettingsService
from oms.uow import SqlUnitOfWork
from tests.builders import a_bundle, a_location, a_sku, level_of, receive

DC, SHIBUYA, UMEDA = "DC-CHIBA", "STORE-SHIBUYA", "STORE-UMEDA"
LOCATIONS = (DC, SHIBUYA, UMEDA)
TEE, PANTS, CAP = "TEE", "PANTS", "CAP"
SET, COORD = "SET", "COORD"
SIMPLE = (TEE, PANTS, CAP)
CHANNEL = "web"
TOKYO, CHIBA, OSAKA, HOKKAIDO = "13", "12", "27", "01"
PRICES = {TEE: 3_000, PANTS: 6_000, CAP: 2_000, SET: 4_500, COORD: 8_000}
ORDERED_AT = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)

Pair = tuple[str, str]  # (sku, location)
OPEN = (ShipmentStatus.PENDING, ShipmentStatus.PICKING, ShipmentStatus.PACKED)

_serial = itertools.count(1)


def a_ship_to(prefecture: str = TOKYO) -> dict[str, Any]:
    return {
        "name": "Hanako Yamada",
        "postal_code": "150-0002",
        "prefecture": prefecture,
        "city": "Shibuya-ku",
        "address1": "1-2-3 Shibuya",
    }


def an_order(
    *lines: tuple[str, int],
    external_id: str | None = None,
    prefecture: str = TOKYO,
    channel: str = CHANNEL,
) -> PlaceOrder:
    """An order of (sku, quantity) lines, numbered "1", "2", ..."""
    return PlaceOrder(
        channel=channel,
        external_id=external_id or f"WEB-{next(_serial):06d}",
        ordered_at=ORDERED_AT,
        currency="JPY",
        lines=[
            NewOrderLine(str(i), sku, quantity, PRICES.get(sku, 1_000))
            for i, (sku, quantity) in enumerate(lines, start=1)
        ],
        ship_to=a_ship_to(prefecture),
    )


class Shop:
    """The services of one process, sharing `engine`, as `oms.app.create_app` wires them."""

    def __init__(
        self, engine: Engine, inventory_type: type[InventoryService] = InventoryService
    ) -> None:
        self.engine = engine
        factory = make_session_factory(engine)

        def uow() -> SqlUnitOfWork:
            return SqlUnitOfWork(factory)

        self.uow = uow
        self.inventory = inventory_type(uow)
        self.channels = ChannelService(uow, self.inventory)
        self.orders = OrderService(uow, self.inventory)
        self.fulfilment = FulfilmentService(uow, self.inventory, self.orders)
        self.inventory.handle_shortfalls_with(self.fulfilment)
        self.settings = OrderSettingsService(uow)

    def build(self, channel_locations: Iterable[str] = LOCATIONS) -> Shop:
        a_location(self.inventory, DC, kind="warehouse", prefecture=CHIBA, postal_code="270-0000")
        a_location(self.inventory, SHIBUYA, kind="store", prefecture=TOKYO, postal_code="150-0002")
        a_location(self.inventory, UMEDA, kind="store", prefecture=OSAKA, postal_code="530-0001")
        for sku in SIMPLE:
            a_sku(self.inventory, sku)
        a_bundle(self.inventory, SET, [(TEE, 1), (CAP, 1)], ship_together=True)
        a_bundle(self.inventory, COORD, [(TEE, 1), (PANTS, 1)], ship_together=False)
        self.channels.create_channel(
            CreateChannel(CHANNEL, "Web store", "storefront", locations=list(channel_locations))
        )
        return self

    # ------------------------------------------------------------------ actions

    def stock(self, *entries: tuple[str, str, int]) -> Shop:
        """Receive (sku, location, quantity) entries."""
        for sku, location, quantity in entries:
            receive(self.inventory, sku, location, quantity)
        return self

    def place(self, *lines: tuple[str, int], **options: Any) -> Order:
        placed = self.orders.place_order(an_order(*lines, **options))
        assert placed.created
        return placed.order

    def place_again(self, cmd: PlaceOrder) -> PlacedOrder:
        return self.orders.place_order(cmd)

    def ship(self, shipment_id: int, tracking: str | None = None) -> Shipment:
        self.fulfilment.pick(shipment_id)
        self.fulfilment.pack(shipment_id)
        return self.fulfilment.ship(shipment_id, "yamato", tracking or f"TRK-{shipment_id:08d}")

    # ------------------------------------------------------------------ reads

    def order(self, order_id: int | None) -> Order:
        assert order_id is not None
        return self.orders.get_order(order_id)

    def level(self, sku: str, location: str) -> StockLevel:
        return level_of(self.inventory, sku, location)

    def all_levels(self) -> list[StockLevel]:
        return self.inventory.stock_levels(limit=500).items

    def all_orders(self) -> list[Order]:
        found: list[Order] = []
        cursor: str | None = None
        while True:
            page = self.orders.list_orders(cursor=cursor, limit=200)
            found += page.items
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    def stored_statuses(self) -> dict[int, str]:
        """The status column each order is listed by."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(orders_table.c.id, orders_table.c.status))
            return {int(r[0]): str(r[1]) for r in rows}

    def order_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(orders_table)).scalar_one())

    def active_reservation_ids(self) -> set[int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(reservations.c.id).where(
                    reservations.c.status == ReservationStatus.ACTIVE.value
                )
            )
            return {int(r[0]) for r in rows}


def open_shipments(order: Order, location: str | None = None) -> list[Shipment]:
    return [s for s in order.shipments if s.status in OPEN and location in (None, s.location)]


def carried(shipments: Iterable[Shipment]) -> dict[Pair, int]:
    """Units of each (sku, location) these shipments carry."""
    units: dict[Pair, int] = {}
    for shipment in shipments:
        for ln in shipment.lines:
            pair = (ln.sku, shipment.location)
            units[pair] = units.get(pair, 0) + ln.quantity
    return units


def reserved_in_stock(levels: Iterable[StockLevel]) -> dict[Pair, int]:
    return {(lv.sku, lv.location): lv.reserved for lv in levels if lv.reserved}


def states_of(order: Order) -> dict[str, tuple[int, int, int, int]]:
    """line_id -> (backordered, allocated, shipped, cancelled)."""
    return {
        s.line_id: (s.backordered, s.allocated, s.shipped, s.cancelled) for s in order.line_states()
    }
