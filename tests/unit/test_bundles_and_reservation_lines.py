"""Bundles (derived availability, no cycles) and how reservation lines are normalised."""

from __future__ import annotations

import pytest

from oms.inventory.domain import (
    BundleComponent,
    ReservationLine,
    Sku,
    SkuKind,
    bundle_units,
    check_no_bundle_cycle,
    merge_reservation_lines,
)
from oms.shared.errors import InvalidInput


def test_bundle_units_are_limited_by_the_scarcest_component() -> None:
    assert bundle_units({"TEE": 2, "CAP": 1}, {"TEE": 7, "CAP": 10}) == 3
    assert bundle_units({"TEE": 2, "CAP": 1}, {"TEE": 70, "CAP": 4}) == 4


def test_bundle_units_round_down_to_whole_bundles() -> None:
    assert bundle_units({"TEE": 3}, {"TEE": 8}) == 2


def test_a_missing_or_negative_component_makes_no_bundle() -> None:
    assert bundle_units({"TEE": 1, "CAP": 1}, {"TEE": 5}) == 0
    assert bundle_units({"TEE": 1}, {"TEE": -3}) == 0


def test_a_bundle_without_requirements_makes_nothing() -> None:
    assert bundle_units({}, {"TEE": 5}) == 0


def test_a_bundle_containing_itself_directly_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_no_bundle_cycle("SET-A", ["TEE", "SET-A"], {})
    assert refused.value.field == "components"


def test_a_bundle_containing_itself_through_another_bundle_is_refused() -> None:
    contents = {"SET-B": ["CAP", "SET-C"], "SET-C": ["SET-A", "TEE"]}
    with pytest.raises(InvalidInput, match="would contain itself"):
        check_no_bundle_cycle("SET-A", ["SOCKS", "SET-B"], contents)


def test_nested_bundles_without_a_cycle_are_allowed() -> None:
    contents = {"SET-B": ["CAP", "SET-C"], "SET-C": ["TEE"], "SET-D": ["SET-C", "SET-B"]}
    check_no_bundle_cycle("SET-A", ["SET-B", "SET-D", "SET-C"], contents)


def test_a_bundle_needs_components_and_a_simple_sku_has_none() -> None:
    with pytest.raises(InvalidInput):
        Sku("SET-A", "Set", kind=SkuKind.BUNDLE, components=[])
    with pytest.raises(InvalidInput):
        Sku("TEE", "Tee", components=[BundleComponent("CAP", 1)])


def test_a_bundle_lists_each_component_once_with_a_positive_quantity() -> None:
    with pytest.raises(InvalidInput) as twice:
        Sku(
            "SET-A",
            "Set",
            kind=SkuKind.BUNDLE,
            components=[BundleComponent("TEE", 1), BundleComponent("TEE", 2)],
        )
    assert twice.value.field == "components[1].sku"
    with pytest.raises(InvalidInput) as zero:
        Sku("SET-A", "Set", kind=SkuKind.BUNDLE, components=[BundleComponent("TEE", 0)])
    assert zero.value.field == "components[0].quantity"


def test_reservation_lines_for_the_same_sku_and_location_are_merged_and_sorted() -> None:
    merged = merge_reservation_lines(
        [
            ReservationLine("TEE", "STORE", 1),
            ReservationLine("CAP", "DC", 2),
            ReservationLine("TEE", "DC", 3),
            ReservationLine("TEE", "STORE", 4),
        ]
    )
    assert merged == [
        ReservationLine("CAP", "DC", 2),
        ReservationLine("TEE", "DC", 3),
        ReservationLine("TEE", "STORE", 5),
    ]


def test_a_reservation_needs_at_least_one_line() -> None:
    with pytest.raises(InvalidInput) as refused:
        merge_reservation_lines([])
    assert refused.value.field == "lines"


def test_a_reservation_line_without_a_positive_quantity_is_refused_by_position() -> None:
    with pytest.raises(InvalidInput) as refused:
        merge_reservation_lines([ReservationLine("TEE", "DC", 1), ReservationLine("CAP", "DC", 0)])
    assert refused.value.field == "lines[1].quantity"
