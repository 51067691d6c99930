"""Prices of resale units: the parent's base price x the grade's factor (per category), then
markdown steps by days listed down to a floor; or a price set by hand. Yen, whole numbers.

Every change of a unit's price is kept (who, when, why, how much): 景品表示法 asks a seller to
be able to substantiate any reference price, and a used unit never shows the new item's price
as a struck-through "compare at" price, so the base price is kept for the record only and no
response carries it.

Default factors (percent of the new item's base price): the reference quotes resale at the
adjusted retail price less 30-70 % by condition and Amazon's Grade and Resell as a percentage
per condition; these are a starting point each category overrides. Default markdowns are the
reference's goodbuygear schedule, 15 % off at 30, 60 and 90 days listed, never below half the
starting price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from oms.resale.domain.grades import Grade, parse_grade
from oms.shared.errors import InvalidInput

MAX_PRICE = 100_000_000  # yen; a unit above a hundred million is a typo
MAX_STEPS = 12
MAX_DAYS = 3650
MAX_REASON = 200
# The category whose grade factors every category without its own uses.
DEFAULT_CATEGORY = "*"

DEFAULT_FACTORS: dict[Grade, int] = {
    Grade.N: 100,
    Grade.U: 85,
    Grade.A: 70,
    Grade.B: 55,
    Grade.C: 40,
    Grade.D: 25,
    Grade.J: 0,
}


class PricingMode(StrEnum):
    SCHEDULE = "schedule"  # base x factor, marked down by days listed
    MANUAL = "manual"  # a person's price; no markdown moves it


class BaseSource(StrEnum):
    CATALOGUE = "catalogue"  # the parent SKU's `price` attribute
    ORDER_LINE = "order_line"  # what the original buyer paid per unit


@dataclass(frozen=True, slots=True)
class MarkdownStep:
    days: int  # days listed
    percent_off: int  # off the starting price, not compounded


DEFAULT_STEPS = (MarkdownStep(30, 15), MarkdownStep(60, 30), MarkdownStep(90, 45))
DEFAULT_FLOOR_PERCENT = 50


@dataclass(frozen=True, slots=True)
class Schedule:
    steps: tuple[MarkdownStep, ...]
    floor: int  # yen

    def as_json(self) -> dict[str, Any]:
        return {
            "steps": [{"days": s.days, "percent_off": s.percent_off} for s in self.steps],
            "floor": self.floor,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        steps = tuple(MarkdownStep(int(s["days"]), int(s["percent_off"])) for s in data["steps"])
        return cls(steps, int(data["floor"]))


@dataclass(frozen=True, slots=True)
class PriceChange:
    price: int
    reason: str
    actor: str
    at: datetime


def _whole(value: object, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_name} must be a whole number", field=field_name)
    if not low <= value <= high:
        raise InvalidInput(
            f"{field_name} must be from {low:,} to {high:,}, got {value}", field=field_name
        )
    return value


def validate_price(value: object, field_name: str = "price") -> int:
    return _whole(value, field_name, 1, MAX_PRICE)


def validate_factors(factors: dict[str, object]) -> dict[Grade, int]:
    """Percent of the base price per grade, 0-100; J may only be 0 (it is never sold)."""
    if not isinstance(factors, dict) or not factors:
        raise InvalidInput("factors must name at least one grade", field="factors")
    parsed: dict[Grade, int] = {}
    for key, value in factors.items():
        grade = parse_grade(key, f"factors.{key}")
        parsed[grade] = _whole(value, f"factors.{key}", 0, 100)
        if grade is Grade.J and parsed[grade] != 0:
            raise InvalidInput("a J unit is never sold: its factor is 0", field="factors.J")
    return parsed


def validate_schedule(steps: list[tuple[object, object]], floor: object) -> Schedule:
    """Steps by increasing days and increasing discount; the floor a price in yen."""
    if len(steps) > MAX_STEPS:
        raise InvalidInput(f"at most {MAX_STEPS} markdown steps", field="schedule.steps")
    parsed: list[MarkdownStep] = []
    for i, (days, percent_off) in enumerate(steps):
        step = MarkdownStep(
            _whole(days, f"schedule.steps[{i}].days", 1, MAX_DAYS),
            _whole(percent_off, f"schedule.steps[{i}].percent_off", 1, 99),
        )
        if parsed and (step.days <= parsed[-1].days or step.percent_off <= parsed[-1].percent_off):
            raise InvalidInput(
                "each step must come later and take more off than the one before",
                field=f"schedule.steps[{i}]",
            )
        parsed.append(step)
    return Schedule(tuple(parsed), validate_price(floor, "schedule.floor"))


def validate_reason(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput("reason must say why the price changes", field="reason")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"reason must be at most {MAX_REASON} characters", field="reason")
    return text


def starting_price(base: int, factor_percent: int) -> int | None:
    """Base x factor, rounded down to the yen; None when nothing is left to sell for."""
    price = base * factor_percent // 100
    return price if price >= 1 else None


def default_schedule(start: int) -> Schedule:
    return Schedule(DEFAULT_STEPS, max(1, math.ceil(start * DEFAULT_FLOOR_PERCENT / 100)))


def scheduled_price(start: int, schedule: Schedule, listed_for: timedelta) -> tuple[int, str]:
    """The price after the markdown steps reached in `listed_for`, never below the floor
    (nor above the start, should the floor be set higher), and why."""
    days = listed_for.days
    reached = [s for s in schedule.steps if days >= s.days]
    if not reached:
        return start, "grade price"
    step = reached[-1]
    marked = start * (100 - step.percent_off) // 100
    floor = min(schedule.floor, start)
    if marked <= floor:
        return floor, f"markdown {step.percent_off}% at {step.days} days, held at the floor"
    return marked, f"markdown {step.percent_off}% at {step.days} days listed"


@dataclass(slots=True)
class UnitPricing:
    """A unit's price and what it came from. `base` is the new item's price: kept to explain
    the grade price, never shown as a reference price."""

    base: int | None
    base_source: BaseSource | None
    factor: int  # percent, the grade's for the unit's category when it was priced
    start: int | None  # base x factor: where the markdowns start
    mode: PricingMode
    schedule: Schedule | None
    price: int | None  # what it sells for now; None until someone can price it

    def due(self, listed_at: datetime | None, now: datetime) -> tuple[int, str] | None:
        """The scheduled price now, with why, when it differs from the current one."""
        if self.mode is not PricingMode.SCHEDULE or self.start is None or self.schedule is None:
            return None
        if listed_at is None:
            return None
        price, why = scheduled_price(self.start, self.schedule, now - listed_at)
        return (price, why) if price != self.price else None
