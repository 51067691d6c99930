"""Prefectures, regions and zones: the distances the sourcing engine ranks locations by."""

from __future__ import annotations

from collections import Counter
from itertools import product

import pytest

from oms.inventory.domain import validate_prefecture
from oms.orders.domain.geography import (
    MAX_ZONE,
    PREFECTURES,
    REGION_NAMES_JA,
    Region,
    prefecture,
    transit_days,
    zone,
)
from oms.shared.errors import InvalidInput

CODES = [f"{n:02d}" for n in range(1, 48)]


def test_there_are_47_prefectures_with_jis_codes_01_to_47_in_order() -> None:
    assert list(PREFECTURES) == CODES
    assert prefecture("01").name == "Hokkaido"
    assert prefecture("13").name_ja == "東京都"
    assert prefecture("27").name == "Osaka"
    assert prefecture("47").name_ja == "沖縄県"


def test_each_region_holds_its_usual_prefectures() -> None:
    sizes = Counter(p.region for p in PREFECTURES.values())
    assert sizes == {
        Region.HOKKAIDO: 1,
        Region.TOHOKU: 6,
        Region.KANTO: 7,
        Region.CHUBU: 9,
        Region.KINKI: 7,
        Region.CHUGOKU: 5,
        Region.SHIKOKU: 4,
        Region.KYUSHU_OKINAWA: 8,
    }
    assert prefecture("13").region is Region.KANTO
    assert prefecture("15").region is Region.CHUBU  # Niigata
    assert prefecture("24").region is Region.KINKI  # Mie
    assert set(REGION_NAMES_JA) == set(Region)


@pytest.mark.parametrize(
    "code",
    [
        "13",
        13,
        " 13",
        "1",
        1,
        "01",
        "47",
        "0",
        "48",
        "-1",
        "",
        "abc",
        "²",
        "1.0",
        "\uff11\uff13",
    ],  # the last: full-width 13,
)
def test_a_code_is_read_exactly_as_the_inventory_reads_a_location_prefecture(
    code: str | int,
) -> None:
    try:
        expected: str | None = validate_prefecture(code)
    except InvalidInput:
        expected = None
    if expected is None:
        with pytest.raises(InvalidInput):
            prefecture(code)
    else:
        assert prefecture(code).code == expected


def test_zones_are_0_within_a_prefecture_and_1_within_a_region() -> None:
    assert zone("13", "13") == 0
    assert zone("13", "11") == 1  # Tokyo - Saitama
    assert zone("27", "26") == 1  # Osaka - Kyoto
    assert zone("40", "46") == 1  # Fukuoka - Kagoshima


@pytest.mark.parametrize(
    ("origin", "destination", "expected"),
    [
        ("13", "23", 2),  # Tokyo - Aichi: adjacent regions
        ("04", "13", 2),  # Miyagi - Tokyo
        ("27", "37", 2),  # Osaka - Kagawa: across the bridges
        ("13", "27", 3),  # Tokyo - Osaka
        ("02", "01", 3),  # Aomori - Hokkaido: across the Tsugaru strait
        ("27", "40", 3),  # Osaka - Fukuoka
        ("13", "40", 4),  # Tokyo - Fukuoka
        ("13", "01", 4),  # Tokyo - Hokkaido
        ("01", "46", 4),  # Hokkaido - Kagoshima
        ("40", "47", 5),  # Fukuoka - Okinawa: same region, across the sea
        ("13", "47", 5),
    ],
)
def test_zones_grow_with_the_distance_between_regions(
    origin: str, destination: str, expected: int
) -> None:
    assert zone(origin, destination) == expected


def test_zones_are_symmetric_and_small() -> None:
    for a, b in product(CODES, CODES):
        assert zone(a, b) == zone(b, a)
        assert 0 <= zone(a, b) <= MAX_ZONE
        assert (zone(a, b) == 0) == (a == b)


def test_okinawa_is_the_farthest_from_everywhere_else() -> None:
    assert all(zone("47", code) == MAX_ZONE for code in CODES if code != "47")
    assert all(zone(a, b) < MAX_ZONE for a, b in product(CODES, CODES) if "47" not in (a, b))


def test_transit_days_are_indicative_by_zone() -> None:
    assert transit_days("13", "13") == 1
    assert transit_days("13", "27") == 2
    assert transit_days("13", "47") == 3
    assert transit_days(13, 47) == 3


def test_zone_refuses_an_unknown_prefecture() -> None:
    with pytest.raises(InvalidInput, match="prefecture"):
        zone("13", "48")
