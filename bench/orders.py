"""Orders placed per second, through the service layer and through HTTP, beside pgbench.

An order is 3 lines (distinct SKUs drawn uniformly from 10,000, 1 or 2 units each, a unit
price) shipped to a random prefecture. Placing it is everything `OrderService.place_order` does
in one transaction: ingest (idempotent on channel + external_id), sourcing over the 5 locations
feeding the channel (a DC, a second warehouse, 3 stores), the reservation of every shipment's
stock, the outbox events, and the channel numbers the reservation moved.

- service: client processes each wired like `oms.app` (engine, InventoryService, OrderService);
- http: the real app (`oms serve --workers N`, at 1 and at 2 processes; without Redis the
  in-process worker and relay run in one of them) and client processes POSTing /v1/orders
  with httpx;
- pgbench: PostgreSQL's built-in TPC-B-like script (scale 1) against the same server, in a
  database of its own, the same number of clients and duration: what this server does with
  small write transactions when no application is in the way.

Targets: service orders/s >= 0.5 x pgbench tps, HTTP >= 0.25 x, at 16 clients.
"""

from __future__ import annotations

import cProfile
import math
import os
import pstats
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from bench.database import (
    durability,
    libpq_conninfo,
    migrate,
    require_postgresql,
    server_version,
    settle,
    truncate_all,
)
from bench.harness import BenchConfig, BenchReport, Measurement, cpu_cell, measure, measurement_json
from bench.profiling import _summary
from oms.channels.availability.services.channels import ChannelService, CreateChannel
from oms.db import make_engine, make_session_factory
from oms.inventory.services import InventoryService
from oms.orders.domain.order import NewOrderLine
from oms.orders.services.placement import OrderService, PlaceOrder
from oms.settings import PROJECT_ROOT
from oms.shared.clock import utcnow
from oms.uow import SqlUnitOfWork

# code, name, kind, prefecture (JIS), postal code
LOCATIONS = (
    ("BENCH-DC", "Benchmark DC (Chiba)", "warehouse", "12", "272-0001"),
    ("BENCH-STORE-TOKYO", "Benchmark store Shibuya", "store", "13", "150-0001"),
    ("BENCH-STORE-OSAKA", "Benchmark store Umeda", "store", "27", "530-0001"),
    ("BENCH-STORE-FUKUOKA", "Benchmark store Tenjin", "store", "40", "810-0001"),
    ("BENCH-WH-WEST", "Benchmark warehouse Kobe", "warehouse", "28", "650-0001"),
)
CHANNEL = "bench-shop"
SKU_COUNT = 10_000
ON_HAND = 10**6  # at every location: no order is ever short
LINES_PER_ORDER = 3
TARGET_RATIO = 0.5
TARGET_HTTP_RATIO = 0.25
HTTP_PROCESSES = (1, 2)  # `oms serve --workers N`
TARGET_WORKERS = 16
PGBENCH_DATABASE = "bench_pgbench"
PGBENCH_SCALE = 1
PGBENCH_THREADS = 2
SERVER_START_TIMEOUT = 120.0
HTTP_TIMEOUT = 60.0
CENSUS_ORDERS = 50
PROFILE_ORDERS = 200
STARTED_THREADS = 3  # a `oms serve --workers N` child once its app has started
ERRORS_SHOWN = 3  # per client: the first refusals are printed with their traceback or body

SEEDED_TABLES = ["locations", "skus", "movements", "stock_levels", "channels"]


# ----------------------------------------------------------------------------- data


def seed(engine: Engine) -> None:
    """Empty database, then 5 locations, SKU_COUNT simple SKUs with stock at each, one channel.

    Bulk SQL, ledger first and projection summed from it (InventoryService.verify() is clean),
    then the channel through ChannelService, which publishes its number of every SKU.
    """
    now = utcnow()
    with engine.begin() as conn:
        truncate_all(conn)
        conn.execute(
            text(
                "INSERT INTO locations (code, name, kind, prefecture, postal_code,"
                " ships_to_customers, active, created_at)"
                " VALUES (:code, :name, :kind, :prefecture, :postal, true, true, :now)"
            ),
            [
                {"code": c, "name": n, "kind": k, "prefecture": p, "postal": z, "now": now}
                for c, n, k, p, z in LOCATIONS
            ],
        )
        conn.execute(
            text(
                "INSERT INTO skus (code, name, kind, attributes, ship_together, event_seq,"
                " created_at, updated_at)"
                " SELECT 'BENCH-' || lpad(n::text, 5, '0'), 'Benchmark item ' || n, 'simple',"
                " '{}', true, 0, :now, :now"
                " FROM generate_series(0, :count - 1) AS n ORDER BY n"
            ),
            {"count": SKU_COUNT, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO movements (type, sku_id, location_id, d_on_hand, d_reserved,"
                " d_quarantined, d_in_transit, quantity, idempotency_key, seq, recorded_at)"
                " SELECT 'receipt', s.id, l.id, :qty, 0, 0, 0, :qty,"
                " 'bench-seed:' || s.code || '@' || l.code, 0, :now"
                " FROM skus s CROSS JOIN locations l ORDER BY s.id, l.id"
            ),
            {"qty": ON_HAND, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO stock_levels (sku_id, location_id, on_hand, reserved, quarantined,"
                " in_transit, version, updated_at)"
                " SELECT sku_id, location_id, sum(d_on_hand), sum(d_reserved),"
                " sum(d_quarantined), sum(d_in_transit), count(*), :now"
                " FROM movements GROUP BY sku_id, location_id ORDER BY sku_id, location_id"
            ),
            {"now": now},
        )
    factory = make_session_factory(engine)
    inventory = InventoryService(lambda: SqlUnitOfWork(factory))
    channels = ChannelService(lambda: SqlUnitOfWork(factory), inventory)
    channels.create_channel(
        CreateChannel(CHANNEL, "Benchmark shop", "storefront", locations=[c[0] for c in LOCATIONS])
    )
    with engine.begin() as conn:
        # The channel's first number of each SKU is the seed's, not the orders': handled, the
        # app server's in-process worker would otherwise spend the measured window on them.
        conn.execute(text("UPDATE outbox SET published_at = :now"), {"now": now})
    settle(engine, SEEDED_TABLES)


def sku_codes() -> list[str]:
    return [f"BENCH-{n:05d}" for n in range(SKU_COUNT)]


class OrderMaker:
    """Random 3-line orders, each with an external_id no other client or run uses."""

    def __init__(self, index: int, tag: str) -> None:
        self._rng = random.Random(f"{tag}:{index}")
        self._skus = sku_codes()
        self._prefix = f"{tag}-{index}-{secrets.token_hex(3)}"
        self._count = 0

    def body(self) -> dict[str, Any]:
        """The order as the API takes it (PlaceOrderRequest)."""
        rng = self._rng
        self._count += 1
        return {
            "channel": CHANNEL,
            "external_id": f"{self._prefix}-{self._count}",
            "ordered_at": utcnow().isoformat(),
            "currency": "JPY",
            "lines": [
                {
                    "line_id": f"L{i + 1}",
                    "sku": sku,
                    "quantity": rng.randint(1, 2),
                    "unit_price": rng.randrange(300, 30_000, 10),
                }
                for i, sku in enumerate(rng.sample(self._skus, LINES_PER_ORDER))
            ],
            "ship_to": {
                "name": "Bench Customer",
                "postal_code": "100-0001",
                "prefecture": f"{rng.randint(1, 47):02d}",
                "city": "Bench City",
                "address1": f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
                "phone": "03-1234-5678",
            },
        }

    def command(self) -> PlaceOrder:
        body = self.body()
        return PlaceOrder(
            channel=body["channel"],
            external_id=body["external_id"],
            ordered_at=utcnow(),
            currency=body["currency"],
            lines=[
                NewOrderLine(ln["line_id"], ln["sku"], ln["quantity"], ln["unit_price"])
                for ln in body["lines"]
            ],
            ship_to=body["ship_to"],
        )


# ----------------------------------------------------------------------------- clients


def _report_error(label: str, shown: int, detail: str) -> int:
    """Print the first refusals of a client on stderr; returns how many were shown."""
    if shown < ERRORS_SHOWN:
        print(f"bench orders: {label}: {detail}", file=sys.stderr, flush=True)
    return shown + 1


class ServiceClient:
    """OrderService.place_order, wired in this process as oms.app wires it."""

    def __init__(self, index: int, url: str) -> None:
        self.engine = make_engine(url, pool_size=1)
        self._pids: list[int] = []
        event.listen(
            self.engine, "connect", lambda dbapi, _rec: self._pids.append(dbapi.info.backend_pid)
        )
        factory = make_session_factory(self.engine)
        inventory = InventoryService(lambda: SqlUnitOfWork(factory))
        self._orders = OrderService(lambda: SqlUnitOfWork(factory), inventory)
        self._maker = OrderMaker(index, "svc")
        self._label = f"service client {index}"
        self._errors = 0

    def backend_pids(self) -> list[int]:
        return self._pids

    def step(self) -> bool:
        try:
            placed = self._orders.place_order(self._maker.command(), actor="bench")
        except Exception:
            self._errors = _report_error(self._label, self._errors, traceback.format_exc())
            return False
        if not placed.created:
            self._errors = _report_error(self._label, self._errors, "order replayed, not created")
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()


class HttpClient:
    """POST /v1/orders with httpx, one connection kept alive; only a 201 counts.

    Client 0 also answers for the app server's processes, so that the harness reads their CPU
    over the measured window (once, not once per client).
    """

    def __init__(self, index: int, base_url: str, api_key: str, server_pids: list[int]) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=HTTP_TIMEOUT,
        )
        self._maker = OrderMaker(index, "http")
        self._pids = list(server_pids) if index == 0 else []
        self._label = f"http client {index}"
        self._errors = 0

    def backend_pids(self) -> list[int]:
        return self._pids

    def step(self) -> bool:
        try:
            response = self._http.post("/v1/orders", json=self._maker.body())
        except httpx.HTTPError as error:
            self._errors = _report_error(self._label, self._errors, repr(error))
            return False
        if response.status_code == 201:
            return True
        self._errors = _report_error(
            self._label, self._errors, f"HTTP {response.status_code}: {response.text[:500]}"
        )
        return False

    def close(self) -> None:
        self._http.close()


# ----------------------------------------------------------------------------- the app server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(slots=True)
class AppServer:
    process: subprocess.Popen[bytes]
    base_url: str
    api_key: str
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def pids(self) -> list[int]:
        """The server's processes: with --workers N, uvicorn's parent and its N children."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            found = [int(p) for p in children.read_text().split()]
        except OSError:
            found = []
        return [self.pid, *found]

    def started(self, processes: int) -> bool:
        """Every process has started its app: with N > 1, each runs a BackgroundLeader thread
        from its startup on (uvicorn's child has two threads before: main and health check).
        One process answering /ready says nothing of the others, which share its socket."""
        if processes == 1:
            return True
        started = 0
        for pid in self.pids()[1:]:  # also multiprocessing's resource tracker, one thread
            try:
                started += len(list(Path(f"/proc/{pid}/task").iterdir())) >= STARTED_THREADS
            except OSError:
                continue
        return started >= processes

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        self.log.seek(0)
        return "\n".join(self.log.read().decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # uvicorn shuts down gracefully on SIGTERM
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start_app(url: str, preamble: str = "", processes: int = 1) -> AppServer:
    """`oms serve --workers processes` on a free port, against `url`, with a bootstrap admin
    key; waits for /ready (of every process: each answers only once it has started).

    `preamble`: Python run in the server process first (a baseline's stand-in code).
    """
    port = _free_port()
    api_key = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "OMS_DATABASE_URL": url,
        "OMS_BOOTSTRAP_ADMIN_KEY": api_key,
        "OMS_REDIS_URL": "",  # embedded: worker and relay run in the app's process
        "OMS_LOG_LEVEL": "WARNING",  # no access log line per request
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by AppServer.stop
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-c",
            f"{preamble}\nfrom oms.cli import main; main()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *(["--workers", str(processes)] if processes > 1 else []),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    server = AppServer(process, f"http://127.0.0.1:{port}", api_key, log)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last = ""
    with httpx.Client(base_url=server.base_url, timeout=5.0) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = server.log_tail()
                server.stop()
                raise RuntimeError(f"the app server exited with {process.returncode}:\n{tail}")
            try:
                response = probe.get("/ready")
                if response.status_code == 200 and server.started(processes):
                    return server
                last = f"/ready answered {response.status_code}: {response.text[:300]}"
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(0.2)
    tail = server.log_tail()
    server.stop()
    raise RuntimeError(
        f"the app server was not ready in {SERVER_START_TIMEOUT:.0f} s ({last}):\n{tail}"
    )


# ----------------------------------------------------------------------------- pgbench


@dataclass(frozen=True, slots=True)
class PgbenchResult:
    tps: float
    transactions: int
    seconds: int
    failed: int
    load_average: float
    command: str


_TPS = re.compile(
    r"^tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)",
    re.M,
)
_PROCESSED = re.compile(r"^number of transactions actually processed: (\d+)", re.M)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)


def pgbench_binary() -> str:
    """pgbench of the server's installation: Debian keeps it off PATH."""
    candidates = []
    if os.environ.get("OMS_TEST_PG_BINDIR"):
        candidates.append(Path(os.environ["OMS_TEST_PG_BINDIR"]) / "pgbench")
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run(  # noqa: S603 - pg_config from PATH
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir:
            candidates.append(Path(bindir) / "pgbench")
    found = shutil.which("pgbench")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError(
        "pgbench not found: set OMS_TEST_PG_BINDIR (scripts/testenv.sh exports it) or install"
        " PostgreSQL's client programs (Debian: postgresql-client)"
    )


def _pgbench_conninfo(url: str) -> str:
    return libpq_conninfo(
        make_url(url).set(database=PGBENCH_DATABASE).render_as_string(hide_password=False)
    )


def pgbench_prepare(url: str, binary: str) -> None:
    """A fresh database of its own on the same server, initialised at scale 1."""
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        name = sql.Identifier(PGBENCH_DATABASE)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    subprocess.run(  # noqa: S603 - the server's own pgbench
        [binary, "-i", "-q", "-s", str(PGBENCH_SCALE), _pgbench_conninfo(url)],
        check=True,
        capture_output=True,
    )
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def pgbench_run(url: str, binary: str, clients: int, seconds: int) -> PgbenchResult:
    load_average = os.getloadavg()[0]
    args = [binary, "-c", str(clients), "-j", str(PGBENCH_THREADS), "-T", str(seconds), "-n"]
    done = subprocess.run(  # noqa: S603 - the server's own pgbench
        [*args, _pgbench_conninfo(url)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    tps = _TPS.search(done.stdout)
    processed = _PROCESSED.search(done.stdout)
    if tps is None or processed is None:
        raise RuntimeError(f"pgbench printed no tps line:\n{done.stdout}")
    failed = _FAILED.search(done.stdout)
    return PgbenchResult(
        tps=float(tps.group(1)),
        transactions=int(processed.group(1)),
        seconds=seconds,
        failed=int(failed.group(1)) if failed else 0,
        load_average=load_average,
        command=" ".join([Path(binary).name, *args[1:], PGBENCH_DATABASE]),
    )


def pgbench_drop(url: str) -> None:
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(PGBENCH_DATABASE)
            )
        )


# ----------------------------------------------------------------------------- checks


CHECKS: dict[str, str] = {
    # Every unit of every order line is in a live shipment (stock never runs short here).
    "order lines not fully in shipments": """
        WITH want AS (SELECT order_id, line_id, sku, quantity FROM order_lines),
        got AS (
            SELECT s.order_id, sl.line_id, sl.sku, sum(sl.quantity) AS quantity
            FROM shipments s JOIN shipment_lines sl ON sl.shipment_id = s.id
            WHERE s.status <> 'cancelled' GROUP BY s.order_id, sl.line_id, sl.sku)
        SELECT count(*) FROM want FULL JOIN got USING (order_id, line_id, sku)
        WHERE want.quantity IS DISTINCT FROM got.quantity""",
    # Each pending shipment holds an active reservation of exactly its units.
    "shipments without an active reservation": """
        SELECT count(*) FROM shipments s LEFT JOIN reservations r ON r.id = s.reservation_id
        WHERE s.status = 'pending' AND (r.id IS NULL OR r.status <> 'active')""",
    "shipment lines != reservation lines": """
        WITH shipped AS (
            SELECT s.reservation_id, k.id AS sku_id, l.id AS location_id,
                   sum(sl.quantity) AS quantity
            FROM shipments s JOIN shipment_lines sl ON sl.shipment_id = s.id
            JOIN skus k ON k.code = sl.sku JOIN locations l ON l.code = s.location
            WHERE s.status = 'pending' GROUP BY s.reservation_id, k.id, l.id),
        held AS (
            SELECT rl.reservation_id, rl.sku_id, rl.location_id, rl.quantity
            FROM reservation_lines rl JOIN reservations r ON r.id = rl.reservation_id
            WHERE r.status = 'active')
        SELECT count(*) FROM shipped FULL JOIN held USING (reservation_id, sku_id, location_id)
        WHERE shipped.quantity IS DISTINCT FROM held.quantity""",
    "orders not allocated": "SELECT count(*) FROM orders WHERE status <> 'allocated'",
    "orders without exactly one sourcing decision": """
        SELECT count(*) FROM orders o
        WHERE (SELECT count(*) FROM sourcing_decisions d WHERE d.order_id = o.id) <> 1""",
    "orders without exactly one OrderPlaced event": """
        SELECT count(*) FROM orders o WHERE (
            SELECT count(*) FROM outbox e
            WHERE e.event = 'OrderPlaced' AND e.partition_key = 'order:' || o.id) <> 1""",
    # Oversell: the CHECK constraints forbid it; asserted anyway.
    "stock levels with available < 0": (
        "SELECT count(*) FROM stock_levels WHERE on_hand - reserved - quarantined < 0"
    ),
    # The projection's reserved units are exactly the active reservations'.
    "stock levels whose reserved != active reservations": """
        WITH held AS (
            SELECT rl.sku_id, rl.location_id, sum(rl.quantity) AS quantity
            FROM reservation_lines rl JOIN reservations r ON r.id = rl.reservation_id
            WHERE r.status = 'active' GROUP BY rl.sku_id, rl.location_id)
        SELECT count(*) FROM stock_levels sl
        LEFT JOIN held h ON h.sku_id = sl.sku_id AND h.location_id = sl.location_id
        WHERE sl.reserved <> coalesce(h.quantity, 0)""",
}


def check(admin: Engine, label: str, result: Measurement) -> tuple[list[str], dict[str, Any]]:
    """Failures of the correctness checks after a run, and what the database holds."""
    failures: list[str] = []
    with admin.connect() as conn:
        orders = int(conn.execute(text("SELECT count(*) FROM orders")).scalar_one())
        shipments = int(conn.execute(text("SELECT count(*) FROM shipments")).scalar_one())
        units = int(
            conn.execute(text("SELECT coalesce(sum(quantity), 0) FROM order_lines")).scalar_one()
        )
        reserved = int(
            conn.execute(text("SELECT coalesce(sum(reserved), 0) FROM stock_levels")).scalar_one()
        )
        broken = {name: int(conn.execute(text(q)).scalar_one()) for name, q in CHECKS.items()}
    if result.failed:
        failures.append(f"{label}: {result.failed} orders refused (see stderr above)")
    if orders != result.succeeded:
        failures.append(f"{label}: {orders} orders in the database, {result.succeeded} placed")
    if reserved != units:
        failures.append(f"{label}: {reserved} units reserved, {units} units ordered")
    for name, count in broken.items():
        if count:
            failures.append(f"{label}: {count} {name}")
    factory = make_session_factory(admin)
    report = InventoryService(lambda: SqlUnitOfWork(factory)).verify()
    if not report.clean:
        failures.append(
            f"{label}: ledger != projection at {len(report.differences)} levels,"
            f" e.g. {report.differences[0]}"
        )
    state = {
        "orders": orders,
        "shipments": shipments,
        "units": units,
        "shipments_per_order": round(shipments / orders, 3) if orders else None,
    }
    return failures, state


# ----------------------------------------------------------------------------- where the time goes


def census(url: str) -> dict[str, Any]:
    """SQL statements one service-layer order sends, by kind (BEGIN and COMMIT not counted)."""
    client = ServiceClient(0, url)
    try:
        for _ in range(20):  # psycopg prepares a statement on its 5th use: be past that
            client.step()
        seen: Counter[str] = Counter()

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen[_summary(statement)] += 1

        event.listen(client.engine, "before_cursor_execute", count)
        started = time.perf_counter()
        cpu = time.process_time()
        for _ in range(CENSUS_ORDERS):
            client.step()
        wall = (time.perf_counter() - started) / CENSUS_ORDERS * 1e3
        cpu = (time.process_time() - cpu) / CENSUS_ORDERS * 1e3
    finally:
        client.close()
    return {
        "orders": CENSUS_ORDERS,
        "statements_per_order": round(sum(seen.values()) / CENSUS_ORDERS, 2),
        "one_client_ms_per_order": round(wall, 2),
        "one_client_cpu_ms_per_order": round(cpu, 2),
        "statements": {k: round(v / CENSUS_ORDERS, 2) for k, v in seen.most_common()},
    }


def cprofile_orders(url: str) -> list[dict[str, Any]]:
    """Cumulative time per order of the oms functions that take the most, one client."""
    client = ServiceClient(0, url)
    try:
        for _ in range(20):
            client.step()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(PROFILE_ORDERS):
            client.step()
        profile.disable()
    finally:
        client.close()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    root = str(PROJECT_ROOT / "oms") + os.sep
    rows = [
        {
            "function": f"{file.removeprefix(root)}:{line}({name})",
            "calls_per_order": round(calls / PROFILE_ORDERS, 2),
            "cumulative_ms_per_order": round(cumulative / PROFILE_ORDERS * 1e3, 3),
        }
        for (file, line, name), (_cc, calls, _tt, cumulative, _callers) in stats.items()
        if file.startswith(root)
    ]
    rows.sort(key=lambda r: -float(r["cumulative_ms_per_order"]))
    return rows[:30]


# ----------------------------------------------------------------------------- the benchmark


def _http_run(
    admin: Engine, url: str, processes: int, *, workers: int, seconds: int, warmup: int
) -> tuple[Measurement, list[str], dict[str, Any]]:
    """POST /v1/orders against `oms serve --workers processes`, on a fresh seed; checked."""
    seed(admin)
    admin.dispose()
    server = start_app(url, processes=processes)
    failures: list[str] = []
    try:
        result = measure(
            HttpClient,
            (server.base_url, server.api_key, server.pids()),
            workers=workers,
            seconds=seconds,
            warmup=warmup,
        )
        if server.process.poll() is not None:
            failures.append(f"http x{processes}: the app server died:\n{server.log_tail()}")
        else:
            # What the app logged at WARNING or above: it should have nothing to say.
            logged = server.log_tail(10).strip()
            if logged:
                print(f"  app server log (last lines):\n{logged}", flush=True)
    finally:
        server.stop()
    checked, state = check(admin, f"http x{processes} processes, {workers} clients", result)
    return result, failures + checked, state


def run(config: BenchConfig) -> BenchReport:
    url = config.database_url
    require_postgresql(url)
    migrate(url)
    admin = make_engine(url, pool_size=1)
    try:
        return _run(config, admin)
    finally:
        admin.dispose()


def _run(config: BenchConfig, admin: Engine) -> BenchReport:
    url = config.database_url
    workers = TARGET_WORKERS if TARGET_WORKERS in config.workers else max(config.workers)
    seconds = max(1, math.ceil(config.seconds))  # pgbench -T takes whole seconds
    warmup = math.ceil(config.warmup) if config.warmup > 0 else 0
    failures: list[str] = []

    binary = pgbench_binary()
    pgbench_prepare(url, binary)
    try:
        if warmup:
            pgbench_run(url, binary, workers, warmup)
        bench = pgbench_run(url, binary, workers, seconds)
    finally:
        pgbench_drop(url)
    if bench.failed:
        failures.append(f"pgbench: {bench.failed} transactions failed")
    print(f"  pgbench    {workers:>2} clients: {bench.tps:,.0f} tps", flush=True)

    seed(admin)
    admin.dispose()  # no pooled connection may be inherited by the forked clients
    service = measure(ServiceClient, (url,), workers=workers, seconds=seconds, warmup=warmup)
    service_failures, service_state = check(admin, f"service x{workers}", service)
    failures += service_failures
    print(f"  service    {workers:>2} clients: {service.per_second:,.0f} orders/s", flush=True)

    http: dict[int, Measurement] = {}
    http_state: dict[int, dict[str, Any]] = {}
    for processes in HTTP_PROCESSES:
        http[processes], http_failures, http_state[processes] = _http_run(
            admin, url, processes, workers=workers, seconds=seconds, warmup=warmup
        )
        failures += http_failures
        print(
            f"  http x{processes}    {workers:>2} clients: {http[processes].per_second:,.0f}"
            " orders/s",
            flush=True,
        )

    # After the checks: these orders add to the database, in this (parent) process.
    statements = census(url)
    if config.profile:
        statements["cprofile"] = cprofile_orders(url)
    top = ", ".join(f"{k} {v:g}" for k, v in list(statements["statements"].items())[:8])

    def ratio(per_second: float) -> float:
        return per_second / bench.tps if bench.tps else 0.0

    met = ratio(service.per_second) >= TARGET_RATIO
    rows: list[list[Any]] = [
        [
            "pgbench (TPC-B-like)",
            workers,
            round(bench.tps),
            "1.00",
            "-",
            bench.failed,
            f"{bench.load_average:.1f}",
        ],
        [
            "service (OrderService)",
            workers,
            round(service.per_second),
            f"{ratio(service.per_second):.2f}",
            cpu_cell(service),
            service.failed,
            f"{service.load_average:.1f}",
        ],
        *(
            [
                f"http (POST /v1/orders), {n} process{'es' if n > 1 else ''}",
                workers,
                round(m.per_second),
                f"{ratio(m.per_second):.2f}",
                cpu_cell(m),
                m.failed,
                f"{m.load_average:.1f}",
            ]
            for n, m in http.items()
        ),
    ]
    notes = [
        (
            "verified after each run: every order placed is in the database, fully in shipments"
            " whose active reservations hold exactly their units, one decision and one"
            " OrderPlaced event each; reserved == units ordered; no available < 0;"
            " InventoryService.verify() clean"
            if not failures
            else f"{len(failures)} correctness checks FAILED (see below)"
        ),
        f"orders: {LINES_PER_ORDER} lines over {SKU_COUNT:,} SKUs, 1-2 units each, random"
        f" prefecture; {len(LOCATIONS)} locations feed channel {CHANNEL};"
        f" shipments/order: service {service_state['shipments_per_order']}"
        + "".join(f", http x{n} {state['shipments_per_order']}" for n, state in http_state.items()),
        f"pgbench: `{bench.command}` (scale {PGBENCH_SCALE}), after {warmup} s of warm-up;"
        f" service and http: {warmup} s warm-up, then {seconds} s counted",
        "http: `oms serve --workers N` (uvicorn; without Redis the in-process worker and relay"
        " run in one of the N); only 201s count",
        "cpu ms/order: service: client processes + their PostgreSQL backends;"
        " http: httpx clients + the app server's processes (their PostgreSQL backends not"
        " counted)",
        f"service: {statements['statements_per_order']:g} SQL statements per order"
        f" (+ BEGIN, COMMIT); one client alone: {statements['one_client_ms_per_order']:.1f} ms"
        f" per order, {statements['one_client_cpu_ms_per_order']:.1f} ms of it client CPU",
        f"  most sent: {top}",
        f"target: service >= {TARGET_RATIO} x pgbench tps at {workers} clients: "
        + ("met" if met else "MISSED")
        + ("" if workers == TARGET_WORKERS else f" (measured at {workers}, not {TARGET_WORKERS})"),
    ]
    if len(http) > 1:
        one, two = http[HTTP_PROCESSES[0]], http[HTTP_PROCESSES[-1]]
        notes.append(
            f"http at {HTTP_PROCESSES[-1]} processes / at {HTTP_PROCESSES[0]}:"
            f" {two.per_second / one.per_second if one.per_second else 0:.2f}"
        )
    document = {
        "benchmark": "orders",
        "postgresql": server_version(admin),
        "durability": durability(admin),
        "seconds": seconds,
        "warmup": warmup,
        "clients": workers,
        "skus": SKU_COUNT,
        "locations": [{"code": c, "kind": k, "prefecture": p} for c, _, k, p, _ in LOCATIONS],
        "lines_per_order": LINES_PER_ORDER,
        "pgbench": {
            "command": bench.command,
            "scale": PGBENCH_SCALE,
            "tps": round(bench.tps, 1),
            "transactions": bench.transactions,
            "failed": bench.failed,
            "load_average_before": round(bench.load_average, 2),
        },
        "service": {**measurement_json(service), "ratio": round(ratio(service.per_second), 3)},
        "http": {
            f"{n}_process{'es' if n > 1 else ''}": {
                **measurement_json(m),
                "processes": n,
                "ratio": round(ratio(m.per_second), 3),
            }
            for n, m in http.items()
        },
        "database_after": {"service": service_state, "http": http_state},
        "profile": statements,
        "target": {"ratio": TARGET_RATIO, "workers": TARGET_WORKERS, "met": met},
        "failures": failures,
    }
    report = BenchReport(
        name="orders",
        columns=["path", "clients", "per second", "ratio", "cpu ms/order", "failed", "load"],
        rows=rows,
        document=document,
        notes=notes,
        failures=failures,
    )
    _targets(report, bench.tps, service, http, statements, workers)
    return report


def _targets(
    report: BenchReport,
    pgbench_tps: float,
    service: Measurement,
    http: dict[int, Measurement],
    statements: dict[str, Any],
    workers: int,
) -> None:
    """The issue's targets, each beside pgbench's tps of the same run; what an order costs."""
    report.target(
        "order_placement_service_ratio",
        figure=service.per_second,
        baseline=pgbench_tps,
        target=TARGET_RATIO,
        unit="orders/s",
        what=f"OrderService.place_order (3 lines), {workers} clients, / pgbench TPC-B tps",
    )
    keys = {1: "order_placement_http_ratio", 2: "order_placement_http_2proc_ratio"}
    for processes, measured in http.items():
        report.target(
            keys.get(processes, f"order_placement_http_{processes}proc_ratio"),
            figure=measured.per_second,
            baseline=pgbench_tps,
            target=TARGET_HTTP_RATIO,
            unit="orders/s",
            what=f"POST /v1/orders, `oms serve --workers {processes}`, {workers} clients,"
            " / pgbench TPC-B tps",
        )
    client_cpu, backend_cpu = service.cpu_ms_per_op()
    report.document["per_order"] = {
        "statements": statements["statements_per_order"],
        "client_cpu_ms_one_client": statements["one_client_cpu_ms_per_order"],
        "client_cpu_ms_at_load": round(client_cpu, 2),
        "backend_cpu_ms_at_load": _rounded(backend_cpu),
        "http_server_cpu_ms": {n: _rounded(m.cpu_ms_per_op()[1]) for n, m in http.items()},
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
