"""Real processes for the sync's background tests: `oms worker` and `oms serve` started as
subprocesses on the test database, an emulator served in this process (so the test can watch
the calls in flight), and waiting with a deadline.

Deadlines are bounds, never speed checks: starting a process imports the whole application,
which is slow on a shared 2-core machine with the rest of the suite beside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.settings import PROJECT_ROOT
from oms.shared.clock import utcnow
from tests.api.conftest import SECRET_KEY
from tests.contract.servers import free_port
from tests.sync.support import services_for


def wait_for(what: str, done: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll `done` until it is truthy; fail the test naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def services_on(engine: Engine) -> Services:
    """The test's own services over `engine`, sealing with the tests' key, which the processes
    started here are given (`OMS_SECRET_KEY`): they must open the connections stored."""
    return services_for(engine)


def reconciled_today(services: Services, channel: str) -> None:
    """Mark the daily reconciliation done, so that the scheduler's first tick makes no read
    calls of its own beside the ones under test (fault injection counts calls)."""
    with services.uow() as uow:
        state = uow.sync.sync_state(channel, lock=True)
        state.last_reconcile_at = utcnow()
        uow.sync.save_sync_state(state, utcnow())
        uow.commit()


class Watched:
    """An ASGI wrapper that counts the channel API calls started and in flight (not the
    emulator's control calls), so a test can act while a call is under way."""

    def __init__(self, app: Any, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.started = 0
        self.in_flight = 0

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        self.started += 1
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class Processes:
    """Starts `oms` commands; every process still running at the end of the test is killed."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp = tmp_path
        self.started: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self._tmp / f"{command[0]}-{len(self.started)}.log"
        full = {**os.environ, "OMS_SECRET_KEY": SECRET_KEY, **env}
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603  (our own command, fixed arguments)
                [sys.executable, "-m", "oms.cli", *command],
                cwd=PROJECT_ROOT,
                env=full,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(process)
        self.logs.append(log)
        return process

    def worker(self, database_url: str, redis_url: str, **env: str) -> subprocess.Popen[bytes]:
        return self.start(
            ["worker"],
            {
                "OMS_DATABASE_URL": database_url,
                "OMS_REDIS_URL": redis_url,
                "OMS_OUTBOX_POLL_SECONDS": "0.1",
                "OMS_WORKER_THREADS": "2",
                "OMS_LOG_LEVEL": "INFO",
                **env,
            },
        )

    def serve(self, database_url: str, **env: str) -> subprocess.Popen[bytes]:
        return self.start(
            ["serve", "--port", str(free_port())],
            {
                "OMS_DATABASE_URL": database_url,
                "OMS_REDIS_URL": "",
                "OMS_OUTBOX_POLL_SECONDS": "0.1",
                "OMS_LOG_LEVEL": "INFO",
                **env,
            },
        )

    def output(self) -> str:
        return "\n".join(
            f"---- {p.name}\n{p.read_text(errors='replace')}" for p in self.logs if p.exists()
        )

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """`kill -9`: no clean-up of any kind runs in the process."""
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        """Killed, not stopped: nothing a test checks happens after it ends, and a graceful
        stop can wait long on a Redis the test took away."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@contextmanager
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
