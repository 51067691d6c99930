"""Hypothesis: `compute_many` (the bulk fast path) gives exactly the pure pipeline's numbers.

For random catalogues (simple SKUs and bundles, stock that may be negative or missing, safety
stock per location and per SKU, attributes, pools) and random channel policies (feeding and
excluded locations, excluded SKUs and attribute values, buffers, auto buffers, shares, caps),
every (channel, SKU) number of `compute_many` equals the one `compute_availability` /
`compute_bundle_availability` give SKU by SKU from the same inputs. Catalogues are drawn with
and without pools, so that both the column path (no pool) and the one-at-a-time path are hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.channels.availability.domain.fastpath import (
    BundleRecipe,
    CatalogueInputs,
    StockColumns,
    compute_groups,
    compute_many,
)
from oms.channels.availability.domain.model import (
    ChannelPolicy,
    LocationStock,
    Pool,
    compute_availability,
    compute_bundle_availability,
    resolve_safety_stock,
)
from oms.shared.errors import InvalidInput
from tests.examples import examples

LOCATIONS = ("DC", "FBA", "STORE-1", "STORE-2")
CHANNELS = ("amazon", "rakuten", "storefront")
SIMPLE = ("S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7")
BUNDLES = ("B0", "B1", "B2")
ATTRIBUTES: tuple[dict[str, str], ...] = (
    {},
    {"category": "outlet"},
    {"category": "tops", "colour": "red"},
    {"colour": "blue"},
    {"category": "tops"},
)

cases = settings(max_examples=examples(150), deadline=None)

locations = st.sampled_from(LOCATIONS)


@st.composite
def policies(draw: st.DrawFn, code: str) -> ChannelPolicy:
    return ChannelPolicy(
        code=code,
        feeding_locations=draw(st.frozensets(locations)),
        excluded_locations=draw(st.frozensets(locations, max_size=2)),
        excluded_skus=draw(st.frozensets(st.sampled_from(SIMPLE + BUNDLES), max_size=3)),
        excluded_attributes=draw(
            st.sampled_from(
                [
                    {},
                    {"category": frozenset({"outlet"})},
                    {"colour": frozenset()},
                    {"category": frozenset({"tops"}), "colour": frozenset({"blue"})},
                ]
            )
        ),
        buffer_units=draw(st.integers(0, 8)),
        share_percent=draw(st.none() | st.integers(0, 100)),
        cap=draw(st.none() | st.integers(0, 40)),
        auto_buffer=draw(st.booleans()),
        velocity_per_minute=draw(st.sampled_from([0.0, 0.1, 0.25, 1.5])),
        push_latency_minutes=draw(st.sampled_from([0.0, 5.0, 30.0])),
    )


@dataclass(frozen=True)
class Catalogue:
    skus: list[str]
    channels: list[ChannelPolicy]
    stock: dict[str, dict[str, int]]
    default_safety: dict[str, int]
    safety: dict[str, dict[str, int]]
    attributes: dict[str, dict[str, str]]
    pools: dict[str, list[Pool]]
    bundles: dict[str, BundleRecipe]

    def inputs(self, *, aligned: bool = False) -> CatalogueInputs:
        """`aligned`: stock as a whole-catalogue read gives it, a column entry for every SKU
        (0 where there is no level); else only the SKUs with a level have an entry."""
        if aligned:
            stock = StockColumns.aligned(
                self.skus,
                {loc: [at.get(sku, 0) for sku in self.skus] for loc, at in self.stock.items()},
            )
        else:
            stock = StockColumns.from_levels(self.stock)
        return CatalogueInputs(
            stock, self.default_safety, self.safety, self.attributes, self.pools, self.bundles
        )


@st.composite
def catalogues(draw: st.DrawFn, with_pools: bool) -> Catalogue:
    codes = draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True))
    channels = [draw(policies(code)) for code in codes]
    simple = draw(st.lists(st.sampled_from(SIMPLE), min_size=1, unique=True))
    bundles = {
        bundle: BundleRecipe(
            draw(st.dictionaries(st.sampled_from(simple), st.integers(1, 3), min_size=1)),
            draw(st.booleans()),
        )
        for bundle in draw(st.lists(st.sampled_from(BUNDLES), unique=True))
    }
    skus = draw(st.permutations([*simple, *bundles]))
    # A level that does not exist and a level at 0 are the same to the pipeline: both drawn.
    stock = {
        loc: draw(st.dictionaries(st.sampled_from(simple), st.integers(-5, 30)))
        for loc in draw(st.lists(locations, unique=True))
    }
    pools: dict[str, list[Pool]] = {}
    if with_pools:
        for sku in simple:
            pooled = draw(st.lists(st.sampled_from(codes), unique=True, max_size=len(codes)))
            if pooled:
                pools[sku] = [Pool(code, draw(st.integers(0, 25))) for code in pooled]
    return Catalogue(
        skus=skus,
        channels=channels,
        stock=stock,
        default_safety=draw(st.dictionaries(locations, st.integers(0, 6))),
        safety={
            sku: draw(st.dictionaries(locations, st.integers(0, 8), min_size=1))
            for sku in draw(st.lists(st.sampled_from(simple), unique=True))
        },
        attributes={
            sku: dict(draw(st.sampled_from(ATTRIBUTES)))
            for sku in draw(st.lists(st.sampled_from(skus), unique=True))
        },
        pools=pools,
        bundles=bundles,
    )


def pipeline(catalogue: Catalogue) -> dict[str, dict[str, int]]:
    """The pure pipeline SKU by SKU, from the same inputs: what `compute_many` must equal."""
    channels = catalogue.channels
    feeding = {loc for channel in channels for loc in channel.feeding_locations}
    overrides = {
        (sku, loc): quantity
        for sku, by_location in catalogue.safety.items()
        for loc, quantity in by_location.items()
    }

    def stock_of(sku: str) -> list[LocationStock]:
        return [
            LocationStock(loc, by_sku[sku])
            for loc, by_sku in catalogue.stock.items()
            if sku in by_sku
        ]

    def safety_of(sku: str) -> dict[str, int]:
        return resolve_safety_stock(sku, feeding, catalogue.default_safety, overrides)

    numbers: dict[str, dict[str, int]] = {channel.code: {} for channel in channels}
    for sku in catalogue.skus:
        attributes = catalogue.attributes.get(sku, {})
        if sku in catalogue.bundles:
            recipe = catalogue.bundles[sku]
            components = recipe.components
            results = compute_bundle_availability(
                sku,
                attributes,
                components,
                {c: stock_of(c) for c in components},
                {c: safety_of(c) for c in components},
                recipe.ship_together,
                channels,
                component_pools={c: catalogue.pools.get(c, []) for c in components},
                component_attributes={c: catalogue.attributes.get(c, {}) for c in components},
            )
        else:
            results = compute_availability(
                sku,
                attributes,
                stock_of(sku),
                safety_of(sku),
                channels,
                catalogue.pools.get(sku, []),
            )
        for code, result in results.items():
            numbers[code][sku] = result.available
    return numbers


@cases
@given(catalogues(with_pools=False))
def test_without_pools_the_fast_path_gives_the_pipelines_numbers(catalogue: Catalogue) -> None:
    assert compute_many(catalogue.skus, catalogue.channels, catalogue.inputs()) == pipeline(
        catalogue
    )


@cases
@given(catalogues(with_pools=True), st.booleans())
def test_with_pools_and_bundles_the_fast_path_gives_the_pipelines_numbers(
    catalogue: Catalogue, aligned: bool
) -> None:
    inputs = catalogue.inputs(aligned=aligned)
    assert compute_many(catalogue.skus, catalogue.channels, inputs) == pipeline(catalogue)


@cases
@given(catalogues(with_pools=False))
def test_stock_aligned_with_the_catalogue_gives_the_pipelines_numbers(
    catalogue: Catalogue,
) -> None:
    """As `recompute_all` reads it: one column entry per SKU, bundles included (at 0)."""
    inputs = catalogue.inputs(aligned=True)
    assert compute_many(catalogue.skus, catalogue.channels, inputs) == pipeline(catalogue)


def test_stock_columns_of_another_length_than_the_skus_are_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        StockColumns.aligned(["S0", "S1"], {"DC": [5]})
    assert refused.value.field == "stock"


@settings(max_examples=examples(100), deadline=None)
@given(catalogues(with_pools=True), st.integers(0, 3))
def test_skus_computed_together_get_the_numbers_they_get_alone(
    catalogue: Catalogue, split: int
) -> None:
    """A SKU's numbers do not depend on which other SKUs are computed with it."""
    inputs = catalogue.inputs()
    together = compute_many(catalogue.skus, catalogue.channels, inputs)
    parts = [catalogue.skus[:split], catalogue.skus[split:]]
    for part in parts:
        alone = compute_many(part, catalogue.channels, inputs)
        for code, numbers in alone.items():
            assert numbers == {sku: together[code][sku] for sku in part}


@settings(max_examples=examples(100), deadline=None)
@given(
    catalogues(with_pools=True),
    st.integers(0, 3),
    st.lists(
        st.tuples(
            st.integers(0, 8), st.none() | st.integers(0, 100), st.none() | st.integers(0, 40)
        ),
        min_size=3,
        max_size=3,
    ),
)
def test_groups_computed_at_once_get_the_numbers_each_group_gets_alone(
    catalogue: Catalogue, split: int, steps: list[tuple[int, int | None, int | None]]
) -> None:
    """`compute_groups` works out what the channels see once for groups whose buffers, shares
    and caps differ (as SKUs with rules of their own do): each group keeps its own numbers."""
    inputs = catalogue.inputs(aligned=True)
    other = [
        replace(channel, buffer_units=buffer, share_percent=share, cap=cap)
        for channel, (buffer, share, cap) in zip(catalogue.channels, steps, strict=False)
    ]
    first, second = catalogue.skus[:split], catalogue.skus[split:]
    together = compute_groups([(catalogue.channels, first), (other, second)], inputs)
    alone = compute_many(first, catalogue.channels, inputs)
    for code, numbers in compute_many(second, other, inputs).items():
        alone[code].update(numbers)
    assert together == alone


def test_a_pool_for_a_channel_not_computed_is_refused_like_the_pipeline() -> None:
    channels = [ChannelPolicy("amazon", frozenset({"DC"}))]
    pools: dict[str, Sequence[Pool]] = {"S0": [Pool("rakuten", 2)]}
    inputs = CatalogueInputs(StockColumns.from_levels({"DC": {"S0": 5}}), {}, {}, {}, pools, {})

    with pytest.raises(InvalidInput) as fast:
        compute_many(["S0"], channels, inputs)
    with pytest.raises(InvalidInput) as pure:
        compute_availability("S0", {}, [LocationStock("DC", 5)], {}, channels, [Pool("rakuten", 2)])
    assert fast.value.field == pure.value.field


def test_a_negative_safety_stock_is_refused_like_the_pipeline() -> None:
    channels = [ChannelPolicy("amazon", frozenset({"DC"}))]
    plain = CatalogueInputs(StockColumns.from_levels({"DC": {"S0": 5}}), {"DC": -1}, {}, {}, {}, {})
    own = CatalogueInputs(
        StockColumns.from_levels({"DC": {"S0": 5}}), {}, {"S0": {"DC": -1}}, {}, {}, {}
    )

    for inputs in (plain, own):
        with pytest.raises(InvalidInput):
            compute_many(["S0"], channels, inputs)
    with pytest.raises(InvalidInput):
        compute_availability("S0", {}, [LocationStock("DC", 5)], {"DC": -1}, channels)


def test_a_bundle_without_components_is_refused_like_the_pipeline() -> None:
    channels = [ChannelPolicy("amazon", frozenset({"DC"}))]
    inputs = CatalogueInputs(
        StockColumns.from_levels({}), {}, {}, {}, {}, {"B0": BundleRecipe({}, True)}
    )

    with pytest.raises(InvalidInput) as fast:
        compute_many(["B0"], channels, inputs)
    with pytest.raises(InvalidInput) as pure:
        compute_bundle_availability("B0", {}, {}, {}, {}, True, channels)
    assert fast.value.field == pure.value.field
