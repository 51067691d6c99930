"""A demo catalogue: a Japanese apparel D2C brand with stores, a DC, a factory and Amazon FBA,
selling on Amazon, Rakuten and its own storefront with the rules such a brand sets.

Deterministic (a seeded random number generator) and idempotent: existing locations, SKUs and
channels are kept, every receipt has a fixed idempotency key, and a rule is only written when
it differs from the demo's value, so seeding twice changes nothing. The README's worked example
of channel availability is this data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from oms.channels.availability.domain.rules import Exclusion
from oms.channels.availability.services.channels import CreateChannel
from oms.inventory.domain import gtin_check_digit
from oms.inventory.services import (
    CreateLocation,
    CreateSku,
    RecordMovement,
)

SEED = 20240401
JAN_COMPANY_PREFIX = "4599871"  # "45" (GS1 Japan) + a made-up company code
REFERENCE = "demo seed"
ACTOR = "oms demo seed"

LOCATIONS = (
    CreateLocation("STORE-TOKYO", "渋谷店 (Shibuya store)", "store", "13", "150-0041"),
    CreateLocation("STORE-OSAKA", "梅田店 (Umeda store)", "store", "27", "530-0001"),
    CreateLocation("DC-CHIBA", "習志野物流センター (Narashino DC)", "warehouse", "12", "275-0024"),
    CreateLocation(
        "FACTORY-OKAYAMA",
        "児島工場 (Kojima factory)",
        "factory",
        "33",
        "711-0913",
        ships_to_customers=False,
    ),
    CreateLocation("AMAZON-FC", "Amazon FBA 市川FC", "marketplace_fc", "12", "272-0127"),
)

SIZES = ("XS", "S", "M", "L", "XL", "XXL")
SIZE_CURVE = {"XS": 0.4, "S": 0.8, "M": 1.2, "L": 1.1, "XL": 0.7, "XXL": 0.35}

COLOURS = {
    "BLK": ("ブラック", "Black"),
    "WHT": ("ホワイト", "White"),
    "NVY": ("ネイビー", "Navy"),
    "GRY": ("グレー", "Grey"),
    "OLV": ("オリーブ", "Olive"),
    "SAX": ("サックス", "Sax blue"),
    "PNK": ("ピンク", "Pink"),
    "OAT": ("オートミール", "Oatmeal"),
    "GRN": ("グリーン", "Green"),
    "IND": ("インディゴ", "Indigo"),
    "OWS": ("ワンウォッシュ", "One wash"),
    "ECR": ("エクリュ", "Ecru"),
    "BEG": ("ベージュ", "Beige"),
    "BRN": ("ブラウン", "Brown"),
    "KHK": ("カーキ", "Khaki"),
}


@dataclass(frozen=True, slots=True)
class Style:
    code: str
    name: str
    name_en: str
    category: str
    colours: tuple[str, ...]
    depth: int  # typical DC units of a medium
    made_in_okayama: bool = False  # the factory keeps finished goods of its own styles
    on_amazon: bool = False


STYLES = (
    Style(
        "TS-ORG",
        "オーガニックコットンTシャツ",
        "Organic cotton T-shirt",
        "tops",
        ("BLK", "WHT", "NVY", "GRY", "OLV"),
        60,
        on_amazon=True,
    ),
    Style(
        "SH-OXF",
        "オックスフォードシャツ",
        "Oxford shirt",
        "tops",
        ("WHT", "SAX", "NVY", "PNK"),
        30,
    ),
    Style(
        "SW-LWT",
        "吊り編みスウェット",
        "Loopwheel sweatshirt",
        "tops",
        ("GRY", "NVY", "BLK", "OAT", "GRN"),
        35,
        on_amazon=True,
    ),
    Style(
        "SP-LWT",
        "吊り編みスウェットパンツ",
        "Loopwheel sweatpants",
        "bottoms",
        ("GRY", "NVY", "BLK", "OAT"),
        30,
    ),
    Style(
        "DN-SEL",
        "セルビッジデニム",
        "Selvedge denim jeans",
        "bottoms",
        ("IND", "OWS", "BLK", "ECR"),
        40,
        made_in_okayama=True,
        on_amazon=True,
    ),
    Style(
        "KN-MER",
        "メリノウールニット",
        "Merino wool jumper",
        "knitwear",
        ("BLK", "NVY", "GRY", "BEG", "BRN"),
        20,
    ),
    Style(
        "JK-CVR",
        "デニムカバーオール",
        "Denim coverall jacket",
        "outerwear",
        ("IND", "BLK", "KHK", "BEG", "OLV"),
        15,
        made_in_okayama=True,
    ),
)

# A top-and-bottom coordinate (セットアップ): the parts may ship from different places.
SET_TOP, SET_BOTTOM, SET_COLOUR, SET_SIZE = "SW-LWT", "SP-LWT", "GRY", "M"
SET_CODE = f"SET-LWT-{SET_COLOUR}-{SET_SIZE}"

# The best seller: Shibuya keeps more of it for walk-ins, Rakuten ring-fences some for a sale.
BEST_SELLER = "TS-ORG-BLK-M"

CHANNELS = (
    CreateChannel("amazon", "Amazon.co.jp", "amazon", locations=("AMAZON-FC", "DC-CHIBA")),
    CreateChannel("rakuten", "楽天市場店 (Rakuten Ichiba)", "rakuten", locations=("DC-CHIBA",)),
    # Our own site ships from the stores too, and is pushed to every minute.
    CreateChannel(
        "storefront",
        "公式オンラインストア (own storefront)",
        "storefront",
        locations=("DC-CHIBA", "STORE-TOKYO", "STORE-OSAKA"),
        auto_buffer=True,
        push_latency_seconds=60,
    ),
)

# Walk-in customers: each store keeps 2 of every SKU, Shibuya 3 of the best seller.
DEFAULT_SAFETY_STOCK = {"STORE-TOKYO": 2, "STORE-OSAKA": 2}
SAFETY_STOCK = {(BEST_SELLER, "STORE-TOKYO"): 3}


@dataclass(frozen=True, slots=True)
class ChannelRulePlan:
    """The demo's rules of one channel; a key None is the channel's default."""

    exclusions: tuple[Exclusion, ...] = ()
    pools: Mapping[str, int] = field(default_factory=dict)
    buffers: Mapping[tuple[str, str | None], int] = field(default_factory=dict)  # (scope, key)
    shares: Mapping[str | None, float] = field(default_factory=dict)
    caps: Mapping[str | None, int] = field(default_factory=dict)


def _style_excluded(style: str) -> Exclusion:
    return Exclusion.of("attribute", attribute="style", value=style)


RULES = {
    "amazon": ChannelRulePlan(
        exclusions=tuple(_style_excluded(s.code) for s in STYLES if not s.on_amazon),
        # Amazon counts a cancelled order against the seller: hold units back, more of the
        # tops that sell fastest.
        buffers={("default", None): 1, ("category", "tops"): 3},
        # A rush on Amazon must not take the DC stock the other channels need.
        caps={None: 30},
    ),
    "rakuten": ChannelRulePlan(
        exclusions=(_style_excluded("JK-CVR"),),  # the coverall is a storefront exclusive
        pools={BEST_SELLER: 10},  # ring-fenced for a 楽天スーパーSALE
        buffers={("default", None): 2},
        # The rest of the shared DC stock covers what the others sell between two pushes.
        shares={None: 80.0},
    ),
    "storefront": ChannelRulePlan(),  # the auto buffer only
}

# What `oms demo seed` prints: a best seller, denim, a shirt Amazon does not list, a storefront
# exclusive and the set.
SAMPLE_SKUS = (BEST_SELLER, "DN-SEL-IND-M", "SH-OXF-WHT-M", "JK-CVR-IND-M", SET_CODE)


def sku_code(style: str, colour: str, size: str) -> str:
    return f"{style}-{colour}-{size}"


def jan(item: int) -> str:
    body = f"{JAN_COMPANY_PREFIX}{item:05d}"
    return body + str(gtin_check_digit(body))


def catalogue() -> list[CreateSku]:
    """Every style x colour x size, then the set. JAN item numbers follow this order."""
    skus: list[CreateSku] = []
    for style in STYLES:
        for colour in style.colours:
            colour_ja, colour_en = COLOURS[colour]
            for size in SIZES:
                skus.append(
                    CreateSku(
                        code=sku_code(style.code, colour, size),
                        name=f"{style.name} {colour_ja} {size}",
                        barcode=jan(len(skus) + 1),
                        attributes={
                            "style": style.code,
                            "colour": colour_en,
                            "size": size,
                            "category": style.category,
                            "name_en": f"{style.name_en}, {colour_en.lower()}, {size}",
                        },
                    )
                )
    colour_ja, colour_en = COLOURS[SET_COLOUR]
    skus.append(
        CreateSku(
            code=SET_CODE,
            name=f"吊り編みスウェット セットアップ {colour_ja} {SET_SIZE}",
            kind="bundle",
            barcode=jan(len(skus) + 1),
            attributes={
                "style": "SET-LWT",
                "colour": colour_en,
                "size": SET_SIZE,
                "category": "set",
                "name_en": f"Loopwheel sweat set-up, {colour_en.lower()}, {SET_SIZE}",
            },
            components=[
                (sku_code(SET_TOP, SET_COLOUR, SET_SIZE), 1),
                (sku_code(SET_BOTTOM, SET_COLOUR, SET_SIZE), 1),
            ],
            ship_together=False,
        )
    )
    return skus


def receipts() -> list[RecordMovement]:
    """Opening stock: most at the DC, some in stores, the factory's own styles, an FBA subset."""
    rng = random.Random(SEED)  # noqa: S311  (demo data, not secrets)
    movements: list[RecordMovement] = []
    for style, colour, size in _variants():
        code = sku_code(style.code, colour, size)
        curve = SIZE_CURVE[size]
        plan = {"DC-CHIBA": round(style.depth * curve * rng.uniform(0.6, 1.4))}
        for store in ("STORE-TOKYO", "STORE-OSAKA"):
            # Stores carry the core sizes; the extremes only sometimes.
            if size in ("S", "M", "L") or rng.random() < 0.35:
                plan[store] = rng.randint(1, 6)
        if style.made_in_okayama and rng.random() < 0.6:
            plan["FACTORY-OKAYAMA"] = rng.randint(5, 25)
        if style.on_amazon and colour in style.colours[:3] and size in ("S", "M", "L", "XL"):
            plan["AMAZON-FC"] = rng.randint(4, 20)
        movements.extend(
            RecordMovement(
                type="receipt",
                sku=code,
                location=location,
                quantity=quantity,
                idempotency_key=f"demo:receipt:{code}:{location}",
                reference=REFERENCE,
                actor=ACTOR,
            )
            for location, quantity in plan.items()
            if quantity > 0
        )
    return movements


def _variants() -> Iterator[tuple[Style, str, str]]:
    for style in STYLES:
        for colour in style.colours:
            for size in SIZES:
                yield style, colour, size


# How the demo ships: the DC first, the stores when only they have it (and at most 20 parcels a
# day each, so their staff still serve walk-ins); the storefront splits at most in two.
LOCATION_SHIPPING = (
    ("DC-CHIBA", 10, None),
    ("STORE-TOKYO", 50, 20),
    ("STORE-OSAKA", 50, 20),
    ("AMAZON-FC", 20, None),
)
SOURCING_PROFILES = {
    "storefront": {"max_shipments": 2, "min_shipment_value": 1000},
    "rakuten": {"max_shipments": 1},
    "amazon": {"max_shipments": 2},
}
