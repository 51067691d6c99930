"""`oms demo connect | order | run`: the demo channels connected to the emulators, a buyer's
order placed on one, and `make demo` (`oms demo run`). `oms demo seed` is in rules.py."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from oms.cli.common import clean_errors, demo_app, fail, runtime, stderr, stdout

Url = Annotated[str | None, typer.Option(help="The emulator's base URL (http://127.0.0.1:PORT).")]


@demo_app.command("connect")
@clean_errors
def demo_connect(
    amazon: Url = None,
    rakuten: Url = None,
    storefront: Url = None,
    pull_interval: Annotated[
        int, typer.Option(min=10, max=86_400, help="Seconds between order pulls.")
    ] = 10,
) -> None:
    """Connect the demo channels to running emulators (`oms emulate ...`): list the demo SKUs on
    each emulator and in oms, and store each connection with its credentials sealed.

    Run `oms demo seed` first. Then `oms serve` pushes the numbers and pulls the orders.
    """
    from oms.demo.channels import connect_demo

    urls = {
        channel: url
        for channel, url in (("amazon", amazon), ("rakuten", rakuten), ("storefront", storefront))
        if url
    }
    if not urls:
        fail("give at least one emulator: --amazon URL, --rakuten URL or --storefront URL", 2)
    with runtime() as rt:
        connected = connect_demo(rt, urls, pull_interval_seconds=pull_interval)
    table = Table(title="Demo channels connected")
    table.add_column("channel")
    table.add_column("emulator")
    table.add_column("SKUs listed", justify="right")
    for found in connected:
        table.add_row(found.channel, found.endpoint, str(found.listed))
    stdout().print(table)


@demo_app.command("order")
@clean_errors
def demo_order(
    channel: Annotated[str, typer.Option(help="amazon, rakuten or storefront.")],
    sku: Annotated[str | None, typer.Option(help="A SKU listed on the channel.")] = None,
    quantity: Annotated[int | None, typer.Option(min=1, max=99)] = None,
) -> None:
    """A buyer orders on a connected demo channel's emulator; prints the channel's order id.

    oms takes the order on its next pull (the storefront's at once by webhook under `make demo`).
    """
    from oms.demo.channels import place_demo_order

    with runtime() as rt:
        external_id, ordered, units = place_demo_order(rt, channel, sku, quantity)
    stderr().print(f"{channel}: order {external_id} placed, {units} x {ordered}", markup=False)
    stdout().print(external_id, markup=False)


@demo_app.command("run")
def demo_run(
    port: Annotated[int, typer.Option(help="The API's port, if free (else any).")] = 8000,
) -> None:
    """Everything at once (`make demo`): the emulators, the demo brand connected to them and the
    API, in a fresh var/demo/; a receipt and orders travel; Ctrl-C stops it all."""
    from oms.demo.launcher import DemoFailed, run_demo

    out = stdout()
    try:
        run_demo(lambda line: out.print(line, markup=False, highlight=False), port=port)
    except DemoFailed as failed:
        fail(str(failed))
