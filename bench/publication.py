"""The cost of keeping channel numbers current, and how far behind the publisher runs.

Same data, same run: 10,000 SKUs at one DC, reservations of 1 unit through
InventoryService.reserve. First with no channel (nothing to publish), then with three channels
fed by the DC, each with rules (safety stock, a buffer, a share, a cap). Writers only queue the
SKUs they touched; the publisher (`PublisherLoop`, as `oms worker` runs it) runs in a process
of its own during the measurement, so its CPU competes with the writers' on the same cores.
Target: reservations/s with channels ÷ without >= 0.8.

Lag: writer processes make 1,000 stock changes a second (each a distinct SKU, paced; the
reservation's UPDATE and its queue row in one transaction) while the publisher runs; a
watcher polls the outbox and notes when each SKU's first AvailabilityChanged after its change
is committed. Lag = that moment - the writer's commit returned. Target: p95 <= 250 ms.

Correctness, after each run: the queue drained, every published number equals a full
recompute (`recompute_all`), and the ledger verifies clean.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import Engine, text

from bench.database import (
    durability,
    libpq_conninfo,
    migrate,
    require_postgresql,
    server_version,
)
from bench.harness import BenchConfig, BenchReport, Measurement, measure
from bench.reservations import LOCATION, SKU_COUNT, Catalog, ServiceClient, seed, service_for
from oms.channels.availability.services.channels import ChannelService, CreateChannel
from oms.channels.availability.services.publication import AvailabilityPublisher
from oms.channels.availability.services.publisher import PublicationService
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.channels.availability.tasks import PublisherLoop
from oms.db import make_engine, make_session_factory
from oms.uow import SqlUnitOfWork

TARGET_RATIO = 0.8
TARGET_LAG_MS = 250.0
LAG_RATE = 1000  # stock changes a second
LAG_WRITERS = 8
CHANNELS = (("amazon", "amazon"), ("rakuten", "rakuten"), ("storefront", "storefront"))


def add_channels(engine: Engine) -> None:
    """Three channels over the bench DC with a rule of each kind; publishes every number."""
    factory = make_session_factory(engine)
    channels = ChannelService(lambda: SqlUnitOfWork(factory), service_for(engine))
    channels.set_default_safety_stock(LOCATION, 1, "bench")
    for code, kind in CHANNELS:
        channels.create_channel(CreateChannel(code, code, kind, locations=[LOCATION]))
    channels.set_buffer("amazon", "default", None, 2, "bench")
    channels.set_share("rakuten", None, 80, "bench")
    channels.set_cap("storefront", None, 500_000, "bench")
    publication(engine).drain()


def publication(engine: Engine) -> PublicationService:
    factory = make_session_factory(engine)
    publisher = AvailabilityPublisher()
    return PublicationService(lambda: SqlUnitOfWork(factory, publisher), publisher)


# ----------------------------------------------------------------------------- processes


def _publisher_process(url: str, stop: Any, results: Any) -> None:
    """The publisher as `oms worker` runs it, until `stop`; reports its CPU seconds."""
    engine = make_engine(url, pool_size=2)
    loop = PublisherLoop(publication(engine))
    started = os.times()
    loop.start()
    stop.wait()
    loop.stop(timeout=30)
    ended = os.times()
    engine.dispose()
    results.put(
        {
            "cpu_s": (ended.user - started.user) + (ended.system - started.system),
            "drained": loop.drained,
        }
    )


class Publisher:
    """The publisher in a process of its own (a context manager)."""

    def __init__(self, url: str) -> None:
        ctx = mp.get_context("fork")
        self._stop = ctx.Event()
        self._results: mp.Queue[dict[str, Any]] = ctx.Queue()
        self._process = ctx.Process(
            target=_publisher_process, args=(url, self._stop, self._results), daemon=True
        )
        self.cpu_s = 0.0
        self.drained = 0

    def __enter__(self) -> Publisher:
        self._process.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        try:
            found = self._results.get(timeout=60)
            self.cpu_s, self.drained = float(found["cpu_s"]), int(found["drained"])
        except queue.Empty:
            pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()


# A stock change as a writer commits it, reduced to its SQL: the reservation's conditional
# UPDATE and the queue row that `publish_changes()` adds, in one transaction. Writing it through
# the service would make the writers' own speed (2 shared cores) cap the rate, not measure the
# publisher; what the publisher reads and writes is the same.
_LAG_CHANGE = (
    "UPDATE stock_levels SET reserved = reserved + 1"
    " WHERE sku_id = %s AND location_id = %s AND on_hand - reserved - quarantined >= 1"
)
_LAG_QUEUE = "INSERT INTO publication_queue (sku_id, queued_at) VALUES (%s, now())"


def _lag_writer(
    conninfo: str,
    location_id: int,
    sku_ids: Sequence[tuple[str, int]],
    rate: float,
    start_at: float,
    results: Any,
) -> None:
    """Change each SKU once, paced at `rate` a second; (sku, commit returned) for each."""
    committed: list[tuple[str, float]] = []
    with psycopg.connect(conninfo) as conn, conn.cursor() as cursor:
        while time.time() < start_at:
            time.sleep(0.001)
        for n, (code, sku_id) in enumerate(sku_ids):
            pause = start_at + n / rate - time.time()
            if pause > 0:
                time.sleep(pause)
            cursor.execute(_LAG_CHANGE, (sku_id, location_id))
            cursor.execute(_LAG_QUEUE, (sku_id,))
            conn.commit()
            committed.append((code, time.time()))
    results.put(committed)


def _watch(admin: Engine, until: float, seen: dict[str, float]) -> None:
    """Poll the outbox: when each SKU's AvailabilityChanged was first seen committed."""
    with admin.connect() as conn:
        last = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one())
        conn.commit()
        while time.time() < until:
            rows = conn.execute(
                text(
                    "SELECT id, payload->>'sku' FROM outbox WHERE id > :last"
                    " AND event = 'AvailabilityChanged' ORDER BY id"
                ),
                {"last": last},
            ).all()
            conn.commit()
            now = time.time()
            for row_id, sku in rows:
                last = max(last, int(row_id))
                seen.setdefault(sku, now)
            time.sleep(0.01)  # lag is over-stated by up to this much


def measure_lag(url: str, admin: Engine, catalog: Catalog, seconds: float) -> dict[str, Any]:
    """LAG_RATE changes a second for `seconds`, each a distinct SKU; lag percentiles in ms."""
    count = int(LAG_RATE * seconds)
    chosen = sorted(catalog.sku_ids.items())[:count]
    admin.dispose()
    ctx = mp.get_context("fork")
    results: mp.Queue[list[tuple[str, float]]] = ctx.Queue()
    start_at = time.time() + 1.0
    writers = [
        ctx.Process(
            target=_lag_writer,
            args=(
                libpq_conninfo(url),
                catalog.location_id,
                chosen[i::LAG_WRITERS],
                LAG_RATE / LAG_WRITERS,
                start_at,
                results,
            ),
            daemon=True,
        )
        for i in range(LAG_WRITERS)
    ]
    seen: dict[str, float] = {}
    with Publisher(url) as publisher:
        for w in writers:
            w.start()
        _watch(admin, start_at + seconds + 3.0, seen)
        committed: list[tuple[str, float]] = []
        for _ in writers:
            committed += results.get(timeout=60)
        for w in writers:
            w.join(timeout=10)
    lags = sorted((seen[sku] - at) * 1000 for sku, at in committed if sku in seen)
    first = min((at for _, at in committed), default=start_at)
    last = max((at for _, at in committed), default=start_at)
    return {
        "changes": len(committed),
        "achieved_per_s": round(len(committed) / max(last - first, 1e-9), 1),
        "unseen": len(committed) - len(lags),
        "p50_ms": round(_percentile(lags, 0.50), 1),
        "p95_ms": round(_percentile(lags, 0.95), 1),
        "p99_ms": round(_percentile(lags, 0.99), 1),
        "publisher_cpu_s": round(publisher.cpu_s, 3),
    }


def _percentile(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        return float("inf")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ----------------------------------------------------------------------------- checks


def stale_numbers(admin: Engine) -> list[str]:
    """After a drain: every published number against a full recompute (never told: 0)."""
    service = ChannelAvailabilityService(
        lambda: SqlUnitOfWork(make_session_factory(admin)), service_for(admin)
    )
    computed = service.recompute_all()
    with admin.connect() as conn:
        told = {
            (r[0], r[1]): int(r[2])
            for r in conn.execute(
                text(
                    "SELECT c.code, s.code, ca.available FROM channel_availability ca"
                    " JOIN channels c ON c.id = ca.channel_id JOIN skus s ON s.id = ca.sku_id"
                )
            )
        }
    stale = []
    for channel, numbers in computed.items():
        for sku, number in numbers.items():
            if told.get((channel, sku), 0) != number:
                stale.append(f"{channel}/{sku}: told {told.get((channel, sku), 0)}, is {number}")
    return stale


def _queued(admin: Engine) -> int:
    with admin.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM publication_queue")).scalar_one())


def _events(admin: Engine) -> int:
    with admin.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM outbox WHERE event = 'AvailabilityChanged'")
            ).scalar_one()
        )


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


def _measure(config: BenchConfig, admin: Engine, skus: list[str], workers: int) -> Measurement:
    admin.dispose()  # no pooled connection may be inherited by the forked clients
    return measure(
        ServiceClient,
        (config.database_url, LOCATION, skus),
        workers=workers,
        seconds=config.seconds,
        warmup=config.warmup,
    )


def _run(config: BenchConfig, admin: Engine) -> BenchReport:
    rows: list[list[Any]] = []
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for workers in config.workers:
        catalog = seed(admin)
        skus = sorted(catalog.sku_ids)
        without = _measure(config, admin, skus, workers)
        seed(admin)
        add_channels(admin)
        events_before = _events(admin)
        with Publisher(config.database_url) as publisher:
            with_channels = _measure(config, admin, skus, workers)
        left = _queued(admin)
        publication(admin).drain()
        published = _events(admin) - events_before
        ratio = with_channels.per_second / without.per_second if without.per_second else 0.0
        reservations = max(with_channels.succeeded, 1)
        # Each reservation of 1 unit moves each channel's number of that SKU by at most 1, and
        # a batch publishes each (channel, SKU) once: events <= 3 per reservation.
        if published == 0 or published > 3 * with_channels.succeeded:
            failures.append(
                f"x{workers}: {published} AvailabilityChanged events for"
                f" {with_channels.succeeded} reservations"
            )
        stale = stale_numbers(admin)
        if stale:
            failures.append(f"x{workers}: {len(stale)} numbers stale after the drain: {stale[:3]}")
        report = service_for(admin).verify()
        if not report.clean:
            failures.append(f"x{workers}: ledger != projection after the run")
        client_ms, _server = with_channels.cpu_ms_per_op()
        publisher_ms = publisher.cpu_s * 1000 / reservations
        rows.append(
            [
                workers,
                round(without.per_second),
                round(with_channels.per_second),
                f"{ratio:.2f}",
                f"{published / reservations:.2f}",
                f"{publisher_ms:.2f}",
                left,
            ]
        )
        results.append(
            {
                "workers": workers,
                "without_channels_per_s": round(without.per_second, 1),
                "with_channels_per_s": round(with_channels.per_second, 1),
                "ratio": round(ratio, 3),
                "events_per_reservation": round(published / reservations, 3),
                "client_cpu_ms_per_op": round(client_ms, 3),
                "publisher_cpu_ms_per_reservation": round(publisher_ms, 3),
                "publisher_drained": publisher.drained,
                "queued_at_end": left,
                "stale_after_drain": len(stale),
            }
        )
        print(
            f"  {workers:>2} workers: without channels {without.per_second:,.0f}/s,"
            f" with 3 channels {with_channels.per_second:,.0f}/s, ratio {ratio:.2f}"
            f" (publisher {publisher_ms:.2f} ms CPU a reservation, {left} queued at the end)",
            flush=True,
        )
    # The lag: its own seed, channels, and publisher.
    catalog = seed(admin)
    add_channels(admin)
    lag_seconds = max(3.0, config.seconds)
    lag = measure_lag(config.database_url, admin, catalog, lag_seconds)
    publication(admin).drain()
    stale = stale_numbers(admin)
    if stale:
        failures.append(f"lag run: {len(stale)} numbers stale after the drain: {stale[:3]}")
    if lag["unseen"]:
        failures.append(f"lag run: {lag['unseen']} changes never got an AvailabilityChanged")
    print(
        f"  lag at {lag['achieved_per_s']:,.0f} changes/s: p50 {lag['p50_ms']} ms,"
        f" p95 {lag['p95_ms']} ms, p99 {lag['p99_ms']} ms",
        flush=True,
    )
    met = {str(r["workers"]): r["ratio"] >= TARGET_RATIO for r in results}
    bench = BenchReport(
        name="publication",
        columns=[
            "workers",
            "no channels/s",
            "3 channels/s",
            "ratio",
            "events/reservation",
            "publisher ms/res",
            "queued at end",
        ],
        rows=rows,
        document={
            "benchmark": "publication",
            "postgresql": server_version(admin),
            "durability": durability(admin),
            "seconds": config.seconds,
            "skus": SKU_COUNT,
            "target": {"ratio": TARGET_RATIO, "met": met, "lag_p95_ms": TARGET_LAG_MS},
            "results": results,
            "lag": lag,
            "failures": failures,
        },
        notes=[
            f"{SKU_COUNT:,} SKUs at one DC, 1 unit per reservation, SKU chosen uniformly;"
            " the publisher runs in its own process during the measurement",
            f"lag: {LAG_WRITERS} writers at {LAG_RATE:,} changes/s in all for {lag_seconds:g} s,"
            f" achieved {lag['achieved_per_s']:,.0f}/s; p50 {lag['p50_ms']} ms,"
            f" p95 {lag['p95_ms']} ms, p99 {lag['p99_ms']} ms",
            f"target: ratio >= {TARGET_RATIO}: "
            + ", ".join(f"x{w} {'met' if ok else 'MISSED'}" for w, ok in met.items()),
        ],
        failures=failures,
    )
    if results:
        widest = results[-1]
        bench.target(
            "with_channels_ratio",
            figure=widest["with_channels_per_s"],
            baseline=widest["without_channels_per_s"],
            target=TARGET_RATIO,
            unit="reservations/s",
            what=f"reservations/s with 3 channels ÷ without, x{widest['workers']} workers,"
            " publisher running in its own process",
        )
    bench.target(
        "publisher_lag_p95_ms",
        figure=lag["p95_ms"],
        baseline=None,
        target=TARGET_LAG_MS,
        at_least=False,
        unit="ms",
        what=f"commit of a stock change -> AvailabilityChanged committed, p95, at"
        f" {lag['achieved_per_s']:,.0f} changes/s",
    )
    return bench
