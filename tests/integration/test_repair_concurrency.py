"""Repairs racing on PostgreSQL, in real parallel sessions: parts for several repairs from the
last units of a shelf (exactly as many win as there are units), parts for one repair at once
(each its own batch and ledger key), and one request sent many times with one Idempotency-Key
(one repair)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select

from oms.db import make_engine
from oms.repairs.domain import PartLine, RepairAction
from oms.repairs.orm import repair_parts, repairs
from oms.repairs.services import ActOnRepair, OpenedRepair, RepairService
from oms.shared.errors import Conflict
from tests.order_builders import Shop
from tests.repair_builders import CENTRE, HEATER, RepairShop

T = TypeVar("T")
CLIENTS = 8
A = RepairAction


@pytest.fixture
def wide_engine(pg_engine: Engine, postgres_url: str) -> Iterator[Engine]:
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


def own_service(engine: Engine) -> RepairService:
    """Each client its own services over the shared engine, as each web worker has."""
    shop = Shop(engine)
    return RepairService(shop.uow, shop.inventory, shop.orders)


def in_repair(rs: RepairShop) -> int:
    repair_id = rs.repairs.open_repair(rs.with_proof(), "cs").repair.id or 0
    for cmd in (
        ActOnRepair(A.AWAIT_ITEM),
        ActOnRepair(A.RECEIVE, location=CENTRE),
        ActOnRepair(A.DIAGNOSE),
        ActOnRepair(A.APPROVE),
        ActOnRepair(A.IN_REPAIR),
    ):
        rs.repairs.act(repair_id, cmd, "wh")
    return repair_id


def parts_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(repair_parts)).scalar_one())


def test_repairs_racing_for_the_last_parts_win_exactly_as_many_as_there_are(
    wide_engine: Engine,
) -> None:
    rs = RepairShop(wide_engine)
    rs.shop.stock((HEATER, CENTRE, 3))
    ids = [in_repair(rs) for _ in range(CLIENTS)]

    outcomes = race(
        CLIENTS,
        lambda i: own_service(wide_engine).act(
            ids[i], ActOnRepair(A.PARTS, parts=[PartLine(HEATER, 1)]), f"wh{i}"
        ),
    )

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == CLIENTS - 3
    assert all(isinstance(o, Conflict) and o.field == "lines[0].sku" for o in refused), refused
    assert rs.shop.level(HEATER, CENTRE).on_hand == 0
    assert parts_rows(wide_engine) == 3
    assert rs.shop.inventory.verify().clean


def test_parts_booked_at_once_for_one_repair_each_get_their_own_batch(
    wide_engine: Engine,
) -> None:
    rs = RepairShop(wide_engine)
    rs.shop.stock((HEATER, CENTRE, 20))
    repair_id = in_repair(rs)

    outcomes = race(
        CLIENTS,
        lambda i: own_service(wide_engine).act(
            repair_id, ActOnRepair(A.PARTS, parts=[PartLine(HEATER, 2)]), f"wh{i}"
        ),
    )

    assert not [o for o in outcomes if isinstance(o, Exception)]
    parts = rs.repairs.get_repair(repair_id).parts
    assert sorted(p.batch for p in parts) == list(range(1, CLIENTS + 1))
    assert rs.shop.level(HEATER, CENTRE).on_hand == 20 - 2 * CLIENTS
    assert rs.shop.inventory.verify().clean


def test_one_request_sent_many_times_with_one_key_is_one_repair(wide_engine: Engine) -> None:
    rs = RepairShop(wide_engine)
    cmd = rs.with_proof()

    outcomes = race(
        CLIENTS,
        lambda _: own_service(wide_engine).open_repair(cmd, "cs", idempotency_key="same"),
    )

    # A request that met the first one's insert gives way and, tried again, replays it.
    opened = [o for o in outcomes if isinstance(o, OpenedRepair)]
    assert len(opened) == CLIENTS, outcomes
    assert sum(o.created for o in opened) == 1
    assert len({o.repair.id for o in opened}) == 1
    with wide_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(repairs)).scalar_one() == 1
