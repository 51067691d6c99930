"""A full recompute of every channel's numbers: 100,000 SKUs x 5 locations x 3 channels.

Seeds 100,000 simple SKUs with stock at 5 locations, 2,000 bundles of 2 components (half of
them shipped together), 3 channels with every kind of rule, by bulk SQL after `alembic upgrade
head`, on PostgreSQL and on SQLite (a file under var/bench/). Then times
`ChannelAvailabilityService.recompute_all()`, best of 3 (wall clock and the client's CPU), and
the bulk reads alone, and checks a sample of its numbers against the per-SKU read path. The
target (issue 11) is under a second on PostgreSQL; SQLite is held to the same second.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

from bench.database import migrate, require_postgresql, server_version, settle, truncate_all
from bench.harness import BenchConfig, BenchReport
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_engine, make_session_factory
from oms.inventory.services import InventoryService
from oms.settings import PROJECT_ROOT
from oms.shared.clock import utcnow
from oms.uow import SqlUnitOfWork

SKU_COUNT = 100_000
BUNDLE_COUNT = 2_000
LOCATIONS = [
    ("BENCH-DC", "warehouse"),
    ("BENCH-FC", "marketplace_fc"),
    ("BENCH-STORE-1", "store"),
    ("BENCH-STORE-2", "store"),
    ("BENCH-STORE-3", "store"),
]
CHANNELS = {
    "amazon": ("amazon", ["BENCH-DC", "BENCH-FC"]),
    "rakuten": ("rakuten", ["BENCH-DC", "BENCH-STORE-1"]),
    "storefront": ("storefront", ["BENCH-DC", "BENCH-STORE-1", "BENCH-STORE-2", "BENCH-STORE-3"]),
}
CATEGORIES = 20
RUNS = 3
TARGET_SECONDS = 1.0
# SKUs checked against the per-SKU read path: every category and every kind of rule the seed
# makes (own safety stock i % 10 == 0, pool i % 20 == 0, amazon exclusion i % 1000 == 0, own
# buffer i % 100 == 1, own cap i % 100 == 2, plain otherwise), bundles shipped together or not.
SAMPLE = sorted(
    {(i * 7_919) % SKU_COUNT for i in range(40)}
    | {i * 1_000 + rest for i in range(0, SKU_COUNT // 1_000, 20) for rest in (0, 1, 2, 3, 10, 20)}
)
SAMPLE_BUNDLES = 10
SQLITE_PATH = PROJECT_ROOT / "var" / "bench" / "availability.sqlite3"
SEEDED_TABLES = [
    "locations",
    "skus",
    "bundle_components",
    "stock_levels",
    "channels",
    "channel_locations",
    "safety_stock",
    "safety_stock_defaults",
    "channel_exclusions",
    "channel_pools",
    "channel_buffers",
    "channel_shares",
    "channel_caps",
]

# Numbers in 0..n-1, the same on both databases (PostgreSQL would take generate_series).
_SERIES = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1)"


def _sku(expression: str) -> str:
    return f"'SKU-' || CAST({expression} AS TEXT)"


# ----------------------------------------------------------------------------- data


def seed(engine: Engine) -> dict[str, int]:
    """Empty schema, then the catalogue, stock and rules by bulk SQL; returns row counts."""
    now = utcnow()
    postgres = engine.dialect.name == "postgresql"
    json_cast = "CAST({} AS JSON)" if postgres else "{}"
    with engine.begin() as conn:
        if postgres:
            truncate_all(conn)
        for code, kind in LOCATIONS:
            conn.execute(
                text(
                    "INSERT INTO locations (code, name, kind, prefecture, postal_code,"
                    " ships_to_customers, active, created_at)"
                    " VALUES (:code, :code, :kind, '13', '100-0001', true, true, :now)"
                ),
                {"code": code, "kind": kind, "now": now},
            )
        attributes = json_cast.format(
            '\'{"category": "c\' || CAST(i % ' + str(CATEGORIES) + " AS TEXT) || '\"}'"
        )
        conn.execute(
            text(
                "INSERT INTO skus (code, name, kind, attributes, ship_together, event_seq,"
                f" created_at, updated_at) {_SERIES}"
                f" SELECT {_sku('i')}, 'Item', 'simple', {attributes}, true, 0, :now, :now"
                " FROM n"
            ),
            {"count": SKU_COUNT, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO skus (code, name, kind, attributes, ship_together, event_seq,"
                f" created_at, updated_at) {_SERIES}"
                " SELECT 'BUNDLE-' || CAST(i AS TEXT), 'Set', 'bundle',"
                f" {json_cast.format(chr(39) + '{}' + chr(39))}, i % 2 = 0, 0, :now, :now FROM n"
            ),
            {"count": BUNDLE_COUNT, "now": now},
        )
        # Bundle i: one of SKU 2i and two of SKU 2i+1.
        conn.execute(
            text(
                "INSERT INTO bundle_components (bundle_id, component_id, quantity)"
                " SELECT b.id, c.id, CASE WHEN c.code = 'SKU-' || CAST(2 * CAST(substr(b.code, 8)"
                " AS INTEGER) AS TEXT) THEN 1 ELSE 2 END"
                " FROM skus b JOIN skus c ON c.code IN ("
                " 'SKU-' || CAST(2 * CAST(substr(b.code, 8) AS INTEGER) AS TEXT),"
                " 'SKU-' || CAST(2 * CAST(substr(b.code, 8) AS INTEGER) + 1 AS TEXT))"
                " WHERE b.kind = 'bundle'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO stock_levels (sku_id, location_id, on_hand, reserved, quarantined,"
                " in_transit, version, updated_at)"
                " SELECT s.id, l.id, (s.id * 7 + l.id * 13) % 50,"
                " CASE WHEN (s.id * 7 + l.id * 13) % 50 >= 3 THEN s.id % 3 ELSE 0 END,"
                " 0, 0, 1, :now"
                " FROM skus s CROSS JOIN locations l WHERE s.kind = 'simple'"
            ),
            {"now": now},
        )
        _seed_rules(conn, now)
    with engine.connect() as conn:
        return {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("skus", "bundle_components", "stock_levels", "safety_stock")
        }


def _seed_rules(conn: Connection, now: Any) -> None:
    ids: dict[str, int] = {}
    for code, (kind, locations) in CHANNELS.items():
        ids[code] = conn.execute(
            text(
                "INSERT INTO channels (code, name, kind, active, auto_buffer,"
                " push_latency_seconds, settings, created_at, updated_at)"
                " VALUES (:code, :code, :kind, true, :auto, 300, :settings, :now, :now)"
                " RETURNING id"
            ),
            {
                "code": code,
                "kind": kind,
                "auto": code == "storefront",
                "settings": "{}",
                "now": now,
            },
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO channel_locations (channel_id, location, position)"
                " VALUES (:id, :location, :position)"
            ),
            [{"id": ids[code], "location": loc, "position": i} for i, loc in enumerate(locations)],
        )
    amazon, rakuten, storefront = ids["amazon"], ids["rakuten"], ids["storefront"]
    for store in ("BENCH-STORE-1", "BENCH-STORE-2", "BENCH-STORE-3"):
        conn.execute(
            text("INSERT INTO safety_stock_defaults (location, quantity) VALUES (:loc, 2)"),
            {"loc": store},
        )
    statements = [
        # Safety stock at the DC for every 10th SKU.
        f"INSERT INTO safety_stock (sku, location, quantity) {_SERIES}"
        f" SELECT {_sku('i * 10')}, 'BENCH-DC', 3 FROM n",
        # amazon excludes every 1000th SKU; rakuten a category; storefront a store.
        f"INSERT INTO channel_exclusions (channel_id, kind, key, sku) {_SERIES}"
        f" SELECT {amazon}, 'sku', 'sku:' || {_sku('i * 1000')}, {_sku('i * 1000')} FROM n",
        "INSERT INTO channel_exclusions (channel_id, kind, key, attribute, value)"
        f" VALUES ({rakuten}, 'attribute', 'attribute:category=c7', 'category', 'c7')",
        "INSERT INTO channel_exclusions (channel_id, kind, key, location)"
        f" VALUES ({storefront}, 'location', 'location:BENCH-STORE-3', 'BENCH-STORE-3')",
        # rakuten ring-fences 2 units of every 20th SKU (some pools shrink: stock is random).
        f"INSERT INTO channel_pools (channel_id, sku, quantity) {_SERIES}"
        f" SELECT {rakuten}, {_sku('i * 20')}, 2 FROM n",
        "INSERT INTO channel_buffers (channel_id, scope, key, units) VALUES"
        f" ({amazon}, 'default', '', 2), ({amazon}, 'category', 'c3', 5),"
        f" ({rakuten}, 'default', '', 1), ({storefront}, 'default', '', 1)",
        f"INSERT INTO channel_buffers (channel_id, scope, key, units) {_SERIES}"
        f" SELECT {amazon}, 'sku', {_sku('i * 100 + 1')}, 4 FROM n",
        f"INSERT INTO channel_shares (channel_id, sku, percent) VALUES ({rakuten}, '', 50)",
        f"INSERT INTO channel_caps (channel_id, sku, cap) VALUES ({storefront}, '', 20)",
        f"INSERT INTO channel_caps (channel_id, sku, cap) {_SERIES}"
        f" SELECT {storefront}, {_sku('i * 100 + 2')}, 5 FROM n",
    ]
    counts = [SKU_COUNT // 10, SKU_COUNT // 1000, 0, 0, SKU_COUNT // 20, 0, SKU_COUNT // 100]
    counts += [0, 0, SKU_COUNT // 100]
    for statement, count in zip(statements, counts, strict=True):
        conn.execute(text(statement), {"count": count} if count else {})


# ----------------------------------------------------------------------------- measurement


def _best_of(runs: int, operation: Callable[[], Any]) -> tuple[float, list[float], Any, float]:
    """Best wall time, every wall time, the last result, and the client CPU of the best run."""
    times: list[float] = []
    cpu: list[float] = []
    result: Any = None
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = operation()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    best = min(range(runs), key=times.__getitem__)
    return times[best], times, result, cpu[best]


def _profile(operation: Callable[[], Any], top: int = 15) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    operation()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def _measure(name: str, url: str, profile: bool) -> dict[str, Any]:
    migrate(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        counts = seed(engine)
        seed_seconds = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            settle(engine, SEEDED_TABLES)
        factory = make_session_factory(engine)
        inventory = InventoryService(lambda: SqlUnitOfWork(factory))
        service = ChannelAvailabilityService(lambda: SqlUnitOfWork(factory), inventory)

        reads, _, _, reads_cpu = _best_of(RUNS, inventory.catalogue_snapshot)
        best, times, published, best_cpu = _best_of(RUNS, service.recompute_all)
        mismatches = _check_sample(service, published)
        pairs = sum(len(numbers) for numbers in published.values())
        document: dict[str, Any] = {
            "database": name,
            "rows": counts,
            "seed_seconds": round(seed_seconds, 2),
            "catalogue_read_seconds": round(reads, 3),
            "catalogue_read_cpu_seconds": round(reads_cpu, 3),
            "recompute_seconds": [round(t, 3) for t in times],
            "recompute_best_seconds": round(best, 3),
            "recompute_best_cpu_seconds": round(best_cpu, 3),
            "sku_channel_numbers": pairs,
            "microseconds_per_sku_channel": round(best / pairs * 1e6, 2),
            "sample_mismatches": mismatches,
        }
        if profile:
            document["profile"] = _profile(service.recompute_all)
            document["profile_reads"] = _profile(inventory.catalogue_snapshot)
        return document
    finally:
        engine.dispose()


def _check_sample(
    service: ChannelAvailabilityService, published: dict[str, dict[str, int]]
) -> list[str]:
    """The bulk numbers of a spread of SKUs and bundles against the per-SKU read path."""
    skus = [f"SKU-{i}" for i in SAMPLE] + [f"BUNDLE-{i}" for i in range(SAMPLE_BUNDLES)]
    mismatches = []
    for code in published:
        for found in service.channel_availability(code, skus):
            a = found.availability
            if published[code].get(a.sku) != a.available:
                mismatches.append(f"{code}/{a.sku}: {published[code].get(a.sku)} != {a.available}")
    return mismatches


def run(config: BenchConfig) -> BenchReport:
    require_postgresql(config.database_url)
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        SQLITE_PATH.with_name(SQLITE_PATH.name + suffix).unlink(missing_ok=True)
    results = []
    for name, url in (
        ("postgresql", config.database_url),
        ("sqlite", f"sqlite:///{SQLITE_PATH}"),
    ):
        print(f"  {name}: seeding and recomputing ...", flush=True)
        results.append(_measure(name, url, config.profile))

    engine = make_engine(config.database_url)
    try:
        version = server_version(engine)
    finally:
        engine.dispose()
    report = BenchReport(
        name="availability",
        columns=[
            "database",
            "skus",
            "stock rows",
            "seed s",
            "reads s",
            "recompute s",
            "cpu s",
            "us/(sku,channel)",
            "target",
            "met",
        ],
        rows=[],
        document={"results": results, "target_seconds": TARGET_SECONDS},
        notes=[
            f"{SKU_COUNT:,} simple SKUs + {BUNDLE_COUNT:,} bundles, {len(LOCATIONS)} locations,"
            f" {len(CHANNELS)} channels; recompute = ChannelAvailabilityService.recompute_all(),"
            f" best of {RUNS} (cpu = the client's CPU in that run); reads ="
            " InventoryService.catalogue_snapshot() alone.",
            f"PostgreSQL {version}. Sample of {len(SAMPLE) + SAMPLE_BUNDLES} SKUs checked"
            " against the per-SKU read path.",
        ],
    )
    for r in results:
        met = report.target(
            f"full_recompute_{r['database']}",
            figure=r["recompute_best_seconds"],
            baseline=None,
            target=TARGET_SECONDS,
            at_least=False,
            unit="s",
            what=f"full recompute on {r['database']}: {SKU_COUNT:,} SKUs + {BUNDLE_COUNT:,}"
            f" bundles x {len(LOCATIONS)} locations x {len(CHANNELS)} channels, best of {RUNS}"
            f" (client CPU {r['recompute_best_cpu_seconds']:g} s)",
        )
        report.rows.append(
            [
                r["database"],
                r["rows"]["skus"],
                r["rows"]["stock_levels"],
                r["seed_seconds"],
                r["catalogue_read_seconds"],
                r["recompute_best_seconds"],
                r["recompute_best_cpu_seconds"],
                r["microseconds_per_sku_channel"],
                f"< {TARGET_SECONDS:g} s",
                "yes" if met else "NO",
            ]
        )
        report.failures += [f"{r['database']}: {m}" for m in r["sample_mismatches"]]
    return report
