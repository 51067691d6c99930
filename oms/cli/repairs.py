"""`oms repairs`: list, show, open and move repairs on, and set partners' warranty terms.

The same service as the API. `show --json` prints what `GET /v1/repairs/ID` answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from oms.cli.common import actor_name, app, clean_errors, fail, runtime, stdout
from oms.repairs.api.schemas import RepairResponse
from oms.repairs.domain import PartLine, PartnerTerms, Repair, RepairAction
from oms.repairs.services import ActOnRepair, OpenRepair
from oms.shared.bounds import MAX_ID
from oms.shared.errors import InvalidInput

repairs_app = typer.Typer(
    help="Repairs: requests, their steps, partners' terms.", no_args_is_help=True
)
app.add_typer(repairs_app, name="repairs")

RepairId = Annotated[int, typer.Argument(metavar="ID", min=1, max=MAX_ID)]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}h"


def _row(repair: Repair, as_of: datetime) -> list[str]:
    return [
        str(repair.id),
        repair.status.value,
        repair.sku,
        repair.channel,
        str(repair.order_id or ""),
        "yes" if repair.warranty.in_warranty else "no",
        _hours(repair.sla_seconds(as_of)),
    ]


@repairs_app.command("list")
@clean_errors
def list_repairs(
    status: Annotated[str | None, typer.Option(help="Only repairs in this state.")] = None,
    order: Annotated[
        int | None, typer.Option(min=1, max=MAX_ID, help="Only repairs of this order.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next cursor of the page before")] = None,
) -> None:
    """Repairs, oldest first: state, SKU, channel, order, warranty, SLA time so far."""
    with runtime() as rt:
        page = rt.repairs.list_repairs(status, order, cursor, limit)
    table = Table("id", "status", "sku", "channel", "order", "warranty", "sla")
    for repair in page.items:
        table.add_row(*_row(repair, page.as_of))
    out = stdout()
    out.print(table)
    if page.next_cursor:
        out.print(f"more: --cursor {page.next_cursor}", markup=False)


@repairs_app.command("show")
@clean_errors
def show(
    repair_id: RepairId,
    as_json: Annotated[bool, typer.Option("--json", help="The API's JSON.")] = False,
) -> None:
    """One repair: warranty and its inputs, states with their times, SLA, parts used."""
    with runtime() as rt:
        detail = rt.repairs.get_repair(repair_id)
    body = RepairResponse.of_detail(detail)
    out = stdout()
    if as_json:
        out.print(body.model_dump_json(indent=2), markup=False, soft_wrap=True)
        return
    r, w = detail.repair, body.warranty
    lines = [
        f"repair {r.id}: {r.status.value}, {r.requested_by.value}, {r.sku} from {r.channel}"
        + (f" (order {r.order_id} line {r.line_id})" if r.order_id else ""),
        f"warranty: {'in' if w.in_warranty else 'out'} (computed {w.computed_in_warranty}: "
        f"bought {w.purchase_date}, {w.term_months} months to {w.expires_on})"
        + (f", overridden by {w.override.by}: {w.override.reason}" if w.override else ""),
        f"sla: {_hours(body.sla.running_seconds)} running, {_hours(body.sla.paused_seconds)} "
        "paused",
    ]
    lines += [
        f"  {s.status:<15} {s.entered_at:%Y-%m-%d %H:%M} {_hours(s.seconds):>8}  {s.actor}"
        + (f"  {s.note}" if s.note else "")
        for s in body.states
    ]
    lines += [f"  part {p.sku} x{p.quantity} at {p.location}" for p in detail.parts]
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)


@repairs_app.command("open")
@clean_errors
def open_repair(
    symptom: Annotated[str, typer.Option(help="What is wrong with it.")],
    name: Annotated[str, typer.Option(help="The contact's name.")],
    requested_by: Annotated[str, typer.Option(help="consumer, wholesale or customer_service")] = (
        "customer_service"
    ),
    order: Annotated[
        int | None, typer.Option(min=1, max=MAX_ID, help="Our order's id (with --line).")
    ] = None,
    line: Annotated[str | None, typer.Option(help="The order's line id.")] = None,
    purchase_date: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Proof of purchase: the day.")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Proof of purchase: where.")] = None,
    partner: Annotated[str | None, typer.Option(help="A wholesale partner's code.")] = None,
    sku: Annotated[str | None, typer.Option(help="Proof of purchase: the product.")] = None,
    serial: Annotated[str | None, typer.Option()] = None,
    kana: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    address: Annotated[list[str] | None, typer.Option(help="An address line (repeat).")] = None,
    prefecture: Annotated[str | None, typer.Option(help="JIS code 01-47.")] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    key: Annotated[
        str | None, typer.Option(help="An idempotency key: the same command again changes nothing.")
    ] = None,
) -> None:
    """A repair request, from our order line or a proof of purchase."""
    contact = {
        "name": name,
        "kana": kana,
        "phone": phone,
        "email": email,
        "address_lines": address or None,
        "prefecture": prefecture,
        "postal_code": postal_code,
    }
    cmd = OpenRepair(
        requested_by=requested_by,
        symptom=symptom,
        contact={k: v for k, v in contact.items() if v is not None},
        order_id=order,
        line_id=line,
        purchase_date=purchase_date.date() if purchase_date else None,
        channel=channel,
        partner=partner,
        sku=sku,
        serial=serial,
    )
    with runtime() as rt:
        opened = rt.repairs.open_repair(cmd, actor_name("oms repairs open"), idempotency_key=key)
    r = opened.repair
    stdout().print(
        f"repair {r.id}: {r.status.value}"
        + ("" if opened.created else " (already opened with this key)")
        + f", {'in' if r.warranty.in_warranty else 'out of'} warranty to {r.warranty.expires_on}",
        markup=False,
    )


def _parts(values: list[str]) -> list[PartLine]:
    parts = []
    for i, value in enumerate(values):
        sku, _, quantity = value.partition("=")
        if not quantity.strip().isdecimal():
            raise InvalidInput(f"--part is SKU=QUANTITY, not {value!r}", field=f"lines[{i}]")
        parts.append(PartLine(sku.strip(), int(quantity)))
    return parts


@repairs_app.command("act")
@clean_errors
def act(
    repair_id: RepairId,
    action: Annotated[str, typer.Argument(help=", ".join(a.value for a in RepairAction))],
    location: Annotated[str | None, typer.Option(help="receive: where.")] = None,
    note: Annotated[str | None, typer.Option()] = None,
    amount: Annotated[int | None, typer.Option(help="quote: yen.")] = None,
    passed: Annotated[bool | None, typer.Option("--passed/--failed", help="test_result.")] = None,
    outcome: Annotated[
        str | None, typer.Option(help="unrepairable: replacement, refund, return, disposal, resale")
    ] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    in_warranty: Annotated[
        bool | None,
        typer.Option("--in-warranty/--out-of-warranty", help="override_warranty."),
    ] = None,
    part: Annotated[list[str] | None, typer.Option(help="parts: SKU=QUANTITY (repeat).")] = None,
    key: Annotated[
        str | None, typer.Option(help="parts: an idempotency key; the same again books nothing.")
    ] = None,
) -> None:
    """One step of a repair, e.g. `oms repairs act 7 receive --location REPAIR-CENTER`."""
    try:
        chosen = RepairAction(action)
    except ValueError:
        fail(f"action: one of {', '.join(a.value for a in RepairAction)}", code=2)
    cmd = ActOnRepair(
        chosen,
        location=location,
        note=note,
        amount=amount,
        passed=passed,
        outcome=outcome,
        reason=reason,
        in_warranty=in_warranty,
        parts=_parts(part or []),
        idempotency_key=key,
    )
    with runtime() as rt:
        detail = rt.repairs.act(repair_id, cmd, actor_name("oms repairs act"))
    again = " (already booked with this key: nothing done)" if detail.replayed else ""
    stdout().print(f"repair {repair_id}: {detail.repair.status.value}{again}", markup=False)


@repairs_app.command("partner")
@clean_errors
def partner_terms(
    partner: Annotated[str, typer.Argument(metavar="CODE")],
    extra_months: Annotated[int, typer.Option(min=0, max=120)] = 0,
    term_months: Annotated[
        int | None, typer.Option(min=0, max=120, help="The partner's own term, if any.")
    ] = None,
) -> None:
    """Set a wholesale partner's warranty terms (new repairs through it use them)."""
    with runtime() as rt:
        terms = rt.repairs.set_partner_terms(PartnerTerms(partner, extra_months, term_months))
    own = f", own term {terms.term_months} months" if terms.term_months is not None else ""
    stdout().print(f"{terms.partner}: +{terms.extra_months} months{own}", markup=False)


__all__ = ["repairs_app"]
