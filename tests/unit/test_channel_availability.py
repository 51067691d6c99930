"""The channel availability pipeline, step by step, and the worked example of its docstring."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest

from oms.channels.availability.domain.model import (
    PIPELINE_VERSION,
    ChannelAvailability,
    ChannelPolicy,
    LocationStock,
    Pool,
    compute_availability,
    compute_bundle_availability,
    resolve_buffer_units,
    resolve_safety_stock,
    validate_share_percent,
)
from oms.shared.errors import InvalidInput


def a_channel(
    code: str = "storefront", feeds: Iterable[str] = ("DC",), **rules: Any
) -> ChannelPolicy:
    return ChannelPolicy(code=code, feeding_locations=frozenset(feeds), **rules)


def stock_of(**available: int) -> list[LocationStock]:
    return [LocationStock(location, units) for location, units in available.items()]


def numbers(
    stock: Sequence[LocationStock],
    channels: Sequence[ChannelPolicy],
    *,
    safety: Mapping[str, int] | None = None,
    pools: Sequence[Pool] = (),
    sku: str = "TEE-001",
    attributes: Mapping[str, str] | None = None,
) -> dict[str, int]:
    result = compute_availability(sku, attributes or {}, stock, safety or {}, channels, pools)
    return {code: availability.available for code, availability in result.items()}


def step(availability: ChannelAvailability, name: str) -> Any:
    return next(s for s in availability.trace if s.name == name)


# --------------------------------------------------------------------------- worked example


def test_the_worked_example_of_the_module_docstring_gives_10_6_and_4() -> None:
    channels = [
        a_channel("amazon", ("DC", "FBA"), buffer_units=2),
        a_channel("rakuten", ("DC",), buffer_units=1, share_percent=50),
        a_channel(
            "storefront",
            ("DC", "STORE-1"),
            auto_buffer=True,
            velocity_per_minute=0.2,
            push_latency_minutes=10,
            cap=4,
        ),
    ]
    result = compute_availability(
        "TEE-001",
        {"category": "tops"},
        stock_of(DC=10, **{"STORE-1": 4}, FBA=6),
        {"STORE-1": 3},
        channels,
        [Pool("rakuten", 4)],
    )

    assert {code: a.available for code, a in result.items()} == {
        "amazon": 10,
        "rakuten": 6,
        "storefront": 4,
    }
    assert result["rakuten"].pooled == 4
    assert result["rakuten"].shared == 6
    assert step(result["storefront"], "buffer").output == 5
    assert step(result["storefront"], "cap").output == 4
    assert all(a.version == PIPELINE_VERSION == 1 for a in result.values())


def test_every_trace_is_a_chain_ending_at_the_published_number() -> None:
    channels = [
        a_channel("amazon", ("DC", "FBA"), buffer_units=2),
        a_channel("rakuten", ("DC",), buffer_units=1, share_percent=50, cap=3),
    ]
    result = compute_availability(
        "TEE-001", {}, stock_of(DC=10, FBA=6), {}, channels, [Pool("rakuten", 4)]
    )

    for availability in result.values():
        names = [s.name for s in availability.trace]
        assert names == [
            "physical",
            "safety_stock",
            "exclusions",
            "pools",
            "buffer",
            "share",
            "cap",
            "publish",
        ]
        for before, after in zip(availability.trace, availability.trace[1:], strict=False):
            assert after.input == before.output
        assert availability.trace[-1].output == availability.available


def test_without_explain_the_worked_example_gives_the_same_numbers_and_no_trace() -> None:
    channels = [
        a_channel("amazon", ("DC", "FBA"), buffer_units=2),
        a_channel("rakuten", ("DC",), buffer_units=1, share_percent=50),
        a_channel(
            "storefront",
            ("DC", "STORE-1"),
            auto_buffer=True,
            velocity_per_minute=0.2,
            push_latency_minutes=10,
            cap=4,
        ),
    ]
    stock = stock_of(DC=10, **{"STORE-1": 4}, FBA=6)

    result = compute_availability(
        "TEE-001", {}, stock, {"STORE-1": 3}, channels, [Pool("rakuten", 4)], explain=False
    )

    assert {code: (a.available, a.pooled, a.shared, a.trace) for code, a in result.items()} == {
        "amazon": (10, 0, 12, ()),
        "rakuten": (6, 4, 6, ()),
        "storefront": (4, 0, 7, ()),
    }


def test_without_explain_invalid_input_is_still_refused() -> None:
    with pytest.raises(InvalidInput) as unknown:
        compute_availability(
            "TEE-001", {}, stock_of(DC=1), {}, [a_channel()], [Pool("amazon", 1)], explain=False
        )

    assert unknown.value.field == "pools.channel"


def test_a_channel_sees_only_the_locations_that_feed_it() -> None:
    assert numbers(stock_of(DC=5, FBA=7), [a_channel("amazon", ("FBA",))]) == {"amazon": 7}


def test_a_negative_available_counts_as_zero_and_takes_nothing_from_other_locations() -> None:
    result = compute_availability(
        "TEE-001", {}, stock_of(DC=5, STORE=-3), {}, [a_channel(feeds=("DC", "STORE"))]
    )["storefront"]

    assert result.available == 5
    physical = step(result, "physical")
    store = next(row for row in physical.locations if row.location == "STORE")
    assert (store.input, store.output) == (-3, 0)
    assert "negative" in store.rule


def test_a_feeding_location_without_stock_counts_as_zero() -> None:
    assert numbers(stock_of(DC=5), [a_channel(feeds=("DC", "STORE"))]) == {"storefront": 5}


# --------------------------------------------------------------------------- 2. safety stock


def test_safety_stock_is_kept_back_per_location_and_never_goes_below_zero() -> None:
    result = compute_availability(
        "TEE-001",
        {},
        stock_of(DC=10, STORE=2),
        {"STORE": 5, "DC": 1},
        [a_channel(feeds=("DC", "STORE"))],
    )["storefront"]

    assert result.available == 9  # DC 10 - 1, STORE max(0, 2 - 5)
    rows = {row.location: row for row in step(result, "safety_stock").locations}
    assert rows["STORE"].output == 0
    assert rows["STORE"].rule == "safety stock 5"


def test_a_per_sku_safety_stock_overrides_the_location_default() -> None:
    safety = resolve_safety_stock(
        "TEE-001",
        ["STORE-1", "STORE-2", "DC"],
        location_defaults={"STORE-1": 2, "STORE-2": 2},
        overrides={("TEE-001", "STORE-2"): 5, ("OTHER", "STORE-1"): 9},
    )

    assert safety == {"STORE-1": 2, "STORE-2": 5, "DC": 0}


# --------------------------------------------------------------------------- 3. exclusions


def test_an_excluded_sku_publishes_zero_and_says_why() -> None:
    result = compute_availability(
        "TEE-001",
        {},
        stock_of(DC=10),
        {},
        [a_channel("amazon", excluded_skus=frozenset({"TEE-001"}))],
    )["amazon"]

    assert result.available == 0
    assert step(result, "exclusions").locations[0].rule == "SKU TEE-001 excluded from amazon"


def test_an_excluded_attribute_value_publishes_zero_on_that_channel_only() -> None:
    channels = [
        a_channel("amazon", excluded_attributes={"category": frozenset({"outlet"})}),
        a_channel("storefront"),
    ]

    outlet = numbers(stock_of(DC=10), channels, attributes={"category": "outlet"})
    tops = numbers(stock_of(DC=10), channels, attributes={"category": "tops"})

    assert outlet == {"amazon": 0, "storefront": 10}
    assert tops == {"amazon": 10, "storefront": 10}


def test_an_excluded_location_gives_nothing_to_that_channel() -> None:
    channel = a_channel(feeds=("DC", "STORE"), excluded_locations=frozenset({"STORE"}))

    result = compute_availability("TEE-001", {}, stock_of(DC=4, STORE=6), {}, [channel])

    assert result["storefront"].available == 4
    rows = {r.location: r for r in step(result["storefront"], "exclusions").locations}
    assert rows["STORE"].rule == "location STORE excluded from storefront"


# --------------------------------------------------------------------------- 4. pools


def test_a_pool_is_invisible_to_other_channels() -> None:
    channels = [a_channel("rakuten"), a_channel("amazon")]

    assert numbers(stock_of(DC=10), channels, pools=[Pool("rakuten", 4)]) == {
        "rakuten": 10,
        "amazon": 6,
    }


def test_a_pool_takes_first_from_locations_no_other_channel_sees() -> None:
    channels = [a_channel("rakuten", ("DC", "STORE")), a_channel("storefront", ("STORE",))]

    result = compute_availability(
        "TEE-001", {}, stock_of(DC=3, STORE=10), {}, channels, [Pool("rakuten", 5)]
    )

    # DC first (only rakuten sees it), then STORE: the storefront loses only 2.
    assert result["storefront"].available == 8
    rows = {r.location: r for r in step(result["rakuten"], "pools").locations}
    assert rows["DC"].rule == "3 ring-fenced for rakuten"
    assert rows["STORE"].rule == "2 ring-fenced for rakuten"


def test_a_receipt_elsewhere_never_moves_a_pool_onto_another_channels_stock() -> None:
    # "Most sellable first" would move amazon's pool to FBA once FBA holds more than the DC,
    # dropping rakuten from 4 to 1: the pool order depends on configuration, not quantities.
    channels = [a_channel("amazon", ("DC", "FBA")), a_channel("rakuten", ("FBA",))]

    before = numbers(stock_of(DC=5, FBA=4), channels, pools=[Pool("amazon", 5)])
    after = numbers(stock_of(DC=5, FBA=6), channels, pools=[Pool("amazon", 5)])

    assert before == {"amazon": 9, "rakuten": 4}
    assert after == {"amazon": 11, "rakuten": 6}


def test_pools_larger_than_what_exists_shrink_in_channel_code_order_and_say_so() -> None:
    channels = [a_channel("rakuten"), a_channel("amazon"), a_channel("storefront")]

    result = compute_availability(
        "TEE-001", {}, stock_of(DC=5), {}, channels, [Pool("rakuten", 4), Pool("amazon", 3)]
    )

    assert result["amazon"].pooled == 3
    assert result["rakuten"].pooled == 2
    assert result["storefront"].available == 0
    rule = step(result["rakuten"], "pools").rule
    assert "pool of 4 for rakuten shrank to 2" in rule
    assert "after the pools of amazon" in rule
    assert "shrank" not in step(result["amazon"], "pools").rule


def test_a_pool_on_a_channel_that_excludes_the_sku_shrinks_to_zero() -> None:
    channels = [a_channel("rakuten", excluded_skus=frozenset({"TEE-001"})), a_channel("amazon")]

    result = compute_availability("TEE-001", {}, stock_of(DC=5), {}, channels, [Pool("rakuten", 4)])

    assert result["rakuten"].available == 0
    assert result["amazon"].available == 5
    assert "shrank to 0" in step(result["rakuten"], "pools").rule


def test_a_pool_is_exempt_from_its_channels_buffer_and_share() -> None:
    channel = a_channel("rakuten", buffer_units=3, share_percent=50)

    # pool 4 + floor((6 - 3) * 50 / 100) = 4 + 1
    assert numbers(stock_of(DC=10), [channel], pools=[Pool("rakuten", 4)]) == {"rakuten": 5}


def test_a_pool_counts_against_the_cap() -> None:
    channel = a_channel("rakuten", cap=3)

    assert numbers(stock_of(DC=10), [channel], pools=[Pool("rakuten", 4)]) == {"rakuten": 3}


def test_a_pool_for_a_channel_not_computed_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        numbers(stock_of(DC=10), [a_channel("amazon")], pools=[Pool("rakuten", 4)])

    assert refused.value.field == "pools.channel"


# --------------------------------------------------------------------------- 5. buffer, share


def test_the_buffer_comes_off_the_shared_part_and_stops_at_zero() -> None:
    assert numbers(stock_of(DC=10), [a_channel(buffer_units=3)]) == {"storefront": 7}
    assert numbers(stock_of(DC=2), [a_channel(buffer_units=3)]) == {"storefront": 0}


def test_the_auto_buffer_is_velocity_times_latency_rounded_up_and_shown() -> None:
    channel = a_channel(
        buffer_units=1, auto_buffer=True, velocity_per_minute=0.25, push_latency_minutes=5
    )

    result = compute_availability("TEE-001", {}, stock_of(DC=10), {}, [channel])["storefront"]

    assert result.available == 7  # 10 - 1 - ceil(1.25)
    assert "auto 2" in step(result, "buffer").rule


def test_the_auto_buffer_does_not_round_up_a_float_error() -> None:
    channel = a_channel(auto_buffer=True, velocity_per_minute=0.1, push_latency_minutes=30)

    assert channel.auto_buffer_units == 3


def test_the_auto_buffer_is_ignored_when_switched_off() -> None:
    channel = a_channel(auto_buffer=False, velocity_per_minute=5.0, push_latency_minutes=10)

    assert numbers(stock_of(DC=10), [channel]) == {"storefront": 10}


def test_a_share_is_a_rounded_down_percentage_of_what_the_buffer_leaves() -> None:
    channel = a_channel(buffer_units=1, share_percent=30)

    # floor((10 - 1) * 30 / 100) = floor(2.7)
    assert numbers(stock_of(DC=10), [channel]) == {"storefront": 2}


def test_shares_need_not_add_to_100() -> None:
    channels = [a_channel("amazon", share_percent=80), a_channel("rakuten", share_percent=80)]

    assert numbers(stock_of(DC=10), channels) == {"amazon": 8, "rakuten": 8}


def test_the_buffer_for_a_sku_beats_its_category_which_beats_the_channel_default() -> None:
    per_sku = {"TEE-001": 5}
    per_category = {"tops": 3}

    assert resolve_buffer_units("TEE-001", "tops", per_sku, per_category, 1) == 5
    assert resolve_buffer_units("TEE-002", "tops", per_sku, per_category, 1) == 3
    assert resolve_buffer_units("TEE-002", "bags", per_sku, per_category, 1) == 1
    assert resolve_buffer_units("TEE-002", None, per_sku, per_category, 1) == 1


# --------------------------------------------------------------------------- 6. cap


def test_a_cap_limits_the_number_and_the_trace_names_it() -> None:
    result = compute_availability("TEE-001", {}, stock_of(DC=10), {}, [a_channel(cap=4)])

    assert result["storefront"].available == 4
    assert step(result["storefront"], "cap").rule == "cap 4"


def test_a_cap_of_zero_publishes_zero() -> None:
    assert numbers(stock_of(DC=10), [a_channel(cap=0)]) == {"storefront": 0}


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"buffer_units": -1}, "buffer_units"),
        ({"share_percent": 101}, "share_percent"),
        ({"share_percent": -5}, "share_percent"),
        ({"cap": -1}, "cap"),
        ({"velocity_per_minute": -0.5}, "velocity_per_minute"),
        ({"push_latency_minutes": float("nan")}, "push_latency_minutes"),
        ({"buffer_units": True}, "buffer_units"),
    ],
)
def test_a_policy_with_an_impossible_rule_is_refused_naming_the_field(
    rules: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        a_channel(**rules)

    assert refused.value.field == field


def test_a_negative_pool_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        Pool("rakuten", -1)

    assert refused.value.field == "pools.quantity"


def test_a_negative_safety_stock_is_refused_naming_the_location() -> None:
    with pytest.raises(InvalidInput) as refused:
        numbers(stock_of(DC=10), [a_channel()], safety={"DC": -1})

    assert refused.value.field == "safety_stock[DC]"


def test_a_share_of_zero_and_of_one_hundred_are_allowed() -> None:
    assert validate_share_percent(0) == 0
    assert validate_share_percent(100) == 100


def test_two_pools_for_one_channel_are_refused() -> None:
    with pytest.raises(InvalidInput):
        numbers(stock_of(DC=10), [a_channel("rakuten")], pools=[Pool("rakuten", 1)] * 2)


def test_two_channels_with_one_code_are_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        numbers(stock_of(DC=10), [a_channel("amazon"), a_channel("amazon")])

    assert refused.value.field == "channels"


# --------------------------------------------------------------------------- bundles


COORDINATE = {"TOP": 1, "BOTTOM": 2}
SPLIT_STOCK = {
    # Tops at the store, bottoms at the DC: no single location can ship a whole set.
    "TOP": stock_of(DC=0, STORE=5),
    "BOTTOM": stock_of(DC=6, STORE=1),
}


def bundle_numbers(
    ship_together: bool,
    channels: Sequence[ChannelPolicy],
    *,
    component_stock: Mapping[str, Sequence[LocationStock]] = SPLIT_STOCK,
    safety: Mapping[str, Mapping[str, int]] | None = None,
    pools: Mapping[str, Sequence[Pool]] | None = None,
    attributes: Mapping[str, str] | None = None,
) -> dict[str, ChannelAvailability]:
    return compute_bundle_availability(
        "SET-001",
        attributes or {},
        COORDINATE,
        component_stock,
        safety or {},
        ship_together,
        channels,
        component_pools=pools,
    )


def test_a_bundle_shipped_together_counts_whole_sets_at_each_location() -> None:
    result = bundle_numbers(True, [a_channel(feeds=("DC", "STORE"))])["storefront"]

    # DC: min(0//1, 6//2) = 0; STORE: min(5//1, 1//2) = 0
    assert result.available == 0
    rows = {r.location: r for r in step(result, "bundle").locations}
    assert rows["STORE"].rule == "min(BOTTOM 1//2, TOP 5//1) = 0"


def test_a_bundle_whose_parts_may_ship_apart_counts_across_locations() -> None:
    result = bundle_numbers(False, [a_channel(feeds=("DC", "STORE"))])["storefront"]

    # TOP 5//1 = 5; BOTTOM (6 + 1)//2 = 3
    assert result.available == 3


def test_a_bundle_shipped_together_sums_the_sets_of_each_location() -> None:
    stock = {"TOP": stock_of(DC=3, STORE=2), "BOTTOM": stock_of(DC=4, STORE=5)}

    result = bundle_numbers(True, [a_channel(feeds=("DC", "STORE"))], component_stock=stock)

    # DC: min(3, 2) = 2; STORE: min(2, 2) = 2
    assert result["storefront"].available == 4


def test_a_bundle_respects_component_safety_stock_and_feeding_locations() -> None:
    safety = {"BOTTOM": {"DC": 2}}

    result = bundle_numbers(False, [a_channel(feeds=("DC",))], safety=safety)

    # TOP at DC is 0: the store does not feed this channel.
    assert result["storefront"].available == 0
    apart = bundle_numbers(False, [a_channel(feeds=("DC", "STORE"))], safety=safety)
    # TOP 5; BOTTOM (4 + 1)//2 = 2
    assert apart["storefront"].available == 2


def test_the_channels_buffer_share_and_cap_apply_to_the_bundle_itself() -> None:
    stock = {"TOP": stock_of(DC=20), "BOTTOM": stock_of(DC=40)}
    channel = a_channel(buffer_units=2, share_percent=50, cap=7)

    result = bundle_numbers(True, [channel], component_stock=stock)["storefront"]

    # 20 sets, - 2 = 18, 50 % = 9, cap 7
    assert result.available == 7
    assert [s.name for s in result.trace][-5:] == ["bundle", "buffer", "share", "cap", "publish"]
    assert result.trace[-1].output == result.available


def test_a_bundle_is_excluded_where_it_or_a_component_is_excluded() -> None:
    stock = {"TOP": stock_of(DC=20), "BOTTOM": stock_of(DC=40)}
    channels = [
        a_channel("amazon", excluded_skus=frozenset({"BOTTOM"})),
        a_channel("rakuten", excluded_attributes={"category": frozenset({"gift"})}),
        a_channel("storefront"),
    ]

    result = bundle_numbers(True, channels, component_stock=stock, attributes={"category": "gift"})

    assert {code: a.available for code, a in result.items()} == {
        "amazon": 0,
        "rakuten": 0,
        "storefront": 20,
    }


def test_a_bundle_never_uses_component_units_ring_fenced_for_another_channel() -> None:
    stock = {"TOP": stock_of(DC=10), "BOTTOM": stock_of(DC=20)}
    channels = [a_channel("rakuten"), a_channel("storefront")]

    result = bundle_numbers(
        True, channels, component_stock=stock, pools={"TOP": [Pool("rakuten", 6)]}
    )

    assert result["storefront"].available == 4
    assert result["rakuten"].available == 10  # its own pool units count for its bundles


def test_a_bundle_without_components_or_with_a_zero_quantity_is_refused() -> None:
    with pytest.raises(InvalidInput) as empty:
        compute_bundle_availability("SET-001", {}, {}, {}, {}, True, [a_channel()])
    with pytest.raises(InvalidInput) as zero:
        compute_bundle_availability(
            "SET-001", {}, {"TOP": 0}, {"TOP": stock_of(DC=1)}, {}, True, [a_channel()]
        )

    assert empty.value.field == "components"
    assert zero.value.field == "components[TOP]"


def test_without_explain_a_bundle_gets_the_same_numbers_and_no_trace() -> None:
    stock = {"TOP": stock_of(DC=10, STORE=3), "BOTTOM": stock_of(DC=20, STORE=2)}
    channels = [a_channel("rakuten", ("DC", "STORE")), a_channel("storefront", ("DC", "STORE"))]
    pools = {"TOP": [Pool("rakuten", 6)]}

    for ship_together in (True, False):
        traced = bundle_numbers(ship_together, channels, component_stock=stock, pools=pools)
        result = compute_bundle_availability(
            "SET-001",
            {},
            COORDINATE,
            stock,
            {},
            ship_together,
            channels,
            component_pools=pools,
            explain=False,
        )

        assert {code: a.available for code, a in result.items()} == {
            code: a.available for code, a in traced.items()
        }
        assert all(a.trace == () for a in result.values())
