"""A returned unit's way through the warehouse, per second, beside pgbench.

One operation is what a warehouse bench does with one returned item, through the services as
`oms.app` wires them: receive it (a `return_receipt` movement into quarantine and its unit with
its own label), grade it (an append-only grade record; the return becomes inspected with its
last unit), and decide and execute its disposition (RESALE: the unit leaves the original SKU's
quarantine and becomes a resale unit of its own, a SKU of quantity 1 on sale). Three
transactions, as three scans at the bench would be.

Each client works on its own return of its own product (its own order, shipped), as returns
of many products come back at once: receipts of the
same return queue on its lock, which is not what is measured here.

Target: operations/s >= 0.25 x pgbench TPC-B tps, at 16 clients, same run.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, event, text

from bench.database import durability, migrate, require_postgresql, settle, truncate_all
from bench.harness import (
    BenchConfig,
    BenchReport,
    Measurement,
    cpu_cell,
    measure,
    measurement_json,
)
from bench.orders import _report_error, pgbench_binary, pgbench_drop, pgbench_prepare, pgbench_run
from oms.bootstrap import bootstrap
from oms.channels.availability.services.channels import CreateChannel
from oms.db import make_engine
from oms.inventory.services.commands import CreateLocation, CreateSku, RecordMovement
from oms.orders.domain.order import NewOrderLine
from oms.orders.services.placement import PlaceOrder
from oms.returns.services.rma import NewReturnLine, OpenReturn
from oms.returns.services.units import GradeUnit
from oms.shared.clock import utcnow

LOCATION = "BENCH-RETURNS"
CHANNEL = "bench-returns"
SKU = "BENCH-RETURNED"  # a client's product: BENCH-RETURNED-{client}
TARGET_RATIO = 0.25
TARGET_WORKERS = 16
UNITS_PER_CLIENT = 5_000  # more than a client gets through in a run
DISPOSITION = "RESALE"
GRADE = GradeUnit(
    "B",
    "full",
    defects=[{"code": "SCRATCH", "zone": "front", "severity": "minor", "note": None}],
    completeness={"tags": False, "box": True, "manual": True, "accessories": True},
    photos=["bench://front.jpg"],
)
SHIP_TO = {
    "name": "Bench Customer",
    "postal_code": "150-0001",
    "prefecture": "13",
    "city": "Shibuya",
    "address1": "1-1",
}


def seed(engine: Engine, clients: int) -> dict[int, tuple[int, str]]:
    """One shipped order and one authorized return of UNITS_PER_CLIENT units per client."""
    with engine.begin() as conn:
        truncate_all(conn)
    services = bootstrap(engine=engine)
    services.inventory.create_location(
        CreateLocation(LOCATION, "Returns bench", "warehouse", "12", "272-0001")
    )
    for index in range(clients):
        services.inventory.create_sku(
            CreateSku(
                f"{SKU}-{index}",
                "Returned item",
                attributes={"category": "bench", "price": 10000},
            )
        )
        services.inventory.record_movement(
            RecordMovement(
                "receipt", f"{SKU}-{index}", LOCATION, UNITS_PER_CLIENT, idempotency_key=f"s{index}"
            )
        )
    services.channels.create_channel(
        CreateChannel(CHANNEL, "Returns bench shop", "storefront", locations=[LOCATION])
    )
    returns: dict[int, tuple[int, str]] = {}
    for index in range(clients):
        placed = services.orders.place_order(
            PlaceOrder(
                channel=CHANNEL,
                external_id=f"bench-return-{index}",
                ordered_at=utcnow(),
                currency="JPY",
                lines=[NewOrderLine("L1", f"{SKU}-{index}", UNITS_PER_CLIENT, 10000)],
                ship_to=SHIP_TO,
            )
        )
        [parcel] = placed.order.shipments
        services.fulfilment.pick(parcel.id or 0)
        services.fulfilment.pack(parcel.id or 0)
        services.fulfilment.ship(parcel.id or 0, "yamato", f"BENCH-{index:04d}")
        rma = services.returns.open_return(
            OpenReturn(
                placed.order.id or 0, [NewReturnLine("L1", UNITS_PER_CLIENT, "changed_mind")]
            ),
            "bench",
        )
        returns[index] = (rma.id or 0, "L1")
    services.close()
    settle(engine, ["units", "unit_grades", "returns", "return_lines", "stock_levels"])
    return returns


class ReturnsClient:
    """One warehouse bench: receive, grade, dispose of one unit at a time."""

    def __init__(
        self, index: int, url: str, returns: dict[int, tuple[int, str]], steps: int
    ) -> None:
        self.engine = make_engine(url, pool_size=1)
        self._pids: list[int] = []
        event.listen(
            self.engine, "connect", lambda dbapi, _rec: self._pids.append(dbapi.info.backend_pid)
        )
        self.services = bootstrap(engine=self.engine)
        self.return_id, self.line_id = returns[index]
        self._steps = steps
        self._graded_and_decided = replace(
            GRADE, disposition=DISPOSITION, disposition_reason="bench", execute=True
        )
        self._label = f"returns client {index}"
        self._errors = 0

    def backend_pids(self) -> list[int]:
        return self._pids

    def step(self) -> bool:
        try:
            received = self.services.returns.receive(
                self.return_id, LOCATION, {self.line_id: 1}, "bench"
            )
            [unit] = received.units
            if self._steps == 3:
                self.services.units.grade(unit.id or 0, GRADE, "bench")
                self.services.units.decide(unit.id or 0, DISPOSITION, "bench", execute=True)
            else:  # the grading station decides as it grades: one transaction
                self.services.units.grade(unit.id or 0, self._graded_and_decided, "bench")
        except Exception:
            self._errors = _report_error(self._label, self._errors, traceback.format_exc())
            return False
        return True

    def close(self) -> None:
        self.services.close()


def check(engine: Engine, succeeded: int) -> tuple[list[str], dict[str, int]]:
    """Every counted operation left one unit done, graded once, with its ledger moves; the
    ledger replays; nothing is left in quarantine but units a failed step left there."""
    failures = []
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(text(sql)).scalar_one())
            for name, sql in {
                "units": "SELECT count(*) FROM units",
                "done": "SELECT count(*) FROM units WHERE status = 'done'",
                "grades": "SELECT count(*) FROM unit_grades",
                "receipts": "SELECT count(*) FROM movements WHERE type = 'return_receipt'",
                "write_offs": "SELECT count(*) FROM movements WHERE type = 'write_off'",
                "resale_units": "SELECT count(*) FROM resale_units",
                # The returned SKU's: resale units wait in quarantine of their own until listed.
                "quarantined": "SELECT coalesce(sum(l.quarantined), 0) FROM stock_levels l"
                f" JOIN skus s ON s.id = l.sku_id WHERE s.code LIKE '{SKU}-%'"
                " AND s.code NOT LIKE '%-U%'",
            }.items()
        }
    if counts["done"] != succeeded:
        failures.append(f"{counts['done']} units done, {succeeded} operations succeeded")
    if counts["quarantined"] != counts["units"] - counts["done"]:
        failures.append(f"quarantined {counts['quarantined']} != units not done")
    if DISPOSITION == "RESALE" and counts["resale_units"] != counts["done"]:
        failures.append(f"{counts['resale_units']} resale units for {counts['done']} units done")
    services = bootstrap(engine=engine)
    try:
        if not services.inventory.verify().clean:
            failures.append("InventoryService.verify() found differences")
    finally:
        services.close()
    return failures, counts


def run(config: BenchConfig) -> BenchReport:
    url = config.database_url
    require_postgresql(url)
    migrate(url)
    workers = TARGET_WORKERS if TARGET_WORKERS in config.workers else max(config.workers)
    seconds = max(1, math.ceil(config.seconds))
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
    print(f"  pgbench    {workers:>2} clients: {bench.tps:,.0f} tps", flush=True)

    admin = make_engine(url, pool_size=1)
    runs: dict[int, tuple[Measurement, dict[str, int]]] = {}
    try:
        for steps in (3, 2):
            returns = seed(admin, workers)
            admin.dispose()
            measured = measure(
                ReturnsClient,
                (url, returns, steps),
                workers=workers,
                seconds=seconds,
                warmup=warmup,
            )
            check_failures, counts = check(admin, measured.succeeded)
            failures += [f"{steps} steps: {f}" for f in check_failures]
            runs[steps] = (measured, counts)
            print(
                f"  returns    {workers:>2} clients, {steps} transactions:"
                f" {measured.per_second:,.1f} units/s",
                flush=True,
            )
        settings = durability(admin)
    finally:
        admin.dispose()

    def ratio(m: Measurement) -> float:
        return m.per_second / bench.tps if bench.tps else 0.0

    best = max(runs.values(), key=lambda r: r[0].per_second)[0]
    met = ratio(best) >= TARGET_RATIO
    rows: list[list[Any]] = [
        ["pgbench (TPC-B-like)", workers, round(bench.tps), "1.00", "-", bench.failed],
        *[
            [
                label,
                workers,
                round(runs[steps][0].per_second, 1),
                f"{ratio(runs[steps][0]):.2f}",
                cpu_cell(runs[steps][0]),
                runs[steps][0].failed,
            ]
            for steps, label in (
                (3, f"receive, grade, {DISPOSITION} (3 calls)"),
                (2, f"receive, grade+{DISPOSITION} (2 calls)"),
            )
        ],
    ]
    notes = [
        f"one operation: receive 1 unit (into quarantine), grade it, {DISPOSITION} executed;"
        " 3 calls: grade and disposition apart; 2 calls: the grade carries the disposition"
        " (`disposition` + `execute` in the grade); one return per client",
        "checked after each run: units done == operations succeeded; quarantine == units not"
        " done; verify() clean"
        if not failures
        else "correctness checks FAILED",
        f"pgbench: `{bench.command}`; durability {settings}",
        f"target: >= {TARGET_RATIO} x pgbench tps at {workers} clients: "
        + ("met" if met else "MISSED"),
    ]
    return BenchReport(
        name="returns",
        columns=["what", "clients", "per second", "ratio", "cpu ms/op client+server", "failed"],
        rows=rows,
        document={
            "returns_vs_pgbench": {
                "figure": best.per_second,
                "baseline": bench.tps,
                "ratio": ratio(best),
                "target": TARGET_RATIO,
                "met": met,
            },
            "pgbench": {"tps": bench.tps, "command": bench.command},
            "three_calls": measurement_json(runs[3][0]),
            "two_calls": measurement_json(runs[2][0]),
            "counts": {str(k): v[1] for k, v in runs.items()},
        },
        notes=notes,
        failures=failures,
    )
