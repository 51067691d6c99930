"""Warehouse benches racing on one return and one unit, on PostgreSQL in real parallel sessions:
receipts never exceed what a line expects, a unit's disposition is carried out once, and the
ledger replays to the projection whatever the interleaving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from oms.bootstrap import bootstrap
from oms.db import make_engine
from oms.inventory.orm import movements
from oms.returns.services.rma import NewReturnLine, OpenReturn
from oms.returns.services.units import GradeUnit
from oms.shared.errors import Conflict
from tests.integration.test_count_concurrency import race
from tests.order_builders import DC, TEE, Shop, open_shipments

CLIENTS = 8


@pytest.fixture
def wide_engine(pg_engine: Engine, postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url, pool_size=CLIENTS + 4)
    yield engine
    engine.dispose()


def returned(engine: Engine, units: int) -> tuple[int, str]:
    shop = Shop(engine).build().stock((TEE, DC, 20))
    order = shop.place((TEE, units))
    [parcel] = open_shipments(order)
    shop.ship(parcel.id or 0)
    line_id = order.lines[0].line_id
    rma = bootstrap(engine=engine).returns.open_return(
        OpenReturn(order.id or 0, [NewReturnLine(line_id, units, "defective")]), "cs"
    )
    return rma.id or 0, line_id


def test_parallel_receipts_never_exceed_what_the_line_expects(wide_engine: Engine) -> None:
    return_id, line_id = returned(wide_engine, 5)
    services = bootstrap(engine=wide_engine)

    outcomes = race(CLIENTS, lambda _: services.returns.receive(return_id, DC, {line_id: 2}, "wh"))

    won = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 2  # 2 + 2, then 1 left: every other bench is told so
    assert all(isinstance(o, Conflict) for o in refused), refused
    assert len(services.returns.units_of(return_id)) == 4
    [level] = services.inventory.stock_levels(sku=TEE, location=DC).items
    assert level.quarantined == 4
    assert services.inventory.verify().clean


def test_parallel_returns_never_ask_back_more_than_was_shipped(wide_engine: Engine) -> None:
    shop = Shop(wide_engine).build().stock((TEE, DC, 20))
    order = shop.place((TEE, 10))
    [parcel] = open_shipments(order)
    shop.ship(parcel.id or 0)
    line_id = order.lines[0].line_id
    services = bootstrap(engine=wide_engine)

    def attempt(client: int) -> object:
        # Customer service, a channel's request and unexpected parcels, all at once.
        if client % 3 == 2:
            return services.returns.receive_unexpected(order.id or 0, DC, {line_id: 3}, "wh")
        return services.returns.open_return(
            OpenReturn(
                order.id or 0,
                [NewReturnLine(line_id, 3, "defective")],
                channel_return_id=f"R-{client}" if client % 3 == 1 else None,
                by_channel=client % 3 == 1,
            ),
            "cs",
        )

    outcomes = race(CLIENTS, attempt)

    won = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 3  # 3 + 3 + 3 of the 10 shipped, then 1 left: the rest are told so
    assert all(isinstance(o, Conflict) for o in refused), refused
    asked = services.returns.list_returns(order_id=order.id)
    assert sum(line.quantity for rma in asked for line in rma.lines) == 9
    assert services.inventory.verify().clean


def test_one_unit_executed_by_many_benches_moves_once(wide_engine: Engine) -> None:
    return_id, line_id = returned(wide_engine, 1)
    services = bootstrap(engine=wide_engine)
    [unit] = services.returns.receive(return_id, DC, {line_id: 1}, "wh").units
    services.units.grade(unit.id or 0, GradeUnit("N", "full"), "wh")
    services.units.decide(unit.id or 0, "RESTOCK", "wh")

    outcomes = race(CLIENTS, lambda _: services.units.execute(unit.id or 0, "wh"))

    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, Exception))
    with wide_engine.connect() as conn:
        releases = conn.execute(
            select(func.count()).where(movements.c.type == "quarantine_release")
        ).scalar_one()
    assert releases == 1
    assert services.inventory.verify().clean
