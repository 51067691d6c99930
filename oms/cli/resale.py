"""`oms resale`: the scheduled resale work by hand, and a look at the units.

`due` is what the workers run every minute: units reach their public time (the marketplaces
get them) and markdown steps fall due. Safe to run beside them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from oms.cli.common import actor_name, app, clean_errors, runtime, stdout

resale_app = typer.Typer(help="Resale units: due work, listing.", no_args_is_help=True)
app.add_typer(resale_app, name="resale")


@resale_app.command("due")
@clean_errors
def due() -> None:
    """Flip units from early access to public and apply markdowns that fell due, now."""
    with runtime() as services:
        changed = services.resale.run_due(actor_name("resale due"))
    stdout().print(f"{changed} resale units changed")


@resale_app.command("list")
@clean_errors
def list_units(
    status: Annotated[str | None, typer.Option(help="intake, listed, reserved, sold...")] = None,
    segment: Annotated[str | None, typer.Option(help="What this segment may see now.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """Units, oldest first: code, grade, status, stage and price (yen)."""
    with runtime() as services:
        page = services.resale.list_units(status=status, segment=segment, limit=limit)
    table = Table("code", "grade", "status", "stage", "price")
    for unit in page.items:
        price = "" if unit.pricing.price is None else f"{unit.pricing.price:,}"
        table.add_row(unit.code, unit.grade.value, unit.status.value, unit.stage.value, price)
    stdout().print(table)
