"""The cost of keeping channel numbers current: reservations/s with channels ÷ without.

Same data, same run: 10,000 SKUs at one DC, reservations of 1 unit through
InventoryService.reserve. First with no channel (nothing to publish), then with three channels
fed by the DC, each with rules (safety stock, a buffer, a share, a cap), so that every
reservation recomputes the SKU for three channels and writes its changed numbers and their
AvailabilityChanged events in the reservation's transaction. Target: ratio >= 0.8.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from bench.database import durability, migrate, require_postgresql, server_version
from bench.harness import BenchConfig, BenchReport, Measurement, measure
from bench.reservations import LOCATION, SKU_COUNT, ServiceClient, seed, service_for
from oms.channels.availability.services.channels import ChannelService, CreateChannel
from oms.db import make_engine, make_session_factory
from oms.uow import SqlUnitOfWork

TARGET_RATIO = 0.8
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


def _events(admin: Engine) -> int:
    with admin.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM outbox WHERE event = 'AvailabilityChanged'")
            ).scalar_one()
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
        with_channels = _measure(config, admin, skus, workers)
        published = _events(admin) - events_before
        ratio = with_channels.per_second / without.per_second if without.per_second else 0.0
        # Each reservation of 1 unit moves each channel's number of that SKU by at most 1;
        # the share (80%) and cap make some move by 0, so events <= 3 per reservation.
        if published == 0 or published > 3 * with_channels.succeeded:
            failures.append(
                f"x{workers}: {published} AvailabilityChanged events for"
                f" {with_channels.succeeded} reservations"
            )
        report = service_for(admin).verify()
        if not report.clean:
            failures.append(f"x{workers}: ledger != projection after the run")
        rows.append(
            [
                workers,
                round(without.per_second),
                round(with_channels.per_second),
                f"{ratio:.2f}",
                f"{published / max(with_channels.succeeded, 1):.2f}",
            ]
        )
        results.append(
            {
                "workers": workers,
                "without_channels_per_s": round(without.per_second, 1),
                "with_channels_per_s": round(with_channels.per_second, 1),
                "ratio": round(ratio, 3),
                "events_per_reservation": round(published / max(with_channels.succeeded, 1), 3),
            }
        )
        print(
            f"  {workers:>2} workers: without channels {without.per_second:,.0f}/s,"
            f" with 3 channels {with_channels.per_second:,.0f}/s, ratio {ratio:.2f}",
            flush=True,
        )
    met = {str(r["workers"]): r["ratio"] >= TARGET_RATIO for r in results}
    return BenchReport(
        name="publication",
        columns=["workers", "no channels/s", "3 channels/s", "ratio", "events/reservation"],
        rows=rows,
        document={
            "benchmark": "publication",
            "postgresql": server_version(admin),
            "durability": durability(admin),
            "seconds": config.seconds,
            "skus": SKU_COUNT,
            "target": {"ratio": TARGET_RATIO, "met": met},
            "results": results,
            "failures": failures,
        },
        notes=[
            f"{SKU_COUNT:,} SKUs at one DC, 1 unit per reservation, SKU chosen uniformly",
            f"target: ratio >= {TARGET_RATIO}: "
            + ", ".join(f"x{w} {'met' if ok else 'MISSED'}" for w, ok in met.items()),
        ],
        failures=failures,
    )
