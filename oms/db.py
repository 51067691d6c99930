"""Engine and schema plumbing shared by every context (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from oms import sqlite
from oms.sqlite import Synchronous

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL ledgers outgrow 2**31.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware.

    SQLite has no time zones: values are stored naive (UTC) in one text format, so they
    compare correctly as strings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    synchronous: Synchronous = Synchronous.FULL,
    write_wait_seconds: float = sqlite.BUSY_TIMEOUT_SECONDS,
) -> Engine:
    """`write_wait_seconds`: SQLite only, how long a writer waits for the lock, then fails."""
    if is_sqlite(url):
        return _sqlite_engine(url, synchronous, write_wait_seconds)
    # No pre-ping: it costs a round trip per transaction. A connection that died is
    # detected on use, the pool is invalidated, and the caller retries with its idempotency key.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
    )


def _sqlite_engine(url: str, synchronous: Synchronous, write_wait_seconds: float) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # With this engine's own queue of writers.
    connection_class = sqlite.connection_class(write_wait_seconds)
    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": sqlite.BUSY_TIMEOUT_SECONDS,
            "factory": connection_class,
        },
    )
    _WRITERS[engine] = connection_class.writers

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        sqlite.configure(dbapi_connection, synchronous)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers: BEGIN IMMEDIATE in their turn; under `reading()`: a deferred, read-only
        # transaction that waits for nobody (see oms.sqlite).
        sqlite.begin(connection.connection.dbapi_connection)

    return engine


def writer_queue(engine: Engine) -> sqlite.WriterQueue:
    """The queue in which this SQLite engine's writers wait for their turn."""
    return _WRITERS[engine]


_WRITERS: WeakKeyDictionary[Engine, sqlite.WriterQueue] = WeakKeyDictionary()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
