"""The sourcing engine, story by story: who ships what, and why every other location did not.

The cast: DC-SAITAMA (the brand's distribution centre, priority 1), STORE-SHIBUYA (Tokyo) and
STORE-UMEDA (Osaka), stores at priority 2. Most orders go to Tokyo (13).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

import pytest

from oms.orders.domain.sourcing import (
    SEARCH_BUDGET,
    SOURCING_VERSION,
    Candidate,
    Exclusion,
    OrderLineDemand,
    PlanStatus,
    RankingFactor,
    SourcingPlan,
    SourcingProfile,
    SourcingRequest,
    plan_sourcing,
    replan_excluding,
)
from oms.shared.errors import InvalidInput

TOKYO = "13"


def a_location(
    code: str, prefecture: str, kind: str = "store", priority: int = 2, **rest: Any
) -> Candidate:
    available = {k: v for k, v in rest.items() if k.isupper()}
    options = {k: v for k, v in rest.items() if not k.isupper()}
    return Candidate(code, kind, prefecture, available, priority=priority, **options)


def dc(priority: int = 1, **rest: Any) -> Candidate:
    return a_location("DC-SAITAMA", "11", "warehouse", priority, **rest)


def shibuya(**rest: Any) -> Candidate:
    return a_location("STORE-SHIBUYA", TOKYO, **rest)


def umeda(**rest: Any) -> Candidate:
    return a_location("STORE-UMEDA", "27", **rest)


def a_line(line_id: str, sku: str, quantity: int = 1, price: int = 5_000) -> OrderLineDemand:
    return OrderLineDemand(line_id, sku, quantity, price)


def a_coordinate(quantity: int = 1, *, ship_together: bool) -> OrderLineDemand:
    """A top-and-bottom set: one TOP and one BOTTOM per set."""
    return OrderLineDemand(
        "1", "COORD", quantity, 12_000, {"TOP": 1, "BOTTOM": 1}, ship_together=ship_together
    )


COAT = a_line("1", "COAT", price=30_000)
TEE = a_line("2", "TEE", price=3_200)
SOCKS = a_line("3", "SOCKS", price=800)
THREE_LINES = (COAT, TEE, SOCKS)


def plan(
    lines: Iterable[OrderLineDemand],
    candidates: Iterable[Candidate],
    destination: str = TOKYO,
    exclusions: Iterable[Exclusion] = (),
    **profile: Any,
) -> SourcingPlan:
    request = SourcingRequest(
        destination, tuple(lines), tuple(candidates), SourcingProfile(**profile), tuple(exclusions)
    )
    return plan_sourcing(request)


def shipped(plan: SourcingPlan) -> dict[str, list[tuple[str, str, int]]]:
    """location -> [(line, sku, quantity)], one entry per shipment."""
    return {
        s.location: [(a.line_id, a.sku, a.quantity) for a in s.allocations] for s in plan.shipments
    }


# --------------------------------------------------------------------------- one shipment


def test_the_only_location_with_the_whole_order_ships_it_all_even_when_others_are_closer() -> None:
    result = plan(THREE_LINES, [dc(COAT=2, TEE=2, SOCKS=2), shibuya(COAT=1, TEE=1)])

    assert result.status is PlanStatus.COMPLETE
    assert shipped(result) == {"DC-SAITAMA": [("1", "COAT", 1), ("2", "TEE", 1), ("3", "SOCKS", 1)]}
    coat = result.explanation("1")
    assert coat.reason_for("DC-SAITAMA") == "only location with all 3 lines"
    assert coat.reason_for("STORE-SHIBUYA") == "would make a 2nd shipment"
    assert result.explanation("3").reason_for("STORE-SHIBUYA") == "no stock of SOCKS"
    assert result.notes == ("one shipment from DC-SAITAMA",)


def test_among_locations_with_the_whole_order_the_closest_ships_it() -> None:
    result = plan(
        THREE_LINES, [dc(priority=2, COAT=1, TEE=1, SOCKS=1), shibuya(COAT=1, TEE=1, SOCKS=1)]
    )

    assert list(shipped(result)) == ["STORE-SHIBUYA"]
    tee = result.explanation("2")
    assert tee.reason_for("STORE-SHIBUYA") == (
        "one shipment for the whole order; closest: Tokyo→Tokyo zone 0"
    )
    assert tee.reason_for("DC-SAITAMA") == "ranked lower: zone 1 vs 0 at STORE-SHIBUYA"


def test_the_brands_priority_comes_before_proximity() -> None:
    result = plan(THREE_LINES, [dc(COAT=1, TEE=1, SOCKS=1), shibuya(COAT=1, TEE=1, SOCKS=1)])

    assert list(shipped(result)) == ["DC-SAITAMA"]
    assert result.explanation("1").reason_for("DC-SAITAMA") == (
        "one shipment for the whole order; first by priority: 1 vs 2 at STORE-SHIBUYA"
    )
    assert result.explanation("1").reason_for("STORE-SHIBUYA") == (
        "ranked lower: priority 2 vs 1 at DC-SAITAMA"
    )


def test_proximity_picks_the_store_nearest_a_customer_in_hokkaido() -> None:
    sendai = a_location("STORE-SENDAI", "04", TEE=1)
    result = plan([TEE], [shibuya(TEE=1), sendai, umeda(TEE=1)], destination="01")

    assert list(shipped(result)) == ["STORE-SENDAI"]
    tee = result.explanation("2")
    assert tee.reason_for("STORE-SENDAI") == (
        "one shipment for the whole order; closest: Miyagi→Hokkaido zone 3"
    )
    assert tee.reason_for("STORE-SHIBUYA") == "ranked lower: zone 4 vs 3 at STORE-SENDAI"
    assert tee.reason_for("STORE-UMEDA") == "ranked lower: zone 4 vs 3 at STORE-SENDAI"


# --------------------------------------------------------------------------- splitting


def test_tops_from_the_store_and_bottoms_from_the_dc_when_the_set_may_ship_apart() -> None:
    result = plan([a_coordinate(ship_together=False)], [dc(BOTTOM=4), shibuya(TOP=2), umeda(TOP=1)])

    assert result.status is PlanStatus.COMPLETE
    assert shipped(result) == {
        "DC-SAITAMA": [("1", "BOTTOM", 1)],
        "STORE-SHIBUYA": [("1", "TOP", 1)],
    }
    tops = result.explanation("1", "TOP")
    assert tops.reason_for("STORE-SHIBUYA") == "closest: Tokyo→Tokyo zone 0"
    assert tops.reason_for("STORE-UMEDA") == "ranked lower: zone 3 vs 0 at STORE-SHIBUYA"
    assert tops.reason_for("DC-SAITAMA") == "no stock of TOP"
    assert result.explanation("1", "BOTTOM").reason_for("DC-SAITAMA") == (
        "only location with 1 x BOTTOM"
    )
    assert result.notes[0] == (
        "2 shipments (max 3) from DC-SAITAMA, STORE-SHIBUYA: no single location has the whole order"
    )


def test_a_line_goes_whole_to_one_location_rather_than_split_across_closer_ones() -> None:
    result = plan([a_line("1", "TEE", 5)], [dc(TEE=3), shibuya(TEE=2), umeda(TEE=5)])

    assert shipped(result) == {"STORE-UMEDA": [("1", "TEE", 5)]}
    tee = result.explanation("1")
    assert tee.reason_for("STORE-UMEDA") == "only location with 5 x TEE"
    assert tee.reason_for("DC-SAITAMA") == "only 3 of 5"
    assert tee.reason_for("STORE-SHIBUYA") == "only 2 of 5"


def test_a_line_no_location_has_in_full_is_split_in_rank_order() -> None:
    result = plan([a_line("1", "TEE", 5)], [dc(TEE=3), shibuya(TEE=2), umeda(TEE=4)])

    assert shipped(result) == {"DC-SAITAMA": [("1", "TEE", 3)], "STORE-SHIBUYA": [("1", "TEE", 2)]}
    tee = result.explanation("1")
    assert tee.reason_for("DC-SAITAMA") == "split: no single location has 5 x TEE; 3 here"
    assert tee.reason_for("STORE-SHIBUYA") == "split: no single location has 5 x TEE; 2 here"
    assert tee.reason_for("STORE-UMEDA") == "ranked lower: zone 3 vs 0 at STORE-SHIBUYA"


def test_two_lines_of_the_same_sku_never_count_the_same_unit_twice() -> None:
    lines = [a_line("1", "TEE", 2), a_line("2", "TEE", 2)]
    result = plan(lines, [dc(TEE=3), shibuya(TEE=2)])

    assert shipped(result) == {"DC-SAITAMA": [("1", "TEE", 2)], "STORE-SHIBUYA": [("2", "TEE", 2)]}
    assert result.explanation("2").reason_for("DC-SAITAMA") == (
        "only 1 of 2 left after the other lines"
    )


# --------------------------------------------------------------------------- sets


def test_a_ship_together_set_comes_whole_from_one_location() -> None:
    candidates = [dc(BOTTOM=4), shibuya(TOP=2), umeda(TOP=1, BOTTOM=1)]
    result = plan([a_coordinate(ship_together=True)], candidates)

    assert shipped(result) == {"STORE-UMEDA": [("1", "BOTTOM", 1), ("1", "TOP", 1)]}
    coordinate = result.explanation("1")
    assert coordinate.sku == "COORD"
    assert coordinate.reason_for("STORE-UMEDA") == "only location with 1 x COORD"
    assert coordinate.reason_for("DC-SAITAMA") == "no stock of TOP for COORD"
    assert coordinate.reason_for("STORE-SHIBUYA") == "no stock of BOTTOM for COORD"


def test_a_ship_together_set_waits_rather_than_travel_in_two_parcels() -> None:
    result = plan([a_coordinate(ship_together=True)], [dc(BOTTOM=4), shibuya(TOP=2)])

    assert result.status is PlanStatus.BACKORDERED
    assert result.allocations == ()
    assert [(b.line_id, b.sku, b.quantity, b.reason) for b in result.backorders] == [
        ("1", "BOTTOM", 1, "no stock at any location that can ship it"),
        ("1", "TOP", 1, "no stock at any location that can ship it"),
    ]
    assert result.notes == (
        "nothing can be shipped: no location that can ship has stock for it",
        "2 units backordered",
    )


def test_two_sets_may_come_from_two_locations_but_each_set_whole_from_one() -> None:
    candidates = [shibuya(TOP=1, BOTTOM=2), umeda(TOP=3, BOTTOM=1), dc(BOTTOM=5)]
    result = plan([a_coordinate(2, ship_together=True)], candidates)

    assert shipped(result) == {
        "STORE-SHIBUYA": [("1", "BOTTOM", 1), ("1", "TOP", 1)],
        "STORE-UMEDA": [("1", "BOTTOM", 1), ("1", "TOP", 1)],
    }
    assert result.explanation("1").reason_for("STORE-UMEDA") == (
        "split: no single location has 2 x COORD; 1 here"
    )


def test_a_set_does_not_take_the_component_another_line_needs_from_a_store() -> None:
    # The set needs SHIBUYA's only TOP; the single TOP line can come from UMEDA.
    lines = [a_coordinate(ship_together=True), a_line("2", "TOP", price=6_000)]
    result = plan(lines, [shibuya(TOP=1, BOTTOM=1), umeda(TOP=1)])

    assert shipped(result) == {
        "STORE-SHIBUYA": [("1", "BOTTOM", 1), ("1", "TOP", 1)],
        "STORE-UMEDA": [("2", "TOP", 1)],
    }
    assert result.explanation("2").reason_for("STORE-SHIBUYA") == (
        "only 0 of 1 left after the other lines"
    )


# --------------------------------------------------------------------------- guardrails


def test_at_most_n_shipments_and_what_a_further_one_would_bring_waits() -> None:
    candidates = [dc(COAT=1), shibuya(SOCKS=1), umeda(TEE=1)]
    result = plan(THREE_LINES, candidates, max_shipments=2)

    assert result.status is PlanStatus.PARTIAL
    assert set(shipped(result)) == {"DC-SAITAMA", "STORE-UMEDA"}
    # Every line is one unit: the cheapest waits.
    (socks,) = result.backorders
    assert (socks.line_id, socks.sku, socks.quantity) == ("3", "SOCKS", 1)
    assert socks.reason == "STORE-SHIBUYA has more but it would make a 3rd shipment (max 2)"
    explanation = result.explanation("3")
    assert explanation.backordered == 1
    assert explanation.reason_for("STORE-SHIBUYA") == "would make a 3rd shipment (max 2)"
    assert "1 unit backordered" in result.notes


def test_without_backorders_an_order_that_cannot_be_sourced_in_full_is_refused() -> None:
    candidates = [dc(COAT=1), shibuya(SOCKS=1), umeda(TEE=1)]
    result = plan(THREE_LINES, candidates, max_shipments=2, allow_backorder=False)

    assert result.status is PlanStatus.REFUSED
    assert (result.allocations, result.shipments, result.backorders) == ((), (), ())
    assert [(s.line_id, s.sku, s.quantity) for s in result.shortfalls] == [("3", "SOCKS", 1)]
    assert (
        "refused: 1 unit cannot be sourced and profile default v1 allows no backorder; "
        "nothing is allocated"
    ) in result.notes


def test_a_shipment_under_the_minimum_value_is_avoided_when_another_plan_is_as_short() -> None:
    # DC: coat and tee. The socks (¥800) are at SHIBUYA, close by, and at UMEDA with a tee.
    candidates = [dc(COAT=1, TEE=1), shibuya(SOCKS=1), umeda(TEE=1, SOCKS=1)]
    result = plan(THREE_LINES, candidates, min_shipment_value=3_000)

    assert shipped(result) == {
        "DC-SAITAMA": [("1", "COAT", 1)],
        "STORE-UMEDA": [("2", "TEE", 1), ("3", "SOCKS", 1)],
    }
    assert [s.value for s in result.shipments] == [30_000, 4_000]
    socks = result.explanation("3")
    assert socks.reason_for("STORE-SHIBUYA") == "shipment value ¥800 below minimum ¥3,000"
    tee = result.explanation("2")
    assert tee.reason_for("STORE-UMEDA") == (
        "moved here from DC-SAITAMA so this shipment reaches the minimum ¥3,000"
    )
    assert tee.reason_for("DC-SAITAMA") == (
        "left to STORE-UMEDA so its shipment reaches the minimum ¥3,000"
    )


def test_a_shipment_under_the_minimum_is_made_when_unavoidable_and_the_plan_says_so() -> None:
    candidates = [dc(COAT=1, TEE=1), shibuya(SOCKS=1)]
    result = plan(THREE_LINES, candidates, min_shipment_value=3_000)

    assert shipped(result)["STORE-SHIBUYA"] == [("3", "SOCKS", 1)]
    assert (
        "shipment from STORE-SHIBUYA is ¥800, below the minimum ¥3,000: allowed, no plan "
        "sourcing as many units in as few shipments avoids it"
    ) in result.notes


def test_an_order_worth_less_than_the_minimum_still_ships() -> None:
    result = plan([a_line("1", "SOCKS", price=800)], [dc(SOCKS=1)], min_shipment_value=3_000)

    assert result.status is PlanStatus.COMPLETE
    assert (
        "shipment from DC-SAITAMA is ¥800, below the minimum ¥3,000: allowed, the whole order "
        "is worth less"
    ) in result.notes


def test_free_lines_do_not_send_the_minimum_value_guardrail_round_in_circles() -> None:
    # Moving the coat to UMEDA would leave the DC shipping only the free gift (¥0): no better.
    lines = [COAT, a_line("2", "GIFT", price=0), a_line("3", "SAMPLE", price=0)]
    result = plan(lines, [dc(COAT=1, GIFT=1), umeda(COAT=1, SAMPLE=1)], min_shipment_value=3_000)

    assert shipped(result) == {
        "DC-SAITAMA": [("1", "COAT", 1), ("2", "GIFT", 1)],
        "STORE-UMEDA": [("3", "SAMPLE", 1)],
    }
    assert (
        "shipment from STORE-UMEDA is ¥0, below the minimum ¥3,000: allowed, no plan sourcing "
        "as many units in as few shipments avoids it"
    ) in result.notes


# --------------------------------------------------------------------------- ranking factors


def test_a_store_gives_up_walk_in_stock_only_when_the_profile_ranks_proximity_first() -> None:
    store = shibuya(TEE=3, walk_in_reserve={"TEE": 2})
    line = a_line("1", "TEE", 2)

    nearby = plan([line], [dc(priority=2, TEE=5), store])
    assert list(shipped(nearby)) == ["STORE-SHIBUYA"]
    assert nearby.explanation("1").reason_for("STORE-SHIBUYA") == (
        "one shipment for the whole order; closest: Tokyo→Tokyo zone 0; takes 1 walk-in unit"
    )

    balanced = (RankingFactor.PRIORITY, RankingFactor.STORE_BALANCE, RankingFactor.PROXIMITY)
    kept = plan([line], [dc(priority=2, TEE=5), store], ranking=balanced)
    assert list(shipped(kept)) == ["DC-SAITAMA"]
    assert kept.explanation("1").reason_for("DC-SAITAMA") == (
        "one shipment for the whole order; keeps walk-in stock: 0 walk-in units vs 1 at "
        "STORE-SHIBUYA"
    )
    assert kept.explanation("1").reason_for("STORE-SHIBUYA") == (
        "ranked lower: 1 walk-in units vs 0 at DC-SAITAMA"
    )


def test_more_capacity_left_today_breaks_a_tie() -> None:
    busy = a_location("DC-A", "11", "warehouse", 1, remaining_capacity=5, TEE=1)
    free = a_location("DC-B", "11", "warehouse", 1, TEE=1)
    result = plan([TEE], [busy, free])

    assert list(shipped(result)) == ["DC-B"]
    assert result.explanation("2").reason_for("DC-A") == (
        "ranked lower: capacity 5 left vs unlimited at DC-B"
    )


def test_equal_locations_are_ordered_by_code() -> None:
    twins = [a_location(code, "11", "warehouse", 1, TEE=1) for code in ("DC-B", "DC-A")]
    result = plan([TEE], twins)

    assert list(shipped(result)) == ["DC-A"]
    assert (
        result.explanation("2").reason_for("DC-B")
        == "ranked lower: same rank as DC-A, after it by code"
    )


# --------------------------------------------------------------------------- who cannot ship


def test_every_location_that_cannot_ship_says_why() -> None:
    candidates = [
        dc(TEE=9, active=False),
        a_location("FACTORY-GIFU", "21", "factory", TEE=9, ships_to_customers=False),
        shibuya(TEE=9, remaining_capacity=0),
        a_location("STORE-SAPPORO", "01", TEE=9),
        umeda(TEE=9),
    ]
    closed = Exclusion("STORE-SAPPORO", None, "closed for stocktake")
    result = plan([TEE], candidates, exclusions=[closed])

    assert list(shipped(result)) == ["STORE-UMEDA"]
    tee = result.explanation("2")
    assert [(c.location, c.reason) for c in tee.not_chosen] == [
        ("DC-SAITAMA", "inactive"),
        ("FACTORY-GIFU", "does not ship to customers"),
        ("STORE-SAPPORO", "closed for stocktake"),
        ("STORE-SHIBUYA", "capacity exhausted"),
    ]
    assert tee.reason_for("STORE-UMEDA") == "only location with 1 x TEE"


def test_past_the_search_budget_the_plan_is_extended_greedily_and_says_so() -> None:
    # 40 stores with one SKU each: 780 pairs, then 9,880 triples would pass the budget.
    skus = ("CAP", "PANTS", "SOCKS", "TEE")
    stores = [
        Candidate(f"STORE-{n:02d}", "store", f"{n % 47 + 1:02d}", {skus[n % 4]: 1})
        for n in range(40)
    ]
    lines = [a_line(str(n), sku) for n, sku in enumerate(skus, start=1)]
    result = plan(lines, stores, max_shipments=4)

    assert result.status is PlanStatus.COMPLETE
    assert len(result.shipments) == 4
    assert SEARCH_BUDGET < 40 + 780 + 9_880
    assert result.notes[-1].endswith(f"the last greedily (over {SEARCH_BUDGET:,} sets)")


# --------------------------------------------------------------------------- re-planning


def test_after_a_store_rejects_a_line_the_replan_says_so() -> None:
    first = plan(
        THREE_LINES, [dc(priority=2, COAT=1, TEE=1, SOCKS=1), shibuya(COAT=1, TEE=1, SOCKS=1)]
    )
    assert list(shipped(first)) == ["STORE-SHIBUYA"]

    again = replan_excluding(first, Exclusion.rejected("STORE-SHIBUYA", "TEE", "not_found"))

    assert list(shipped(again)) == ["DC-SAITAMA"]
    tee = again.explanation("2")
    assert tee.reason_for("STORE-SHIBUYA") == "rejected at STORE-SHIBUYA: not_found"
    assert tee.reason_for("DC-SAITAMA") == "only location with all 3 lines"
    assert again.explanation("1").reason_for("STORE-SHIBUYA") == "would make a 2nd shipment"
    assert "excluded TEE at STORE-SHIBUYA: rejected at STORE-SHIBUYA: not_found" in again.notes
    assert again.request.exclusions == (
        Exclusion("STORE-SHIBUYA", "TEE", "rejected at STORE-SHIBUYA: not_found"),
    )


def test_after_a_concurrent_order_took_the_stock_the_replan_sees_what_is_left() -> None:
    first = plan([a_line("1", "TEE", 2)], [dc(TEE=2), umeda(TEE=2)])
    assert list(shipped(first)) == ["DC-SAITAMA"]

    again = replan_excluding(first, available={("DC-SAITAMA", "TEE"): 1})

    assert list(shipped(again)) == ["STORE-UMEDA"]
    assert again.explanation("1").reason_for("DC-SAITAMA") == "only 1 of 2"


def test_rejecting_a_bundle_line_at_a_location_rules_out_all_its_components_there() -> None:
    first = plan(
        [a_coordinate(ship_together=True)], [shibuya(TOP=1, BOTTOM=1), umeda(TOP=1, BOTTOM=1)]
    )
    again = replan_excluding(first, Exclusion.rejected("STORE-SHIBUYA", "COORD", "damaged"))

    assert list(shipped(again)) == ["STORE-UMEDA"]


# --------------------------------------------------------------------------- the record


def test_a_plan_keeps_its_version_and_the_request_that_made_it() -> None:
    profile = SourcingProfile(name="rakuten", version=4, max_shipments=2)
    request = SourcingRequest(TOKYO, (TEE,), (dc(TEE=1),), profile)
    result = plan_sourcing(request)

    assert result.version == SOURCING_VERSION
    assert result.request is request
    assert plan_sourcing(request) == result


def test_a_plan_is_plain_data_that_can_be_stored_as_json() -> None:
    result = plan([a_coordinate(ship_together=False)], [dc(BOTTOM=4), shibuya(TOP=2)])

    stored = json.loads(json.dumps(dataclasses.asdict(result)))

    assert stored["status"] == "complete"
    assert stored["version"] == SOURCING_VERSION
    assert stored["explanations"][1]["chosen"] == [
        {"location": "STORE-SHIBUYA", "units": 1, "reason": "only location with 1 x TOP"}
    ]
    assert stored["request"]["candidates"][0]["available"] == {"BOTTOM": 4}


def test_the_candidates_order_does_not_change_the_plan() -> None:
    candidates = [dc(BOTTOM=4), shibuya(TOP=2), umeda(TOP=1)]
    lines = [a_coordinate(ship_together=False)]
    forwards, backwards = plan(lines, candidates), plan(lines, reversed(candidates))

    assert forwards.allocations == backwards.allocations
    assert forwards.explanations == backwards.explanations


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: SourcingRequest("48", (TEE,), ()), "prefecture"),
        (lambda: SourcingRequest(TOKYO, (), ()), "lines"),
        (lambda: SourcingRequest(TOKYO, (TEE, TEE), ()), "lines"),
        (lambda: SourcingRequest(TOKYO, (TEE,), (dc(), dc())), "code"),
        (lambda: a_line("1", "TEE", 0), "lines[1].quantity"),
        (lambda: a_line("1", "TEE", price=-1), "lines[1].unit_price"),
        (lambda: OrderLineDemand("1", "SET", 1, 0, {"SET": 1}), "components"),
        (lambda: OrderLineDemand("1", "SET", 1, 0, {"TOP": 0}), "lines[1].components[TOP]"),
        (lambda: a_location("X", "13", "shop"), "kind"),
        (lambda: a_location("X", "99"), "prefecture"),
        (lambda: dc(walk_in_reserve={"TEE": 1}), "walk_in_reserve"),
        (lambda: dc(remaining_capacity=-1), "remaining_capacity"),
        (lambda: SourcingProfile(max_shipments=0), "max_shipments"),
        (lambda: SourcingProfile(min_shipment_value=-1), "min_shipment_value"),
        (
            lambda: SourcingProfile(ranking=(RankingFactor.PRIORITY, RankingFactor.PRIORITY)),
            "ranking",
        ),
    ],
)
def test_invalid_inputs_are_refused_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        build()
    assert refused.value.field == field


def test_a_negative_available_after_a_stock_loss_counts_as_none() -> None:
    result = plan([TEE], [dc(TEE=-2), shibuya(TEE=1)])

    assert list(shipped(result)) == ["STORE-SHIBUYA"]
    assert result.explanation("2").reason_for("DC-SAITAMA") == "no stock of TEE"
