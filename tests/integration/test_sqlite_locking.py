"""The embedded database (SQLite) never locks callers out: readers, fair writers, durability."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from oms.access import authenticate, create_api_key
from oms.app import create_app
from oms.db import make_engine, make_session_factory, writer_queue
from oms.settings import Settings
from oms.sqlite import Synchronous, reading
from oms.uow import SqlUnitOfWork

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

_HOLD_AT_MOST = 60.0  # a guard against a hung test, never reached when the code works


class _OpenWrite:
    """A thread holding a write transaction (BEGIN IMMEDIATE) open until `release()`."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._holding = threading.Event()
        self._release = threading.Event()
        self.released = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with SqlUnitOfWork(self._factory) as uow:
            uow.inventory.location_ids(["DC-CHIBA"])  # the first statement begins it
            self._holding.set()
            self._release.wait(_HOLD_AT_MOST)
            self.released.set()
            uow.commit()

    def __enter__(self) -> _OpenWrite:
        self._thread.start()
        assert self._holding.wait(_HOLD_AT_MOST)
        return self

    def release(self) -> None:
        self._release.set()

    def __exit__(self, *_: object) -> None:
        self.release()
        self._thread.join()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@sqlite_only
def test_an_api_key_lookup_answers_while_a_writer_holds_the_lock(
    factory: sessionmaker[Session],
) -> None:
    issued = create_api_key(factory, "chiba-dc", "warehouse")

    with _OpenWrite(factory) as writer:
        principal = authenticate(factory, issued.key, "")
        writer_still_held_it = not writer.released.is_set()

    assert principal is not None
    assert principal.name == "chiba-dc"
    assert writer_still_held_it


@sqlite_only
def test_get_requests_answer_while_another_process_holds_the_write_lock(
    factory: sessionmaker[Session], database_url: str
) -> None:
    issued = create_api_key(factory, "reader", "customer_service")
    app = create_app(Settings(database_url=database_url))
    headers = {"Authorization": f"Bearer {issued.key}"}

    with TestClient(app) as client, _OpenWrite(factory) as writer:
        # The app has its own engine: to it the writer is another process.
        locations = client.get("/v1/locations", headers=headers)
        stock = client.get("/v1/stock", headers=headers)
        writer_still_held_it = not writer.released.is_set()

    assert locations.status_code == 200, locations.text
    assert stock.status_code == 200, stock.text
    assert writer_still_held_it


@sqlite_only
def test_a_read_path_that_tries_to_write_fails_instead_of_taking_the_lock(
    factory: sessionmaker[Session],
) -> None:
    with reading(), pytest.raises(Exception, match="readonly"):
        create_api_key(factory, "sneaky", "admin")

    with SqlUnitOfWork(factory) as uow:  # the connection writes again afterwards
        assert uow.inventory.location_ids(["DC-CHIBA"]) == {}


def _wait_until(condition: Callable[[], bool]) -> None:
    """Synchronise with another thread (not a timing assertion: fails only if it never happens)."""
    deadline = time.monotonic() + _HOLD_AT_MOST
    while not condition():
        assert time.monotonic() < deadline, "the other thread never got there"
        time.sleep(0.001)


@sqlite_only
def test_writers_are_admitted_in_the_order_they_arrived(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    queue = writer_queue(engine)
    admitted: list[int] = []

    def write(arrival: int) -> None:
        with SqlUnitOfWork(factory) as uow:
            uow.inventory.location_ids(["DC-CHIBA"])  # BEGIN IMMEDIATE: admitted
            admitted.append(arrival)
            uow.commit()

    writers: list[threading.Thread] = []
    with _OpenWrite(factory):
        for arrival in range(12):
            thread = threading.Thread(target=write, args=(arrival,))
            thread.start()
            writers.append(thread)
            _wait_until(lambda n=arrival + 1: queue.waiting == n)  # type: ignore[misc]
    for thread in writers:
        thread.join()

    assert admitted == list(range(12))
    assert queue.waiting == 0


@pytest.fixture
def scratch_engines(tmp_path: Path) -> Iterator[Callable[[Synchronous | None], Engine]]:
    made: list[Engine] = []

    def make(synchronous: Synchronous | None) -> Engine:
        url = f"sqlite:///{tmp_path / f'{len(made)}.db'}"
        engine = (
            make_engine(url) if synchronous is None else make_engine(url, synchronous=synchronous)
        )
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def _synchronous(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_commits_are_synced_to_disk_by_default_and_relaxing_it_is_a_setting(
    scratch_engines: Callable[[Synchronous | None], Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    full, normal = 2, 1  # PRAGMA synchronous values

    assert _synchronous(scratch_engines(None)) == full
    assert Settings().sqlite_synchronous is Synchronous.FULL
    monkeypatch.setenv("OMS_SQLITE_SYNCHRONOUS", "normal")
    relaxed = Settings().sqlite_synchronous
    assert _synchronous(scratch_engines(relaxed)) == normal


@sqlite_only
def test_a_writer_that_cannot_get_the_lock_in_time_is_told_to_retry_not_a_500(
    factory: sessionmaker[Session], database_url: str
) -> None:
    """Another process holding SQLite's write lock past the wait was a 500 internal-error."""
    issued = create_api_key(factory, "writer", "admin")
    app = create_app(Settings(database_url=database_url), write_wait_seconds=0.05)
    headers = {"Authorization": f"Bearer {issued.key}"}
    body = {
        "code": "STORE-UMEDA",
        "name": "梅田店",
        "kind": "store",
        "prefecture": "27",
        "postal_code": "530-0001",
    }

    with TestClient(app) as client:
        with _OpenWrite(factory):
            refused = client.post("/v1/locations", json=body, headers=headers)
        locations = client.get("/v1/locations", headers=headers).json()["items"]

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "urn:oms:problem:database-busy"
    assert int(refused.headers["retry-after"]) >= 1
    assert locations == []
