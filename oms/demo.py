"""A demo catalogue: a Japanese apparel D2C brand with stores, a DC, a factory and Amazon FBA.

Deterministic (a seeded random number generator) and idempotent: existing locations and SKUs
are kept, and every receipt has a fixed idempotency key, so seeding twice changes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from oms.inventory.domain import gtin_check_digit
from oms.inventory.services import (
    CreateLocation,
    CreateSku,
    InventoryService,
    RecordMovement,
)

SEED = 20240401
JAN_COMPANY_PREFIX = "4599871"  # "45" (GS1 Japan) + a made-up company code
REFERENCE = "demo seed"

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


@dataclass(frozen=True, slots=True)
class DemoSummary:
    locations_created: int
    locations_existing: int
    skus_created: int
    skus_existing: int
    receipts_applied: int
    receipts_already_applied: int
    units_received: int


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
                actor="oms demo seed",
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


def seed_demo(service: InventoryService) -> DemoSummary:
    """Load the demo catalogue and its opening stock; run again, it changes nothing."""
    existing_locations = _location_codes(service)
    new_locations = [c for c in LOCATIONS if c.code not in existing_locations]
    for location in new_locations:
        service.create_location(location)
    existing_skus = _sku_codes(service)
    skus = catalogue()
    new_skus = [c for c in skus if c.code not in existing_skus]
    for sku in new_skus:
        service.create_sku(sku)
    plan = receipts()
    results = service.record_movements(plan)  # one transaction: all the opening stock or none
    replayed = sum(1 for r in results if r.replayed)
    units = sum(cmd.quantity for cmd, r in zip(plan, results, strict=True) if not r.replayed)
    return DemoSummary(
        locations_created=len(new_locations),
        locations_existing=len(LOCATIONS) - len(new_locations),
        skus_created=len(new_skus),
        skus_existing=len(skus) - len(new_skus),
        receipts_applied=len(results) - replayed,
        receipts_already_applied=replayed,
        units_received=units,
    )


def _location_codes(service: InventoryService) -> set[str]:
    codes: set[str] = set()
    cursor: str | None = None
    while True:
        page = service.list_locations(cursor=cursor, limit=500)
        codes.update(location.code for location in page.items)
        if (cursor := page.next_cursor) is None:
            return codes


def _sku_codes(service: InventoryService) -> set[str]:
    codes: set[str] = set()
    cursor: str | None = None
    while True:
        page = service.list_skus(cursor=cursor, limit=500)
        codes.update(sku.code for sku in page.items)
        if (cursor := page.next_cursor) is None:
            return codes
