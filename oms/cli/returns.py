"""Returns and received units from the command line: `oms returns ...` and `oms units ...`.

The same services as the API; every command prints the result as JSON (the API's shapes), so
a script can read it. A refused command prints one line naming the field and exits with 1.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from oms.cli.common import actor_name, app, clean_errors, fail, runtime
from oms.returns.api.schemas import (
    ReturnResponse,
    UnitResponse,
    UnitStateResponse,
    UnitSummary,
)
from oms.returns.domain import Resolution
from oms.returns.services.rma import (
    SIMPLE_ACTIONS,
    LineResolution,
    NewReturnLine,
    OpenReturn,
)
from oms.returns.services.units import GradeUnit
from oms.shared.bounds import MAX_ID
from oms.sqlite import reading

returns_app = typer.Typer(help="Returns (RMA): open, receive, resolve.", no_args_is_help=True)
app.add_typer(returns_app, name="returns")
units_app = typer.Typer(help="Returned units: grade and disposition.", no_args_is_help=True)
app.add_typer(units_app, name="units")

ReturnId = Annotated[int, typer.Argument(help="The return's id.", min=1, max=MAX_ID)]
UnitId = Annotated[int, typer.Argument(help="The unit's id.", min=1, max=MAX_ID)]
Lines = Annotated[
    list[str],
    typer.Option("--line", help="LINE_ID=QUANTITY, once per order line."),
]


def _print(model: Any) -> None:
    typer.echo(json.dumps(model.model_dump(mode="json"), ensure_ascii=False, indent=2))


def _lines(values: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for value in values:
        line_id, sep, quantity = value.partition("=")
        if not sep or not quantity.strip().isdecimal() or not line_id.strip():
            fail(f"--line {value!r}: give LINE_ID=QUANTITY", code=2)
        found[line_id.strip()] = found.get(line_id.strip(), 0) + int(quantity)
    if not found:
        fail("give at least one --line LINE_ID=QUANTITY", code=2)
    return found


@returns_app.command("list")
@clean_errors
def list_returns(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    order: Annotated[int | None, typer.Option(help="Only this order's.", min=1, max=MAX_ID)] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
) -> None:
    """Returns, oldest first, as JSON lines."""
    with runtime() as rt, reading():
        page = rt.returns.list_returns(status, order, 0, limit)
    for rma in page:
        typer.echo(ReturnResponse.of(rma).model_dump_json())


@returns_app.command("show")
@clean_errors
def show(return_id: ReturnId) -> None:
    """A return, its lines and its units."""
    with runtime() as rt, reading():
        _print(ReturnResponse.of(rt.returns.get_return(return_id), rt.returns.units_of(return_id)))


@returns_app.command("open")
@clean_errors
def open_return(
    order: Annotated[int, typer.Option(help="The order's id.", min=1, max=MAX_ID)],
    line: Lines,
    reason: Annotated[str, typer.Option(help="Normalised reason, e.g. defective, size_fit.")],
    note: Annotated[str | None, typer.Option(help="Customer service's note.")] = None,
) -> None:
    """Open an authorized return (customer service) of these order lines."""
    units = _lines(line)
    with runtime() as rt:
        rma = rt.returns.open_return(
            OpenReturn(order, [NewReturnLine(k, v, reason) for k, v in units.items()], note=note),
            actor_name("oms returns open"),
        )
    _print(ReturnResponse.of(rma))


@returns_app.command("receive")
@clean_errors
def receive(
    return_id: ReturnId,
    location: Annotated[str, typer.Option(help="Where the parcel was opened.")],
    line: Lines,
) -> None:
    """Units arrived: into quarantine, one unit with its own label per item."""
    with runtime() as rt:
        received = rt.returns.receive(
            return_id, location, _lines(line), actor_name("oms returns receive")
        )
    _print(ReturnResponse.of(received.rma, received.units))


@returns_app.command("unexpected")
@clean_errors
def unexpected(
    order: Annotated[int, typer.Option(help="The order the parcel belongs to.", min=1, max=MAX_ID)],
    location: Annotated[str, typer.Option(help="Where the parcel was opened.")],
    line: Lines,
    note: Annotated[str | None, typer.Option(help="What came, how.")] = None,
) -> None:
    """A parcel with no return request: received as an unexpected return."""
    with runtime() as rt:
        received = rt.returns.receive_unexpected(
            order, location, _lines(line), actor_name("oms returns unexpected"), note
        )
    _print(ReturnResponse.of(received.rma, received.units))


@returns_app.command("act")
@clean_errors
def act(
    return_id: ReturnId,
    action: Annotated[str, typer.Argument(help="approve, decline, cancel, ship, expire, close")],
) -> None:
    """One step of the return's life."""
    allowed = sorted(a.value for a in SIMPLE_ACTIONS)
    if action not in allowed:
        fail(f"action must be one of {', '.join(allowed)}", code=2)
    with runtime() as rt:
        rma = rt.returns.act(return_id, action, actor_name("oms returns act"))
    _print(ReturnResponse.of(rma))


@returns_app.command("resolve")
@clean_errors
def resolve(
    return_id: ReturnId,
    resolution: Annotated[
        list[str],
        typer.Option(
            "--line",
            help="LINE_ID=RESOLUTION[:AMOUNT:METHOD] e.g. L1=refund:3900:original_payment",
        ),
    ],
) -> None:
    """Settle every line: refund, store_credit, exchange, replacement, keep_item, reject."""
    lines = []
    for value in resolution:
        line_id, sep, rest = value.partition("=")
        parts = rest.split(":")
        if not sep or len(parts) not in (1, 3):
            fail(f"--line {value!r}: give LINE_ID=RESOLUTION[:AMOUNT:METHOD]", code=2)
        try:
            chosen = Resolution(parts[0])
        except ValueError:
            fail(f"--line {value!r}: unknown resolution {parts[0]!r}", code=2)
        amount = int(parts[1]) if len(parts) == 3 and parts[1].isdecimal() else None
        if len(parts) == 3 and amount is None:
            fail(f"--line {value!r}: the amount is whole minor units (yen)", code=2)
        lines.append(LineResolution(line_id, chosen, amount, parts[2] if len(parts) == 3 else None))
    with runtime() as rt:
        rma = rt.returns.resolve(return_id, lines, actor_name("oms returns resolve"))
    _print(ReturnResponse.of(rma))


@units_app.command("list")
@clean_errors
def list_units(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    return_id: Annotated[
        int | None, typer.Option("--return", help="Only this return's.", min=1, max=MAX_ID)
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
) -> None:
    """Received units, oldest first, as JSON lines."""
    with runtime() as rt, reading():
        page = rt.units.list_units(status, return_id, 0, limit)
    for unit in page:
        typer.echo(UnitSummary.of(unit).model_dump_json())


@units_app.command("show")
@clean_errors
def show_unit(unit_id: UnitId) -> None:
    """A unit with every grade, exception and decision."""
    with runtime() as rt, reading():
        _print(UnitResponse.of_view(rt.units.unit(unit_id)))


@units_app.command("grade")
@clean_errors
def grade(
    unit_id: UnitId,
    grade: Annotated[str, typer.Option(help="N, U, A, B, C, D or J.")],
    functional: Annotated[str, typer.Option(help="full, partial, none or n/a.")] = "full",
    note: Annotated[str | None, typer.Option(help="The grader's note.")] = None,
) -> None:
    """Grade (or regrade) a unit; defects and photos are the API's."""
    with runtime() as rt:
        view = rt.units.grade(
            unit_id, GradeUnit(grade, functional, note=note), actor_name("oms units grade")
        )
    _print(UnitStateResponse.of_outcome(view))


@units_app.command("disposition")
@clean_errors
def disposition(
    unit_id: UnitId,
    disposition: Annotated[str, typer.Argument(help="RESTOCK, RESALE, DESTROY, HOLD, ...")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    execute: Annotated[bool, typer.Option(help="Carry it out now.")] = False,
) -> None:
    """Decide what becomes of the unit; with --execute, its ledger movement too."""
    with runtime() as rt:
        view = rt.units.decide(
            unit_id, disposition, actor_name("oms units disposition"), reason, execute=execute
        )
    _print(UnitStateResponse.of_outcome(view))
