"""Ring-fenced pools hold where stock is taken, on both databases.

The issue's story: 20 units of TEE at DC-CHIBA, which feeds Amazon and Rakuten (and the shop's
web store), and a Rakuten pool of 8. Amazon is told 12; its orders take those 12 and no more,
the 13th is backordered (or refused, as its sourcing profile says), and Rakuten's own order
for its 8 is then allocated. A channel's orders draw from its own pool first; an order larger
than the pool spills to shared stock; a release gives the pool its units back. After each
story what every channel is told equals what the pipeline computes, and the books balance.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from oms.channels.availability.orm import channel_availability
from oms.channels.availability.orm import channels as channels_table
from oms.channels.availability.services.channels import CreateChannel
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_session_factory
from oms.inventory.domain import InsufficientStock, ReservationLine
from oms.inventory.orm import skus
from oms.inventory.services import RecordMovement, ReserveStock
from oms.orders.domain.order import Order, OrderStatus
from oms.shared.errors import Conflict
from oms.uow import SqlUnitOfWork
from tests.builders import a_key, receive
from tests.order_builders import CHANNEL, DC, TEE, Shop, an_order, carried, open_shipments
from tests.publishing import drain

AMAZON, RAKUTEN = "amazon", "rakuten"
ADMIN = "test admin"


def a_shop(engine: Engine, *, pool: int = 8, on_hand: int = 20) -> Shop:
    """DC-CHIBA feeds Amazon and Rakuten (and `web`); Rakuten has a pool of `pool` TEE."""
    shop = Shop(engine).build(channel_locations=[DC])
    for code in (AMAZON, RAKUTEN):
        shop.channels.create_channel(CreateChannel(code, code, code, locations=[DC]))
    shop.stock((TEE, DC, on_hand))
    shop.channels.set_pool(RAKUTEN, TEE, pool, ADMIN)
    return shop


def order_of(shop: Shop, channel: str, units: int) -> Order:
    placed = shop.orders.place_order(an_order((TEE, units), channel=channel))
    assert placed.created
    return placed.order


def allocated(order: Order) -> int:
    return sum(s.allocated for s in order.line_states())


def backordered(order: Order) -> int:
    return sum(s.backordered for s in order.line_states())


def reserve_for(shop: Shop, channel: str | None, units: int) -> int:
    result = shop.inventory.reserve(
        ReserveStock([ReservationLine(TEE, DC, units)], channel=channel)
    )
    assert result.reservation.id is not None
    return result.reservation.id


def computed(shop: Shop) -> dict[str, int]:
    """What the read path computes now for each channel (the explain trace's number)."""
    factory = make_session_factory(shop.engine)
    service = ChannelAvailabilityService(lambda: SqlUnitOfWork(factory), shop.inventory)
    numbers = {}
    for channel in (AMAZON, RAKUTEN, CHANNEL):
        [found] = service.channel_availability(channel, [TEE])
        steps = found.availability.trace
        assert steps[-1].output == found.availability.available  # the trace adds up
        numbers[channel] = found.availability.available
    return numbers


def published(shop: Shop) -> dict[str, int]:
    """What each channel was told of TEE once the publisher drained what was queued."""
    drain(shop.engine)
    with shop.engine.connect() as conn:
        rows = conn.execute(
            select(channels_table.c.code, channel_availability.c.available)
            .join(channels_table, channels_table.c.id == channel_availability.c.channel_id)
            .join(skus, skus.c.id == channel_availability.c.sku_id)
            .where(skus.c.code == TEE)
        )
        told = {str(r[0]): int(r[1]) for r in rows}
    return {channel: told.get(channel, 0) for channel in (AMAZON, RAKUTEN, CHANNEL)}


def assert_told_what_is_computed_and_books_balance(shop: Shop) -> None:
    assert published(shop) == computed(shop)
    everything_open = [s for o in shop.all_orders() for s in open_shipments(o)]
    assert {pair: n for pair, n in carried(everything_open).items() if n} == {
        (level.sku, level.location): level.reserved for level in shop.all_levels() if level.reserved
    }
    assert shop.inventory.verify().clean


# --------------------------------------------------------------------------- the story


def test_amazon_orders_take_the_12_unpooled_units_the_13th_waits_and_rakuten_gets_its_8(
    engine: Engine,
) -> None:
    shop = a_shop(engine)
    assert published(shop)[AMAZON] == 12

    amazon = [order_of(shop, AMAZON, 1) for _ in range(12)]
    thirteenth = order_of(shop, AMAZON, 1)
    rakuten = order_of(shop, RAKUTEN, 8)

    assert [o.status for o in amazon] == [OrderStatus.ALLOCATED] * 12
    assert thirteenth.status is OrderStatus.BACKORDERED
    assert backordered(thirteenth) == 1
    assert rakuten.status is OrderStatus.ALLOCATED
    assert allocated(rakuten) == 8
    assert shop.level(TEE, DC).available == 0
    assert_told_what_is_computed_and_books_balance(shop)


def test_an_amazon_order_beyond_the_unpooled_stock_is_refused_when_amazon_takes_no_backorders(
    engine: Engine,
) -> None:
    shop = a_shop(engine)
    shop.settings.set_sourcing_profile(AMAZON, {"allow_backorder": False})
    orders_before = len(shop.all_orders())

    with pytest.raises(Conflict, match="does not take orders it cannot ship now"):
        order_of(shop, AMAZON, 13)

    assert len(shop.all_orders()) == orders_before
    assert shop.level(TEE, DC).reserved == 0
    assert allocated(order_of(shop, AMAZON, 12)) == 12
    assert allocated(order_of(shop, RAKUTEN, 8)) == 8
    assert_told_what_is_computed_and_books_balance(shop)


def test_the_sourcing_decision_of_the_waiting_unit_shows_what_amazon_could_take(
    engine: Engine,
) -> None:
    shop = a_shop(engine)
    order_of(shop, AMAZON, 12)

    waiting = order_of(shop, AMAZON, 1)

    [decision] = shop.orders.sourcing(waiting.id or 0)
    [candidate] = decision.decision["candidates"]
    assert candidate["location"] == DC
    assert candidate["available"] == {TEE: 0}  # 8 are there, all Rakuten's


# --------------------------------------------------------------------------- own pool first


def test_a_pools_own_channel_draws_from_its_pool_first(engine: Engine) -> None:
    shop = a_shop(engine)

    rakuten = order_of(shop, RAKUTEN, 5)

    assert allocated(rakuten) == 5
    # Rakuten's 5 came out of its pool: Amazon still sees, and may take, the 12 unpooled.
    assert published(shop)[AMAZON] == 12
    assert allocated(order_of(shop, AMAZON, 12)) == 12
    assert backordered(order_of(shop, AMAZON, 1)) == 1
    # What is left is Rakuten's: the 3 its pool still holds.
    assert published(shop)[RAKUTEN] == 3
    assert allocated(order_of(shop, RAKUTEN, 3)) == 3
    assert_told_what_is_computed_and_books_balance(shop)


def test_a_pool_smaller_than_its_channels_orders_spills_to_shared_stock(engine: Engine) -> None:
    shop = a_shop(engine)

    rakuten = order_of(shop, RAKUTEN, 10)

    assert allocated(rakuten) == 10  # 8 from its pool, 2 shared
    assert published(shop)[AMAZON] == 10
    assert allocated(order_of(shop, AMAZON, 10)) == 10
    assert backordered(order_of(shop, AMAZON, 1)) == 1
    assert_told_what_is_computed_and_books_balance(shop)


def test_a_cancelled_order_gives_its_units_back_to_its_pool(engine: Engine) -> None:
    shop = a_shop(engine)
    rakuten = order_of(shop, RAKUTEN, 8)

    shop.orders.cancel(rakuten.id or 0, actor="cs")

    # The 8 are Rakuten's again, not shared: Amazon still takes only 12.
    assert published(shop)[AMAZON] == 12
    assert allocated(order_of(shop, AMAZON, 13)) == 12
    assert allocated(order_of(shop, RAKUTEN, 8)) == 8
    assert_told_what_is_computed_and_books_balance(shop)


def test_setting_a_pool_again_starts_it_afresh(engine: Engine) -> None:
    shop = a_shop(engine, on_hand=30)
    order_of(shop, RAKUTEN, 8)  # the pool is used up: Amazon sees the other 22
    assert published(shop)[AMAZON] == 22

    shop.channels.set_pool(RAKUTEN, TEE, 8, ADMIN)

    assert published(shop)[AMAZON] == 14
    assert_told_what_is_computed_and_books_balance(shop)


# --------------------------------------------------------------------------- reservations


def test_a_reservation_for_another_channel_or_for_none_leaves_the_pool_alone(
    engine: Engine,
) -> None:
    shop = a_shop(engine)

    with pytest.raises(InsufficientStock) as refused:
        reserve_for(shop, AMAZON, 13)
    with pytest.raises(InsufficientStock):
        reserve_for(shop, None, 13)

    [short] = refused.value.shortages
    assert short == {
        "sku": TEE,
        "location": DC,
        "requested": 13,
        "available": 12,
        "ring_fenced": 8,
    }
    assert shop.level(TEE, DC).reserved == 0
    reserve_for(shop, AMAZON, 12)
    with pytest.raises(InsufficientStock):
        reserve_for(shop, None, 1)
    reserve_for(shop, RAKUTEN, 8)
    assert shop.level(TEE, DC).available == 0
    assert published(shop) == computed(shop)
    assert shop.inventory.verify().clean


def test_a_released_reservation_of_the_pools_channel_holds_its_units_for_it_again(
    engine: Engine,
) -> None:
    shop = a_shop(engine)
    reservation = reserve_for(shop, RAKUTEN, 6)
    assert published(shop)[AMAZON] == 12

    shop.inventory.release(reservation)
    shop.inventory.release(reservation)  # twice: given back once

    assert published(shop) == computed(shop)
    assert published(shop)[AMAZON] == 12
    assert published(shop)[RAKUTEN] == 20
    with pytest.raises(InsufficientStock):
        reserve_for(shop, AMAZON, 13)


def test_units_a_count_cut_off_a_pool_order_are_held_for_its_channel_again(
    engine: Engine,
) -> None:
    shop = a_shop(engine)
    rakuten = order_of(shop, RAKUTEN, 8)  # the whole pool
    assert published(shop)[AMAZON] == 12

    # The shelf holds 5: 3 of Rakuten's units are gone, and its order waits for 3.
    shop.inventory.record_movement(
        RecordMovement(type="count", sku=TEE, location=DC, quantity=5, idempotency_key=a_key())
    )
    rakuten = shop.orders.get_order(rakuten.id or 0)
    assert (allocated(rakuten), backordered(rakuten)) == (5, 3)

    # When 10 arrive, 3 of them are Rakuten's pool again: Amazon is told 7 and may take 7.
    receive(shop.inventory, TEE, DC, 10)
    assert published(shop)[AMAZON] == 7
    assert allocated(order_of(shop, AMAZON, 10)) == 7
    assert_told_what_is_computed_and_books_balance(shop)
