"""`oms repairs` on both databases: an operator opens a repair, moves it on step by step (parts
booked in the ledger), lists and shows it; a refused step is one line naming the state."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from tests.cli.conftest import Oms, messages
from tests.repair_builders import CENTRE, HEATER, KETTLE, RepairShop


def test_an_operator_runs_a_repair_from_the_command_line(oms: Oms, engine: Engine) -> None:
    rs = RepairShop(engine)
    rs.shop.stock((HEATER, CENTRE, 3))

    opened = oms(
        "repairs", "open", "--symptom", "does not heat", "--name", "Hanako Yamada",
        "--purchase-date", "2025-10-01", "--channel", "web", "--sku", KETTLE,
        "--postal-code", "1500002", "--key", "cli-1",
    )  # fmt: skip
    again = oms(
        "repairs", "open", "--symptom", "does not heat", "--name", "Hanako Yamada",
        "--purchase-date", "2025-10-01", "--channel", "web", "--sku", KETTLE,
        "--postal-code", "1500002", "--key", "cli-1",
    )  # fmt: skip

    assert opened.exit_code == 0, opened.output
    assert "repair 1: requested, in warranty to 2027-10-01" in opened.stdout
    assert "already opened with this key" in again.stdout
    for args in (
        ["await_item"],
        ["receive", "--location", CENTRE],
        ["diagnose", "--note", "heater"],
        ["approve"],
        ["in_repair"],
        ["parts", "--part", f"{HEATER}=2"],
    ):
        step = oms("repairs", "act", "1", *args)
        assert step.exit_code == 0, step.output
    assert "repair 1: in_repair" in step.stdout
    assert rs.shop.level(HEATER, CENTRE).on_hand == 1

    refused = oms("repairs", "act", "1", "complete")
    assert refused.exit_code == 1
    assert "status: a repair that is in_repair cannot take complete" in messages(refused)
    short = oms("repairs", "act", "1", "parts", "--part", f"{HEATER}=5")
    assert short.exit_code == 1
    assert "lines[0].sku" in messages(short)

    listed = oms("repairs", "list", "--status", "in_repair")
    assert KETTLE in listed.stdout
    shown = json.loads(oms("repairs", "show", "1", "--json").stdout)
    assert shown["parts"][0]["quantity"] == 2
    assert shown["warranty"]["product_term_months"] == 24
    text = oms("repairs", "show", "1").stdout
    assert "part HEATER x2 at REPAIR-CENTER" in text


def test_bad_options_name_the_field(oms: Oms, engine: Engine) -> None:
    RepairShop(engine)
    bad = oms(
        "repairs", "open", "--symptom", "x", "--name", "A", "--purchase-date", "2025-10-01",
        "--channel", "web", "--sku", "NOPE",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert messages(bad).startswith("error: sku:")
    assert oms("repairs", "act", "1", "teleport").exit_code == 2
    assert (
        "LOFT: +0 months, own term 6 months"
        in oms("repairs", "partner", "LOFT", "--term-months", "6").stdout
    )
    missing = oms("repairs", "show", "9")
    assert missing.exit_code == 1
    assert "no repair 9" in messages(missing)
