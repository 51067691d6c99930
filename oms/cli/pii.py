"""`oms pii`: the marketplace PII deadlines by hand.

`oms pii anonymise` is the daily job's pass, now: every channel's orders past their deadline
lose the personal fields of the channel's policy. `--dry-run` counts them and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from oms.cli.common import app, clean_errors, runtime, stdout

pii_app = typer.Typer(help="Personal data: anonymisation past each channel's deadline.")
app.add_typer(pii_app, name="pii")


@pii_app.command("anonymise")
@clean_errors
def anonymise(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what is due; change nothing.")
    ] = False,
    channel: Annotated[
        str | None, typer.Option("--channel", "-c", help="Only this channel's orders.")
    ] = None,
) -> None:
    """Anonymise every order past its channel's PII deadline (held orders are kept)."""
    with runtime() as rt:
        report = rt.anonymisation.anonymise(dry_run=dry_run, channel=channel)
    out = stdout()
    table = Table("channel", "policy", "due", "held", "anonymised")
    for run in report.channels:
        table.add_row(
            run.channel,
            "on" if run.enabled else "off",
            str(run.due),
            str(run.held),
            str(run.anonymised),
        )
    if report.channels:
        out.print(table)
    if dry_run:
        out.print(
            f"dry run: {report.due} orders due, {report.held} held; nothing changed",
            markup=False,
        )
    else:
        out.print(f"anonymised {report.anonymised} orders; {report.held} held", markup=False)
