"""A resale unit is one item: the channel buffers and shares that hold fungible stock back
against overselling do not apply to it (it is reserved at once everywhere); a rule set for
that very SKU does. Published numbers and the read path agree, on both databases."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.resale_builders import AMAZON, WEB, ResaleShop


def test_a_listed_unit_shows_one_on_channels_with_default_buffers_and_shares(
    engine: Engine,
) -> None:
    shop = ResaleShop(engine)
    rules = shop.shop.channels
    rules.set_buffer(AMAZON, "default", None, 2, "admin")
    rules.set_share(WEB, None, 80, "admin")
    rules.set_buffer(WEB, "category", "tops", 3, "admin")

    unit = shop.listed_unit("A")

    assert shop.number(AMAZON, unit.code) == 1
    assert shop.number(WEB, unit.code) == 1
    assert shop.published(AMAZON, unit.code) == 1
    assert shop.published(WEB, unit.code) == 1
    rules.set_buffer(AMAZON, "sku", unit.code, 1, "admin")  # a rule for this very unit holds
    assert shop.number(AMAZON, unit.code) == 0
    assert shop.published(AMAZON, unit.code) == 0
