"""`python -m bench`: run the registered benchmarks against PostgreSQL, print and save results.

`make bench` starts a durable throwaway PostgreSQL and exports OMS_TEST_POSTGRES_URL. To add a
benchmark, write a module with `run(config: BenchConfig) -> BenchReport` and register it in
BENCHMARKS below.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bench import (
    availability,
    orders,
    pii,
    publication,
    reservations,
    returns,
    sqlite,
    sync,
    sync_memory,
)
from bench.harness import BenchConfig, BenchReport
from oms.settings import PROJECT_ROOT

URL_VARIABLE = "OMS_TEST_POSTGRES_URL"
OUTPUT_DIR = PROJECT_ROOT / "var" / "bench"


@dataclass(frozen=True, slots=True)
class Benchmark:
    summary: str
    run: Callable[[BenchConfig], BenchReport]


BENCHMARKS: dict[str, Benchmark] = {
    "reservations": Benchmark(
        "InventoryService.reserve vs the bare conditional UPDATE; hot SKU and 10,000 SKUs",
        reservations.run,
    ),
    "publication": Benchmark(
        "reservations/s with three channels kept current / without channels (target 0.8)",
        publication.run,
    ),
    "availability": Benchmark(
        "ChannelAvailabilityService.recompute_all: 100,000 SKUs x 5 locations x 3 channels",
        availability.run,
    ),
    "orders": Benchmark(
        "orders/s placed (sourcing, reservation, outbox) via service and HTTP vs pgbench tps",
        orders.run,
    ),
    "returns": Benchmark(
        "a returned unit received, graded and dispositioned per second vs pgbench (target 0.25)",
        returns.run,
    ),
    "sqlite": Benchmark(
        "SQLite: orders p99 (16 HTTP clients), cost of synchronous=FULL, import beside writers",
        sqlite.run,
    ),
    "sync-memory": Benchmark(
        "worker RSS during a full push of 100,000 listed SKUs (target <= 200 MB)",
        sync_memory.run,
    ),
    "pii": Benchmark(
        "PII anonymisation of 100,000 Amazon orders (target <= 60 s), then a run changing 0",
        pii.run,
    ),
    "sync": Benchmark(
        "channel sync vs emulators: change->push p95, limits used, 2,000-SKU drains, job plane",
        sync.run,
    ),
}
# Benchmarks that make their own (SQLite) databases and need no PostgreSQL.
STANDALONE = frozenset({"sqlite"})


def _workers(value: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {value}"
        ) from None
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError("worker counts must be positive integers")
    return counts


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def _names(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown) or value!r}; known: {', '.join(BENCHMARKS)}"
        )
    return names


def parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<14} {b.summary}" for name, b in BENCHMARKS.items())
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmarks of oms on PostgreSQL. Clients are separate processes, each with its\n"
            "own connection; each measurement runs for a fixed time after a warm-up and\n"
            "reports completed operations per second. Results go to var/bench/<name>.json.\n"
            "Usually run by `make bench`, which starts a throwaway durable PostgreSQL."
        ),
        epilog=f"benchmarks:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--seconds",
        type=_positive,
        default=5.0,
        help="measured duration of each measurement (default: 5)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds run before each measurement and not counted (default: 1)",
    )
    p.add_argument(
        "--workers",
        type=_workers,
        default=(1, 4, 16),
        help="comma-separated concurrent client counts (default: 1,4,16)",
    )
    p.add_argument(
        "--only",
        type=_names,
        default=list(BENCHMARKS),
        metavar="NAME[,NAME]",
        help=f"run only these benchmarks (default: all: {', '.join(BENCHMARKS)})",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile the operation in a single client and save the breakdown in the JSON",
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get(URL_VARIABLE),
        help=f"SQLAlchemy URL of a PostgreSQL database it may wipe (default: ${URL_VARIABLE})",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.database_url and not set(args.only) <= STANDALONE:
        print(f"bench: set {URL_VARIABLE} or pass --database-url (or use `make bench`)")
        return 2
    config = BenchConfig(
        database_url=args.database_url or "",
        seconds=args.seconds,
        warmup=max(0.0, args.warmup),
        workers=args.workers,
        profile=args.profile,
    )
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    failed = False
    for name in args.only:
        print(f"== {name}: {BENCHMARKS[name].summary}", flush=True)
        started = time.monotonic()
        report = BENCHMARKS[name].run(config)
        elapsed = time.monotonic() - started
        print()
        print(report.table())
        for note in report.notes:
            print(note)
        if report.targets:
            print(report.targets_table())
        document = {
            "name": report.name,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            # Other work on the machine skews every number: worth knowing when comparing runs.
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "elapsed_seconds": round(elapsed, 1),
            "table": {"columns": report.columns, "rows": report.rows},
            # One key per target: figure, baseline, ratio, target, met.
            "targets": report.targets,
            **report.document,
        }
        path = OUTPUT_DIR / f"{name}.json"
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"written to {path.relative_to(PROJECT_ROOT)} ({elapsed:.0f} s)")
        for failure in report.failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        failed = failed or bool(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
