"""Change -> push latency at a fixed rate of stock changes, through the real job plane.

An `oms worker` subprocess (outbox relay -> Dramatiq on Redis -> `channels.availability_changed`
-> kick -> `channels.push`) pushes while load processes (spawned, each with its own database
connection and its own share of the SKUs, so each knows every number it causes) record receipts
of one unit at a fixed pace. A change's latency is from the moment its transaction committed to
the moment the storefront emulator applied a quantity at least as high (receipts only raise it).
The emulators' limits are lifted; oms's own limiter still keeps each channel's published limits.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import random
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.harness import BenchConfig
from bench.sync_world import LOCATION, Emulators
from oms.settings import PROJECT_ROOT, Settings

RATE = 500.0  # changes per second, all load processes together
SECONDS = 20.0
LOAD_PROCESSES = 4
SPREAD = 2_000  # SKUs the changes fall on
TICK = 0.02  # a load process commits what is due at most this often
MAX_BATCH = 100
SETTLE_SECONDS = 60.0  # after the load: how long the last changes may take to arrive
TARGET_P95 = 2.0

Change = tuple[str, int, float]  # (sku, the number it makes, commit time: time.time())


@dataclass(slots=True)
class Latency:
    rate: float  # asked
    achieved: float  # committed changes per second
    changes: int
    latencies: list[float]
    missing: int  # changes the channel never got
    worker_rss_mb: float | None
    failures: list[str] = field(default_factory=list)

    @property
    def p95(self) -> float | None:
        if not self.latencies or self.missing:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def ratio(self) -> float:
        return 0.0 if self.p95 is None else TARGET_P95 / max(self.p95, 1e-9)

    def summary(self) -> str:
        shown = "none" if self.p95 is None else f"{self.p95:.2f} s"
        return (
            f"{self.changes:,} changes at {self.achieved:,.0f}/s (asked {self.rate:,.0f}/s),"
            f" p50 {self.percentile(0.5) or 0:.2f} s, p95 {shown}, max"
            f" {self.percentile(1.0) or 0:.2f} s, {self.missing} never arrived"
            + "".join(f"\n  FAILED: {f}" for f in self.failures)
        )

    def document(self) -> dict[str, Any]:
        return {
            "channel": "storefront",
            "rate_asked_per_s": self.rate,
            "rate_achieved_per_s": round(self.achieved, 1),
            "changes": self.changes,
            "p50_s": _round(self.percentile(0.5)),
            "p95_s": _round(self.p95),
            "p99_s": _round(self.percentile(0.99)),
            "max_s": _round(self.percentile(1.0)),
            "missing": self.missing,
            "target_p95_s": TARGET_P95,
            "met": self.p95 is not None and self.p95 <= TARGET_P95,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# ---------------------------------------------------------------------------- load


def _load(
    url: str,
    skus: list[str],
    on_hand: int,
    rate: float,
    start_at: float,
    seconds: float,
    index: int,
    results: mp.Queue[list[Change] | str],
) -> None:
    """One load process: receipts of one unit at `rate`/s from `start_at` (time.time()), each
    due change committed at once: alone, or with the others due by then."""
    try:
        from oms.bootstrap import bootstrap
        from oms.db import make_engine
        from oms.inventory.services import RecordMovement

        engine = make_engine(url, pool_size=1)
        inventory = bootstrap(Settings(database_url=url), engine=engine).inventory
        counts = dict.fromkeys(skus, on_hand)
        rng = random.Random(index)
        changes: list[Change] = []
        interval = 1.0 / rate
        due = start_at  # when the next change is due
        end = start_at + seconds
        while due < end:
            pause = due - time.time()
            if pause > 0:
                time.sleep(max(pause, TICK))
            # Every change due by now in one transaction (a receiving dock's batch): a
            # process that falls behind catches up with larger batches, not a longer run.
            now = time.time()
            batch: list[str] = []
            while due <= now and due < end and len(batch) < MAX_BATCH:
                sku = rng.choice(skus)
                if sku not in batch:
                    batch.append(sku)
                    due += interval
            inventory.record_movements(
                [
                    RecordMovement(
                        type="receipt",
                        sku=sku,
                        location=LOCATION,
                        quantity=1,
                        idempotency_key=f"sync-latency:{start_at}:{index}:{len(changes) + i}",
                    )
                    for i, sku in enumerate(batch)
                ]
            )
            committed = time.time()
            for sku in batch:
                counts[sku] += 1
                changes.append((sku, counts[sku], committed))
        engine.dispose()
        results.put(changes)
    except BaseException as error:  # reported to the parent, which fails the benchmark
        results.put(f"load process {index}: {error!r}")


# ---------------------------------------------------------------------------- the worker


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OMS_DATABASE_URL": settings.database_url,
        "OMS_REDIS_URL": settings.redis_url,
        "OMS_SECRET_KEY": settings.secret_key.get_secret_value(),
        "OMS_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bench.sync_worker"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def vm_hwm_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), MB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _mark_published(settings: Settings) -> None:
    """Events of the set-up are told already: the worker starts from a drained outbox."""
    from sqlalchemy import text

    from oms.db import make_engine
    from oms.shared.clock import utcnow

    engine = make_engine(settings.database_url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE outbox SET published_at = :now WHERE published_at IS NULL"),
            {"now": utcnow()},
        )
    engine.dispose()


def measure_latency(
    config: BenchConfig, settings: Settings, world: Emulators, skus: list[str]
) -> Latency:
    from bench.sync_world import ON_HAND, clear_redis

    world.lift_limits()
    _mark_published(settings)
    clear_redis(settings.redis_url)
    worker = _start_worker(settings)
    failures: list[str] = []
    try:
        time.sleep(3.0)  # the worker imports oms and connects
        if worker.poll() is not None:
            detail = worker.stderr.read().decode()[-2000:] if worker.stderr else ""
            raise RuntimeError(f"oms worker exited at start:\n{detail}")
        spread = skus[:SPREAD]
        shares = [spread[i::LOAD_PROCESSES] for i in range(LOAD_PROCESSES)]
        ctx = mp.get_context("spawn")  # this process runs the emulators' threads: no fork
        results: mp.Queue[list[Change] | str] = ctx.Queue()
        start_at = time.time() + 8.0  # spawned processes import oms first
        processes = [
            ctx.Process(
                target=_load,
                args=(
                    config.database_url,
                    share,
                    ON_HAND,
                    RATE / LOAD_PROCESSES,
                    start_at,
                    SECONDS,
                    i,
                    results,
                ),
                daemon=True,
            )
            for i, share in enumerate(shares)
        ]
        for process in processes:
            process.start()
        changes: list[Change] = []
        for _ in processes:
            try:
                got = results.get(timeout=SECONDS + 120)
            except queue.Empty:
                failures.append("latency: a load process did not report")
                break
            if isinstance(got, str):
                failures.append(got)
            else:
                changes.extend(got)
        for process in processes:
            process.join(timeout=10)
        latencies, missing = _wait_for_channel(world, changes)
        rss = vm_hwm_mb(worker.pid)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    if not changes:
        failures.append("latency: no change was made")
    elif missing:
        failures.append(f"latency: {missing} changes never reached the storefront")
    first = min((c[2] for c in changes), default=0.0)
    last = max((c[2] for c in changes), default=0.0)
    achieved = len(changes) / (last - first) if last > first else 0.0
    return Latency(RATE, achieved, len(changes), latencies, missing, rss, failures)


def _wait_for_channel(world: Emulators, changes: list[Change]) -> tuple[list[float], int]:
    """Each change's latency, once every change arrived or SETTLE_SECONDS passed."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        applied: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for sku, quantity, at in list(world.applied):
            applied[sku].append((quantity, at))
        latencies: list[float] = []
        missing = 0
        for sku, target, committed in changes:
            arrived = next((at for q, at in applied.get(sku, ()) if q >= target), None)
            if arrived is None:
                missing += 1
            else:
                latencies.append(max(0.0, arrived - committed))
        if not missing or time.monotonic() > deadline:
            return latencies, missing
        time.sleep(0.5)
