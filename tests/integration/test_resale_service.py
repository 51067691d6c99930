"""Resale units through the service, on both databases: intake in the disposition's
transaction, the unit held back until listed, channels by grade and stage, early access,
orders taking the unit on one channel, markdowns and the price history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from oms.channels.availability.domain.rules import Exclusion
from oms.channels.availability.services.channels import CreateChannel
from oms.inventory.services import UpdateSku
from oms.resale.domain import PricingMode, ResaleStatus, Stage
from oms.resale.services import SetPricing
from oms.shared.errors import Conflict, InvalidInput, NotFound
from tests.order_builders import DC, PRICES, TEE, open_shipments
from tests.resale_builders import AMAZON, WEB, ResaleShop


def test_a_graded_unit_becomes_its_own_sku_held_back_until_listed(engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("A")

    assert unit.code == f"{TEE}-U{unit.returns_unit_id}"
    assert unit.status is ResaleStatus.INTAKE
    sku = shop.services.inventory.get_sku(unit.code)
    assert sku.attributes["resale_grade"] == "A"
    assert sku.attributes["resale_parent"] == TEE
    assert sku.attributes["single_unit"] is True
    assert sku.attributes["resale_stage"] == "hidden"
    level = shop.shop.level(unit.code, DC)
    assert (level.on_hand, level.reserved, level.quarantined) == (1, 0, 1)
    parent = shop.shop.level(TEE, DC)
    assert parent.quarantined == 0  # the disposition took it out of quarantine
    assert shop.number(WEB, unit.code) == 0
    assert shop.number(AMAZON, unit.code) == 0
    # No `price` on the parent: the original order line's price x grade A's 70 %.
    view = shop.resale.get_unit(unit.code)
    assert view.unit.pricing.price == PRICES[TEE] * 70 // 100
    assert [p.price for p in view.prices] == [PRICES[TEE] * 70 // 100]
    assert view.unit.order_id == shop.order_id
    assert view.unit.channel == WEB


def test_the_same_returns_unit_sent_twice_is_one_resale_unit(engine: Engine) -> None:
    shop = ResaleShop(engine)
    first = shop.returned_unit("B", unit_id=901)
    with shop.services.uow() as uow:
        from oms.resale.services import ResaleSource

        again = shop.resale.create_unit_within(
            uow,
            ResaleSource(901, "RU901", TEE, DC, "B", "full"),
            "warehouse",
            shop.clock(),
        )
        uow.publish_changes()
        uow.commit()
    assert again.id == first.id
    assert shop.shop.level(first.code, DC).on_hand == 1


def test_the_catalogue_price_comes_first_and_factors_follow_the_category(engine: Engine) -> None:
    shop = ResaleShop(engine)
    shop.services.inventory.update_sku(
        UpdateSku(TEE, attributes={"price": 5000, "category": "tops"})
    )
    shop.resale.set_factors("tops", {"B": 60}, "admin")

    unit = shop.returned_unit("B")

    assert unit.category == "tops"
    assert unit.pricing.price == 3000  # 5000 x 60 %
    assert shop.resale.factors("tops")[unit.grade] == 60
    assert shop.resale.factors("bottoms")[unit.grade] == 55  # the built-in default
    with pytest.raises(InvalidInput) as refused:
        shop.resale.set_factors("tops", {"J": 10}, "admin")
    assert refused.value.field == "factors.J"
    with pytest.raises(InvalidInput) as unknown:
        shop.resale.set_factors("tops", {"Z": 10}, "admin")
    assert unknown.value.field == "factors.Z"


def test_a_catalogue_price_written_as_digits_counts_like_a_number(engine: Engine) -> None:
    shop = ResaleShop(engine)
    shop.services.inventory.update_sku(
        UpdateSku(TEE, attributes={"price": "8000", "category": "tops"})
    )
    shop.resale.set_factors("tops", {"B": 50}, "admin")

    unit = shop.returned_unit("B")

    assert unit.pricing.price == 4000  # "8000" x 50 %, not what the buyer paid


def test_a_listed_unit_is_one_on_every_channel_and_an_order_takes_it_everywhere(
    engine: Engine,
) -> None:
    shop = ResaleShop(engine)
    unit = shop.listed_unit("A")

    assert unit.status is ResaleStatus.LISTED
    assert unit.stage is Stage.PUBLIC
    assert shop.number(WEB, unit.code) == 1
    assert shop.number(AMAZON, unit.code) == 1
    assert shop.published(AMAZON, unit.code) == 1

    placed = shop.order_unit(unit.code, AMAZON)

    assert placed.order.status.value == "allocated"
    # In the order's own transaction: every other channel is at 0 at once.
    assert shop.number(WEB, unit.code) == 0
    assert shop.published(WEB, unit.code) == 0
    assert shop.published(AMAZON, unit.code) == 0
    # A second order for it is refused, not left waiting for stock that never comes.
    with pytest.raises(Conflict) as refused:
        shop.order_unit(unit.code, WEB)
    assert refused.value.field == "lines[0].sku"
    assert shop.resale.observe_stock([unit.code]) == 1
    assert shop.resale.get_unit(unit.code).unit.status is ResaleStatus.RESERVED
    with pytest.raises(Conflict):
        shop.resale.withdraw(unit.code, "cs", "damaged in the shop")

    [parcel] = open_shipments(placed.order)
    shop.shop.ship(parcel.id or 0)
    shop.resale.observe_stock([unit.code])

    assert shop.resale.get_unit(unit.code).unit.status is ResaleStatus.SOLD
    assert shop.resale.observe_stock([unit.code]) == 0  # safe to run twice
    level = shop.shop.level(unit.code, DC)
    assert (level.on_hand, level.reserved, level.quarantined) == (0, 0, 0)


def test_a_cancelled_order_lists_the_unit_again(engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.listed_unit("C")
    placed = shop.order_unit(unit.code, WEB)
    shop.resale.observe_stock([unit.code])

    shop.shop.orders.cancel(placed.order.id or 0)
    shop.resale.observe_stock([unit.code])

    assert shop.resale.get_unit(unit.code).unit.status is ResaleStatus.LISTED
    assert shop.number(AMAZON, unit.code) == 1


def test_early_access_shows_segments_first_and_marketplaces_only_from_public(
    engine: Engine,
) -> None:
    shop = ResaleShop(engine)
    now = shop.clock()
    unit = shop.listed_unit(
        "B",
        public_from=now + timedelta(days=2),
        early_access=[("gold", now - timedelta(hours=1)), ("silver", now + timedelta(days=1))],
    )

    assert unit.stage is Stage.EARLY
    assert shop.number(WEB, unit.code) == 1
    assert shop.number(AMAZON, unit.code) == 0
    seen = {
        s: [u.code for u in shop.resale.list_units(segment=s).items]
        for s in ("gold", "silver", "x")
    }
    assert seen == {"gold": [unit.code], "silver": [], "x": []}

    shop.clock.advance(days=1)
    assert [u.code for u in shop.resale.list_units(segment="silver").items] == [unit.code]
    # A marketplace connected meanwhile is kept off early units by the next due run.
    shop.shop.channels.create_channel(CreateChannel("rak", "Rakuten", "rakuten", locations=[DC]))
    assert shop.number("rak", unit.code) == 1
    assert shop.resale.run_due() == 0  # nothing due before public_from
    assert shop.number(AMAZON, unit.code) == 0
    assert shop.number("rak", unit.code) == 0

    shop.clock.advance(days=1)
    assert shop.resale.run_due() == 1
    assert shop.resale.get_unit(unit.code).unit.stage is Stage.PUBLIC
    assert shop.number(AMAZON, unit.code) == 1
    assert shop.published(AMAZON, unit.code) == 1
    assert [u.code for u in shop.resale.list_units(segment="x").items] == [unit.code]


def test_markdowns_fall_due_by_days_listed_down_to_the_floor(engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.listed_unit("A")
    start = unit.pricing.price or 0
    shop.resale.set_pricing(
        unit.code, SetPricing("clearance plan", steps=[(10, 20), (20, 60)], floor=start // 2), "cs"
    )

    shop.clock.advance(days=11)
    assert shop.resale.run_due() == 1
    assert shop.resale.run_due() == 0  # safe to run twice
    shop.clock.advance(days=10)
    shop.resale.run_due()

    view = shop.resale.get_unit(unit.code)
    assert view.unit.pricing.price == start // 2  # 60 % off would go below the floor
    assert [p.price for p in view.prices] == [start, start * 80 // 100, start // 2]
    assert all(p.reason and p.actor for p in view.prices)


def test_a_price_by_hand_stops_the_markdowns_and_is_kept(engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.listed_unit("A")

    shop.resale.set_pricing(unit.code, SetPricing("matched a competitor", price=1500), "cs:ken")
    shop.clock.advance(days=100)
    shop.resale.run_due()

    view = shop.resale.get_unit(unit.code)
    assert view.unit.pricing.mode is PricingMode.MANUAL
    assert view.unit.pricing.price == 1500
    assert (view.prices[-1].price, view.prices[-1].actor) == (1500, "cs:ken")


@pytest.mark.parametrize(
    ("cmd", "field"),
    [
        (SetPricing("x", price=0), "price"),
        (SetPricing("x", price=True), "price"),  # bool is an int to Python
        (SetPricing(" ", price=100), "reason"),
        (SetPricing("x", price=100, steps=[], floor=1), "price"),
        (SetPricing("x", steps=[(30, 10), (20, 20)], floor=100), "schedule.steps[1]"),
        (SetPricing("x", steps=[(30, 100)], floor=100), "schedule.steps[0].percent_off"),
        (SetPricing("x", steps=[], floor=0), "schedule.floor"),
    ],
)
def test_bad_pricing_names_the_field_and_changes_nothing(
    engine: Engine, cmd: SetPricing, field: str
) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("A")

    with pytest.raises(InvalidInput) as refused:
        shop.resale.set_pricing(unit.code, cmd, "cs")

    assert refused.value.field == field
    assert len(shop.resale.get_unit(unit.code).prices) == 1


def test_the_state_machine_refuses_what_the_diagram_does_not_have(engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("A")
    now = shop.clock()

    with pytest.raises(Conflict, match="intake: it cannot publish"):
        shop.resale.publish(unit.code, "cs", now)
    shop.resale.prepare(unit.code, "cs")
    with pytest.raises(InvalidInput) as no_photo:
        shop.resale.ready(unit.code, "cs", photos=[])
    assert no_photo.value.field == "photos"
    with pytest.raises(NotFound):
        shop.resale.prepare("NOPE-U1", "cs")
    assert shop.resale.get_unit(unit.code).unit.status is ResaleStatus.PREPARING


def test_a_j_unit_is_never_listed_and_a_withdrawn_one_leaves_stock(engine: Engine) -> None:
    shop = ResaleShop(engine)
    junk = shop.returned_unit("J")
    shop.resale.prepare(junk.code, "cs")
    shop.resale.set_pricing(junk.code, SetPricing("parts value", price=100), "cs")
    shop.resale.ready(junk.code, "cs")

    with pytest.raises(Conflict) as refused:
        shop.resale.publish(junk.code, "cs", shop.clock())
    assert refused.value.field == "grade"
    assert shop.number(WEB, junk.code) == 0

    shop.resale.withdraw(junk.code, "cs", "for parts only")
    shop.resale.dispose(junk.code, "cs", "recycled")
    level = shop.shop.level(junk.code, DC)
    assert (level.on_hand, level.quarantined) == (0, 0)
    assert shop.resale.get_unit(junk.code).unit.status is ResaleStatus.DISPOSED


def test_a_withdrawn_listed_unit_leaves_every_channel(engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.listed_unit("B")

    shop.resale.withdraw(unit.code, "cs", "stain found")

    assert shop.number(WEB, unit.code) == 0
    assert shop.published(AMAZON, unit.code) == 0
    assert shop.shop.level(unit.code, DC).quarantined == 1


def test_bad_filters_are_refused_naming_the_field(engine: Engine) -> None:
    shop = ResaleShop(engine)
    for kwargs, field in (
        ({"grade": "Z"}, "grade"),
        ({"status": "lost"}, "status"),
        ({"segment": "bad segment"}, "segment"),
        ({"cursor": "x"}, "cursor"),
    ):
        with pytest.raises(InvalidInput) as refused:
            shop.resale.list_units(**kwargs)  # type: ignore[arg-type]
        assert refused.value.field == field


def test_a_unit_keeps_its_parents_attributes_so_their_exclusions_hold_but_not_its_price(
    engine: Engine,
) -> None:
    shop = ResaleShop(engine)
    shop.services.inventory.update_sku(
        UpdateSku(TEE, attributes={"price": 5000, "category": "tops", "style": "TS-ORG"})
    )
    # A channel that may not sell the style (a brand restriction) may not sell it used either.
    shop.shop.channels.add_exclusion(
        AMAZON, Exclusion.of("attribute", attribute="style", value="TS-ORG"), "admin"
    )

    unit = shop.listed_unit("A")

    attributes = shop.services.inventory.get_sku(unit.code).attributes
    assert attributes["style"] == "TS-ORG"
    assert "price" not in attributes  # the new item's price never shows on a used unit
    assert shop.number(AMAZON, unit.code) == 0
    assert shop.number(WEB, unit.code) == 1
