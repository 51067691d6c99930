"""The embedded mode handles events straight from the outbox: nothing is lost to a crash.

An event is marked handled only after its handler finished. The crash tests run `oms serve`
in a real process, kill it (SIGKILL) at the point under test, start it again, and check that
the work was done exactly once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from oms.db import make_session_factory
from oms.embedded import STOP_HOOK_ENV, EmbeddedRunner
from oms.inventory.domain import MovementType
from oms.inventory.orm import movements
from oms.orders.domain.order import OrderStatus
from oms.outbox import outbox
from oms.settings import PROJECT_ROOT
from oms.shared.clock import utcnow
from oms.shared.events import EventName
from oms.worker import BACKORDER_ACTOR, event_handlers
from tests.order_builders import DC, TEE, Shop
from tests.publishing import drain

Event = dict[str, Any]


def _unhandled(engine: Engine) -> list[tuple[int, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.event, outbox.c.attempts)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
        )
        return [(int(r.id), str(r.event), int(r.attempts)) for r in rows]


def _handled_so_far(engine: Engine) -> None:
    """Test set-up: what happened before the test's own event needs no handling."""
    with engine.begin() as conn:
        conn.execute(update(outbox).values(published_at=utcnow()))


def _a_stock_event(engine: Engine) -> None:
    shop = Shop(engine).build()
    shop.stock((TEE, DC, 2))


def test_an_event_stays_unhandled_until_its_handler_succeeds(engine: Engine) -> None:
    _a_stock_event(engine)
    _handled_so_far(engine)
    Shop(engine).stock((TEE, DC, 1))
    [(event_id, name, _)] = [e for e in _unhandled(engine) if e[1] == EventName.STOCK_CHANGED]
    calls: list[Event] = []

    def flaky(event: Event) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise ConnectionError("the database went away")

    runner = EmbeddedRunner(
        make_session_factory(engine), event_handlers(overrides={EventName.STOCK_CHANGED: flaky})
    )
    runner.run_pending()
    assert (event_id, name, 1) in _unhandled(engine)  # failed: not marked, one attempt counted

    deadline = time.monotonic() + 10
    while any(e[0] == event_id for e in _unhandled(engine)) and time.monotonic() < deadline:
        runner.run_pending()  # the next try comes after a short pause
        time.sleep(0.05)
    assert _unhandled(engine) == []
    assert [c["event_id"] for c in calls] == [event_id, event_id]


def test_a_handler_that_always_fails_is_given_up_and_does_not_hold_up_the_rest(
    engine: Engine,
) -> None:
    _a_stock_event(engine)
    _handled_so_far(engine)
    Shop(engine).stock((TEE, DC, 1))
    drain(engine)  # the publisher writes the AvailabilityChanged behind the StockChanged
    seen: list[str] = []

    def broken(event: Event) -> None:
        raise ValueError("a bug")

    def record(event: Event) -> None:
        seen.append(event["event"])

    runner = EmbeddedRunner(
        make_session_factory(engine),
        event_handlers(
            overrides={
                EventName.STOCK_CHANGED: broken,
                EventName.AVAILABILITY_CHANGED: record,
            }
        ),
        max_attempts=2,
    )
    deadline = time.monotonic() + 10
    while _unhandled(engine) and time.monotonic() < deadline:
        runner.run_pending()
        time.sleep(0.05)
    assert _unhandled(engine) == []
    assert seen == [EventName.AVAILABILITY_CHANGED]  # the event behind the broken one ran
    with engine.connect() as conn:
        attempts = conn.execute(
            select(outbox.c.attempts).where(outbox.c.event == EventName.STOCK_CHANGED)
        ).scalars()
        assert max(attempts) == 2


# --------------------------------------------------------------------------- crash tests


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """`serve(stop_at)` starts `oms serve` on the test database; every process it started is
    killed at the end of the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(stop_at: str | None) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "OMS_DATABASE_URL": database_url,
            "OMS_REDIS_URL": "",
            "OMS_OUTBOX_POLL_SECONDS": "0.05",
            "OMS_LOG_LEVEL": "WARNING",
        }
        env.pop(STOP_HOOK_ENV, None)
        if stop_at is not None:
            env[STOP_HOOK_ENV] = stop_at
        process = subprocess.Popen(  # noqa: S603  (our own command, fixed arguments)
            [sys.executable, "-m", "oms.cli", "serve", "--port", str(_free_port())],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=(tmp_path / f"serve-{len(started)}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _wait_for(what: str, done: Any, timeout: float = 180.0) -> None:
    """A bound, not a speed check: starting `oms serve` imports the whole application, which
    took over 30 s on the shared 2-core machine with the rest of the suite beside it."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("point", ["handing_over", "handled"])
def test_a_crash_between_handing_an_event_over_and_marking_it_loses_no_work(
    engine: Engine, serve: Any, tmp_path: Path, point: str
) -> None:
    shop = Shop(engine).build()
    order = shop.place((TEE, 2))
    assert order.status is OrderStatus.BACKORDERED
    _handled_so_far(engine)
    shop.stock((TEE, DC, 5))  # its StockChanged sources the order, in the worker
    [stock_changed] = [e[0] for e in _unhandled(engine) if e[1] == EventName.STOCK_CHANGED]

    marker = tmp_path / "stopped"
    first = serve(f"{point}:{EventName.STOCK_CHANGED}:{marker}")
    _wait_for(f"the worker to stop at {point}", marker.exists)
    assert int(marker.read_text()) == stock_changed
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert stock_changed in [e[0] for e in _unhandled(engine)]  # the event survived the crash
    if point == "handing_over":
        assert shop.order(order.id).status is OrderStatus.BACKORDERED  # nothing ran yet
    else:
        assert shop.order(order.id).status is OrderStatus.ALLOCATED  # done, not yet marked

    serve(None)
    _wait_for("the restarted worker to handle every event", lambda: not _unhandled(engine))
    now = shop.order(order.id)
    assert now.status is OrderStatus.ALLOCATED
    assert shop.level(TEE, DC).reserved == 2
    with engine.connect() as conn:
        reserved_by_worker = conn.execute(
            select(func.count())
            .select_from(movements)
            .where(movements.c.type == MovementType.RESERVE, movements.c.actor == BACKORDER_ACTOR)
        ).scalar_one()
    assert reserved_by_worker == 1  # exactly once, whichever side of the crash it ran on
