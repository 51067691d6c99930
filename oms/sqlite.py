"""The embedded database: SQLite connections that never lock callers out.

SQLite has one writer at a time. Three things keep it from locking callers out:

- **Reads never wait for writers.** In WAL mode a reader sees the last committed snapshot
  while a writer works. A transaction opened under `reading()` begins DEFERRED (it takes no
  write lock) with `PRAGMA query_only` on, so a read path that tries to write fails loudly
  instead of silently taking the write lock. Everything else begins IMMEDIATE: a deferred
  transaction that reads and then writes fails with SQLITE_BUSY when another writer committed
  in between, which no retry of the statement can fix.
- **Writers queue fairly.** SQLite's busy handler retries with growing sleeps (up to 100 ms),
  so a writer that arrived late often gets in before one that has been waiting for a second.
  Within a process, writers take a turn in `WriterQueue` before BEGIN IMMEDIATE: first come,
  first served, and the lock is handed to the next writer the moment the previous one
  committed. Between processes (the CLI beside the server) the writer whose turn it is polls
  for SQLite's lock every few milliseconds, so it gets in at the first gap another process
  leaves (see `oms.inventory.stock_files.import_stock`).
- **Acknowledged writes are durable.** WAL with `synchronous=NORMAL` may lose the last
  commits on a power loss; `FULL` (the default, settings key `sqlite_synchronous`) syncs the
  WAL at every commit.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.engine import make_url

BUSY_TIMEOUT_SECONDS = 30.0
WRITE_POLL_SECONDS = 0.002

_READING: ContextVar[bool] = ContextVar("oms_reading", default=False)


class Synchronous(StrEnum):
    """`PRAGMA synchronous` in WAL mode: FULL survives a power loss, NORMAL may drop the
    last commits (never corrupts)."""

    FULL = "full"
    NORMAL = "normal"


@contextmanager
def reading() -> Iterator[None]:
    """Transactions begun inside take no write lock and never wait for writers (SQLite).

    Set around read paths: the API-key lookup, GET requests, exports, `verify`. A context
    variable, so it follows a request into the thread that runs its handler.
    """
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)


@contextmanager
def writing() -> Iterator[None]:
    """Inside `reading()`, a transaction that must write: the audit record of a GET that shows
    personal data. It takes the write lock like any writer (on SQLite it queues behind them)."""
    token = _READING.set(False)
    try:
        yield
    finally:
        _READING.reset(token)


def is_reading() -> bool:
    return _READING.get()


class WriterQueue:
    """First come, first served admission of one writer at a time (a ticket lock).

    The lock is handed over directly to the longest waiter on release, so a writer arriving
    just then cannot overtake it. A waiter that gives up (after the busy timeout, as SQLite
    would) leaves the queue.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    @property
    def waiting(self) -> int:
        """Writers waiting for their turn (not counting the one holding it)."""
        with self._mutex:
            return len(self._waiting)

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over between the timeout and here
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # stays held: it is the next writer's now
            else:
                self._held = False


class QueuedConnection(sqlite3.Connection):
    """A pysqlite connection whose write transactions take their turn in `writers`.

    Subclassed per engine (see `connection_class`), so each engine has its own queue.
    Transactions are begun here (`begin_write`, `begin_read`) and end with `commit()` or
    `rollback()`, which hand the turn to the next writer once SQLite released its lock.
    """

    writers: ClassVar[WriterQueue]
    write_wait_seconds: ClassVar[float]  # for a turn and SQLite's lock, then "locked"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._has_turn = False
        self._query_only = False

    def begin_write(self) -> None:
        deadline = time.monotonic() + self.write_wait_seconds
        if not self.writers.acquire(self.write_wait_seconds):
            raise sqlite3.OperationalError(
                f"database is locked: no turn to write within {self.write_wait_seconds:g} s"
            )
        self._has_turn = True
        try:
            self._begin_immediate(deadline)
        except BaseException:
            self._end()
            raise

    def _begin_immediate(self, deadline: float) -> None:
        """BEGIN IMMEDIATE, polling every few milliseconds while another process writes.

        Not SQLite's busy handler: its sleeps grow to 100 ms, so a writer that waits misses
        the short gaps another process (an import between two batches) leaves it. Only the
        writer whose turn it is polls, one per process.
        """
        self.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    self.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    if not _busy(error) or time.monotonic() >= deadline:
                        raise
                time.sleep(WRITE_POLL_SECONDS)
        finally:
            self.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")

    def begin_read(self) -> None:
        self.execute("PRAGMA query_only=ON")
        self._query_only = True
        try:
            self.execute("BEGIN")
        except BaseException:
            self._end()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end()

    def close(self) -> None:
        had_turn, self._has_turn = self._has_turn, False
        try:
            super().close()
        finally:
            if had_turn:  # closed mid-transaction (an invalidated connection)
                self.writers.release()

    def _end(self) -> None:
        if self.in_transaction:
            return  # COMMIT failed: the transaction (and SQLite's lock) is still ours
        if self._query_only:
            self._query_only = False
            self.execute("PRAGMA query_only=OFF")
        if self._has_turn:
            self._has_turn = False
            self.writers.release()


def connection_class(write_wait_seconds: float = BUSY_TIMEOUT_SECONDS) -> type[QueuedConnection]:
    """A `QueuedConnection` subclass with a queue of its own: one per engine."""
    return type(
        "QueuedConnection",
        (QueuedConnection,),
        {"writers": WriterQueue(), "write_wait_seconds": write_wait_seconds},
    )


def _busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


def configure(dbapi_connection: QueuedConnection, synchronous: Synchronous) -> None:
    # SQLAlchemy, not pysqlite, decides when a transaction begins (see oms.db).
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA foreign_keys=ON")
    dbapi_connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    dbapi_connection.execute(f"PRAGMA synchronous={synchronous.value.upper()}")


def begin(dbapi_connection: QueuedConnection) -> None:
    if is_reading():
        dbapi_connection.begin_read()
    else:
        dbapi_connection.begin_write()


def resolve_sqlite_path(url: str, base: Path) -> str:
    """A relative SQLite path taken relative to `base`, not to the current folder.

    Otherwise a command run from another folder opens (and creates) another, empty database.
    """
    parsed = make_url(url)
    database = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
        or parsed.query.get("uri")
        or Path(database).is_absolute()
    ):
        return url
    resolved = parsed.set(database=str((base / database).resolve()))
    return resolved.render_as_string(hide_password=False)
