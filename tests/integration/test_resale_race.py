"""Channels racing for one resale unit on PostgreSQL, in real parallel sessions: however the
race goes, exactly one order takes the unit, every other order is refused (never left as a
backorder), every channel's number is 0 straight after, and the ledger verifies clean."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import pytest
from sqlalchemy import Engine

from oms.db import make_engine
from oms.orders.services.placement import OrderService, PlacedOrder
from oms.shared.errors import Conflict
from tests.integration.test_count_concurrency import race
from tests.order_builders import DC, an_order
from tests.resale_builders import AMAZON, WEB, ResaleShop

T = TypeVar("T")
CLIENTS = 8


@pytest.fixture
def wide_engine(pg_engine: Engine, postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url, pool_size=CLIENTS + 4)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("clients", [2, CLIENTS])
def test_channels_racing_for_one_unit_exactly_one_wins(wide_engine: Engine, clients: int) -> None:
    shop = ResaleShop(wide_engine)
    units = [shop.listed_unit(grade) for grade in ("A", "B", "C")]

    for unit in units:
        assert shop.number(WEB, unit.code) == shop.number(AMAZON, unit.code) == 1

        def attempt(client: int, code: str = unit.code) -> PlacedOrder:
            # Each client its own services over the shared engine, as each web worker has.
            own = OrderService(shop.services.uow, shop.services.inventory)
            channel = WEB if client % 2 else AMAZON
            return own.place_order(an_order((code, 1), channel=channel))

        outcomes = race(clients, attempt)

        won = [o for o in outcomes if isinstance(o, PlacedOrder)]
        lost = [o for o in outcomes if isinstance(o, Exception)]
        assert len(won) == 1, outcomes
        assert all(isinstance(o, Conflict) and o.field == "lines[0].sku" for o in lost), lost
        assert won[0].order.status.value == "allocated"
        assert shop.number(WEB, unit.code) == shop.number(AMAZON, unit.code) == 0
        assert shop.published(WEB, unit.code) == shop.published(AMAZON, unit.code) == 0
        level = shop.shop.level(unit.code, DC)
        assert (level.on_hand, level.reserved, level.quarantined) == (1, 1, 0)
        shop.resale.observe_stock([unit.code])
        assert shop.resale.get_unit(unit.code).unit.status.value == "reserved"
    # Only the winners were taken: no losing order was stored, waiting or otherwise.
    assert shop.shop.order_count() == 1 + len(units)
    assert shop.services.inventory.verify().clean
