"""Reservations per second through InventoryService.reserve, against the bare driver.

Each operation reserves 1 unit of one SKU at one location. The service does it the way the API
does: one transaction, a fresh idempotency key, ledger row, projection update and outbox event.
The baseline is the conditional UPDATE alone, issued by psycopg in autocommit: the floor of
what any reservation costs on this database, measured in the same run on the same data.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, event, text

from bench.database import (
    durability,
    libpq_conninfo,
    migrate,
    require_postgresql,
    server_version,
    settle,
    truncate_all,
)
from bench.harness import (
    BenchConfig,
    BenchReport,
    CallerMeasurement,
    Measurement,
    cpu_cell,
    measure,
    measure_callers,
    measurement_json,
)
from bench.profiling import census, cprofile_reservations
from oms.db import make_engine, make_session_factory
from oms.inventory.domain import InsufficientStock, ReservationLine
from oms.inventory.services import InventoryService, ReserveStock
from oms.shared.clock import utcnow
from oms.uow import SqlUnitOfWork

LOCATION = "BENCH-DC"
SKU_COUNT = 10_000
HOT_SKU = "BENCH-00000"
# Enough that no reservation fails: 16 fast clients make well under a million a minute.
HOT_ON_HAND = 10**9
ON_HAND = 10**6
TARGET_RATIO = 0.5
TARGET_WORKERS = 16
# Many callers on the hot SKU: their throughput / TARGET_WORKERS' must stay >= this.
CROWD = 64
CROWD_TARGET = 0.8
P99_TARGET_MS = 250.0
# The service's callers are threads in this many processes (`oms serve --workers 2`).
SERVICE_PROCESSES = 2
CENSUS_RESERVATIONS = 200
PROFILE_RESERVATIONS = 2000

BASELINE_SQL = (
    "UPDATE stock_levels SET reserved = reserved + 1"
    " WHERE sku_id = %s AND location_id = %s AND on_hand - reserved - quarantined >= 1"
)
SEEDED_TABLES = ["locations", "skus", "movements", "stock_levels"]


@dataclass(frozen=True, slots=True)
class Catalog:
    location_id: int
    sku_ids: dict[str, int]  # code -> id


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    skus: list[str]  # each operation picks one uniformly


# ----------------------------------------------------------------------------- data


def seed(engine: Engine) -> Catalog:
    """Empty database, then one location and SKU_COUNT simple SKUs with stock.

    Bulk SQL (a second, not minutes of service calls), but ledger first and projection summed
    from it, so InventoryService.verify() is clean before the first reservation.
    """
    now = utcnow()
    with engine.begin() as conn:
        truncate_all(conn)
        location_id = conn.execute(
            text(
                "INSERT INTO locations (code, name, kind, prefecture, postal_code,"
                " ships_to_customers, active, created_at)"
                " VALUES (:code, 'Benchmark DC', 'warehouse', '13', '100-0001', true, true, :now)"
                " RETURNING id"
            ),
            {"code": LOCATION, "now": now},
        ).scalar_one()
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
                " SELECT 'receipt', id, :location_id, q, 0, 0, 0, q, 'bench-seed:' || code, 0, :now"
                " FROM (SELECT id, code,"
                " CASE WHEN code = :hot THEN :hot_qty ELSE :qty END AS q FROM skus) AS s"
                " ORDER BY id"
            ),
            {
                "location_id": location_id,
                "hot": HOT_SKU,
                "hot_qty": HOT_ON_HAND,
                "qty": ON_HAND,
                "now": now,
            },
        )
        conn.execute(
            text(
                "INSERT INTO stock_levels (sku_id, location_id, on_hand, reserved, quarantined,"
                " in_transit, version, updated_at)"
                " SELECT sku_id, location_id, sum(d_on_hand), sum(d_reserved),"
                " sum(d_quarantined), sum(d_in_transit), count(*), :now"
                " FROM movements GROUP BY sku_id, location_id ORDER BY sku_id"
            ),
            {"now": now},
        )
        sku_ids = {r.code: r.id for r in conn.execute(text("SELECT code, id FROM skus"))}
    settle(engine, SEEDED_TABLES)
    return Catalog(int(location_id), sku_ids)


def reserved_total(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT coalesce(sum(reserved), 0) FROM stock_levels")).scalar_one()
        )


def service_for(engine: Engine) -> InventoryService:
    """Wired as the API and the workers wire it."""
    factory = make_session_factory(engine)
    return InventoryService(lambda: SqlUnitOfWork(factory))


# ----------------------------------------------------------------------------- clients


class BaselineClient:
    """The conditional UPDATE alone, psycopg in autocommit: one round trip, one commit."""

    def __init__(self, index: int, conninfo: str, location_id: int, sku_ids: list[int]) -> None:
        self._conn = psycopg.connect(conninfo, autocommit=True)
        self._cursor = self._conn.cursor()
        self._rng = random.Random(index)
        self._location_id = location_id
        self._sku_ids = sku_ids

    def backend_pids(self) -> list[int]:
        return [self._conn.info.backend_pid]

    def step(self) -> bool:
        sku_id = self._rng.choice(self._sku_ids)
        self._cursor.execute(BASELINE_SQL, (sku_id, self._location_id))
        return self._cursor.rowcount == 1

    def close(self) -> None:
        self._conn.close()


class ServiceClient:
    """InventoryService.reserve: one line of 1 unit, a fresh key. One per process, called by
    several threads at once, as the request threads of `oms serve` call it: what arrives
    together is taken together (oms.shared.admission)."""

    def __init__(self, index: int, url: str, location: str, skus: list[str]) -> None:
        self._engine = make_engine(url, pool_size=4)
        self._pids: list[int] = []
        event.listen(
            self._engine, "connect", lambda dbapi, _rec: self._pids.append(dbapi.info.backend_pid)
        )
        self._service = service_for(self._engine)
        self._rngs: dict[int, random.Random] = {}
        self._location = location
        self._skus = skus

    def backend_pids(self) -> list[int]:
        return self._pids

    def step(self, caller: int = 0) -> bool:
        rng = self._rngs.get(caller)
        if rng is None:
            rng = self._rngs[caller] = random.Random(caller)
        line = ReservationLine(rng.choice(self._skus), self._location, 1)
        try:
            self._service.reserve(ReserveStock([line], idempotency_key=f"bench:{uuid.uuid4()}"))
        except InsufficientStock:
            return False
        return True

    def close(self) -> None:
        self._engine.dispose()


# ----------------------------------------------------------------------------- the benchmark


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
    catalog = seed(admin)
    scenarios = [
        Scenario("hot-sku", "every reservation on one SKU", [HOT_SKU]),
        Scenario(f"{SKU_COUNT}-skus", "SKU chosen uniformly", sorted(catalog.sku_ids)),
    ]
    rows: list[list[Any]] = []
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    p99: dict[tuple[str, int], float] = {}
    per_second: dict[tuple[str, int], float] = {}
    for scenario in scenarios:
        counts = list(config.workers)
        if scenario.name == "hot-sku" and TARGET_WORKERS in counts and CROWD not in counts:
            counts.append(CROWD)
        for workers in counts:
            base = _measure_baseline(config, admin, scenario, workers, failures)
            callers = _measure_service(config, admin, scenario, workers, failures)
            service = callers.measurement
            ratio = service.per_second / base.per_second if base.per_second else 0.0
            p99[(scenario.name, workers)] = callers.percentile(99)
            per_second[(scenario.name, workers)] = service.per_second
            rows.append(
                [
                    scenario.name,
                    workers,
                    round(base.per_second),
                    round(service.per_second),
                    f"{ratio:.2f}",
                    cpu_cell(base),
                    cpu_cell(service),
                    f"{callers.percentile(50):.1f}",
                    f"{callers.percentile(99):.1f}",
                    f"{service.load_average:.1f}",
                ]
            )
            results.append(
                {
                    "scenario": scenario.name,
                    "workers": workers,
                    "baseline_per_s": round(base.per_second, 1),
                    "service_per_s": round(service.per_second, 1),
                    "ratio": round(ratio, 3),
                    "service_p50_ms": round(callers.percentile(50), 2),
                    "service_p99_ms": round(callers.percentile(99), 2),
                    "baseline": measurement_json(base),
                    "service": measurement_json(service),
                }
            )
            print(
                f"  {scenario.name:<11} {workers:>2} callers: baseline {base.per_second:,.0f}/s,"
                f" service {service.per_second:,.0f}/s, ratio {ratio:.2f},"
                f" p99 {callers.percentile(99):.0f} ms",
                flush=True,
            )

    seed(admin)
    profile = census(
        url, LOCATION, sorted(catalog.sku_ids), CENSUS_RESERVATIONS, service_for=service_for
    )
    if config.profile:
        seed(admin)
        profile["cprofile"] = cprofile_reservations(
            url, LOCATION, sorted(catalog.sku_ids), PROFILE_RESERVATIONS, service_for=service_for
        )

    report = BenchReport(name="reservations", columns=[], rows=[], document={})
    for r in results:
        if r["workers"] == TARGET_WORKERS:
            report.target(
                "reservation_hot_sku_ratio"
                if r["scenario"] == "hot-sku"
                else "reservation_10k_skus_ratio",
                figure=r["service_per_s"],
                baseline=r["baseline_per_s"],
                target=TARGET_RATIO,
                unit="reservations/s",
                what=f"{r['scenario']}: service / bare UPDATE, {TARGET_WORKERS} callers",
            )
    if ("hot-sku", CROWD) in per_second and ("hot-sku", TARGET_WORKERS) in per_second:
        report.target(
            "reservation_64_vs_16_callers",
            figure=per_second[("hot-sku", CROWD)],
            baseline=per_second[("hot-sku", TARGET_WORKERS)],
            target=CROWD_TARGET,
            unit="reservations/s",
            what=f"hot SKU: service at {CROWD} callers / at {TARGET_WORKERS}",
        )
        report.target(
            "reservation_p99_ms_64_callers",
            figure=p99[("hot-sku", CROWD)],
            baseline=None,
            target=P99_TARGET_MS,
            at_least=False,
            unit="ms",
            what=f"p99 latency of a reservation, hot SKU, {CROWD} callers",
        )
    target = {k: t["met"] for k, t in report.targets.items()}
    checks = (
        "verified after every run: units reserved == operations that succeeded;"
        " service runs also: one reservation row each, InventoryService.verify() clean"
    )
    notes = [
        checks if not failures else f"{len(failures)} correctness checks FAILED (see below)",
        "cpu ms/op: client+server (PostgreSQL backends) CPU per operation;"
        " load: 1-minute load average before the service run",
        f"service callers are threads in {SERVICE_PROCESSES} processes (as `oms serve"
        f" --workers {SERVICE_PROCESSES}`); baseline clients are one process each",
        f"service round trips per reservation: {profile['round_trips_per_reservation']:.2f}"
        f" ({profile['statements_per_reservation']:.2f} SQL statements issued by SQLAlchemy)",
        "  " + ", ".join(profile["one_reservation"]),
    ]
    document = {
        "benchmark": "reservations",
        "postgresql": server_version(admin),
        "durability": durability(admin),
        "seconds": config.seconds,
        "warmup": config.warmup,
        "skus": SKU_COUNT,
        "scenarios": {sc.name: sc.description for sc in scenarios},
        "baseline_sql": BASELINE_SQL,
        "target": {"ratio": TARGET_RATIO, "workers": TARGET_WORKERS, "met": target},
        "service_processes": SERVICE_PROCESSES,
        "results": results,
        "profile": profile,
        "failures": failures,
    }
    return BenchReport(
        name="reservations",
        columns=[
            "scenario",
            "workers",
            "baseline/s",
            "service/s",
            "ratio",
            "baseline cpu ms/op",
            "service cpu ms/op",
            "p50 ms",
            "p99 ms",
            "load",
        ],
        rows=rows,
        document=document,
        notes=notes,
        failures=failures,
        targets=report.targets,
    )


def _measure_baseline(
    config: BenchConfig, admin: Engine, scenario: Scenario, workers: int, failures: list[str]
) -> Measurement:
    catalog = seed(admin)
    admin.dispose()  # no pooled connection may be inherited by the forked clients
    result = measure(
        BaselineClient,
        (
            libpq_conninfo(config.database_url),
            catalog.location_id,
            [catalog.sku_ids[code] for code in scenario.skus],
        ),
        workers=workers,
        seconds=config.seconds,
        warmup=config.warmup,
    )
    label = f"baseline {scenario.name} x{workers}"
    if result.failed:
        failures.append(f"{label}: {result.failed} updates refused (stock ran out?)")
    reserved = reserved_total(admin)
    if reserved != result.succeeded:
        failures.append(f"{label}: {reserved} units reserved, {result.succeeded} updates counted")
    return result


def _measure_service(
    config: BenchConfig, admin: Engine, scenario: Scenario, workers: int, failures: list[str]
) -> CallerMeasurement:
    seed(admin)
    admin.dispose()
    callers = measure_callers(
        ServiceClient,
        (config.database_url, LOCATION, scenario.skus),
        callers=workers,
        processes=SERVICE_PROCESSES,
        seconds=config.seconds,
        warmup=config.warmup,
    )
    result = callers.measurement
    label = f"service {scenario.name} x{workers}"
    if result.failed:
        failures.append(f"{label}: {result.failed} reservations refused (stock ran out?)")
    reserved = reserved_total(admin)
    if reserved != result.succeeded:
        failures.append(f"{label}: {reserved} units reserved, {result.succeeded} reservations made")
    with admin.connect() as conn:
        made = conn.execute(text("SELECT count(*) FROM reservations")).scalar_one()
    if made != result.succeeded:
        failures.append(f"{label}: {made} reservation rows, {result.succeeded} reservations made")
    report = service_for(admin).verify()
    if not report.clean:
        failures.append(
            f"{label}: ledger != projection at {len(report.differences)} levels,"
            f" e.g. {report.differences[0]}"
        )
    return callers
