"""Hypothesis over the pure sourcing engine: whatever the orders, stock and profile, no location
ships more than it had, and no unit of any line is lost.

What is asserted, for any request:
- per (location, SKU), the units allocated are at most what the candidate had (a negative
  figure counts as 0); a location that is inactive, does not ship to customers, has no capacity
  left or is excluded ships nothing, and an excluded (location, SKU) ships nothing of it;
- per (line, simple SKU), allocated + backordered == what the line needs; a refused plan
  allocates nothing and only when the profile allows no backorder;
- at most ``max_shipments`` shipments, one per location, and the shipments hold exactly the
  allocations;
- every unit of a ship-together bundle comes whole from one location;
- one location that can ship the whole order means one shipment;
- the minimum shipment value never leaves a unit unsourced nor adds a shipment (it only
  chooses among plans, and moves whole lines into small shipments);
- the same request gives the same plan, whatever the candidates' order;
- every line's explanation names every candidate exactly once;
- orders planned one after another, each seeing what the previous ones took, never take more
  than there was.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.orders.domain.sourcing import (
    DEFAULT_RANKING,
    Candidate,
    Exclusion,
    OrderLineDemand,
    PlanStatus,
    SourcingPlan,
    SourcingProfile,
    SourcingRequest,
    plan_sourcing,
)
from tests.examples import examples

SKUS = ("TEE", "PANTS", "SOCKS", "CAP")
LOCATIONS = (
    ("DC", "warehouse", "11"),
    ("FACTORY", "factory", "23"),
    ("FBA", "marketplace_fc", "12"),
    ("STORE-SHIBUYA", "store", "13"),
    ("STORE-UMEDA", "store", "27"),
    ("STORE-NAHA", "store", "47"),
)

cases = settings(max_examples=examples(120), deadline=None)

stock_maps = st.dictionaries(st.sampled_from(SKUS), st.integers(-2, 6))
# Free gifts (¥0) and lines either side of the minimums below.
prices = st.sampled_from([0, 0, 500, 800, 2_999, 3_200, 12_000, 30_000]) | st.integers(0, 20_000)


@st.composite
def candidates(draw: st.DrawFn) -> tuple[Candidate, ...]:
    chosen = draw(st.lists(st.sampled_from(LOCATIONS), min_size=1, max_size=5, unique=True))
    result = []
    for code, kind, prefecture in chosen:
        reserve = draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 3)))
        result.append(
            Candidate(
                code,
                kind,
                prefecture,
                draw(stock_maps),
                priority=draw(st.integers(0, 2)),
                remaining_capacity=draw(st.none() | st.integers(0, 3)),
                walk_in_reserve=reserve if kind == "store" else {},
                active=draw(st.booleans().map(lambda b: b or draw(st.booleans()))),
                ships_to_customers=draw(st.integers(0, 5).map(bool)),
            )
        )
    return tuple(result)


@st.composite
def order_lines(draw: st.DrawFn) -> tuple[OrderLineDemand, ...]:
    count = draw(st.integers(1, 4))
    lines = []
    for n in range(1, count + 1):
        price = draw(prices)
        if draw(st.booleans()):
            lines.append(
                OrderLineDemand(str(n), draw(st.sampled_from(SKUS)), draw(st.integers(1, 5)), price)
            )
        else:
            components = draw(
                st.dictionaries(st.sampled_from(SKUS), st.integers(1, 2), min_size=1, max_size=3)
            )
            lines.append(
                OrderLineDemand(
                    str(n),
                    f"SET-{n}",
                    draw(st.integers(1, 3)),
                    price,
                    components,
                    ship_together=draw(st.booleans()),
                )
            )
    return tuple(lines)


profiles = st.builds(
    SourcingProfile,
    max_shipments=st.integers(1, 4),
    min_shipment_value=st.sampled_from([0, 3_000, 10_000]),
    ranking=st.permutations(DEFAULT_RANKING).flatmap(
        lambda order: st.integers(0, len(order)).map(lambda n: tuple(order[:n]))
    ),
    allow_backorder=st.booleans(),
)


@st.composite
def requests(draw: st.DrawFn) -> SourcingRequest:
    lines = draw(order_lines())
    found = draw(candidates())
    codes = [c.code for c in found] + ["NOWHERE"]
    skus = [*SKUS, *(line.sku for line in lines)]
    exclusions = draw(
        st.lists(
            st.builds(
                Exclusion,
                st.sampled_from(codes),
                st.none() | st.sampled_from(skus),
                st.just("rejected: not_found"),
            ),
            max_size=2,
        )
    )
    return SourcingRequest(
        f"{draw(st.integers(1, 47)):02d}", lines, found, draw(profiles), tuple(exclusions)
    )


# --------------------------------------------------------------------------- helpers


def needed(request: SourcingRequest) -> Counter[tuple[str, str]]:
    """(line, simple SKU) -> units the line needs."""
    need: Counter[tuple[str, str]] = Counter()
    for line in request.lines:
        for sku, per in (line.components or {line.sku: 1}).items():
            need[(line.line_id, sku)] += line.quantity * per
    return need


def shut(request: SourcingRequest, candidate: Candidate) -> bool:
    return (
        not candidate.active
        or not candidate.ships_to_customers
        or candidate.remaining_capacity == 0
        or any(e.location == candidate.code and e.sku is None for e in request.exclusions)
    )


def excluded(request: SourcingRequest, location: str, skus: set[str]) -> bool:
    return any(e.location == location and e.sku in skus for e in request.exclusions)


def allocated(plan: SourcingPlan) -> Counter[tuple[str, str]]:
    got: Counter[tuple[str, str]] = Counter()
    for a in plan.allocations:
        got[(a.line_id, a.sku)] += a.quantity
    return got


# --------------------------------------------------------------------------- properties


@cases
@given(requests())
def test_no_location_ships_more_than_it_had_or_anything_it_may_not(
    request: SourcingRequest,
) -> None:
    plan = plan_sourcing(request)
    lines = {line.line_id: line for line in request.lines}
    by_code = {c.code: c for c in request.candidates}
    taken: Counter[tuple[str, str]] = Counter()
    for a in plan.allocations:
        assert a.quantity > 0
        taken[(a.location, a.sku)] += a.quantity
        line = lines[a.line_id]
        candidate = by_code[a.location]
        assert not shut(request, candidate)
        together = line.is_bundle and line.ship_together
        banned = {a.sku, line.sku} | (set(line.components) if together else set())
        assert not excluded(request, a.location, banned)
    for (location, sku), units in taken.items():
        assert units <= max(0, by_code[location].available.get(sku, 0))


@cases
@given(requests())
def test_every_unit_of_every_line_is_allocated_or_backordered_never_lost(
    request: SourcingRequest,
) -> None:
    plan = plan_sourcing(request)
    need = needed(request)
    short: Counter[tuple[str, str]] = Counter()
    for s in plan.shortfalls:
        assert s.quantity > 0
        assert s.reason
        short[(s.line_id, s.sku)] += s.quantity

    if plan.status is PlanStatus.REFUSED:
        assert not request.profile.allow_backorder
        assert not plan.allocations
        assert not plan.shipments
        assert not plan.backorders
        assert short
        assert all(short[key] <= need[key] for key in short)
        return
    assert allocated(plan) + short == need
    assert plan.backorders == plan.shortfalls
    expected = {
        (False, False): PlanStatus.COMPLETE,
        (True, False): PlanStatus.COMPLETE,
        (True, True): PlanStatus.PARTIAL,
        (False, True): PlanStatus.BACKORDERED,
    }[(bool(plan.allocations), bool(short))]
    assert plan.status is expected


@cases
@given(requests())
def test_shipments_stay_within_the_maximum_one_per_location(request: SourcingRequest) -> None:
    plan = plan_sourcing(request)
    locations = [s.location for s in plan.shipments]
    assert len(locations) <= request.profile.max_shipments
    assert len(set(locations)) == len(locations)
    assert [a for s in plan.shipments for a in s.allocations] == list(plan.allocations)
    assert all(s.allocations for s in plan.shipments)


@cases
@given(requests())
def test_each_ship_together_bundle_unit_comes_whole_from_one_location(
    request: SourcingRequest,
) -> None:
    plan = plan_sourcing(request)
    for line in request.lines:
        if not (line.is_bundle and line.ship_together):
            continue
        at: dict[str, Counter[str]] = {}
        for a in plan.allocations:
            if a.line_id == line.line_id:
                at.setdefault(a.location, Counter())[a.sku] += a.quantity
        for units in at.values():
            kits = {units[sku] / per for sku, per in line.components.items()}
            assert len(kits) == 1
            (count,) = kits
            assert count == int(count) > 0


@cases
@given(requests())
def test_a_location_that_has_the_whole_order_ships_it_in_one_shipment(
    request: SourcingRequest,
) -> None:
    total: Counter[str] = Counter()
    for (_, sku), units in needed(request).items():
        total[sku] += units
    order_skus = set(total) | {line.sku for line in request.lines}
    able = [
        c
        for c in request.candidates
        if not shut(request, c)
        and not excluded(request, c.code, order_skus)
        and all(c.units_of(sku) >= units for sku, units in total.items())
    ]
    plan = plan_sourcing(request)
    if able:
        assert plan.status is PlanStatus.COMPLETE
        assert len(plan.shipments) == 1


@cases
@given(requests(), st.randoms(use_true_random=False))
def test_the_same_request_gives_the_same_plan_whatever_the_candidates_order(
    request: SourcingRequest, random: object
) -> None:
    shuffled = list(request.candidates)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = plan_sourcing(request), plan_sourcing(request)
    other = plan_sourcing(replace(request, candidates=tuple(shuffled)))
    assert first == second
    assert replace(other, request=request) == first


@cases
@given(requests())
def test_every_line_explains_every_candidate_exactly_once(request: SourcingRequest) -> None:
    plan = plan_sourcing(request)
    codes = sorted(c.code for c in request.candidates)
    assert {e.line_id for e in plan.explanations} == {line.line_id for line in request.lines}
    for explanation in plan.explanations:
        named = [c.location for c in (*explanation.chosen, *explanation.not_chosen)]
        assert sorted(named) == codes
        assert all(c.reason for c in (*explanation.chosen, *explanation.not_chosen))
        assert all(c.units > 0 for c in explanation.chosen)
        assert (explanation.backordered > 0) == (explanation.backorder_reason is not None)


@cases
@given(st.lists(order_lines(), min_size=1, max_size=4), candidates(), profiles)
def test_orders_one_after_another_never_take_more_than_there_was(
    orders: list[tuple[OrderLineDemand, ...]],
    found: tuple[Candidate, ...],
    profile: SourcingProfile,
) -> None:
    start = {(c.code, sku): max(0, units) for c in found for sku, units in c.available.items()}
    left = dict(start)
    for lines in orders:
        request = SourcingRequest("13", lines, found, profile).with_available(left)
        plan = plan_sourcing(request)
        for a in plan.allocations:
            left[(a.location, a.sku)] = left.get((a.location, a.sku), 0) - a.quantity
    assert all(units >= 0 for units in left.values())
    assert set(left) == set(start)


@st.composite
def small_orders(draw: st.DrawFn) -> SourcingRequest:
    """Cheap and free lines over a few open locations: where the minimum value bites."""
    found = tuple(
        Candidate(
            code, kind, prefecture, draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 2)))
        )
        for code, kind, prefecture in draw(
            st.lists(st.sampled_from(LOCATIONS), min_size=2, max_size=4, unique=True)
        )
    )
    lines = tuple(
        OrderLineDemand(
            str(n),
            sku,
            draw(st.integers(1, 2)),
            draw(st.sampled_from([0, 500, 800, 3_200, 12_000])),
        )
        for n, sku in enumerate(
            draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=4)), start=1
        )
    )
    profile = SourcingProfile(
        max_shipments=draw(st.integers(2, 4)),
        min_shipment_value=draw(st.sampled_from([1_000, 3_000, 10_000])),
    )
    return SourcingRequest("13", lines, found, profile)


@cases
@given(small_orders())
def test_the_minimum_value_never_costs_a_unit_or_adds_a_shipment(request: SourcingRequest) -> None:
    guarded = plan_sourcing(request)
    free = plan_sourcing(replace(request, profile=replace(request.profile, min_shipment_value=0)))
    assert allocated(guarded).total() == allocated(free).total()
    assert len(guarded.shipments) <= len(free.shipments)
