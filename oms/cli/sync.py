"""`oms sync`: push numbers, pull orders, reconcile, and see how each channel stands.

The same services the workers run; a command is one pass, in the foreground, with a progress
bar on a terminal. A pass that another process is running (a worker pushing the same channel)
is not run twice: the command says so and exits with 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from oms.channels.sync.domain.errors import ChannelError
from oms.cli.common import app, clean_errors, fail, runtime, stderr, stdout

sync_app = typer.Typer(help="Channel sync: push, pull, reconcile, status.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")

Channel = Annotated[str, typer.Option("--channel", "-c", help="The channel's code.")]


@contextmanager
def _bar(what: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on a terminal (nothing when piped)."""
    err = stderr()
    if not err.is_terminal:
        yield lambda done, total: None
        return
    bar = Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task(what, total=None)

    def update(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _channel_failed(error: ChannelError) -> None:
    again = " (passing: try again later)" if error.retryable else ""
    fail(f"{error.channel}: {error.message}{again}")


@sync_app.command("push")
@clean_errors
def push(
    channel: Channel,
    full: Annotated[
        bool, typer.Option("--full", help="Every listed SKU, whatever the channel was told.")
    ] = False,
) -> None:
    """Tell the channel the numbers that changed since the last push (or, with --full, every
    listed SKU's number)."""
    with runtime() as services, _bar("pushing") as progress:
        # Changes still queued for the publisher (no `oms serve` or worker running) first.
        services.publication.drain()
        try:
            if full:
                report = services.sync.push.push_full(channel, progress)
            else:
                report = services.sync.push.push_changes(channel, progress)
        except ChannelError as error:
            _channel_failed(error)
    if report.skipped:
        fail(f"{channel}: nothing pushed: {report.skipped}")
    latency = report.latency_p95
    stdout().print(
        f"{channel}: {report.accepted} pushed in {report.calls} calls, "
        f"{report.unchanged} unchanged, {report.rejected} refused (see `oms sync failures`), "
        f"{report.to_retry} to retry"
        + (f"; p95 change -> channel {latency:.1f}s" if latency is not None else ""),
        markup=False,
    )
    if report.rejected or report.to_retry:
        raise typer.Exit(1)


@sync_app.command("pull")
@clean_errors
def pull(channel: Channel) -> None:
    """Take the orders new or changed on the channel since the last pull."""
    with runtime() as services, _bar("pulling orders") as progress:
        try:
            report = services.sync.pull.pull(channel, lambda done: progress(done, None))
        except ChannelError as error:
            _channel_failed(error)
    if report.skipped:
        fail(f"{channel}: nothing pulled: {report.skipped}")
    stdout().print(
        f"{channel}: {report.taken} new orders, {report.seen} already taken, "
        f"{report.cancelled} cancelled by the channel, {report.waiting} not yet released, "
        f"{report.failed} could not be taken (see `oms sync failures`)",
        markup=False,
    )
    if report.failed:
        raise typer.Exit(1)


@sync_app.command("reconcile")
@clean_errors
def reconcile(
    channel: Channel,
    fix: Annotated[
        bool, typer.Option("--fix", help="Push the current number of every drifted SKU.")
    ] = False,
) -> None:
    """Compare what the channel shows with what oms last told it, SKU by SKU."""
    with runtime() as services, _bar("reading the channel") as progress:
        services.publication.drain()  # oms's numbers as of now, queued changes included
        report = services.sync.reconcile.reconcile(channel, fix=fix, progress=progress)
    out = stdout()
    if report.drift:
        table = Table("sku", "channel shows", "oms told it", "oms now", title="drift")
        for d in report.drift:
            table.add_row(
                d.sku,
                "not listed" if d.remote is None else str(d.remote),
                "-" if d.told is None else str(d.told),
                str(d.current),
            )
        out.print(table)
    out.print(
        f"{channel}: {report.checked} listings checked, {len(report.drift)} drifted"
        + (
            f", {report.fixed.accepted} fixed"
            if report.fixed is not None
            else (" (run with --fix to push them)" if report.drift else "")
        ),
        markup=False,
    )
    if report.drift and report.fixed is None:
        raise typer.Exit(1)


@sync_app.command("status")
@clean_errors
def status(channel: Annotated[str | None, typer.Option("--channel", "-c")] = None) -> None:
    """How each channel stands: last push and pull, changes waiting, failures."""
    with runtime() as services:
        rows = services.sync_status.status(channel)
    table = Table(
        "channel",
        "connected",
        "last push",
        "last pull",
        "waiting",
        "lag s",
        "throttled",
        "failures",
        "p95 s",
        "last error",
    )
    for s in rows:
        table.add_row(
            s.channel,
            "yes" if s.connected else "no",
            s.last_push_at.isoformat(timespec="seconds") if s.last_push_at else "-",
            s.last_pull_at.isoformat(timespec="seconds") if s.last_pull_at else "-",
            str(s.queue_depth),
            f"{s.lag_seconds:.1f}",
            str(s.throttled),
            str(s.failures),
            "-" if s.latency_p95_seconds is None else str(s.latency_p95_seconds),
            s.last_error or "",
        )
    stdout().print(table)


@sync_app.command("failures")
@clean_errors
def failures(
    channel: Annotated[str | None, typer.Option("--channel", "-c")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
) -> None:
    """Work the sync could not do, oldest first."""
    with runtime() as services:
        rows, _ = services.sync_status.failures(channel, include_resolved=all_, limit=500)
    table = Table("id", "channel", "operation", "subject", "attempts", "message", "resolved")
    for f in rows:
        table.add_row(
            str(f.id),
            f.channel,
            f.operation,
            f.subject,
            str(f.attempts),
            f.message,
            f.resolved_at.isoformat(timespec="seconds") if f.resolved_at else "",
        )
    stdout().print(table)


@sync_app.command("retry")
@clean_errors
def retry(failure_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Do a failed piece of work again now."""
    with runtime() as services:
        try:
            found = services.sync_status.retry(failure_id)
        except ChannelError as error:
            _channel_failed(error)
    if found.resolved_at is None:
        fail(f"failure {failure_id} is still open: {found.message}")
    stdout().print(f"failure {failure_id} resolved", markup=False)
