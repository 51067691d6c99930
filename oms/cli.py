"""The `oms` command: serve, worker, database migrations, API keys, stock files, demo data.

Every command reads `Settings()` (OMS_* environment variables, config/default.toml) and wires
the implementations itself. A refused command (a `DomainError`) prints one line naming the
field and exits with 1; a usage error exits with 2.
"""

from __future__ import annotations

import functools
import getpass
import io
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from oms import access
from oms.bootstrap import Services, bootstrap
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
from oms.channels.sync.domain.model import ChannelKind
from oms.db import is_sqlite, make_engine
from oms.inventory.services import InventoryService
from oms.inventory.services.stock_files import (
    FileEncoding,
    ImportRefused,
    RowError,
    check_catalogue,
    export_stock,
    import_stock,
    parse_stock_file,
)
from oms.settings import PROJECT_ROOT, Settings
from oms.shared.errors import DomainError
from oms.sqlite import reading

P = ParamSpec("P")
R = TypeVar("R")

PROGRESS_THRESHOLD = 200  # rows; smaller imports finish before a bar is worth drawing

app = typer.Typer(
    name="oms",
    help="Omnichannel inventory and order management.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for the HTTP API.", no_args_is_help=True)
inventory_app = typer.Typer(help="Inventory checks.", no_args_is_help=True)
stock_app = typer.Typer(help="Stock files: CSV import and export.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(inventory_app, name="inventory")
app.add_typer(stock_app, name="stock")
app.add_typer(demo_app, name="demo")
orders_app = typer.Typer(help="Orders.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")


def main() -> None:
    app()


# --------------------------------------------------------------------------- wiring


def _out() -> Console:
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _fail(message: str, code: int = 1) -> NoReturn:
    _err().print(f"error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _describe(error: DomainError) -> str:
    return f"{error.field}: {error.detail}" if error.field else error.detail


def _clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A refused command is one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            _fail(_describe(error))
        except SQLAlchemyError as error:
            cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            hint = ""
            if "no such table" in cause or "does not exist" in cause:
                hint = " (is the schema up to date? run `oms db upgrade`)"
            _fail(f"database: {cause}{hint}")

    return wrapper


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"OMS_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()
        )
        _fail(f"configuration: {problems}", code=2)
    # Every command says which database it works on: a wrong OMS_* or folder shows at once.
    _err().print(f"database: {_safe_url(settings.database_url)}", markup=False, soft_wrap=True)
    return settings


CLI_WRITE_WAIT_SECONDS = 600.0


@contextmanager
def _runtime() -> Iterator[Services]:
    # A command is a batch job: it may wait longer behind a busy server than an HTTP caller.
    services = bootstrap(_settings(), pool_size=2, write_wait_seconds=CLI_WRITE_WAIT_SECONDS)
    try:
        yield services
    finally:
        services.close()


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _actor(command: str) -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = ""
    return f"{command} ({user})"[:100] if user else command


# --------------------------------------------------------------------------- serve, worker


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: OMS_HOST (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default: OMS_PORT (8000).")] = None,
) -> None:
    """Run the HTTP API (with an in-process worker unless OMS_REDIS_URL is set)."""
    settings = _settings()
    # Imported here: only the long-running commands need the server and the log setup.
    import uvicorn

    from oms.log import configure_logging

    configure_logging(settings.log_level)
    uvicorn.run(
        "oms.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def emulate(
    kind: Annotated[ChannelKind, typer.Argument(help="Which channel API to stand in for.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8101,
    seed_orders: Annotated[int, typer.Option(help="Open orders to start with.")] = 0,
) -> None:
    """Run a channel's emulator, faithful to its published contract, on loopback.

    Point a channel's connection (`endpoint`, and Amazon's `token_url`) at it to try oms
    without an account; its control endpoints live under /_emulator/.
    """
    import importlib

    import uvicorn

    module = importlib.import_module(f"oms.channels.emulators.{kind.value}.app")
    asgi = module.create_app(seed_orders=seed_orders)
    _out().print(f"{kind.value} emulator on http://127.0.0.1:{port}")
    uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning")


@app.command()
def worker() -> None:
    """Run a background worker: the Dramatiq actors and the outbox relay (needs Redis)."""
    settings = _settings()
    # Imported here: the worker pulls in Dramatiq and Redis, which no other command needs.
    from oms.log import configure_logging
    from oms.worker import run_worker

    configure_logging(settings.log_level)
    run_worker(settings)


@app.command()
@_clean_errors
def prune() -> None:
    """Delete handled outbox events and idempotency records past their retention, once.

    The worker does this every OMS_PRUNE_INTERVAL_SECONDS; the ledger is never pruned.
    """
    from oms.retention import prune_with

    with _runtime() as rt:
        report = prune_with(rt.sessions, rt.settings)
    _out().print(
        f"{_safe_url(rt.settings.database_url)}: pruned {report.outbox_events} outbox events "
        f"(handled, older than {_duration(rt.settings.outbox_retention)}) and "
        f"{report.idempotency_records} idempotency records "
        f"(older than {_duration(rt.settings.idempotency_retention)})",
        markup=False,
    )


def _duration(span: timedelta) -> str:
    return f"{span.days} days" if span == timedelta(days=span.days) else str(span)


# --------------------------------------------------------------------------- db


def upgrade_database(url: str) -> tuple[str | None, str | None]:
    """`alembic upgrade head` on `url`; returns the revisions before and after."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    def current() -> str | None:
        engine = make_engine(url, pool_size=1)  # creates ./var for the SQLite default
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()

    before = current()
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    return before, current()


@db_app.command("upgrade")
@_clean_errors
def db_upgrade() -> None:
    """Migrate the database to the latest schema (creates the SQLite file if needed)."""
    settings = _settings()
    before, after = upgrade_database(settings.database_url)
    where = _safe_url(settings.database_url)
    if before == after:
        _out().print(f"{where} is up to date (revision {after})", markup=False)
    else:
        _out().print(f"{where} upgraded from {before or 'empty'} to {after}", markup=False)


# --------------------------------------------------------------------------- apikey


@apikey_app.command("create")
@_clean_errors
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. 'rakuten-sync'.")],
    role: Annotated[access.Role, typer.Option(help="What the key may do.")],
) -> None:
    """Create an API key. The key is printed once, on stdout; only its hash is stored."""
    with _runtime() as rt:
        issued = access.create_api_key(rt.sessions, name, role.value)
    err = _err()
    err.print(f"Created API key {issued.id} for {issued.name} (role {issued.role})", markup=False)
    typer.echo(issued.key)
    err.print("Store it now: it is not shown again.", markup=False)


@apikey_app.command("revoke")
@_clean_errors
def apikey_revoke(key_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Revoke an API key by its id; requests with it are refused from now on."""
    with _runtime() as rt:
        revoked = access.revoke_api_key(rt.sessions, key_id)
    if not revoked:
        _fail(f"id: no active API key {key_id}")
    _out().print(f"Revoked API key {key_id}")


# --------------------------------------------------------------------------- inventory


@inventory_app.command("verify")
@_clean_errors
def inventory_verify() -> None:
    """Replay the movement ledger and compare it with the stock levels. Exit 1 on a difference."""
    with _runtime() as rt, reading():  # a snapshot: writers go on meanwhile
        report = rt.inventory.verify()
    out = _out()
    out.print(f"Checked {report.levels} stock levels against {report.movements} movements.")
    if report.clean:
        out.print("Clean: every stock level equals its ledger.")
        return
    table = Table(title=f"{len(report.differences)} stock levels differ from the ledger")
    for column in ("SKU", "location", "bucket", "stock level", "ledger"):
        table.add_column(column, justify="right" if column in ("stock level", "ledger") else "left")
    for diff in report.differences:
        for bucket in ("on_hand", "reserved", "quarantined", "in_transit"):
            projected, replayed = getattr(diff.projection, bucket), getattr(diff.ledger, bucket)
            if projected != replayed:
                table.add_row(diff.sku, diff.location, bucket, str(projected), str(replayed))
    out.print(table)
    raise typer.Exit(1)


# --------------------------------------------------------------------------- orders


@orders_app.command("resource")
@_clean_errors
def orders_resource(
    order_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1)],
) -> None:
    """Source again, now, every unit of order ID that waits for stock; the decision is
    recorded (GET /v1/orders/ID/sourcing). Exit 1 when nothing waits."""
    with _runtime() as rt:
        order = rt.orders.resource(order_id, actor=_actor("oms orders resource"))
    waiting = sum(order.backorders().values())
    _out().print(
        f"order {order.id}: {order.status.value}"
        + (f", {waiting} units still wait for stock" if waiting else ""),
        markup=False,
    )


# --------------------------------------------------------------------------- stock


_IMPORT_ENCODING = "utf-8 (with or without a BOM), or shift_jis / cp932 (both read as cp932)."
_EXPORT_ENCODING = "utf-8, or shift_jis / cp932 (both written as cp932)."


def _yield_write_lock() -> None:
    """Between two batches of an import, leave SQLite's write lock free for a moment.

    A writer of another process (the server) waiting for it polls every few milliseconds:
    without a pause, the next batch would take the lock again at once.
    """
    time.sleep(_IMPORT_PAUSE_SECONDS)


_IMPORT_PAUSE_SECONDS = 0.02  # a waiting writer polls every 2 ms (oms.sqlite)


@stock_app.command("import")
@_clean_errors
def stock_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE")
    ],
    encoding: Annotated[
        FileEncoding, typer.Option(case_sensitive=False, help=_IMPORT_ENCODING)
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
    with _runtime() as rt:
        parsed = parse_stock_file(data, encoding)
        if parsed.rows:
            with reading():
                parsed = check_catalogue(rt.inventory, parsed)
        _report_errors(parsed.errors)
        out = _out()
        if parsed.errors and not (skip_invalid and parsed.rows):
            if not parsed.rows:
                _fail(f"{file.name}: no valid rows; nothing was applied")
            _fail(
                f"{file.name}: {parsed.bad_rows} of {_rows(parsed.bad_rows + len(parsed.rows))} "
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
                    actor=_actor("oms stock import"),
                    track=track,
                    dry_run=dry_run,
                    between_batches=_yield_write_lock if is_sqlite(rt.engine) else None,
                )
            except ImportRefused as refused:
                _report_errors([refused.error])
                if not refused.applied:
                    _fail(f"{file.name}: row {refused.error.row} was refused; nothing was applied")
                _fail(
                    f"{file.name}: row {refused.error.row} was refused (the stock changed while "
                    f"the file was applied); the {_rows(refused.applied)} before it were applied. "
                    f"Import the same file again once the stock allows it: rows already applied "
                    f"are not applied twice"
                )
    _report_errors(outcome.refused)
    skipped = parsed.bad_rows + len(outcome.refused)
    if outcome.applied == 0 and outcome.already_applied == 0:
        _fail(f"{file.name}: no row could be applied")
    would = "would be applied" if dry_run else "applied"
    out.print(
        f"{'Dry run: ' if dry_run else ''}{file.name}: {_rows(outcome.applied)} {would}, "
        f"{outcome.already_applied} already applied, {skipped} skipped"
        + ("; nothing was changed." if dry_run else ""),
        markup=False,
    )
    if outcome.changed_nothing and outcome.already_applied:
        out.print("Nothing changed: this file was already applied.")


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _report_errors(errors: list[RowError]) -> None:
    err = _err()
    for error in errors:
        err.print(str(error), markup=False, soft_wrap=True)


@contextmanager
def _progress(rows: int) -> Iterator[Callable[[int], Callable[[], None]] | None]:
    """A progress bar over the rows being applied, on a terminal and for long files only."""
    err = _err()
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
@_clean_errors
def stock_export(
    encoding: Annotated[
        FileEncoding, typer.Option(case_sensitive=False, help=_EXPORT_ENCODING)
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
    with _runtime() as rt, reading():
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
    _err().print(f"Exported {rows} stock levels to {output}", markup=False)


# --------------------------------------------------------------------------- rules

rules_app = typer.Typer(help="Channel rules in bulk: CSV import and export.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
availability_app = typer.Typer(help="What each channel is told.", no_args_is_help=True)
app.add_typer(availability_app, name="availability")


@availability_app.command("publish")
@_clean_errors
def availability_publish() -> None:
    """Recompute every channel's number of every SKU and publish the ones that differ.

    Numbers are kept current by every change as it happens; this is a repair, e.g. after a
    database restore or data loaded around the API. Safe to run at any time.
    """
    with _runtime() as rt:
        changed = rt.changes.republish_all()
    _out().print(f"{changed} channel numbers changed and published")


_RULES_ENCODING = "auto (UTF-8 with or without a BOM, else Shift_JIS), utf-8, shift_jis or cp932."
_MAX_ACTOR = 100  # rule_changes.actor


@contextmanager
def _channel_runtime() -> Iterator[tuple[ChannelService, InventoryService]]:
    with _runtime() as rt:
        yield rt.channels, rt.inventory


@rules_app.command("import")
@_clean_errors
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
    who = (actor or "").strip() or _actor("oms rules import")
    if len(who) > _MAX_ACTOR:
        _fail(f"actor: must be at most {_MAX_ACTOR} characters", code=2)
    parsed = parse_rules_file(file.read_bytes(), encoding)
    with _channel_runtime() as (channels, inventory):
        try:
            outcome = import_rules(
                channels, inventory, parsed, actor=who, dry_run=dry_run, skip_invalid=skip_invalid
            )
        except RulesFileInvalid as invalid:
            _report_line_errors(invalid.errors)
            _fail(f"{file.name}: {invalid.detail} (--skip-invalid applies the valid rows)")
        except RulesImportStopped as stopped:
            _fail(f"{file.name}: {stopped.detail}")
    _report_line_errors(outcome.errors)
    skipped = len({e.line for e in outcome.errors})
    changed = "would change" if dry_run else "changed"
    _out().print(
        f"{file.name}: {_rows(outcome.applied)} {changed} a rule, {outcome.unchanged} unchanged, "
        f"{skipped} skipped" + ("; dry run: nothing was changed" if dry_run else ""),
        markup=False,
        soft_wrap=True,
    )
    if skipped and not outcome.applied and not outcome.unchanged:
        raise typer.Exit(1)


def _report_line_errors(errors: list[LineError]) -> None:
    err = _err()
    for error in errors:
        err.print(str(error), markup=False, soft_wrap=True)


@rules_app.command("export")
@_clean_errors
def rules_export(
    file: Annotated[
        Path | None,
        typer.Argument(dir_okay=False, metavar="FILE", help="Write here instead of stdout."),
    ] = None,
    encoding: Annotated[
        FileEncoding, typer.Option(case_sensitive=False, help=_EXPORT_ENCODING)
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
            _fail(f"encoding: {text!r} cannot be written in {encoding.label}; export as utf-8")
    _err().print(f"Exported {_rows(rows)} of rules to {file}", markup=False, soft_wrap=True)


# --------------------------------------------------------------------------- demo


@demo_app.command("seed")
@_clean_errors
def demo_seed() -> None:
    """Load a demo apparel brand: catalogue, opening stock, channels and their rules.

    Running it again changes nothing.
    """
    from oms.demo.brand import SAMPLE_SKUS
    from oms.demo.seed import seed_demo

    with _runtime() as rt:
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
    out = _out()
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


if __name__ == "__main__":  # pragma: no cover
    main()
