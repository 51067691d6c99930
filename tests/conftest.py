"""Shared fixtures: real databases made by Alembic, cleaned between tests.

PostgreSQL and Redis come from `make test` (scripts/testenv.sh), which exports
OMS_TEST_POSTGRES_URL and OMS_TEST_REDIS_URL. Without them (a bare `pytest`), tests that need
them are skipped, except under CI=true, where a missing server is an error.
"""

from __future__ import annotations

import atexit
import functools
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import oms.schema
from oms.bootstrap import bootstrap
from oms.db import make_engine, make_session_factory
from oms.inventory.services import InventoryService
from oms.settings import PROJECT_ROOT
from oms.sqlite import Synchronous

BACKENDS = ("sqlite", "postgresql")


def _require(var: str) -> str:
    value = os.environ.get(var)
    if value:
        return value
    if os.environ.get("CI"):
        pytest.fail(f"{var} is not set: run the suite with `make test`")
    pytest.skip(f"{var} not set (run `make test` for real PostgreSQL/Redis)")


def migrate(url: str) -> None:
    """Build the schema the only way production does: `alembic upgrade head`."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


def clean(engine: Engine) -> None:
    tables = [t.name for t in reversed(oms.schema.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608


def _worker() -> int | None:
    """This pytest-xdist worker's number (gw0 is 0), None when the suite runs in one process."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") else None


@functools.cache
def _postgres_url() -> str:
    """`make test`'s database; under pytest-xdist, worker 0 keeps it and every other worker
    starts a PostgreSQL server of its own (scripts/testenv.sh, stopped when the worker ends).

    A server of its own, not a database: the changes feed shows a change once every older
    transaction on the server has ended (xids are server-wide), so another worker's open
    transaction would hold a test's changes back; and TRUNCATE between tests never waits."""
    url = _require("OMS_TEST_POSTGRES_URL")
    worker = _worker()
    if not worker:
        return url
    folder = Path(tempfile.mkdtemp(prefix=f"oms-testenv-gw{worker}-"))
    script = str(PROJECT_ROOT / "scripts" / "testenv.sh")
    subprocess.run([script, "start", str(folder)], check=True, capture_output=True)  # noqa: S603
    atexit.register(
        subprocess.run,
        [script, "stop", str(folder)],
        check=False,
        capture_output=True,
    )
    exported = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (folder / "env").read_text().splitlines()
        if line.startswith("export ")
    )
    return exported["OMS_TEST_POSTGRES_URL"]


def _redis_url() -> str:
    """`make test`'s Redis, or under pytest-xdist a logical database of this worker's own."""
    url = _require("OMS_TEST_REDIS_URL")
    worker = _worker()
    if worker is None:
        return url
    head, _, _ = url.rpartition("/")
    return f"{head}/{1 + worker % 15}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return _postgres_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _redis_url()


@pytest.fixture(scope="session")
def _engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


def _engine_for(
    backend: str, engines: dict[str, Engine], tmp: pytest.TempPathFactory
) -> tuple[Engine, str]:
    if backend == "postgresql":
        url = _postgres_url()
    else:
        url = f"sqlite:///{Path(tmp.getbasetemp()) / 'oms-test.db'}"
    if backend not in engines:
        migrate(url)
        # Throwaway databases, like the PostgreSQL that `make test` runs with fsync off: no
        # fsync per commit. Durability itself is tested on engines of its own
        # (tests/integration/test_sqlite_locking.py).
        engines[backend] = make_engine(url, pool_size=5, synchronous=Synchronous.NORMAL)
    return engines[backend], url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(
    backend: str, _engines: dict[str, Engine], tmp_path_factory: pytest.TempPathFactory
) -> str:
    return _engine_for(backend, _engines, tmp_path_factory)[1]


@pytest.fixture
def engine(
    backend: str, _engines: dict[str, Engine], tmp_path_factory: pytest.TempPathFactory
) -> Engine:
    """A migrated database of the parametrised backend, empty at the start of each test."""
    found, _ = _engine_for(backend, _engines, tmp_path_factory)
    clean(found)
    return found


@pytest.fixture
def pg_engine(_engines: dict[str, Engine], tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """PostgreSQL only (concurrency tests)."""
    found, _ = _engine_for("postgresql", _engines, tmp_path_factory)
    clean(found)
    return found


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def service_for(engine: Engine) -> InventoryService:
    return bootstrap(engine=engine).inventory


@pytest.fixture
def inventory(engine: Engine) -> InventoryService:
    return service_for(engine)


@pytest.fixture
def make_inventory() -> Callable[[Engine], InventoryService]:
    return service_for


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one test process per core, and one more. The suite waits a lot (servers it
    starts, HTTP to emulators, PostgreSQL): on 2 cores two processes kept 1.3 cores busy."""
    return (os.cpu_count() or 1) + 1
