"""A transaction PostgreSQL rolls back to break a deadlock is a domain refusal (`GaveWay`, a
409), never a raw database error, and the services that retry their transaction succeed on
the next try."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text

from oms.bootstrap import bootstrap
from oms.shared.errors import GaveWay
from oms.shared.transaction import retry_transaction
from oms.uow import SqlUnitOfWork

SKUS = (
    "INSERT INTO skus (code, name, kind, attributes, ship_together, created_at, updated_at) "
    "VALUES ('A', 'a', 'simple', '{}', true, now(), now()),"
    " ('B', 'b', 'simple', '{}', true, now(), now())"
)


def _deadlock(engine: Engine, tries: list[int]) -> list[BaseException | None]:
    """Two transactions lock two SKU rows in opposite orders: PostgreSQL breaks the deadlock
    by rolling one back. Each is one `SqlUnitOfWork`, run under `retry_transaction`."""
    services = bootstrap(engine=engine)
    both_hold_one = threading.Barrier(2)
    outcomes: list[BaseException | None] = [None, None]

    def client(index: int, first: str, second: str) -> None:
        def attempt(_earlier: object) -> None:
            tries[index] += 1
            uow: SqlUnitOfWork
            with services.uow() as uow:
                session = uow.inventory.session
                lock = "UPDATE skus SET name = name || '.' WHERE code = :code"
                session.execute(text(lock), {"code": first})
                if tries[index] == 1:
                    both_hold_one.wait(timeout=10)
                session.execute(text(lock), {"code": second})
                uow.commit()

        try:
            retry_transaction(attempt)
        except BaseException as error:  # the test inspects it
            outcomes[index] = error

    threads = [
        threading.Thread(target=client, args=(0, "A", "B")),
        threading.Thread(target=client, args=(1, "B", "A")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_a_deadlock_victim_gives_way_and_its_retry_succeeds(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text(SKUS))
    tries = [0, 0]

    outcomes = _deadlock(pg_engine, tries)

    assert outcomes == [None, None]  # both finished: the victim was tried again
    assert sorted(tries) == [1, 2]  # exactly one gave way, once
    with pg_engine.connect() as conn:
        rows = conn.execute(text("SELECT code, name FROM skus ORDER BY code")).all()
    names = [(str(code), str(name)) for code, name in rows]
    assert names == [("A", "a.."), ("B", "b..")]  # each change applied once, none lost


def test_the_unit_of_work_turns_a_deadlock_into_gave_way(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text(SKUS))
    services = bootstrap(engine=pg_engine)
    with pytest.raises(GaveWay) as refused, services.uow() as uow:
        uow.inventory.session.execute(
            text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$")
        )
    assert refused.value.kind == "conflict"
    assert "try again" in refused.value.detail
