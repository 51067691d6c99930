"""Orders placed by real parallel clients on PostgreSQL: no oversell, no deadlock, one order per
(channel, external_id).

Each client is a thread with its own service instances (as each web worker has), sharing one
engine with a connection for every client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import Engine

from oms.db import make_engine
from oms.inventory.domain import ReservationLine
from oms.inventory.ports import InventoryStore
from oms.inventory.services import InventoryService, ReserveStock
from oms.orders.domain.order import Order, OrderStatus
from oms.orders.services.placement import MAX_REPLANS, PlacedOrder
from oms.shared.errors import Conflict
from tests.builders import database_state
from tests.order_builders import (
    CHIBA,
    DC,
    OSAKA,
    PANTS,
    SHIBUYA,
    TEE,
    TOKYO,
    UMEDA,
    Shop,
    an_order,
    carried,
    open_shipments,
    reserved_in_stock,
    states_of,
)

T = TypeVar("T")
CLIENTS = 64


@pytest.fixture
def wide_engine(pg_engine: Engine, postgres_url: str) -> Iterator[Engine]:
    """The migrated, empty PostgreSQL database, with a connection for every client."""
    engine = make_engine(postgres_url, pool_size=CLIENTS + 4)
    yield engine
    engine.dispose()


def race(clients: int, attempt: Callable[[int], T]) -> list[T | Exception]:
    """Run attempt(0..clients-1) in parallel threads released together by a barrier."""
    barrier = threading.Barrier(clients)

    def run(client: int) -> T | Exception:
        barrier.wait(timeout=30)
        try:
            return attempt(client)
        except Exception as error:  # the test inspects every outcome
            return error

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(run, range(clients)))


def placed_orders(outcomes: list[PlacedOrder | Exception]) -> list[Order]:
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == [], errors[:3]
    return [o.order for o in outcomes if isinstance(o, PlacedOrder)]


def assert_books_balance(shop: Shop) -> None:
    """Reserved stock is what the open shipments carry; every unit is accounted once; every
    order is listed by its real status; the ledger replays to the projection."""
    orders = shop.all_orders()
    everything_open = [s for order in orders for s in open_shipments(order)]
    assert reserved_in_stock(shop.all_levels()) == carried(everything_open)
    assert shop.active_reservation_ids() == {s.reservation_id for s in everything_open}
    statuses = shop.stored_statuses()
    for order in orders:
        assert order.id is not None
        assert statuses[order.id] == order.status.value
        for state in order.line_states():
            assert min(state.backordered, state.allocated, state.shipped, state.cancelled) >= 0
            assert (
                state.backordered + state.allocated + state.shipped + state.cancelled
                == state.quantity
            )
    report = shop.inventory.verify()
    assert report.clean, report.differences


def assert_nobody_waits_for_stock_that_is_there(shop: Shop, skus: tuple[str, ...]) -> None:
    waiting = {line.sku for o in shop.all_orders() for line in o.lines if o.backorders()}
    for level in shop.all_levels():
        if level.sku in skus and level.sku in waiting:
            assert level.available == 0, level


def test_64_clients_ordering_the_last_50_units_reserve_exactly_50_and_backorder_14(
    wide_engine: Engine,
) -> None:
    Shop(wide_engine).build(channel_locations=[DC]).stock((TEE, DC, 50))

    outcomes = race(
        CLIENTS,
        lambda n: Shop(wide_engine).orders.place_order(an_order((TEE, 1), external_id=f"HOT-{n}")),
    )

    orders = placed_orders(outcomes)
    assert len(orders) == CLIENTS
    statuses = [o.status for o in orders]
    assert statuses.count(OrderStatus.ALLOCATED) == 50
    assert statuses.count(OrderStatus.BACKORDERED) == 14
    shop = Shop(wide_engine)
    level = shop.level(TEE, DC)
    assert (level.on_hand, level.reserved, level.available) == (50, 50, 0)
    assert shop.order_count() == CLIENTS
    assert sorted(shop.stored_statuses().values()) == ["allocated"] * 50 + ["backordered"] * 14
    assert_books_balance(shop)


def test_64_clients_ordering_two_hot_skus_in_opposite_line_orders_all_finish(
    wide_engine: Engine,
) -> None:
    # Both SKUs at both locations, 50 of each in all: Tokyo orders start at SHIBUYA, Chiba
    # orders at the DC, and as stock runs out orders split across the two.
    Shop(wide_engine).build(channel_locations=[DC, SHIBUYA]).stock(
        (TEE, DC, 25), (PANTS, DC, 25), (TEE, SHIBUYA, 25), (PANTS, SHIBUYA, 25)
    )

    def client(n: int) -> PlacedOrder:
        lines = [(TEE, 1), (PANTS, 1)]
        return Shop(wide_engine).orders.place_order(
            an_order(
                *(lines if n % 2 else lines[::-1]),
                external_id=f"PAIR-{n}",
                prefecture=TOKYO if n % 4 < 2 else CHIBA,
            )
        )

    orders = placed_orders(race(CLIENTS, client))

    assert len(orders) == CLIENTS
    assert all(o.status in (OrderStatus.ALLOCATED, OrderStatus.BACKORDERED) for o in orders)
    shop = Shop(wide_engine)
    for sku in (TEE, PANTS):
        assert shop.level(sku, DC).reserved + shop.level(sku, SHIBUYA).reserved == 50
        waiting = sum(
            s.backordered
            for o in shop.all_orders()
            for s in o.line_states()
            if o.line(s.line_id).sku == sku
        )
        assert waiting == CLIENTS - 50
    assert_nobody_waits_for_stock_that_is_there(shop, (TEE, PANTS))
    assert_books_balance(shop)


def test_orders_split_across_locations_in_crossed_sku_orders_all_finish_without_deadlock(
    wide_engine: Engine,
) -> None:
    # Tops at the DC (Chiba) and at UMEDA (Osaka), bottoms only at SHIBUYA (Tokyo): every order
    # is two parcels. An order's parcels are reserved location by location, in code order, each
    # locking its stock rows and then its SKUs' rows: Chiba orders take TEE at DC-CHIBA, then
    # PANTS at STORE-SHIBUYA; Osaka orders take PANTS at STORE-SHIBUYA, then TEE at STORE-UMEDA.
    # The two reach the same rows in opposite orders.
    shop = Shop(wide_engine).build()
    shop.stock((TEE, DC, 20), (PANTS, SHIBUYA, 40), (TEE, UMEDA, 20))
    clients = CLIENTS // 2  # each deadlock costs a second of deadlock_timeout

    def client(n: int) -> PlacedOrder:
        return Shop(wide_engine).orders.place_order(
            an_order(
                (TEE, 1), (PANTS, 1), external_id=f"X-{n}", prefecture=CHIBA if n % 2 else OSAKA
            )
        )

    orders = placed_orders(race(clients, client))

    assert len(orders) == clients
    assert all(o.status is OrderStatus.ALLOCATED for o in orders)
    assert all(len(o.shipments) == 2 for o in orders)
    assert shop.level(PANTS, SHIBUYA).reserved == clients
    assert shop.level(TEE, DC).reserved + shop.level(TEE, UMEDA).reserved == clients
    assert_books_balance(shop)


def test_16_clients_posting_the_same_order_at_once_take_it_once(wide_engine: Engine) -> None:
    Shop(wide_engine).build(channel_locations=[DC]).stock((TEE, DC, 10))
    cmd = an_order((TEE, 3), external_id="SAME-1")

    outcomes = race(16, lambda _: Shop(wide_engine).orders.place_order(cmd))

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == []
    results = [o for o in outcomes if isinstance(o, PlacedOrder)]
    assert sum(r.created for r in results) == 1
    assert len({r.order.id for r in results}) == 1
    shop = Shop(wide_engine)
    assert shop.order_count() == 1
    assert shop.level(TEE, DC).reserved == 3
    assert_books_balance(shop)


# --------------------------------------------------------------------------- lost races
# A concurrent buyer that takes the stock between an order's plan and its reservation, made
# deterministic: the inventory lets a rival commit a reservation of everything available where
# the order is about to reserve (or release, then reserve) stock, then goes on.


class RacedInventory(InventoryService):
    """An inventory whose next `steals` reservations (or releases) lose a race to a rival."""

    steals = 0
    rival: InventoryService
    stolen: list[int]

    def lock_within(self, store: InventoryStore, pairs: Iterable[tuple[str, str]]) -> None:
        # The rival strikes between planning and the order's locks: once those are held it
        # would wait for them, and so would this thread, for ever.
        if self.steals:
            self.steals -= 1
            self._steal(set(pairs))
        super().lock_within(store, pairs)

    def _steal(self, pairs: set[tuple[str, str]]) -> None:
        # A rival that flaps: it gives back what it took last time and takes everything here.
        for reservation_id in self.stolen:
            self.rival.release(reservation_id)
        self.stolen.clear()
        for sku, location in sorted(pairs):
            available = sum(
                lv.available for lv in self.rival.stock_levels(sku=sku, location=location).items
            )
            if available > 0:
                taken = self.rival.reserve(
                    ReserveStock([ReservationLine(sku, location, available)])
                )
                self.stolen.append(taken.reservation.id)


def a_raced_shop(engine: Engine, channel_locations: list[str]) -> tuple[Shop, RacedInventory]:
    shop = Shop(engine, inventory_type=RacedInventory).build(channel_locations=channel_locations)
    inventory = shop.inventory
    assert isinstance(inventory, RacedInventory)
    inventory.rival = Shop(engine).inventory
    inventory.stolen = []
    return shop, inventory


def test_an_order_whose_stock_is_taken_while_it_is_planned_is_replanned_on_what_is_left(
    pg_engine: Engine,
) -> None:
    shop, inventory = a_raced_shop(pg_engine, [DC, SHIBUYA])
    shop.stock((TEE, SHIBUYA, 1), (TEE, DC, 1))
    inventory.steals = 1  # SHIBUYA, the closest, is planned first and taken by the rival

    order = shop.place((TEE, 1))

    assert [s.location for s in order.shipments] == [DC]
    assert shop.level(TEE, DC).reserved == 1
    assert shop.level(TEE, SHIBUYA).reserved == 1  # the rival's
    [decision] = shop.orders.sourcing(order.id or 0)
    assert decision.decision["attempt"] == 2
    # The lost race is part of the record: the note the service writes for it is kept.
    assert any("re-planned" in note for note in decision.decision["notes"]), decision.decision[
        "notes"
    ]
    assert shop.stored_statuses() == {order.id: "allocated"}
    assert shop.inventory.verify().clean


def test_an_order_that_loses_every_replan_race_is_recorded_as_a_backorder(
    pg_engine: Engine,
) -> None:
    shop, inventory = a_raced_shop(pg_engine, [DC, SHIBUYA])
    shop.stock((TEE, SHIBUYA, 1), (TEE, DC, 1))
    inventory.steals = MAX_REPLANS + 1  # every attempt loses

    order = shop.place((TEE, 1))

    assert order.status is OrderStatus.BACKORDERED
    assert shop.stored_statuses() == {order.id: "backordered"}
    decisions = shop.orders.sourcing(order.id or 0)
    assert decisions, "the sourcing decision (and why nothing was reserved) is recorded"
    assert shop.inventory.verify().clean


def test_a_channel_without_backorders_refuses_an_order_that_loses_every_replan_race(
    pg_engine: Engine,
) -> None:
    shop, inventory = a_raced_shop(pg_engine, [DC, SHIBUYA])
    shop.stock((TEE, SHIBUYA, 1), (TEE, DC, 1))
    shop.settings.set_sourcing_profile("web", {"allow_backorder": False})
    inventory.steals = MAX_REPLANS + 1

    before = database_state(pg_engine)

    with pytest.raises(Conflict):
        shop.place_again(an_order((TEE, 1)))

    assert shop.order_count() == 0
    # Only the rival's reservations moved stock.
    assert shop.level(TEE, DC).reserved + shop.level(TEE, SHIBUYA).reserved == 1
    assert len(database_state(pg_engine)["reservations"]) > len(before["reservations"])


def test_a_backorder_that_loses_the_race_for_its_shipments_stock_keeps_its_books(
    pg_engine: Engine,
) -> None:
    shop, inventory = a_raced_shop(pg_engine, [DC])
    shop.stock((TEE, DC, 1))
    order = shop.place((TEE, 2))
    assert states_of(order) == {"1": (1, 1, 0, 0)}
    shop.stock((TEE, DC, 2))
    # The backorder is planned into the DC's pending shipment: its reservation is released and
    # re-made for 2, but the rival takes the 2 new units first.
    inventory.steals = 1

    assert shop.orders.source_backorders() == 0

    after = shop.order(order.id)
    assert states_of(after) == {"1": (1, 1, 0, 0)}
    assert carried(open_shipments(after)) == {(TEE, DC): 1}
    [shipment] = open_shipments(after)
    assert shipment.reservation_id is not None
    held = shop.inventory.get_reservation(shipment.reservation_id)
    assert [(ln.sku, ln.location, ln.quantity) for ln in held.lines] == [(TEE, DC, 1)]
    assert shop.stored_statuses() == {order.id: "backordered"}
    assert shop.level(TEE, DC).reserved == 3  # 1 for the order, 2 for the rival
    assert shop.inventory.verify().clean
