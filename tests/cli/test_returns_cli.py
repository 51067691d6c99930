"""`oms returns ...` and `oms units ...`: the CLI beside the returns API, on both databases."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from oms.bootstrap import bootstrap
from tests.cli.conftest import Oms
from tests.order_builders import DC, TEE, Shop, open_shipments


def test_open_receive_grade_and_restock_from_the_cli(oms: Oms, engine: Engine) -> None:
    shop = Shop(engine).build().stock((TEE, DC, 5))
    order = shop.place((TEE, 1))
    [parcel] = open_shipments(order)
    shop.ship(parcel.id or 0)
    line_id = order.lines[0].line_id

    opened = oms(
        "returns",
        "open",
        "--order",
        str(order.id),
        "--line",
        f"{line_id}=1",
        "--reason",
        "defective",
    )
    assert opened.exit_code == 0, opened.output
    return_id = json.loads(opened.stdout)["id"]
    received = oms("returns", "receive", str(return_id), "--location", DC, "--line", f"{line_id}=1")
    assert received.exit_code == 0, received.output
    [unit] = json.loads(received.stdout)["units"]
    graded = oms("units", "grade", str(unit["id"]), "--grade", "N")
    assert graded.exit_code == 0, graded.output
    done = oms("units", "disposition", str(unit["id"]), "RESTOCK", "--execute")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "done"

    resolved = oms(
        "returns", "resolve", str(return_id), "--line", f"{line_id}=refund:3000:original_payment"
    )
    assert resolved.exit_code == 0, resolved.output
    assert json.loads(resolved.stdout)["status"] == "resolved"
    assert bootstrap(engine=engine).inventory.verify().clean


def test_a_refused_command_names_the_field_and_writes_nothing(oms: Oms, engine: Engine) -> None:
    shop = Shop(engine).build().stock((TEE, DC, 5))
    order = shop.place((TEE, 1))

    unshipped = oms(
        "returns",
        "open",
        "--order",
        str(order.id),
        "--line",
        f"{order.lines[0].line_id}=1",
        "--reason",
        "defective",
    )
    bad_reason = oms(
        "returns", "open", "--order", str(order.id), "--line", "L=1", "--reason", "whim"
    )
    bad_line = oms("returns", "receive", "1", "--location", DC, "--line", "nonsense")

    assert unshipped.exit_code == 1
    assert bad_reason.exit_code == 1
    assert "reason_code" in bad_reason.stderr
    assert bad_line.exit_code == 2
    assert "Traceback" not in unshipped.output + bad_reason.output + bad_line.output
    listed = oms("returns", "list")
    assert listed.exit_code == 0
    assert listed.stdout.strip() == ""


def test_ids_the_database_cannot_hold_are_refused_as_usage_errors(oms: Oms) -> None:
    big = str(2**63)
    commands = [
        ("returns", "list", "--order", big),
        ("returns", "show", big),
        ("returns", "open", "--order", big, "--line", "L=1", "--reason", "defective"),
        ("returns", "receive", big, "--location", DC, "--line", "L=1"),
        ("returns", "unexpected", "--order", big, "--location", DC, "--line", "L=1"),
        ("returns", "act", big, "approve"),
        ("returns", "resolve", big, "--line", "L=keep_item"),
        ("units", "list", "--return", big),
        ("units", "list", "--return", "0"),
        ("units", "show", big),
        ("units", "grade", big, "--grade", "B"),
        ("units", "disposition", big, "HOLD"),
        ("repairs", "list", "--order", big),
        ("repairs", "open", "--symptom", "x", "--name", "A", "--order", big, "--line", "L"),
    ]
    for command in commands:
        result = oms(*command)
        # A usage error (exit 2, one message), never a driver's OverflowError.
        assert isinstance(result.exception, SystemExit), (command, result.exception)
        assert result.exit_code == 2, (command, result.output)
