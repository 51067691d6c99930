"""Amazon and Rakuten race for one SKU on PostgreSQL: a Rakuten pool holds.

20 TEE at DC-CHIBA feed both channels; Rakuten has a pool of 8. Real parallel clients (one
thread and one connection each, released together by a barrier) place one-unit orders
through `OrderService`: however their transactions interleave, Rakuten gets its pool and Amazon
never more than the 12 unpooled units. Each reservation checks the pool under the row locks of
every TEE stock row, so no interleaving can let a stale read through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from oms.db import make_engine
from oms.orders.domain.order import OrderStatus
from oms.orders.services.placement import PlacedOrder
from oms.shared.errors import InvalidInput
from tests.integration.test_order_concurrency import placed_orders, race
from tests.integration.test_ring_fenced_pools import (
    ADMIN,
    AMAZON,
    RAKUTEN,
    a_shop,
    allocated,
    assert_told_what_is_computed_and_books_balance,
)
from tests.order_builders import DC, TEE, Shop, an_order

CLIENTS_PER_CHANNEL = 16


@pytest.fixture
def wide_engine(pg_engine: Engine, postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url, pool_size=2 * CLIENTS_PER_CHANNEL + 4)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("rakuten_clients", [CLIENTS_PER_CHANNEL, 8])
def test_amazon_and_rakuten_racing_for_one_sku_rakuten_gets_its_pool_amazon_no_more_than_12(
    wide_engine: Engine, rakuten_clients: int
) -> None:
    a_shop(wide_engine)
    # Alternating, so that both channels' clients start together.
    channels: list[str] = []
    for n in range(max(CLIENTS_PER_CHANNEL, rakuten_clients)):
        channels += [AMAZON] if n < CLIENTS_PER_CHANNEL else []
        channels += [RAKUTEN] if n < rakuten_clients else []

    def client(n: int) -> PlacedOrder:
        return Shop(wide_engine).orders.place_order(
            an_order((TEE, 1), external_id=f"RACE-{n}", channel=channels[n])
        )

    orders = placed_orders(race(len(channels), client))

    taken = {AMAZON: 0, RAKUTEN: 0}
    for placed in orders:
        taken[placed.channel] += allocated(placed)
        assert placed.status in (OrderStatus.ALLOCATED, OrderStatus.BACKORDERED)
    assert taken[RAKUTEN] >= 8
    assert taken[AMAZON] <= 12
    assert taken[AMAZON] + taken[RAKUTEN] == 20  # every unit went to someone who wanted it
    if rakuten_clients == 8:
        assert taken == {AMAZON: 12, RAKUTEN: 8}
    shop = Shop(wide_engine)
    level = shop.level(TEE, DC)
    assert (level.on_hand, level.reserved, level.available) == (20, 20, 0)
    assert_told_what_is_computed_and_books_balance(shop)


def test_setting_the_pool_while_both_channels_order_neither_deadlocks_nor_breaks_the_books(
    wide_engine: Engine,
) -> None:
    """A merchandiser refills the pool while the orders come in: the pool's row is written
    by both (a reservation draws on it, the rule sets it), always after the SKU's rows."""
    a_shop(wide_engine, on_hand=40)
    clients = 2 * CLIENTS_PER_CHANNEL

    def client(n: int) -> object:
        shop = Shop(wide_engine)
        if n == clients:
            for _ in range(6):
                with contextlib.suppress(InvalidInput):  # more than is left: refused, fine
                    shop.channels.set_pool(RAKUTEN, TEE, 8, ADMIN)
            return None
        channel = AMAZON if n % 2 else RAKUTEN
        return shop.orders.place_order(
            an_order((TEE, 1), external_id=f"REFILL-{n}", channel=channel)
        )

    outcomes = race(clients + 1, client)

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == []
    orders = [o.order for o in outcomes if isinstance(o, PlacedOrder)]
    assert sum(allocated(o) for o in orders) == clients  # 40 units, 32 one-unit orders
    assert_told_what_is_computed_and_books_balance(Shop(wide_engine))
