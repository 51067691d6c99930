"""Worker memory during a full push of 100,000 listed SKUs (issue 9; target <= 200 MB RSS).

The catalogue, the Rakuten channel, its connection and 100,000 listings are written in bulk;
a child process (the worker's code path: `bootstrap` + `PushService.push_full`, the pass
`oms sync push --full` and the actors run) pushes every listed SKU to the Rakuten emulator,
served by this process with its limits lifted; oms's own limiter gets the same lifted limits
so the run measures memory, not Rakuten's one call a second. The child's RSS is sampled from
/proc every 50 ms; its peak (and the kernel's high-water mark) is the figure.

`python -m bench --only sync-memory`
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text

from bench.database import migrate, require_postgresql, settle
from bench.harness import BenchConfig, BenchReport
from bench.sync_world import RAKUTEN, connect, emulators, seed
from oms.bootstrap import bootstrap
from oms.channels.availability.services.channels import CreateChannel
from oms.db import make_engine
from oms.settings import Settings
from oms.shared.clock import utcnow

SKUS = 100_000
TARGET_MB = 200.0
LOCATION = "SYNC-DC"


def _rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process, in kB; (0, 0) once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def run(config: BenchConfig) -> BenchReport:
    url = config.database_url
    require_postgresql(url)
    migrate(url)
    secret_key = Fernet.generate_key().decode()
    settings = Settings(database_url=url, redis_url="", secret_key=secret_key, log_level="WARNING")  # type: ignore[arg-type]
    engine = make_engine(url, pool_size=2)
    services = bootstrap(settings, engine=engine)
    try:
        with emulators() as world:
            started = time.monotonic()
            skus = seed(engine, SKUS)
            services.channels.create_channel(
                CreateChannel(RAKUTEN, RAKUTEN, RAKUTEN, locations=[LOCATION])
            )
            connect(services, RAKUTEN, world.connections()[RAKUTEN])
            now = utcnow()
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO channel_listings (channel, sku, remote_id, remote_variant,"
                        " created_at, updated_at)"
                        " SELECT :channel, code, lower(code), 'std', :now, :now FROM skus"
                    ),
                    {"channel": RAKUTEN, "now": now},
                )
            settle(engine, ["channel_listings"])
            for sku in skus:
                world.rakuten.register(sku.lower(), "std", 0)
            world.lift_limits()
            print(
                f"  {SKUS:,} SKUs listed on rakuten in {time.monotonic() - started:.0f} s",
                flush=True,
            )
            child = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "bench.sync_memory_child", RAKUTEN],
                env={
                    **os.environ,
                    "OMS_DATABASE_URL": url,
                    "OMS_REDIS_URL": "",
                    "OMS_SECRET_KEY": secret_key,
                    "OMS_LOG_LEVEL": "WARNING",
                },
                stdout=subprocess.PIPE,
                text=True,
            )
            peak, hwm, samples = 0, 0, 0
            while child.poll() is None:
                rss, high = _rss_kb(child.pid)
                peak, hwm = max(peak, rss), max(hwm, high)
                samples += 1
                time.sleep(0.05)
            out, _ = child.communicate()
            calls_seen = dict(world.rakuten.calls)
    finally:
        services.gateways.close()
        engine.dispose()
    result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    peak_mb = max(peak, hwm) / 1024
    failures = []
    if child.returncode != 0 or result.get("accepted") != SKUS:
        failures.append(
            f"full push: exit {child.returncode}, {result.get('accepted')} of {SKUS:,} accepted"
        )
    ratio = TARGET_MB / peak_mb if peak_mb else 0.0
    return BenchReport(
        name="sync-memory",
        columns=["measurement", "figure", "target", "ratio", "met"],
        rows=[
            [
                f"worker RSS, full push of {SKUS:,} SKUs to rakuten",
                f"{peak_mb:.0f} MB peak",
                f"<= {TARGET_MB:.0f} MB",
                round(ratio, 2),
                ratio >= 1.0,
            ],
            [
                "the push itself",
                f"{result.get('accepted', 0):,} accepted in {result.get('calls', 0)} calls,"
                f" {result.get('seconds', 0):.1f} s",
                "",
                "",
                "",
            ],
        ],
        document={
            "skus": SKUS,
            "peak_rss_mb": round(peak_mb, 1),
            "target_mb": TARGET_MB,
            "ratio": round(ratio, 3),
            "met": ratio >= 1.0,
            "samples": samples,
            "push": result,
            "emulator_calls": calls_seen,
        },
        failures=failures,
    )
