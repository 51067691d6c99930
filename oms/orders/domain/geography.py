"""Japan's 47 prefectures (JIS X 0401), their regions, and how far a parcel travels between two.

Pure: the stdlib and `oms.shared` only. Codes are normalised like
`oms.inventory.domain.validate_prefecture` ("13", 13 and " 13" are Tokyo; the tests check both
agree on every input).

**Zones** are a small, symmetric distance for ranking sourcing locations, shaped like a
carrier's tariff zones (Yamato, Sagawa and Japan Post price by region pairs):

- 0: the same prefecture;
- 1: another prefecture of the same region;
- 2: an adjacent region (Kanto and Tohoku, Kinki and Shikoku, ...);
- 3: two regions along the archipelago, or across the Tsugaru strait (Tohoku and Hokkaido);
- 4: further still: Kanto and Kyushu, Hokkaido and everything south of Tohoku;
- 5: Okinawa and any other prefecture: across the sea, by ship or plane.

The regions are the usual eight (八地方区分); Okinawa belongs to Kyushu-Okinawa but is zoned on
its own, since Fukuoka to Naha is no shorter a trip than Tokyo to Sapporo. The table is ours, not
a carrier's; change it and the sourcing engine ranks differently, so it is part of the sourcing
version (`oms.orders.domain.sourcing.SOURCING_VERSION`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from oms.shared.errors import InvalidInput


class Region(StrEnum):
    HOKKAIDO = "hokkaido"
    TOHOKU = "tohoku"
    KANTO = "kanto"
    CHUBU = "chubu"
    KINKI = "kinki"
    CHUGOKU = "chugoku"
    SHIKOKU = "shikoku"
    KYUSHU_OKINAWA = "kyushu_okinawa"


REGION_NAMES_JA: dict[Region, str] = {
    Region.HOKKAIDO: "北海道",
    Region.TOHOKU: "東北",
    Region.KANTO: "関東",
    Region.CHUBU: "中部",
    Region.KINKI: "近畿",
    Region.CHUGOKU: "中国",
    Region.SHIKOKU: "四国",
    Region.KYUSHU_OKINAWA: "九州・沖縄",
}


@dataclass(frozen=True, slots=True)
class Prefecture:
    code: str  # JIS X 0401, two digits
    name_ja: str
    name: str  # romaji, ASCII
    region: Region


_R = Region
_TABLE: tuple[tuple[str, str, Region], ...] = (
    ("北海道", "Hokkaido", _R.HOKKAIDO),
    ("青森県", "Aomori", _R.TOHOKU),
    ("岩手県", "Iwate", _R.TOHOKU),
    ("宮城県", "Miyagi", _R.TOHOKU),
    ("秋田県", "Akita", _R.TOHOKU),
    ("山形県", "Yamagata", _R.TOHOKU),
    ("福島県", "Fukushima", _R.TOHOKU),
    ("茨城県", "Ibaraki", _R.KANTO),
    ("栃木県", "Tochigi", _R.KANTO),
    ("群馬県", "Gunma", _R.KANTO),
    ("埼玉県", "Saitama", _R.KANTO),
    ("千葉県", "Chiba", _R.KANTO),
    ("東京都", "Tokyo", _R.KANTO),
    ("神奈川県", "Kanagawa", _R.KANTO),
    ("新潟県", "Niigata", _R.CHUBU),
    ("富山県", "Toyama", _R.CHUBU),
    ("石川県", "Ishikawa", _R.CHUBU),
    ("福井県", "Fukui", _R.CHUBU),
    ("山梨県", "Yamanashi", _R.CHUBU),
    ("長野県", "Nagano", _R.CHUBU),
    ("岐阜県", "Gifu", _R.CHUBU),
    ("静岡県", "Shizuoka", _R.CHUBU),
    ("愛知県", "Aichi", _R.CHUBU),
    ("三重県", "Mie", _R.KINKI),
    ("滋賀県", "Shiga", _R.KINKI),
    ("京都府", "Kyoto", _R.KINKI),
    ("大阪府", "Osaka", _R.KINKI),
    ("兵庫県", "Hyogo", _R.KINKI),
    ("奈良県", "Nara", _R.KINKI),
    ("和歌山県", "Wakayama", _R.KINKI),
    ("鳥取県", "Tottori", _R.CHUGOKU),
    ("島根県", "Shimane", _R.CHUGOKU),
    ("岡山県", "Okayama", _R.CHUGOKU),
    ("広島県", "Hiroshima", _R.CHUGOKU),
    ("山口県", "Yamaguchi", _R.CHUGOKU),
    ("徳島県", "Tokushima", _R.SHIKOKU),
    ("香川県", "Kagawa", _R.SHIKOKU),
    ("愛媛県", "Ehime", _R.SHIKOKU),
    ("高知県", "Kochi", _R.SHIKOKU),
    ("福岡県", "Fukuoka", _R.KYUSHU_OKINAWA),
    ("佐賀県", "Saga", _R.KYUSHU_OKINAWA),
    ("長崎県", "Nagasaki", _R.KYUSHU_OKINAWA),
    ("熊本県", "Kumamoto", _R.KYUSHU_OKINAWA),
    ("大分県", "Oita", _R.KYUSHU_OKINAWA),
    ("宮崎県", "Miyazaki", _R.KYUSHU_OKINAWA),
    ("鹿児島県", "Kagoshima", _R.KYUSHU_OKINAWA),
    ("沖縄県", "Okinawa", _R.KYUSHU_OKINAWA),
)

PREFECTURES: dict[str, Prefecture] = {
    f"{number:02d}": Prefecture(f"{number:02d}", name_ja, name, region)
    for number, (name_ja, name, region) in enumerate(_TABLE, start=1)
}

OKINAWA = "47"
MAX_ZONE = 5

# Zone between two *different* prefectures by region, in the order of `Region`. Symmetric; the
# diagonal (1) is "same region". Okinawa is handled before this table is read.
_REGION_ORDER: tuple[Region, ...] = tuple(Region)
_REGION_ZONES: tuple[tuple[int, ...], ...] = (
    # HKD THK KNT CHB KNK CGK SKK KYS
    (1, 3, 4, 4, 4, 4, 4, 4),  # Hokkaido
    (3, 1, 2, 2, 3, 4, 4, 4),  # Tohoku
    (4, 2, 1, 2, 3, 4, 4, 4),  # Kanto
    (4, 2, 2, 1, 2, 3, 3, 4),  # Chubu
    (4, 3, 3, 2, 1, 2, 2, 3),  # Kinki
    (4, 4, 4, 3, 2, 1, 2, 2),  # Chugoku
    (4, 4, 4, 3, 2, 2, 1, 3),  # Shikoku
    (4, 4, 4, 4, 3, 2, 3, 1),  # Kyushu (Okinawa apart)
)

# Indicative days in transit for a standard parcel by zone: for a promise date, not a carrier's
# commitment (remote islands and mountain areas take longer).
_TRANSIT_DAYS_BY_ZONE: tuple[int, ...] = (1, 1, 1, 2, 2, 3)


def prefecture(code: str | int) -> Prefecture:
    """The prefecture of a JIS code, 01 (Hokkaido) to 47 (Okinawa); "1" and 1 are Hokkaido."""
    text = str(code).strip()
    # isdecimal, not isdigit: "²" is a digit that int() refuses (as in validate_prefecture).
    if not text.isdecimal() or not 1 <= int(text) <= 47:
        raise InvalidInput(
            f"prefecture must be a JIS code from 01 to 47, got {code!r}", field="prefecture"
        )
    return PREFECTURES[f"{int(text):02d}"]


def zone(origin: str | int, destination: str | int) -> int:
    """Distance zone 0-5 between two prefectures (see the module docstring); symmetric."""
    a, b = prefecture(origin), prefecture(destination)
    if a.code == b.code:
        return 0
    if OKINAWA in (a.code, b.code):
        return MAX_ZONE
    return _REGION_ZONES[_REGION_ORDER.index(a.region)][_REGION_ORDER.index(b.region)]


def transit_days(origin: str | int, destination: str | int) -> int:
    """Indicative days a standard parcel takes between two prefectures (1-3)."""
    return _TRANSIT_DAYS_BY_ZONE[zone(origin, destination)]


def _suffixless(name_ja: str) -> str:
    # 東京都 -> 東京, 大阪府 -> 大阪, 神奈川県 -> 神奈川; 北海道 keeps its name.
    return name_ja[:-1] if name_ja[-1] in "都府県" else name_ja


_BY_NAME: dict[str, str] = {}
for _p in PREFECTURES.values():
    for _key in (_p.name_ja, _suffixless(_p.name_ja), _p.name.lower(), _p.code, str(int(_p.code))):
        _BY_NAME[_key] = _p.code
    _BY_NAME[f"jp-{_p.code}"] = _p.code  # ISO 3166-2 (Shopify's provinceCode)
    suffix = "to" if _p.code == "13" else "fu" if _p.code in ("26", "27") else "ken"
    _BY_NAME[f"{_p.name.lower()}-{suffix}"] = _p.code


def prefecture_code(text: str) -> str | None:
    """The JIS code of a prefecture as channels write it: a code (`13`, `JP-13`), its Japanese
    name with or without 都/府/県 (`東京都`, `東京`) or its romaji (`Tokyo`, `TOKYO`, `Tokyo-to`).
    None when it names no prefecture."""
    key = text.strip().lower().replace(" ", "")
    return _BY_NAME.get(key)
