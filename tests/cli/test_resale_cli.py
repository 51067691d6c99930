"""`oms resale due` runs the scheduled resale work once: a unit past its public time goes to
the marketplaces; a second run changes nothing. `oms resale list` shows the units."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from tests.cli.conftest import Oms
from tests.resale_builders import AMAZON, ResaleShop


def test_due_puts_a_unit_past_its_public_time_on_the_marketplaces(oms: Oms, engine: Engine) -> None:
    shop = ResaleShop(engine)  # its clock stands before the real one
    unit = shop.listed_unit("B", public_from=shop.clock() + timedelta(hours=1))
    assert shop.number(AMAZON, unit.code) == 0

    first = oms("resale", "due")
    again = oms("resale", "due")

    assert first.exit_code == 0, first.output
    assert "1 resale units changed" in first.stdout
    assert "0 resale units changed" in again.stdout
    assert shop.number(AMAZON, unit.code) == 1
    listed = oms("resale", "list", "--status", "listed")
    assert unit.code in listed.stdout
    assert "public" in listed.stdout
    refused = oms("resale", "list", "--status", "lost")
    assert refused.exit_code == 1
