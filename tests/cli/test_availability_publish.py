"""`oms availability publish`: the repair that republishes every number that differs."""

from __future__ import annotations

from sqlalchemy import Engine, delete

from oms.channels.availability.orm import channel_availability
from tests.cli.conftest import Oms
from tests.integration.test_availability_events import World


def test_publish_restores_lost_numbers_and_then_finds_nothing_to_do(
    engine: Engine, oms: Oms
) -> None:
    world = World(engine).build()
    told = world.live()
    with engine.begin() as conn:  # numbers lost around the API, e.g. a partial restore
        conn.execute(delete(channel_availability))

    first = oms("availability", "publish")
    assert first.exit_code == 0, first.output
    restored = sum(1 for n in told.values() if n)
    assert f"{restored} channel numbers changed" in first.output

    again = oms("availability", "publish")
    assert again.exit_code == 0, again.output
    assert "0 channel numbers changed" in again.output
    # The restored numbers are what the pipeline computes (versions restart at 1).
    last = {(e[0], e[1]): e[2] for e in world.events()}
    assert {pair: n for pair, n in told.items() if n} == {pair: n for pair, n in last.items() if n}


def test_drain_publishes_what_the_writers_queued_and_then_finds_nothing(
    engine: Engine, oms: Oms
) -> None:
    world = World(engine).build()  # writes queued, nobody drained
    assert world.publication.backlog().waiting > 0

    first = oms("availability", "drain")
    assert first.exit_code == 0, first.output
    assert "channel numbers changed and published" in first.output
    assert world.publication.backlog().waiting == 0

    again = oms("availability", "drain")
    assert again.exit_code == 0, again.output
    assert "0 queued changes taken, 0 channel numbers changed" in again.output
    assert world.published() == world.live()
