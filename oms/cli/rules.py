"""Channel rules in bulk and channel numbers (`oms rules ...`, `oms availability publish`),
and the demo brand (`oms demo seed`)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from oms.channels.availability.domain.rule_rows import (
    LineError,
    RulesEncoding,
    RulesFileInvalid,
    RulesImportStopped,
)
from oms.channels.availability.domain.rules_file import (
    parse_rules_file,
)
from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.rules_csv import (
    export_rules,
    import_rules,
)
from oms.cli.common import (
    EXPORT_ENCODING,
    actor_name,
    app,
    clean_errors,
    demo_app,
    fail,
    rows_text,
    runtime,
    stderr,
    stdout,
)
from oms.inventory.services import InventoryService
from oms.inventory.services.stock_file_format import (
    FileEncoding,
)
from oms.sqlite import reading

# --------------------------------------------------------------------------- rules

rules_app = typer.Typer(help="Channel rules in bulk: CSV import and export.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
availability_app = typer.Typer(help="What each channel is told.", no_args_is_help=True)
app.add_typer(availability_app, name="availability")


@availability_app.command("publish")
@clean_errors
def availability_publish() -> None:
    """Recompute every channel's number of every SKU and publish the ones that differ.

    The publisher keeps numbers current after every change (`oms availability drain`); this
    is a repair, e.g. after a database restore or data loaded around the API. Safe to run at
    any time.
    """
    with runtime() as rt:
        changed = rt.publication.republish_all()
    stdout().print(f"{changed} channel numbers changed and published")


@availability_app.command("drain")
@clean_errors
def availability_drain() -> None:
    """Publish every change waiting in the publication queue, then stop.

    What the publisher of `oms worker` (or of `oms serve` without Redis) does continuously;
    useful when neither runs, e.g. after a batch of CLI commands on the embedded database.
    """
    with runtime() as rt:
        done = rt.publication.drain()
    stdout().print(
        f"{done.changes} queued changes taken, {done.numbers} channel numbers changed and published"
    )


_RULES_ENCODING = "auto (UTF-8 with or without a BOM, else Shift_JIS), utf-8, shift_jis or cp932."
_MAX_ACTOR = 100  # rule_changes.actor


@contextmanager
def _channel_runtime() -> Iterator[tuple[ChannelService, InventoryService]]:
    with runtime() as rt:
        yield rt.channels, rt.inventory


@rules_app.command("import")
@clean_errors
def rules_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and say what it would change.")
    ] = False,
    actor: Annotated[
        str | None,
        typer.Option(help="Who the rule changes are recorded as. Default: oms rules import (you)."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Apply the valid rows and report the others.")
    ] = False,
    encoding: Annotated[
        RulesEncoding, typer.Option(case_sensitive=False, help=_RULES_ENCODING)
    ] = RulesEncoding.AUTO,
) -> None:
    """Set channel rules from CSV: rule,channel,sku,location,category,attribute,value.

    rule is safety_stock, default_safety_stock, exclusion, pool, buffer, share or cap; value is
    units, a percent (share) or add/remove (exclusion), and an empty value removes the rule.

    Every row is checked before any is applied: one bad row applies nothing. Importing the
    same file again changes nothing; each change is recorded with --actor.
    """
    who = (actor or "").strip() or actor_name("oms rules import")
    if len(who) > _MAX_ACTOR:
        fail(f"actor: must be at most {_MAX_ACTOR} characters", code=2)
    parsed = parse_rules_file(file.read_bytes(), encoding)
    with _channel_runtime() as (channels, inventory):
        try:
            outcome = import_rules(
                channels, inventory, parsed, actor=who, dry_run=dry_run, skip_invalid=skip_invalid
            )
        except RulesFileInvalid as invalid:
            _report_line_errors(invalid.errors)
            fail(f"{file.name}: {invalid.detail} (--skip-invalid applies the valid rows)")
        except RulesImportStopped as stopped:
            fail(f"{file.name}: {stopped.detail}")
    _report_line_errors(outcome.errors)
    skipped = len({e.line for e in outcome.errors})
    changed = "would change" if dry_run else "changed"
    stdout().print(
        f"{file.name}: {rows_text(outcome.applied)} {changed} a rule, "
        f"{outcome.unchanged} unchanged, "
        f"{skipped} skipped" + ("; dry run: nothing was changed" if dry_run else ""),
        markup=False,
        soft_wrap=True,
    )
    if skipped and not outcome.applied and not outcome.unchanged:
        raise typer.Exit(1)


def _report_line_errors(errors: list[LineError]) -> None:
    err = stderr()
    for error in errors:
        err.print(str(error), markup=False, soft_wrap=True)


@rules_app.command("export")
@clean_errors
def rules_export(
    file: Annotated[
        Path | None,
        typer.Argument(dir_okay=False, metavar="FILE", help="Write here instead of stdout."),
    ] = None,
    encoding: Annotated[
        FileEncoding, typer.Option(case_sensitive=False, help=EXPORT_ENCODING)
    ] = FileEncoding.UTF8,
) -> None:
    """Export every channel rule and safety stock as CSV, in the import format.

    Imported back, an export changes nothing.
    """
    with _channel_runtime() as (channels, _), reading():
        try:
            if file is None:
                stream = io.TextIOWrapper(
                    typer.get_binary_stream("stdout"), encoding=encoding.codec, newline=""
                )
                try:
                    export_rules(channels, stream)
                finally:
                    stream.flush()
                    stream.detach()  # leave stdout open
                return
            partial = file.with_name(file.name + ".part")
            try:
                with partial.open("w", encoding=encoding.codec, newline="") as csv_file:
                    rows = export_rules(channels, csv_file)
                os.replace(partial, file)  # never leave a half-written export under its name
            finally:
                partial.unlink(missing_ok=True)
        except UnicodeEncodeError as error:
            text = error.object[error.start : error.end]
            fail(f"encoding: {text!r} cannot be written in {encoding.label}; export as utf-8")
    stderr().print(f"Exported {rows_text(rows)} of rules to {file}", markup=False, soft_wrap=True)


# --------------------------------------------------------------------------- demo


@demo_app.command("seed")
@clean_errors
def demo_seed() -> None:
    """Load a demo apparel brand: catalogue, opening stock, channels and their rules.

    Running it again changes nothing.
    """
    from oms.demo.brand import SAMPLE_SKUS
    from oms.demo.seed import seed_demo

    with runtime() as rt:
        summary = seed_demo(rt.inventory, rt.channels, rt.availability, rt.order_settings)
    table = Table(title="Demo brand", show_header=True)
    table.add_column("")
    table.add_column("created", justify="right")
    table.add_column("already there", justify="right")
    table.add_row("locations", str(summary.locations_created), str(summary.locations_existing))
    table.add_row("SKUs", str(summary.skus_created), str(summary.skus_existing))
    table.add_row("receipts", str(summary.receipts_applied), str(summary.receipts_already_applied))
    table.add_row("channels", str(summary.channels_created), str(summary.channels_existing))
    table.add_row("rules", str(summary.rules_set), str(summary.rules_existing))
    out = stdout()
    out.print(table)
    out.print(f"{summary.units_received} units received.")
    samples = Table(title="What each channel is told")
    samples.add_column("SKU")
    for code in summary.samples:
        samples.add_column(code, justify="right")
    for sku in SAMPLE_SKUS:
        samples.add_row(sku, *(str(numbers[sku]) for numbers in summary.samples.values()))
    out.print(samples)
    out.print("Why: GET /v1/channels/{channel}/availability/{sku}/explain", markup=False)
