"""Where a service-layer reservation spends its round trips and its time.

`census` counts what goes over the wire, from libpq's own protocol trace (so BEGIN, COMMIT and
the pool's pre-ping are seen too, which SQLAlchemy's cursor events miss). `cprofile_reservations`
splits the client's time between waiting for PostgreSQL and Python, by package.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import random
import re
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from psycopg import pq
from sqlalchemy import Engine, event

from oms.db import make_engine
from oms.inventory.domain import ReservationLine
from oms.inventory.services import InventoryService, ReserveStock

WARMUP_RESERVATIONS = 20  # psycopg prepares a statement on its 5th use: be past that
# One message per match; SQL text may span lines (libpq prints it raw).
_MESSAGE = re.compile(r"\n(?=[FB]\t\d+\t)")
_PARSE = re.compile(r'^F\t\d+\tParse\t "(?P<name>[^"]*)" "(?P<sql>(?:[^"\\]|\\.)*)"', re.S)
_BIND = re.compile(r'^F\t\d+\tBind\t "[^"]*" "(?P<name>[^"]*)"')
_QUERY = re.compile(r'^F\t\d+\tQuery\t "(?P<sql>(?:[^"\\]|\\.)*)"', re.S)

ServiceFactory = Callable[[Engine], InventoryService]


def _reserve(service: InventoryService, rng: random.Random, location: str, skus: list[str]) -> None:
    line = ReservationLine(rng.choice(skus), location, 1)
    service.reserve(ReserveStock([line], idempotency_key=f"bench:{uuid.uuid4()}"))


def _summary(sql: str) -> str:
    """`INSERT INTO movements`, `UPDATE stock_levels`, `SELECT skus`, `BEGIN`..."""
    words = sql.split()
    if not words:
        return "?"
    verb = words[0].upper()
    upper = [w.upper() for w in words]
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in upper:
            i = upper.index(marker)
            if i + 1 < len(words):
                target = words[i + 1].strip('"(,')
                return verb if verb == target.upper() else f"{verb} {target}"
    return " ".join(words[:3])


def _round_trips(trace: str) -> list[list[str]]:
    """The trace cut after each COMMIT: per transaction, the label of every round trip."""
    prepared: dict[str, str] = {}
    transactions: list[list[str]] = []
    current: list[str] = []
    pending: list[str] = []  # statements sent since the last ReadyForQuery
    for line in _MESSAGE.split(trace):
        if m := _PARSE.match(line):
            if m["name"]:
                prepared[m["name"]] = m["sql"]
            pending.append(_summary(m["sql"]))
        elif (m := _BIND.match(line)) and m["name"]:
            pending.append(_summary(prepared.get(m["name"], m["name"])))
        elif m := _QUERY.match(line):
            pending.append("(empty query: pool pre-ping)" if m["sql"] == ";" else m["sql"])
        elif line.startswith("B\t") and "\tReadyForQuery\t" in line:
            # One ReadyForQuery ends one round trip (psycopg's first-time prepare is one too).
            label = " + ".join(dict.fromkeys(pending)) or "?"
            current.append(label)
            pending = []
            # A transaction ends at COMMIT.
            if label == "COMMIT":
                transactions.append(current)
                current = []
    return transactions


def census(
    url: str, location: str, skus: list[str], reservations: int, *, service_for: ServiceFactory
) -> dict[str, Any]:
    """Round trips and SQL statements of one reservation, averaged over `reservations`.

    libpq traces the connection from its first message, so the names of prepared statements
    can be read back; the warm-up transactions are then left out of the counts.
    """
    engine = make_engine(url, pool_size=1)
    executed: list[str] = []
    fd, path = tempfile.mkstemp(prefix="oms-bench-trace-", suffix=".txt")
    traced: list[Any] = []

    def trace(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.pgconn.trace(fd)
        # Trace flags need libpq >= 14; psycopg[binary] bundles a newer one.
        dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        traced.append(dbapi_conn.pgconn)

    event.listen(engine, "connect", trace)
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: executed.append(statement),
    )
    service = service_for(engine)
    rng = random.Random(0)
    try:
        for _ in range(WARMUP_RESERVATIONS):
            _reserve(service, rng, location, skus)
        executed.clear()
        for _ in range(reservations):
            _reserve(service, rng, location, skus)
        for pgconn in traced:
            pgconn.untrace()  # flushes libpq's buffer into the file
        with open(path, encoding="utf-8", errors="replace") as file:
            # The last `reservations` transactions: connection set-up and the warm-up come first.
            transactions = _round_trips(file.read())[-reservations:]
    finally:
        engine.dispose()
        os.close(fd)
        os.unlink(path)
    if len(transactions) != reservations:
        raise RuntimeError(f"traced {len(transactions)} commits for {reservations} reservations")
    statements = Counter(_summary(s) for s in executed)
    return {
        "reservations": reservations,
        "round_trips_per_reservation": sum(len(t) for t in transactions) / reservations,
        "statements_per_reservation": len(executed) / reservations,
        "statements": {k: v / reservations for k, v in statements.most_common()},
        "one_reservation": transactions[-1],
    }


def _bucket(filename: str, function: str) -> str:
    path = filename.replace("\\", "/")
    # psycopg blocks on the socket in C (wait_c), inside Connection.wait's own time.
    if (path.endswith("psycopg/connection.py") and function == "wait") or "selectors.py" in path:
        return "waiting for PostgreSQL"
    for package in ("sqlalchemy", "psycopg", "oms", "bench"):
        if f"/{package}/" in path:
            return package
    return "python (stdlib, builtins)"


def cprofile_reservations(
    url: str, location: str, skus: list[str], reservations: int, *, service_for: ServiceFactory
) -> dict[str, Any]:
    """cProfile of single-client reservations: own time by package, and the top functions.

    cProfile inflates Python time (roughly 1.5-2x); compare shares, not absolute numbers.
    """
    engine = make_engine(url, pool_size=1)
    service = service_for(engine)
    rng = random.Random(0)
    profile = cProfile.Profile()
    try:
        for _ in range(WARMUP_RESERVATIONS):
            _reserve(service, rng, location, skus)
        profile.enable()
        for _ in range(reservations):
            _reserve(service, rng, location, skus)
        profile.disable()
    finally:
        engine.dispose()
    stats = pstats.Stats(profile)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in raw.values())
    buckets: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, tt, _ct, _callers) in raw.items():
        bucket = _bucket(filename, function)
        buckets[bucket] = buckets.get(bucket, 0.0) + tt
    top_cumulative = sorted(raw.items(), key=lambda item: item[1][3], reverse=True)
    interesting = [
        (f"{_short(filename)}:{line}({function})", ct / reservations * 1e6)
        for (filename, line, function), (_cc, _nc, _tt, ct, _callers) in top_cumulative
        if "/oms/" in filename or function in ("commit", "wait", "execute", "_execute_context")
    ][:25]
    return {
        "reservations": reservations,
        "profiled_us_per_reservation": round(total / reservations * 1e6, 1),
        "own_time_share": {
            k: round(v / total, 3) for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])
        },
        "cumulative_us_per_reservation": {name: round(us, 1) for name, us in interesting},
    }


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for package in ("sqlalchemy", "psycopg", "oms", "bench"):
        marker = f"/{package}/"
        if marker in path:
            return package + "/" + path.split(marker, 1)[1]
    return os.path.basename(path)
