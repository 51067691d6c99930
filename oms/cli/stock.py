"""Stock files: `oms stock import` and `oms stock export`."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from oms.cli.common import (
    EXPORT_ENCODING,
    IMPORT_ENCODING,
    PROGRESS_THRESHOLD,
    actor_name,
    clean_errors,
    fail,
    rows_text,
    runtime,
    stderr,
    stdout,
    stock_app,
)
from oms.db import is_sqlite
from oms.inventory.services.stock_file_format import (
    FileEncoding,
    RowError,
    parse_stock_file,
)
from oms.inventory.services.stock_files import (
    ImportRefused,
    check_catalogue,
    export_stock,
    import_stock,
)
from oms.sqlite import reading

# --------------------------------------------------------------------------- stock


def _yield_write_lock() -> None:
    """Between two batches of an import, leave SQLite's write lock free for a moment.

    A writer of another process (the server) waiting for it polls every few milliseconds:
    without a pause, the next batch would take the lock again at once.
    """
    time.sleep(_IMPORT_PAUSE_SECONDS)


_IMPORT_PAUSE_SECONDS = 0.02  # a waiting writer polls every 2 ms (oms.sqlite)


@stock_app.command("import")
@clean_errors
def stock_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE")
    ],
    encoding: Annotated[
        FileEncoding, typer.Option(case_sensitive=False, help=IMPORT_ENCODING)
    ] = FileEncoding.UTF8,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Apply the valid rows and report the others.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Run the import exactly as it would run, every check included, then roll it "
            "back: the same answer, nothing changed.",
        ),
    ] = False,
) -> None:
    """Import stock movements from CSV: sku,location,quantity[,type,reason,reference].

    type is count (default: on_hand becomes the counted quantity), receipt, adjustment (signed,
    needs a reason), quarantine or quarantine_release. on_hand may stand in for quantity, so an
    export can be edited and imported back as a stock-take.

    Every row is checked first, and a file with a bad row changes nothing. The rows are then
    applied in short batches, each its own transaction, so that other writers never wait long.
    Each row is keyed by the file's SHA-256 and its row number: importing the same file again
    changes nothing, and an interrupted import completes when the same file is imported again.
    An edited file is a new file, so its receipts and adjustments would be applied again.
    """
    data = file.read_bytes()
    with runtime() as rt:
        parsed = parse_stock_file(data, encoding)
        if parsed.rows:
            with reading():
                parsed = check_catalogue(rt.inventory, parsed)
        _report_errors(parsed.errors)
        out = stdout()
        if parsed.errors and not (skip_invalid and parsed.rows):
            if not parsed.rows:
                fail(f"{file.name}: no valid rows; nothing was applied")
            fail(
                f"{file.name}: {parsed.bad_rows} of "
                f"{rows_text(parsed.bad_rows + len(parsed.rows))} "
                f"have errors; nothing was applied (--skip-invalid applies the valid rows)"
            )
        if not parsed.rows:
            out.print(f"{file.name}: no rows to import", markup=False)
            return
        with _progress(len(parsed.rows)) as track:
            try:
                outcome = import_stock(
                    rt.inventory,
                    parsed,
                    skip_refused=skip_invalid,
                    actor=actor_name("oms stock import"),
                    track=track,
                    dry_run=dry_run,
                    between_batches=_yield_write_lock if is_sqlite(rt.engine) else None,
                )
            except ImportRefused as refused:
                _report_errors([refused.error])
                if not refused.applied:
                    fail(f"{file.name}: row {refused.error.row} was refused; nothing was applied")
                fail(
                    f"{file.name}: row {refused.error.row} was refused (the stock changed while "
                    f"the file was applied); the {rows_text(refused.applied)} before it were "
                    f"applied. "
                    f"Import the same file again once the stock allows it: rows already applied "
                    f"are not applied twice"
                )
    _report_errors(outcome.refused)
    skipped = parsed.bad_rows + len(outcome.refused)
    if outcome.applied == 0 and outcome.already_applied == 0:
        fail(f"{file.name}: no row could be applied")
    would = "would be applied" if dry_run else "applied"
    out.print(
        f"{'Dry run: ' if dry_run else ''}{file.name}: {rows_text(outcome.applied)} {would}, "
        f"{outcome.already_applied} already applied, {skipped} skipped"
        + ("; nothing was changed." if dry_run else ""),
        markup=False,
    )
    if outcome.changed_nothing and outcome.already_applied:
        out.print("Nothing changed: this file was already applied.")


def _report_errors(errors: list[RowError]) -> None:
    err = stderr()
    for error in errors:
        err.print(str(error), markup=False, soft_wrap=True)


@contextmanager
def _progress(rows: int) -> Iterator[Callable[[int], Callable[[], None]] | None]:
    """A progress bar over the rows being applied, on a terminal and for long files only."""
    err = stderr()
    if rows <= PROGRESS_THRESHOLD or not err.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("applying rows"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("import", total=rows)

    def track(total: int) -> Callable[[], None]:
        bar.reset(task, total=total)  # a retry after a refused row starts over
        return lambda: bar.advance(task)

    with bar:
        yield track


@stock_app.command("export")
@clean_errors
def stock_export(
    encoding: Annotated[
        FileEncoding, typer.Option(case_sensitive=False, help=EXPORT_ENCODING)
    ] = FileEncoding.UTF8,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout."),
    ] = None,
    location: Annotated[str | None, typer.Option(help="Only this location's stock.")] = None,
) -> None:
    """Export every stock level as CSV.

    Columns: sku,location,on_hand,reserved,quarantined,in_transit,available. Imported back, an
    export is a stock-take (on_hand read as the counted quantity) that changes nothing.
    """
    with runtime() as rt, reading():
        if output is None:
            stream = io.TextIOWrapper(
                typer.get_binary_stream("stdout"), encoding=encoding.codec, newline=""
            )
            try:
                export_stock(rt.inventory, stream, location=location)
            finally:
                stream.flush()
                stream.detach()  # leave stdout open
            return
        partial = output.with_name(output.name + ".part")
        try:
            with partial.open("w", encoding=encoding.codec, newline="") as csv_file:
                rows = export_stock(rt.inventory, csv_file, location=location)
            os.replace(partial, output)  # never leave a half-written export under its name
        finally:
            partial.unlink(missing_ok=True)
    stderr().print(f"Exported {rows} stock levels to {output}", markup=False)
