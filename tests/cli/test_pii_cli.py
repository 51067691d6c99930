"""`oms pii anonymise` on both databases: a dry run counts and changes nothing, a run changes
what is due (held orders kept), a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from oms.privacy.domain import PLACEHOLDER
from oms.privacy.orm import pii_runs
from tests.cli.conftest import Oms, messages
from tests.privacy_builders import (
    AMAZON,
    AMAZON_ADDRESS,
    amazon_shop,
    cancelled,
    services,
    shipped,
    stored_order,
)


def runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(pii_runs)).scalar_one())


def test_a_dry_run_reports_counts_and_a_run_anonymises_once(oms: Oms, engine: Engine) -> None:
    shop = amazon_shop(engine)
    # Ordered on 2025-04-01 and cancelled: long past 30 days. Shipped today: not yet due.
    due = [cancelled(shop), cancelled(shop)]
    held = cancelled(shop)
    recent, _ = shipped(shop)
    services(engine).legal_holds.place_hold(held.id or 0, "tax audit", "cs")
    everyone = [*due, held, recent]
    before = {o.id: stored_order(engine, o.id or 0) for o in everyone}

    dry = oms("pii", "anonymise", "--dry-run")

    assert dry.exit_code == 0, dry.output
    assert "dry run: 2 orders due, 1 held; nothing changed" in dry.stdout
    assert AMAZON in dry.stdout
    assert {o.id: stored_order(engine, o.id or 0) for o in everyone} == before
    assert runs(engine) == 0

    run = oms("pii", "anonymise")

    assert run.exit_code == 0, run.output
    assert "anonymised 2 orders; 1 held" in run.stdout
    for order in due:
        assert stored_order(engine, order.id or 0)["ship_to"]["name"] == PLACEHOLDER
    for order in (held, recent):
        assert stored_order(engine, order.id or 0)["ship_to"] == AMAZON_ADDRESS
    assert runs(engine) == 1

    again = oms("pii", "anonymise", "--channel", AMAZON)
    assert again.exit_code == 0, again.output
    assert "anonymised 0 orders; 1 held" in again.stdout


def test_an_unknown_channel_is_refused_in_one_line(oms: Oms, engine: Engine) -> None:
    amazon_shop(engine)

    result = oms("pii", "anonymise", "--channel", "NOPE")

    assert result.exit_code == 1
    assert messages(result) == "error: channel: no channel 'NOPE'"
