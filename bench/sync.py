"""The channel sync against the emulators, in one run (issue 9's benchmark).

1. `latency`: change -> push p95 at 500 changes/s with the emulators' limits lifted. Load
   processes record stock receipts at a fixed pace over listed SKUs while an `oms worker`
   subprocess (outbox -> relay -> Dramatiq on Redis -> push actor) pushes; latency is the time
   from the receipt's commit to the storefront emulator applying a quantity at least that
   high (it notes when it applies each one; see sync_world.AppliedLevels). Target p95 <= 2 s.
2. and 3. `drain`: 2,000 changed SKUs pushed to each channel under its real limits, by the push
   service (the same pass the actor runs): the time beside the theoretical minimum of the
   channel's limits, the calls made beside the calls the limit allowed over that time (target
   >= 90 %), and the emulator's throttled calls (target 0).
4. `job plane`: N AvailabilityChanged events through the relay -> availability_changed actor ->
   kick, beside N messages to a no-op actor, on the same Redis and worker (target >= 0.8).

Every figure is a ratio to a target or a baseline of the same run, never an absolute timed
assertion.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import Engine

from bench.database import migrate, require_postgresql, server_version
from bench.harness import BenchConfig, BenchReport
from bench.sync_jobs import measure_job_plane
from bench.sync_latency import measure_latency
from bench.sync_world import (
    AMAZON,
    CHANNELS,
    RAKUTEN,
    STOREFRONT,
    Emulators,
    build,
    clear_redis,
    emulators,
)
from oms.bootstrap import Services, bootstrap
from oms.channels.adapters.amazon.settings import AMAZON_LIMITS
from oms.channels.adapters.rakuten.gateway import BULK_UPSERT, RAKUTEN_LIMITS
from oms.channels.adapters.storefront.limits import STOREFRONT_LIMITS
from oms.channels.sync.domain.model import RateLimit
from oms.db import make_engine
from oms.inventory.services import RecordMovement
from oms.log import configure_logging
from oms.settings import Settings

REDIS_VARIABLE = "OMS_TEST_REDIS_URL"
CATALOGUE = 10_000
DRAIN_SKUS = 2_000
TARGET_SHARE = 0.9
TARGET_JOB_RATIO = 0.8
# The Amazon emulator's feed processing time for the drain ([U] minutes on the real channel).
FEED_PROCESSING_SECONDS = 1.0


def settings_for(config: BenchConfig, redis_url: str, secret_key: str) -> Settings:
    return Settings(
        database_url=config.database_url,
        redis_url=redis_url,
        secret_key=secret_key,  # type: ignore[arg-type]
        log_level="WARNING",
    )


def run(config: BenchConfig) -> BenchReport:
    url = config.database_url
    require_postgresql(url)
    redis_url = os.environ.get(REDIS_VARIABLE, "")
    if not redis_url:
        raise SystemExit(f"the sync benchmark needs Redis: set {REDIS_VARIABLE} (make bench does)")
    migrate(url)
    _quiet()
    secret_key = Fernet.generate_key().decode()
    settings = settings_for(config, redis_url, secret_key)
    engine = make_engine(url, pool_size=4)
    services = bootstrap(settings, engine=engine)
    try:
        with emulators() as world:
            skus = build(services, engine, world, CATALOGUE)
            print(f"  {len(skus):,} SKUs listed on {', '.join(CHANNELS)}", flush=True)
            latency = measure_latency(config, settings, world, skus)
            print(f"  latency: {latency.summary()}", flush=True)
            world.real_limits(FEED_PROCESSING_SECONDS)
            clear_redis(redis_url)
            drains = [_drain(services, world, channel, skus) for channel in CHANNELS]
            jobs = measure_job_plane(services, settings)
            print(f"  job plane: {jobs.summary()}", flush=True)
        return _report(config, engine, latency, drains, jobs)
    finally:
        services.gateways.close()
        engine.dispose()


def _quiet() -> None:
    """Warnings only: the sync logs every push and event at INFO, httpx every request."""
    configure_logging("WARNING")
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


# ---------------------------------------------------------------------------- drains


def _change(services: Services, skus: list[str], stamp: str) -> None:
    for sku in skus:
        services.inventory.record_movement(
            RecordMovement(
                type="receipt",
                sku=sku,
                location="SYNC-DC",
                quantity=1,
                idempotency_key=f"sync-drain:{stamp}:{sku}",
            )
        )


def _minimum_seconds(channel: str, calls: dict[str, int], count: int) -> tuple[float, str]:
    """The least time the channel's published limits allow for `count` updates."""
    if channel == RAKUTEN:
        limit = RAKUTEN_LIMITS.of(BULK_UPSERT)
        needed = math.ceil(count / RAKUTEN_LIMITS.max_push_batch)
        return _bucket_seconds(limit, needed), f"{needed} upserts of <= 400 at 1/s"
    if channel == STOREFRONT:
        limit = STOREFRONT_LIMITS.limits[0]
        # Cost points: whatever the calls of this run cost, at least one call's.
        spent = calls.get("points", 0)
        return _bucket_seconds(limit, spent), f"{spent} cost points, bucket 2000 at 100/s"
    patch = AMAZON_LIMITS.of("patchListingsItem")
    by_patch = _bucket_seconds(patch, count)
    by_feed = FEED_PROCESSING_SECONDS
    return min(by_patch, by_feed), (
        f"min(patches {by_patch:.0f} s at 5/s, one feed {by_feed:.0f} s of processing)"
    )


def _bucket_seconds(limit: RateLimit, units: int) -> float:
    """A token bucket full at the start: `burst` at once, the rest at `per_second`."""
    return max(0.0, (units - limit.burst) / limit.per_second)


def _allowed(limit: RateLimit, seconds: float) -> float:
    return limit.burst + limit.per_second * seconds


def _drain(services: Services, world: Emulators, channel: str, skus: list[str]) -> dict[str, Any]:
    changed = skus[:DRAIN_SKUS]
    _change(services, changed, f"{channel}:{time.time_ns()}")
    before, throttled_before = world.push_calls(channel), world.throttled(channel)
    points_before = world.storefront.bucket.available()
    started = time.monotonic()
    report = services.sync.push.push_changes(channel)
    seconds = time.monotonic() - started
    # Cost points spent: what the bucket lost, plus what it restored meanwhile.
    bucket = world.storefront.bucket
    points = points_before - bucket.available() + bucket.rate * seconds
    after = world.push_calls(channel)
    made = {op: after.get(op, 0) - before.get(op, 0) for op in after}
    made = {op: n for op, n in made.items() if n}
    throttled = world.throttled(channel) - throttled_before
    if channel == STOREFRONT:
        made["points"] = round(points)
    share, bound = _share(channel, made, seconds)
    minimum, why = _minimum_seconds(channel, made, len(changed))
    result = {
        "channel": channel,
        "skus": len(changed),
        "accepted": report.accepted,
        "push_calls": report.calls,
        "seconds": round(seconds, 2),
        "minimum_seconds": round(minimum, 2),
        "minimum": why,
        "calls": made,
        "share_of_limit": None if share is None else round(share, 3),
        "binding_limit": bound,
        "throttled": throttled,
    }
    print(
        f"  drain {channel}: {report.accepted} accepted in {seconds:.1f} s"
        f" (minimum {minimum:.1f} s: {why}); calls {made}; throttled {throttled}",
        flush=True,
    )
    return result


def _share(channel: str, made: dict[str, int], seconds: float) -> tuple[float | None, str]:
    """Calls made / calls the binding limit allowed over the drain."""
    if channel == RAKUTEN:
        limit = RAKUTEN_LIMITS.of(BULK_UPSERT)
        used = made.get("inventory.bulk_upsert", made.get(BULK_UPSERT, 0))
        return used / _allowed(limit, seconds), BULK_UPSERT
    if channel == AMAZON:
        if made.get("createFeed"):
            limit = AMAZON_LIMITS.of("createFeed:JSON_LISTINGS_FEED")
            return made["createFeed"] / _allowed(limit, seconds), "createFeed (JSON_LISTINGS_FEED)"
        limit = AMAZON_LIMITS.of("patchListingsItem")
        return made.get("patchListingsItem", 0) / _allowed(limit, seconds), "patchListingsItem"
    limit = STOREFRONT_LIMITS.limits[0]
    return made.get("points", 0) / _allowed(limit, seconds), "graphql cost points"


# ---------------------------------------------------------------------------- report


def _report(
    config: BenchConfig, engine: Engine, latency: Any, drains: list[dict[str, Any]], jobs: Any
) -> BenchReport:
    failures: list[str] = []
    rows: list[list[Any]] = []
    rows.append(
        [
            "change -> push p95 (storefront, limits lifted)",
            f"{latency.p95:.2f} s" if latency.p95 is not None else "none",
            "<= 2 s",
            f"{latency.ratio():.2f}",
        ]
    )
    for drain in drains:
        rows.append(
            [
                f"2,000 SKUs -> {drain['channel']} (real limits)",
                f"{drain['seconds']:.1f} s",
                f"min {drain['minimum_seconds']:.1f} s",
                f"{drain['minimum_seconds'] / drain['seconds']:.2f}" if drain["seconds"] else "-",
            ]
        )
        share = drain["share_of_limit"]
        rows.append(
            [
                f"  share of {drain['binding_limit']} used",
                "-" if share is None else f"{share:.0%}",
                ">= 90 %",
                "-" if share is None else f"{share / TARGET_SHARE:.2f}",
            ]
        )
        rows.append([f"  throttled calls ({drain['channel']})", drain["throttled"], "0", "-"])
        if drain["throttled"]:
            failures.append(f"{drain['channel']}: {drain['throttled']} throttled calls")
        if drain["accepted"] != drain["skus"]:
            failures.append(
                f"{drain['channel']}: {drain['accepted']} of {drain['skus']} SKUs accepted"
            )
    rows.append(
        [
            "job plane msg/s / no-op actor msg/s",
            f"{jobs.job_plane_per_s:,.0f} / {jobs.noop_per_s:,.0f}",
            ">= 0.8",
            f"{jobs.ratio:.2f}",
        ]
    )
    rows.append(
        [
            "oms worker peak RSS (VmHWM), latency run",
            "-" if latency.worker_rss_mb is None else f"{latency.worker_rss_mb:.0f} MB",
            "<= 200 MB",
            "-"
            if latency.worker_rss_mb is None
            else f"{200 / max(latency.worker_rss_mb, 1e-9):.2f}",
        ]
    )
    failures.extend(latency.failures)
    failures.extend(jobs.failures)
    return BenchReport(
        name="sync",
        columns=["measurement", "measured", "target", "ratio"],
        rows=rows,
        document={
            "benchmark": "sync",
            "postgresql": server_version(engine),
            "catalogue": CATALOGUE,
            "latency": {**latency.document(), "worker_vm_hwm_mb": latency.worker_rss_mb},
            "drains": drains,
            "job_plane": jobs.document(),
            "amazon_feed_processing_seconds": FEED_PROCESSING_SECONDS,
            "failures": failures,
        },
        notes=[
            "ratio >= 1 meets the target (latency: 2 s / p95; drain: minimum / measured;"
            " share: share / 0.9; job plane: job plane / no-op)",
            f"Amazon emulator: feed_processing_seconds = {FEED_PROCESSING_SECONDS}",
        ],
        failures=failures,
    )
