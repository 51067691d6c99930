"""Parallel clients for a fixed time, and what every benchmark gets and gives back.

Clients are separate processes, each with its own database connection: threads would measure
the GIL, not the database. A client is built inside its process by a picklable factory, waits
at a barrier until every client is connected, then runs operations back to back. Operations
that complete during the warm-up are done (and must be accounted for) but not counted.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.synchronize import Barrier
from typing import Any, Protocol

# Enough for 16 processes to import oms and connect on a loaded 2-core machine.
STARTUP_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class BenchConfig:
    database_url: str  # SQLAlchemy URL, postgresql+psycopg://...
    seconds: float = 5.0
    warmup: float = 1.0
    workers: tuple[int, ...] = (1, 4, 16)
    profile: bool = False


@dataclass(slots=True)
class BenchReport:
    """A benchmark's outcome: a table for people, a JSON document for tools."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # broken correctness checks
    # One entry per target of the issue it measures: see `target()`.
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def target(
        self,
        key: str,
        *,
        figure: float,
        baseline: float | None,
        target: float,
        at_least: bool = True,
        unit: str = "",
        what: str = "",
    ) -> bool:
        """Record one target: `figure` (or figure / baseline, when there is a baseline measured
        in the same run) compared with `target` (>= when `at_least`, else <=)."""
        ratio = figure / baseline if baseline else None
        compared = ratio if baseline is not None else figure
        met = compared is not None and (compared >= target if at_least else compared <= target)
        self.targets[key] = {
            "what": what,
            "figure": round(figure, 4),
            "unit": unit,
            "baseline": None if baseline is None else round(baseline, 4),
            "ratio": None if ratio is None else round(ratio, 4),
            "target": ("≥ " if at_least else "≤ ") + f"{target:g}",
            "met": bool(met),
        }
        return bool(met)

    def targets_table(self) -> str:
        lines = []
        for key, t in self.targets.items():
            shown = t["ratio"] if t["ratio"] is not None else t["figure"]
            base = (
                ""
                if t["baseline"] is None
                else f" (figure {t['figure']:g} / baseline {t['baseline']:g})"
            )
            unit = f" {t['unit']}" if t["ratio"] is None and t["unit"] else ""
            verdict = "met" if t["met"] else "MISSED"
            lines.append(f"target {key}: {shown:g}{unit}{base}, target {t['target']}: {verdict}")
        return "\n".join(lines)

    def table(self) -> str:
        cells = [self.columns, *[[_cell(v) for v in row] for row in self.rows]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]

        def line(row: Sequence[str]) -> str:
            return "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )

        rule = "  ".join("-" * w for w in widths)
        return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class Client(Protocol):
    def step(self) -> bool:
        """One operation; False when the database refused it (counted as a failure)."""

    def backend_pids(self) -> list[int]:
        """The PostgreSQL server processes serving this client, to read their CPU time."""

    def close(self) -> None: ...


ClientFactory = Callable[..., Client]


@dataclass(frozen=True, slots=True)
class ClientResult:
    index: int
    counted: int  # completed inside the measured window
    succeeded: int  # completed at all, warm-up included: what the database now holds
    failed: int
    client_cpu: float = 0.0  # seconds of CPU in the measured window, this process
    server_cpu: float | None = None  # and its PostgreSQL backends (None: not readable)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Measurement:
    workers: int
    seconds: float
    counted: int
    succeeded: int
    failed: int
    client_cpu: float
    server_cpu: float | None
    load_average: float  # 1-minute load before the run: other work skews every number

    @property
    def per_second(self) -> float:
        return self.counted / self.seconds

    def cpu_ms_per_op(self) -> tuple[float, float | None]:
        """CPU per counted operation: (clients, PostgreSQL backends), milliseconds.

        Much steadier than throughput on a shared machine: with every core busy, throughput is
        about cores / (client + server CPU per operation).
        """
        if not self.counted:
            return 0.0, None
        server = None if self.server_cpu is None else self.server_cpu / self.counted * 1e3
        return self.client_cpu / self.counted * 1e3, server


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _server_cpu(pids: list[int]) -> float | None:
    """utime + stime of local server processes, from /proc (None when not on this host)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def _cpu(client: Client) -> tuple[float, float | None]:
    return time.process_time(), _server_cpu(client.backend_pids())


def _context() -> ForkContext | SpawnContext:
    # fork starts 16 clients in milliseconds instead of re-importing oms 16 times; the parent
    # holds no connection or thread when it forks (see measure()).
    if sys.platform == "linux":
        return mp.get_context("fork")
    return mp.get_context("spawn")


def _run_client(
    factory: ClientFactory,
    args: tuple[Any, ...],
    index: int,
    barrier: Barrier,
    results: mp.Queue[ClientResult],
    warmup: float,
    seconds: float,
) -> None:
    try:
        client = factory(index, *args)
    except BaseException:
        results.put(ClientResult(index, 0, 0, 0, error=traceback.format_exc()))
        barrier.abort()
        return
    counted = succeeded = failed = 0
    try:
        barrier.wait(STARTUP_TIMEOUT)
        now = time.monotonic()
        window_start = now + warmup
        window_end = window_start + seconds
        before: tuple[float, float | None] | None = None
        while now < window_end:
            ok = client.step()
            now = time.monotonic()
            if before is None and now >= window_start:
                before = _cpu(client)
            if not ok:
                failed += 1
                continue
            succeeded += 1
            if window_start <= now < window_end:
                counted += 1
        after = _cpu(client)
        before = before or after
        server = None
        if after[1] is not None and before[1] is not None:
            server = after[1] - before[1]
        result = ClientResult(index, counted, succeeded, failed, after[0] - before[0], server)
    except BaseException:
        result = ClientResult(index, counted, succeeded, failed, error=traceback.format_exc())
    finally:
        client.close()
    results.put(result)


def measure(
    factory: ClientFactory,
    args: tuple[Any, ...],
    *,
    workers: int,
    seconds: float,
    warmup: float,
) -> Measurement:
    """Run `workers` client processes for warmup + seconds; operations per second counted.

    `factory(index, *args)` runs in each child and must be a module-level function. The caller
    must not hold open connections: forked children would share their sockets.
    """
    load_average = os.getloadavg()[0]
    ctx = _context()
    barrier = ctx.Barrier(workers + 1)
    results: mp.Queue[ClientResult] = ctx.Queue()
    processes = [
        ctx.Process(
            target=_run_client,
            args=(factory, args, i, barrier, results, warmup, seconds),
            name=f"bench-client-{i}",
            daemon=True,
        )
        for i in range(workers)
    ]
    collected: list[ClientResult] = _gather(processes, barrier, results, warmup + seconds)
    return _summed(collected, workers, seconds, load_average, workers, "client")


def _gather(
    processes: list[Any], barrier: Barrier, results: mp.Queue[Any], run_seconds: float
) -> list[Any]:
    """Start the processes, release them together, and collect one result from each (or what
    came before the deadline); none is left running."""
    for process in processes:
        process.start()
    collected: list[Any] = []
    try:
        try:
            barrier.wait(STARTUP_TIMEOUT)
        except Exception:  # BrokenBarrierError or timeout: a client failed to start
            barrier.abort()
        deadline = time.monotonic() + run_seconds + STARTUP_TIMEOUT
        while len(collected) < len(processes):
            try:
                collected.append(results.get(timeout=max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                break
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()
    return collected


def _summed(
    collected: list[ClientResult],
    workers: int,
    seconds: float,
    load_average: float,
    expected: int,
    what: str,
) -> Measurement:
    """The processes' results as one measurement; a failed or missing one fails it."""
    errors = [r.error for r in collected if r.error]
    if errors or len(collected) < expected:
        detail = errors[0] if errors else f"only {len(collected)} of {expected} reported"
        raise RuntimeError(f"a benchmark {what} failed:\n{detail}")
    servers = [r.server_cpu for r in collected]
    return Measurement(
        workers=workers,
        seconds=seconds,
        counted=sum(r.counted for r in collected),
        succeeded=sum(r.succeeded for r in collected),
        failed=sum(r.failed for r in collected),
        client_cpu=sum(r.client_cpu for r in collected),
        server_cpu=None if None in servers else sum(s for s in servers if s is not None),
        load_average=load_average,
    )


def cpu_cell(m: Measurement) -> str:
    """`client+server` CPU milliseconds per operation, for a report's table."""
    client, server = m.cpu_ms_per_op()
    return f"{client:.2f}+{'?' if server is None else f'{server:.2f}'}"


def measurement_json(m: Measurement) -> dict[str, Any]:
    """A measurement as the JSON report keeps it."""
    client, server = m.cpu_ms_per_op()
    return {
        "per_s": round(m.per_second, 1),
        "counted": m.counted,
        "succeeded_incl_warmup": m.succeeded,
        "failed": m.failed,
        "client_cpu_ms_per_op": round(client, 3),
        "server_cpu_ms_per_op": None if server is None else round(server, 3),
        "load_average_before": round(m.load_average, 2),
    }


# ----------------------------------------------------------------------------- callers


class SharedClient(Protocol):
    """One per process, called by several threads at once (as a server's request threads)."""

    def step(self, caller: int) -> bool: ...

    def backend_pids(self) -> list[int]: ...

    def close(self) -> None: ...


SharedFactory = Callable[..., SharedClient]


@dataclass(frozen=True, slots=True)
class CallerMeasurement:
    measurement: Measurement
    latencies_ms: list[float]  # every counted operation's latency

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _run_callers(
    factory: SharedFactory,
    args: tuple[Any, ...],
    index: int,
    callers: int,
    first_caller: int,
    barrier: Barrier,
    results: mp.Queue[tuple[ClientResult, list[float]]],
    warmup: float,
    seconds: float,
) -> None:
    import threading

    try:
        client: SharedClient = factory(index, *args)
    except BaseException:
        results.put((ClientResult(index, 0, 0, 0, error=traceback.format_exc()), []))
        barrier.abort()
        return
    counts = [[0, 0, 0] for _ in range(callers)]  # counted, succeeded, failed
    latencies: list[list[float]] = [[] for _ in range(callers)]
    errors: list[str] = []
    window: list[float] = []

    def loop(n: int) -> None:
        try:
            start, end = window
            now = time.monotonic()
            while now < end:
                began = now
                ok = client.step(first_caller + n)
                now = time.monotonic()
                if not ok:
                    counts[n][2] += 1
                    continue
                counts[n][1] += 1
                if start <= began and now < end:
                    counts[n][0] += 1
                    latencies[n].append((now - began) * 1e3)
        except BaseException:
            errors.append(traceback.format_exc())

    try:
        barrier.wait(STARTUP_TIMEOUT)
        now = time.monotonic()
        window.extend([now + warmup, now + warmup + seconds])
        threads = [threading.Thread(target=loop, args=(n,)) for n in range(callers)]
        for t in threads:
            t.start()
        time.sleep(max(0.0, window[0] - time.monotonic()))
        before = time.process_time(), _server_cpu(client.backend_pids())
        for t in threads:
            t.join()
        after = time.process_time(), _server_cpu(client.backend_pids())
        server = None
        if after[1] is not None and before[1] is not None:
            server = after[1] - before[1]
        result = ClientResult(
            index,
            sum(c[0] for c in counts),
            sum(c[1] for c in counts),
            sum(c[2] for c in counts),
            after[0] - before[0],
            server,
            errors[0] if errors else None,
        )
    except BaseException:
        result = ClientResult(index, 0, 0, 0, error=traceback.format_exc())
    finally:
        client.close()
    results.put((result, [x for per in latencies for x in per]))


def measure_callers(
    factory: SharedFactory,
    args: tuple[Any, ...],
    *,
    callers: int,
    processes: int,
    seconds: float,
    warmup: float,
) -> CallerMeasurement:
    """`callers` concurrent callers spread over `processes` processes (threads in each, as
    request threads in `oms serve --workers N`): what a process takes together is measured.
    `factory(index, *args)` returns a SharedClient; `step(caller)` is called by many threads."""
    processes = max(1, min(processes, callers))
    load_average = os.getloadavg()[0]
    ctx = _context()
    barrier = ctx.Barrier(processes + 1)
    results: mp.Queue[tuple[ClientResult, list[float]]] = ctx.Queue()
    shares = [
        callers // processes + (1 if i < callers % processes else 0) for i in range(processes)
    ]
    firsts = [sum(shares[:i]) for i in range(processes)]
    procs = [
        ctx.Process(
            target=_run_callers,
            args=(factory, args, i, shares[i], firsts[i], barrier, results, warmup, seconds),
            name=f"bench-callers-{i}",
            daemon=True,
        )
        for i in range(processes)
    ]
    collected: list[tuple[ClientResult, list[float]]] = _gather(
        procs, barrier, results, warmup + seconds
    )
    m = _summed([r for r, _ in collected], callers, seconds, load_average, processes, "process")
    return CallerMeasurement(m, [x for _, lat in collected for x in lat])
