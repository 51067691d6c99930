"""Real parallel sessions on PostgreSQL: no oversell, no deadlock, one effect per key."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import OperationalError

from oms.db import make_engine, make_session_factory
from oms.inventory.domain import MAX_MOVEMENT_QUANTITY, InsufficientStock, ReservationLine
from oms.inventory.orm import reservations, skus
from oms.inventory.repository import SqlInventory
from oms.inventory.services import (
    CreateTransfer,
    InventoryService,
    MovementResult,
    ReserveStock,
)
from oms.shared.errors import Conflict
from tests.builders import (
    a_location,
    a_movement,
    a_sku,
    buckets,
    level_of,
    receive,
    reserve,
    stock_events,
)

T = TypeVar("T")
DC, STORE = "DC-CHIBA", "STORE-SHIBUYA"
TEE, CAP = "TEE-BLK-M", "CAP-RED"


@pytest.fixture
def wide_engine(pg_engine: Engine, postgres_url: str) -> Iterator[Engine]:
    """The migrated, empty PostgreSQL database, with a connection for every client."""
    engine = make_engine(postgres_url, pool_size=40)
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


def reservation_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reservations)).scalar_one())


def a_stocked_sku(inventory: InventoryService, on_hand: int, *skus: str) -> None:
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0002")
    for sku in skus:
        a_sku(inventory, sku)
        receive(inventory, sku, DC, on_hand)


def test_32_clients_racing_for_10_units_reserve_exactly_10(
    wide_engine: Engine, make_inventory: Callable[[Engine], InventoryService]
) -> None:
    inventory = make_inventory(wide_engine)
    a_stocked_sku(inventory, 10, TEE)

    outcomes = race(32, lambda _: inventory.reserve(ReserveStock([ReservationLine(TEE, DC, 1)])))

    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 10
    assert len(losers) == 22
    assert all(isinstance(o, InsufficientStock) for o in losers), losers
    level = level_of(inventory, TEE, DC)
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    assert reservation_count(wide_engine) == 10
    assert inventory.verify().clean


@pytest.mark.parametrize("shared", [True, False], ids=["one-service", "service-per-client"])
def test_32_clients_racing_for_1_to_3_units_never_oversell(
    wide_engine: Engine, make_inventory: Callable[[Engine], InventoryService], shared: bool
) -> None:
    # One service: the clients are taken together (one process's admission). A service per
    # client: 32 transactions race on the row, as 32 processes would.
    inventory = make_inventory(wide_engine)
    a_stocked_sku(inventory, 10, TEE)
    wanted = [random.Random(client).randint(1, 3) for client in range(32)]
    services = [inventory if shared else make_inventory(wide_engine) for _ in range(32)]

    outcomes = race(
        32,
        lambda client: services[client].reserve(
            ReserveStock([ReservationLine(TEE, DC, wanted[client])])
        ),
    )

    granted = [wanted[i] for i, o in enumerate(outcomes) if not isinstance(o, Exception)]
    refused = [wanted[i] for i, o in enumerate(outcomes) if isinstance(o, Exception)]
    assert all(isinstance(o, InsufficientStock) for o in outcomes if isinstance(o, Exception))
    reserved = level_of(inventory, TEE, DC).reserved
    assert reserved == sum(granted) <= 10
    # Available only shrinks, so every refused client asked for more than is left at the end.
    assert all(qty > 10 - reserved for qty in refused)
    assert reservation_count(wide_engine) == len(granted)
    assert inventory.verify().clean


def test_callers_asking_together_for_more_than_a_row_holds_refuse_only_themselves(
    wide_engine: Engine, make_inventory: Callable[[Engine], InventoryService]
) -> None:
    # Each big ask is within bounds alone; taken in one batch, their sum passes the row's
    # 32-bit columns. That was an "out of range" error for every caller of the batch.
    inventory = make_inventory(wide_engine)
    a_stocked_sku(inventory, 1000, TEE)
    big = [client % 4 == 0 for client in range(32)]

    outcomes = race(
        32,
        lambda client: inventory.reserve(
            ReserveStock([ReservationLine(TEE, DC, MAX_MOVEMENT_QUANTITY if big[client] else 1)])
        ),
    )

    refused = [o for o, b in zip(outcomes, big, strict=True) if b]
    granted = [o for o, b in zip(outcomes, big, strict=True) if not b]
    assert all(isinstance(o, InsufficientStock) for o in refused), refused
    assert not any(isinstance(o, Exception) for o in granted), granted
    assert level_of(inventory, TEE, DC).reserved == len(granted) == 24
    assert inventory.verify().clean


@pytest.mark.parametrize("shared", [True, False], ids=["same-rows", "own-location-each"])
def test_two_line_reservations_in_opposite_orders_all_finish_without_deadlock(
    wide_engine: Engine, make_inventory: Callable[[Engine], InventoryService], shared: bool
) -> None:
    # Same rows: every client locks the same two stock rows. Own location each: the stock rows
    # never collide, so only the two SKU rows (the outbox sequence) are contended.
    inventory = make_inventory(wide_engine)
    clients, rounds = 16, 10
    a_location(inventory, DC)
    a_sku(inventory, TEE)
    a_sku(inventory, CAP)
    where = [DC if shared else f"STORE-{n:02d}" for n in range(clients)]
    for location in sorted(set(where)):
        if location != DC:
            a_location(inventory, location, kind="store")
        receive(inventory, TEE, location, 1000)
        receive(inventory, CAP, location, 1000)

    def client(number: int) -> int:
        a_then_b = [ReservationLine(TEE, where[number], 1), ReservationLine(CAP, where[number], 1)]
        lines = a_then_b if number % 2 else a_then_b[::-1]
        kept = 0
        for round_ in range(rounds):
            reservation = inventory.reserve(ReserveStock(lines)).reservation
            if round_ % 2:  # interleave releases with reservations on the same rows
                inventory.release(reservation.id)
            else:
                kept += 1
        return kept

    outcomes = race(clients, client)

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    for location in set(where):
        kept = sum(o for n, o in enumerate(outcomes) if where[n] == location and isinstance(o, int))
        assert kept == where.count(location) * rounds // 2
        assert level_of(inventory, TEE, location).reserved == kept
        assert level_of(inventory, CAP, location).reserved == kept
    assert reservation_count(wide_engine) == clients * rounds
    assert inventory.verify().clean
    # One event per SKU per transaction (receipts, reservations taken together, every
    # release), numbered 1..n per SKU without a gap in the order they were written, and the
    # last one carries the levels as they are now.
    events = stock_events(wide_engine)
    most = len(set(where)) + clients * rounds + clients * rounds // 2
    for sku in (TEE, CAP):
        seqs = [seq for s, seq, _ in events if s == sku]
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(set(where)) + clients * rounds // 2 < len(seqs) <= most
        last = [payload for s, _, payload in events if s == sku][-1]
        for level in last["levels"]:
            assert level["reserved"] == level_of(inventory, sku, level["location"]).reserved


def test_16_clients_sending_the_same_reservation_key_reserve_once(
    wide_engine: Engine, make_inventory: Callable[[Engine], InventoryService]
) -> None:
    inventory = make_inventory(wide_engine)
    a_stocked_sku(inventory, 10, TEE)
    command = ReserveStock([ReservationLine(TEE, DC, 3)], reference="ORDER-1", idempotency_key="k")

    outcomes = race(16, lambda _: inventory.reserve(command))

    assert not [o for o in outcomes if isinstance(o, Exception)]
    results = [o for o in outcomes if not isinstance(o, Exception)]
    assert sum(not r.replayed for r in results) == 1
    assert len({r.reservation.id for r in results}) == 1
    assert level_of(inventory, TEE, DC).reserved == 3
    assert reservation_count(wide_engine) == 1
    assert inventory.verify().clean


def test_16_clients_sending_the_same_movement_key_apply_it_once(
    wide_engine: Engine, make_inventory: Callable[[Engine], InventoryService]
) -> None:
    inventory = make_inventory(wide_engine)
    a_stocked_sku(inventory, 10, TEE)
    command = a_movement("receipt", TEE, DC, 5)

    outcomes = race(16, lambda _: inventory.record_movement(command))

    results = [o for o in outcomes if isinstance(o, MovementResult)]
    assert len(results) == 16, outcomes
    assert sum(not r.replayed for r in results) == 1
    assert len({tuple(m.id for m in r.movements) for r in results}) == 1
    assert all(r.levels == results[0].levels for r in results)
    assert level_of(inventory, TEE, DC).on_hand == 15
    assert inventory.verify().clean


def test_a_transfer_shipped_by_8_clients_at_once_ships_once(
    wide_engine: Engine, make_inventory: Callable[[Engine], InventoryService]
) -> None:
    inventory = make_inventory(wide_engine)
    a_stocked_sku(inventory, 10, TEE)
    transfer = inventory.create_transfer(CreateTransfer(DC, STORE, [(TEE, 4)])).transfer
    assert transfer.id is not None
    transfer_id = transfer.id

    outcomes = race(8, lambda _: inventory.ship_transfer(transfer_id))

    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, Exception)), outcomes
    assert buckets(level_of(inventory, TEE, DC)) == (6, 0, 0, 0)
    assert buckets(level_of(inventory, TEE, STORE)) == (0, 0, 0, 4)
    assert inventory.verify().clean


def test_a_reservation_released_by_8_clients_at_once_is_released_once(
    wide_engine: Engine, make_inventory: Callable[[Engine], InventoryService]
) -> None:
    inventory = make_inventory(wide_engine)
    a_stocked_sku(inventory, 10, TEE)
    reserve(inventory, (TEE, DC, 2))
    reservation_id = reserve(inventory, (TEE, DC, 3))

    outcomes = race(8, lambda _: inventory.release(reservation_id))

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert buckets(level_of(inventory, TEE, DC)) == (10, 2, 0, 0)
    assert inventory.verify().clean


def test_sku_rows_are_locked_in_id_order_whatever_their_physical_order(
    pg_engine: Engine, make_inventory: Callable[[Engine], InventoryService]
) -> None:
    """Every writer numbers its events under SKU row locks taken in id order, or two writers
    of the same SKUs (at different locations, so no stock row serialises them) can deadlock."""
    inventory = make_inventory(pg_engine)
    a_sku(inventory, TEE)
    a_sku(inventory, CAP)
    with pg_engine.begin() as conn:
        first, second = conn.execute(select(skus.c.id).order_by(skus.c.id)).scalars()
        # A new row version goes to the end of the page: the first row now comes second.
        conn.execute(update(skus).where(skus.c.id == first).values(name="moved"))
        assert conn.execute(text("SELECT id FROM skus ORDER BY ctid")).scalars().all() == [
            second,
            first,
        ]
    holder = pg_engine.connect()
    holder.begin()
    holder.execute(text("SELECT 1 FROM skus WHERE id = :id FOR NO KEY UPDATE"), {"id": second})

    def bump() -> None:
        with make_session_factory(pg_engine)() as session, session.begin():
            # The plan PostgreSQL picks for a small or bloated skus table: a seq scan, which
            # visits rows in physical order.
            session.execute(text("SET LOCAL enable_indexscan = off"))
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
            SqlInventory(session).bump_event_seqs([second, first])

    writer = threading.Thread(target=bump)
    writer.start()
    try:
        waiting = 0
        for _ in range(100):  # until the writer waits for the row the holder has locked
            with pg_engine.connect() as conn:
                waiting = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar_one()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting == 1
        with (
            pg_engine.connect() as probe,
            probe.begin(),
            pytest.raises(OperationalError, match="could not obtain lock"),
        ):
            probe.execute(
                text("SELECT 1 FROM skus WHERE id = :id FOR NO KEY UPDATE NOWAIT"),
                {"id": first},
            )
    finally:
        holder.rollback()
        holder.close()
        writer.join(timeout=10)
    with pg_engine.connect() as conn:
        assert conn.execute(select(skus.c.event_seq).order_by(skus.c.id)).scalars().all() == [1, 1]
