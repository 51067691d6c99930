"""Cycle counts racing reservations and orders on PostgreSQL, in real parallel sessions.

A count locks the stock row first, then the reservations it cuts: no reservation can slip in
between reading what is reserved and recording the count, so however the race goes, what is
reserved and quarantined never exceeds what is on hand, and every reservation is one an open
parcel (or a standalone hold) still carries.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import Engine

from oms.db import make_engine
from oms.inventory.domain import InsufficientStock, ReservationStatus
from oms.orders.services.fulfilment import RejectedLine
from oms.orders.services.placement import PlacedOrder
from oms.shared.errors import Conflict
from tests.builders import record, reserve
from tests.order_builders import DC, SHIBUYA, TEE, Shop, an_order, carried, open_shipments

T = TypeVar("T")
CLIENTS = 24


@pytest.fixture
def wide_engine(pg_engine: Engine, postgres_url: str) -> Iterator[Engine]:
    """The migrated, empty PostgreSQL database, with a connection for every client."""
    engine = make_engine(postgres_url, pool_size=CLIENTS + 4)
    yield engine
    engine.dispose()


def race(clients: int, attempt: Callable[[int], T]) -> list[T | Exception]:
    barrier = threading.Barrier(clients)

    def run(client: int) -> T | Exception:
        barrier.wait(timeout=30)
        try:
            return attempt(client)
        except Exception as error:  # the test inspects every outcome
            return error

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(run, range(clients)))


@pytest.mark.parametrize("seed", [1, 2])
def test_counts_racing_orders_and_reservations_never_leave_more_reserved_than_on_hand(
    wide_engine: Engine, seed: int
) -> None:
    shop = Shop(wide_engine).build().stock((TEE, DC, 30), (TEE, SHIBUYA, 6))
    record(shop.inventory, "quarantine", TEE, DC, 2)
    picks = random.Random(seed)
    counts = {i: picks.randint(0, 12) for i in range(CLIENTS) if i % 3 == 0}

    def attempt(client: int) -> object:
        # Each client its own services over the shared engine, as each web worker has.
        own = Shop(wide_engine)
        if client in counts:
            return record(own.inventory, "count", TEE, DC, counts[client])
        if client % 3 == 1:
            return own.orders.place_order(an_order((TEE, 2), prefecture="12"))
        return reserve(own.inventory, (TEE, DC, 1))

    outcomes = race(CLIENTS, attempt)

    unexpected = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(o, InsufficientStock) for o in unexpected), unexpected[:3]
    level = shop.level(TEE, DC)
    assert level.reserved + level.quarantined <= level.on_hand
    assert level.on_hand in set(counts.values())  # the last count is what is there
    assert shop.inventory.verify().clean
    # Every unit reserved is one an open parcel or a standalone hold still carries.
    orders = shop.all_orders()
    assert len(orders) == sum(1 for o in outcomes if isinstance(o, PlacedOrder))
    parcels = carried(s for o in orders for s in open_shipments(o))
    holds = [shop.inventory.get_reservation(r) for r in (o for o in outcomes if isinstance(o, int))]
    held = sum(
        ln.quantity
        for r in holds
        if r.status is ReservationStatus.ACTIVE
        for ln in r.lines
        if (ln.sku, ln.location) == (TEE, DC)
    )
    assert level.reserved == parcels.get((TEE, DC), 0) + held
    assert shop.level(TEE, SHIBUYA).reserved == parcels.get((TEE, SHIBUYA), 0)
    for order in orders:
        for state in order.line_states():
            assert state.backordered + state.allocated + state.shipped == state.quantity


def test_counts_racing_cancels_shipments_and_rejects_of_the_orders_they_cut_never_deadlock(
    wide_engine: Engine,
) -> None:
    """An order's writers lock the order, then its stock; a count locks the stock, then the
    orders it cuts. The count takes those without waiting, and on a refusal is rolled back and
    tried again after waiting for that order first: no deadlock, no lost write."""
    shop = Shop(wide_engine).build().stock((TEE, DC, 60), (TEE, SHIBUYA, 6))
    orders = [shop.place((TEE, 2), prefecture="12") for _ in range(CLIENTS)]
    picks = random.Random(7)
    counted = {c: picks.randint(0, 30) for c in range(0, CLIENTS, 4)}
    found = {c: picks.randint(0, 10) for c in range(3, CLIENTS, 4)}

    def attempt(client: int) -> object:
        own = Shop(wide_engine)
        if client in counted:
            return record(own.inventory, "count", TEE, DC, counted[client])
        order = orders[client]
        if client % 4 == 1:
            return own.orders.cancel(order.id or 0)
        [parcel] = open_shipments(order)
        if client % 4 == 2:
            own.fulfilment.pick(parcel.id or 0)
            own.fulfilment.pack(parcel.id or 0)
            return own.fulfilment.ship(parcel.id or 0, "yamato", f"TRK-{parcel.id:06d}")
        line = RejectedLine(TEE, 1, "not_found", counted=found[client])
        return own.fulfilment.reject(parcel.id or 0, [line])

    outcomes = race(CLIENTS, attempt)

    # The only refusals: a parcel a count had already cut away (or shipped) before the pick.
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(o, Conflict) and "shipment" in o.detail for o in refused), refused[:3]
    level = shop.level(TEE, DC)
    assert level.reserved + level.quarantined <= level.on_hand
    everything_open = [s for o in shop.all_orders() for s in open_shipments(o)]
    assert {
        (lv.sku, lv.location): lv.reserved for lv in shop.all_levels() if lv.reserved
    } == carried(everything_open)
    assert shop.active_reservation_ids() == {s.reservation_id for s in everything_open}
    for order in shop.all_orders():
        for state in order.line_states():
            total = state.backordered + state.allocated + state.shipped + state.cancelled
            assert total == state.quantity
    assert shop.inventory.verify().clean
