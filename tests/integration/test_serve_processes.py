"""`oms serve --workers N` on PostgreSQL: the in-process background work runs in one process.

Each serving process runs a `BackgroundLeader`; the one holding the advisory lock starts the
background work, the others wait and take over when it goes. Two leaders in one test process
stand for two serving processes: each has a connection (a PostgreSQL session) of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from oms.app import BackgroundLeader, serve_processes
from oms.db import make_engine

WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05


class Work:
    """Stands for the background work a process starts: counts how often it runs."""

    def __init__(self, running: list[Work]) -> None:
        self._running = running
        self.stopped = threading.Event()
        running.append(self)

    def stop(self) -> None:
        self._running.remove(self)
        self.stopped.set()


def _wait_for(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(POLL_SECONDS)


@pytest.fixture
def second_engine(pg_engine: Engine) -> Iterator[Engine]:
    """Another process's pool on the same database."""
    other = make_engine(pg_engine.url.render_as_string(hide_password=False), pool_size=2)
    yield other
    other.dispose()


def test_one_process_of_several_runs_the_background_work_and_another_takes_over(
    pg_engine: Engine, second_engine: Engine
) -> None:
    running: list[Work] = []
    first = BackgroundLeader(pg_engine, lambda: Work(running), poll_seconds=POLL_SECONDS)
    second = BackgroundLeader(second_engine, lambda: Work(running), poll_seconds=POLL_SECONDS)
    first.start()
    try:
        _wait_for("the first process to lead", lambda: first.leading)
        second.start()
        try:
            # The second tries many times meanwhile: the lock is held, it never starts.
            deadline = time.monotonic() + 20 * POLL_SECONDS
            while time.monotonic() < deadline:
                assert not second.leading
                assert len(running) == 1
                time.sleep(POLL_SECONDS)
            first.stop()  # the process goes: its connection, and the lock, with it
            assert not first.leading
            _wait_for("the second process to take over", lambda: second.leading)
            assert len(running) == 1
        finally:
            second.stop()
    finally:
        first.stop()
    assert running == []  # a stopped leader stops its work


def test_a_process_not_started_by_serve_workers_counts_as_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OMS_SERVE_PROCESSES", raising=False)
    assert serve_processes() == 1
    monkeypatch.setenv("OMS_SERVE_PROCESSES", "3")
    assert serve_processes() == 3
    monkeypatch.setenv("OMS_SERVE_PROCESSES", "not a number")
    assert serve_processes() == 1
