"""The README's worked example of channel availability, number by number, on both databases.

The example is the demo data (`oms demo seed`). Every number is read from README.md and
compared with the explain trace, the demo's rules or the stock, so the two cannot drift: a
README edit that changes a number fails here until the pipeline agrees, and a pipeline change
fails until the README does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from oms.channels.availability.api.availability_schemas import AvailabilityExplanationResponse
from oms.channels.availability.domain.explain import LocationTrace, TraceStep
from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_session_factory
from oms.demo.brand import (
    BEST_SELLER,
    DEFAULT_SAFETY_STOCK,
    RULES,
    SAFETY_STOCK,
    SET_CODE,
    sku_code,
)
from oms.demo.seed import seed_demo
from oms.inventory.services import InventoryService
from oms.settings import PROJECT_ROOT
from oms.uow import SqlUnitOfWork

README = PROJECT_ROOT / "README.md"
FC, DC, OSAKA, TOKYO = "AMAZON-FC", "DC-CHIBA", "STORE-OSAKA", "STORE-TOKYO"
TOP, BOTTOM = sku_code("SW-LWT", "GRY", "M"), sku_code("SP-LWT", "GRY", "M")
STEPS = ["physical", "safety_stock", "exclusions", "pools", "buffer", "share", "cap", "publish"]


# --------------------------------------------------------------------------- the README


def section(heading: str) -> list[str]:
    """The lines under `heading` up to the next heading; `#` inside code blocks is no heading."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(heading) + 1
    level = heading.split(" ")[0]
    found: list[str] = []
    fenced = False
    for line in lines[start:]:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#") and len(line.split(" ")[0]) <= len(level):
            break
        found.append(line)
    return found


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


@dataclass(frozen=True, slots=True)
class WorkedExample:
    intro: str  # the paragraph before the table
    table: dict[str, dict[str, str]]  # step -> channel -> cell
    bundle: str  # the paragraph after the table


def worked_example() -> WorkedExample:
    lines = section("#### Worked example")
    rows = [line for line in lines if line.startswith("|")]
    table_at = lines.index(rows[0])
    intro = " ".join(lines[:table_at])
    bundle = " ".join(lines[table_at + len(rows) :])

    def cells(row: str) -> list[str]:
        return [cell.strip() for cell in row.strip("|").split("|")]

    channels = [header.split(" ")[0] for header in cells(rows[0])[1:]]
    table = {
        cells(row)[0].strip("`"): dict(zip(channels, cells(row)[1:], strict=True))
        for row in rows[2:]
    }
    return WorkedExample(intro, table, bundle)


# --------------------------------------------------------------------------- the demo


@pytest.fixture
def availability(engine: Engine, inventory: InventoryService) -> ChannelAvailabilityService:
    factory = make_session_factory(engine)
    channels = ChannelService(lambda: SqlUnitOfWork(factory), inventory)
    found = ChannelAvailabilityService(lambda: SqlUnitOfWork(factory), inventory)
    seed_demo(inventory, channels, found)
    return found


def trace(availability: ChannelAvailabilityService, channel: str, sku: str) -> dict[str, TraceStep]:
    return {step.name: step for step in availability.explain(channel, sku).availability.trace}


def at(step: TraceStep, location: str) -> LocationTrace:
    [row] = [row for row in step.locations if row.location == location]
    return row


# --------------------------------------------------------------------------- the tests


def test_every_number_of_the_readme_example_is_the_demos_stock_rule_or_trace(
    availability: ChannelAvailabilityService, inventory: InventoryService
) -> None:
    example = worked_example()
    table = example.table
    stock = {
        level.location: level.available for level in inventory.sku_stock(BEST_SELLER).locations
    }
    pool = RULES["rakuten"].pools[BEST_SELLER]
    osaka_safety, tokyo_safety = DEFAULT_SAFETY_STOCK[OSAKA], SAFETY_STOCK[(BEST_SELLER, TOKYO)]
    assert DEFAULT_SAFETY_STOCK[OSAKA] == DEFAULT_SAFETY_STOCK[TOKYO]  # "2 at each store"
    assert numbers(example.intro) == [
        *(stock[location] for location in (FC, DC, OSAKA, TOKYO)),
        osaka_safety,
        tokyo_safety,
        pool,
        RULES["amazon"].buffers[("category", "tops")],
        RULES["amazon"].buffers[("default", None)],
        RULES["amazon"].caps[None],
        RULES["rakuten"].buffers[("default", None)],
        RULES["rakuten"].shares[None],
        0,  # the storefront's auto buffer: sales velocity is not tracked yet
    ]
    # One row per step of the trace, in its order; each cell ends with the step's output.
    assert list(table) == STEPS

    a = trace(availability, "amazon", BEST_SELLER)
    assert list(a) == STEPS
    assert [row.rule for row in a["safety_stock"].locations] == ["no safety stock"] * 2
    assert [row.rule for row in a["exclusions"].locations] == ["not excluded"] * 2
    assert at(a["pools"], DC).rule == f"{pool} ring-fenced for other channels"
    assert a["buffer"].rule.startswith(f"buffer {RULES['amazon'].buffers[('category', 'tops')]} ")
    assert a["cap"].rule == f"cap {RULES['amazon'].caps[None]}"
    assert {name: numbers(cell["amazon"]) for name, cell in table.items()} == {
        "physical": [
            at(a["physical"], FC).input,
            at(a["physical"], DC).input,
            a["physical"].output,
        ],
        "safety_stock": [a["safety_stock"].output],
        "exclusions": [a["exclusions"].output],
        "pools": [at(a["pools"], FC).output, at(a["pools"], DC).input, pool, a["pools"].output],
        "buffer": [a["buffer"].input, a["buffer"].input - a["buffer"].output, a["buffer"].output],
        "share": [a["share"].output],
        "cap": [a["cap"].input, RULES["amazon"].caps[None], a["cap"].output],
        "publish": [a["publish"].output],
    }

    found = availability.explain("rakuten", BEST_SELLER).availability
    r = {step.name: step for step in found.trace}
    assert list(r) == STEPS
    buffer = RULES["rakuten"].buffers[("default", None)]
    percent = int(RULES["rakuten"].shares[None])
    assert (found.pooled, found.shared) == (pool, at(r["pools"], DC).input - pool)
    assert r["buffer"].rule.endswith(f"the pool of {pool} is exempt")
    assert r["share"].rule == f"share {percent}% of {found.shared - buffer}, rounded down"
    assert {name: numbers(cell["rakuten"]) for name, cell in table.items()} == {
        "physical": [r["physical"].output],
        "safety_stock": [r["safety_stock"].output],
        "exclusions": [r["exclusions"].output],
        "pools": [found.pooled, found.shared, r["pools"].output],
        "buffer": [found.pooled, found.shared, buffer, r["buffer"].output],
        "share": [
            found.pooled,
            found.shared - buffer,
            percent,
            found.pooled,
            r["share"].output - found.pooled,
            r["share"].output,
        ],
        "cap": [r["cap"].output],
        "publish": [r["publish"].output],
    }

    s = trace(availability, "storefront", BEST_SELLER)
    assert list(s) == STEPS
    assert at(s["safety_stock"], OSAKA).rule == f"safety stock {osaka_safety}"  # the default
    assert at(s["safety_stock"], TOKYO).rule == f"safety stock {tokyo_safety}"  # its own
    assert at(s["pools"], DC).rule == f"{pool} ring-fenced for other channels"
    assert s["buffer"].rule.startswith("buffer 0 + auto 0 ")
    assert {name: numbers(cell["storefront"]) for name, cell in table.items()} == {
        "physical": [
            *(at(s["physical"], loc).input for loc in (DC, OSAKA, TOKYO)),
            s["physical"].output,
        ],
        "safety_stock": [
            at(s["safety_stock"], DC).output,
            at(s["safety_stock"], OSAKA).input,
            osaka_safety,
            at(s["safety_stock"], TOKYO).input,
            tokyo_safety,
            s["safety_stock"].output,
        ],
        "exclusions": [s["exclusions"].output],
        "pools": [
            at(s["pools"], DC).input,
            pool,
            at(s["pools"], OSAKA).output,
            at(s["pools"], TOKYO).output,
            s["pools"].output,
        ],
        "buffer": [s["buffer"].input, 0, 0, s["buffer"].output],
        "share": [s["share"].output],
        "cap": [s["cap"].output],
        "publish": [s["publish"].output],
    }


def test_the_readme_bundle_line_is_what_each_channel_is_told_for_the_set(
    availability: ChannelAvailabilityService,
) -> None:
    line = worked_example().bundle
    a, r, s = (trace(availability, channel, SET_CODE) for channel in RULES)
    top, bottom = f"component {TOP}", f"component {BOTTOM}"
    amazon_part, rakuten_part, storefront_part = re.split(r"; (?=rakuten |storefront )", line)

    assert [int(n) for n in re.findall(r"\*\*(\d+)\*\*", line)] == [
        a["publish"].output,
        r["publish"].output,
        s["publish"].output,
    ]
    assert at(a[bottom], DC).rule == "style=SP-LWT excluded from amazon"
    assert numbers(amazon_part) == [a["publish"].output]
    assert numbers(rakuten_part) == [
        r[top].output,
        r[bottom].output,
        r["bundle"].output,
        RULES["rakuten"].buffers[("default", None)],
        r["buffer"].output,
        r["share"].input,
        int(RULES["rakuten"].shares[None]),
        r["publish"].output,
    ]
    assert numbers(storefront_part) == [
        *(at(s[top], loc).output for loc in (DC, OSAKA, TOKYO)),
        *(at(s[bottom], loc).output for loc in (DC, OSAKA, TOKYO)),
        s[top].output,
        s[bottom].output,
        s["bundle"].output,
        s["buffer"].input - s["buffer"].output,
    ]


def test_the_readme_curl_example_shows_the_demos_numbers_and_summary(
    availability: ChannelAvailabilityService,
) -> None:
    text = "\n".join(section("### Channel availability (what each channel is told)"))
    stated = dict(re.findall(r'\{"sku": "([^"]+)", "available": (\d+)\}', text))
    comment = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    [summary] = re.findall(r'"summary": "([^"]+)"', comment)

    found = availability.channel_availability("rakuten", list(stated))
    explained = AvailabilityExplanationResponse.of(availability.explain("rakuten", BEST_SELLER))

    assert {x.availability.sku: str(x.availability.available) for x in found} == stated
    assert list(stated) == [BEST_SELLER, SET_CODE]
    assert summary == explained.summary
