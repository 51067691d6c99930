"""Running oms: serve, worker, emulators, pruning, migrations, API keys, verify, re-sourcing an
order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from oms import access
from oms.channels.sync.domain.model import ChannelKind
from oms.cli.common import (
    actor_name,
    apikey_app,
    app,
    clean_errors,
    db_app,
    fail,
    inventory_app,
    load_settings,
    orders_app,
    runtime,
    safe_url,
    stderr,
    stdout,
)
from oms.db import make_engine
from oms.settings import PROJECT_ROOT
from oms.shared.bounds import MAX_SMALL_ID
from oms.sqlite import reading

# --------------------------------------------------------------------------- serve, worker

MAX_PROCESSES = 64
WORKER_HEALTHCHECK_SECONDS = 60


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: OMS_HOST (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default: OMS_PORT (8000).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_PROCESSES,
            help="Server processes on the one port (PostgreSQL only: SQLite serves with one).",
        ),
    ] = 1,
) -> None:
    """Run the HTTP API (with an in-process worker unless OMS_REDIS_URL is set).

    With --workers N, N processes share the port; without Redis the in-process worker, relay
    and loops run in one of them (see oms.app.BackgroundLeader)."""
    settings = load_settings()
    # Imported here: only the long-running commands need the server and the log setup.
    import uvicorn

    from oms.app import SERVE_PROCESSES_ENV
    from oms.log import configure_logging

    configure_logging(settings.log_level)
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        # SQLite has one writer at a time: more processes would only queue for its lock.
        stderr().print(f"SQLite: oms serves with one process, not {workers} (--workers ignored)")
        workers = 1
    os.environ[SERVE_PROCESSES_ENV] = str(workers)  # read by each process's app
    uvicorn.run(
        "oms.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        workers=workers,
        # A new process imports the CLI and the app before it answers uvicorn's health check;
        # on a busy machine that takes longer than uvicorn's 5 s, and it was killed as hung.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
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
    stdout().print(f"{kind.value} emulator on http://127.0.0.1:{port}")
    uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning")


@app.command()
def worker(
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_PROCESSES,
            help="Worker processes, each with OMS_WORKER_THREADS actor threads.",
        ),
    ] = 1,
) -> None:
    """Run a background worker: the Dramatiq actors and the outbox relay (needs Redis).

    Any number may run, here or on other machines: they share the queues, the relay and the
    sync scheduler each run in one at a time (a lock). --processes N starts N here and
    restarts one that dies."""
    settings = load_settings()
    if processes > 1:
        if not settings.uses_redis:
            fail("oms worker needs OMS_REDIS_URL; without Redis, `oms serve` runs the work")
        _supervise([sys.executable, "-m", "oms.cli", "worker"], processes)
        return
    # Imported here: the worker pulls in Dramatiq and Redis, which no other command needs.
    from oms.log import configure_logging
    from oms.worker import run_worker

    configure_logging(settings.log_level)
    run_worker(settings)


def _supervise(command: list[str], count: int) -> None:
    """Run `count` copies of `command` until SIGINT/SIGTERM, which is passed on to them; a copy
    that exits meanwhile is started again after a pause."""
    stopping = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    children = [subprocess.Popen(command) for _ in range(count)]  # noqa: S603 - our own CLI
    while not stopping.wait(1.0):
        for i, child in enumerate(children):
            if child.poll() is not None:
                stderr().print(f"worker process {child.pid} exited ({child.returncode}): restarted")
                children[i] = subprocess.Popen(command)  # noqa: S603 - our own CLI
    for child in children:
        child.terminate()  # each worker stops gracefully on SIGTERM
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@app.command()
@clean_errors
def prune() -> None:
    """Delete handled outbox events and idempotency records past their retention, once.

    The worker does this every OMS_PRUNE_INTERVAL_SECONDS; the ledger is never pruned.
    """
    from oms.retention import prune_with

    with runtime() as rt:
        report = prune_with(rt.sessions, rt.settings)
    stdout().print(
        f"{safe_url(rt.settings.database_url)}: pruned {report.outbox_events} outbox events "
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
@clean_errors
def db_upgrade() -> None:
    """Migrate the database to the latest schema (creates the SQLite file if needed)."""
    settings = load_settings()
    before, after = upgrade_database(settings.database_url)
    where = safe_url(settings.database_url)
    if before == after:
        stdout().print(f"{where} is up to date (revision {after})", markup=False)
    else:
        stdout().print(f"{where} upgraded from {before or 'empty'} to {after}", markup=False)


# --------------------------------------------------------------------------- apikey


@apikey_app.command("create")
@clean_errors
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. 'rakuten-sync'.")],
    role: Annotated[access.Role, typer.Option(help="What the key may do.")],
) -> None:
    """Create an API key. The key is printed once, on stdout; only its hash is stored."""
    with runtime() as rt:
        issued = access.create_api_key(rt.sessions, name, role.value)
    err = stderr()
    err.print(f"Created API key {issued.id} for {issued.name} (role {issued.role})", markup=False)
    typer.echo(issued.key)
    err.print("Store it now: it is not shown again.", markup=False)


@apikey_app.command("revoke")
@clean_errors
def apikey_revoke(
    # api_keys.id is an INTEGER: a larger id reached the driver as a traceback.
    key_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=MAX_SMALL_ID)],
) -> None:
    """Revoke an API key by its id; requests with it are refused from now on."""
    with runtime() as rt:
        revoked = access.revoke_api_key(rt.sessions, key_id)
    if not revoked:
        fail(f"id: no active API key {key_id}")
    stdout().print(f"Revoked API key {key_id}")


# --------------------------------------------------------------------------- inventory


@inventory_app.command("verify")
@clean_errors
def inventory_verify() -> None:
    """Replay the movement ledger and compare it with the stock levels. Exit 1 on a difference."""
    with runtime() as rt, reading():  # a snapshot: writers go on meanwhile
        report = rt.inventory.verify()
    out = stdout()
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
@clean_errors
def orders_resource(
    order_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1)],
) -> None:
    """Source again, now, every unit of order ID that waits for stock; the decision is
    recorded (GET /v1/orders/ID/sourcing). Exit 1 when nothing waits."""
    with runtime() as rt:
        order = rt.orders.resource(order_id, actor=actor_name("oms orders resource"))
    waiting = sum(order.backorders().values())
    stdout().print(
        f"order {order.id}: {order.status.value}"
        + (f", {waiting} units still wait for stock" if waiting else ""),
        markup=False,
    )
