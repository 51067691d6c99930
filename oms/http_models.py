"""Pydantic building blocks shared by every context's request schemas (the HTTP edge).

One type per kind of value, so each rule is written once and shows in the OpenAPI: strict
integers with bounds, text without control characters, instants with a time zone and a range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from oms.shared.bounds import (
    CLOCK_SKEW,
    EARLIEST,
    MULTI_LINE_PATTERN,
    PROMISE_HORIZON,
    SINGLE_LINE_PATTERN,
    control_character,
    instant_problem,
)
from oms.shared.clock import utcnow

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"  # oms.inventory.domain, oms.channels.rules


def _exact_int(value: Any) -> Any:
    # Litestar validates bodies with `strict=False`, which would switch off pydantic's
    # StrictInt: 5.0, "5" and true are refused here instead. bool is a subclass of int.
    # None passes through so that nullable fields (`int | None`) still accept null.
    if value is not None and type(value) is not int:
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _exact_number(value: Any) -> Any:
    if value is not None and (type(value) not in (int, float) or not math.isfinite(value)):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


def _exact_bool(value: Any) -> Any:
    if value is not None and type(value) is not bool:
        raise PydanticCustomError("bool_type", "Input should be a valid boolean")
    return value


def _instant_text(value: Any) -> Any:
    # Without this, pydantic (lax) reads a JSON number as seconds since 1970: `"shipped_at": 0`
    # was stored as 1970-01-01. An instant is an ISO 8601 string with an offset.
    if value is not None and not isinstance(value, str | datetime):
        raise PydanticCustomError(
            "datetime_type", "Input should be an ISO 8601 date-time string with a time zone"
        )
    return value


def _within(latest: timedelta) -> Any:
    def check(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        problem = instant_problem(value, now=utcnow(), latest=latest)
        if problem is not None:
            raise PydanticCustomError("datetime_range", problem)
        return value

    return check


StrictInt = Annotated[int, BeforeValidator(_exact_int)]
StrictNumber = Annotated[float, BeforeValidator(_exact_number)]
StrictBool = Annotated[bool, BeforeValidator(_exact_bool)]

# Text: every string of a request body is checked by `RequestBody`; these say it in the OpenAPI.
Line = Annotated[str, Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN})]
Text = Annotated[str, Field(json_schema_extra={"pattern": MULTI_LINE_PATTERN})]
Code = Annotated[
    str, Field(min_length=1, max_length=64, json_schema_extra={"pattern": CODE_PATTERN})
]

# Instants. `Happened`: something that took place (an order placed, a parcel shipped), from
# 2000-01-01 to now plus a little clock skew. `Promised`: a date ahead, up to a year away.
_INSTANT_FORMAT = "ISO 8601 with a time zone offset, from {earliest} to {latest}"
Happened = Annotated[
    AwareDatetime,
    BeforeValidator(_instant_text),
    AfterValidator(_within(CLOCK_SKEW)),
    Field(
        description=_INSTANT_FORMAT.format(
            earliest=f"{EARLIEST:%Y-%m-%d}", latest=f"now (+{CLOCK_SKEW} clock skew)"
        )
    ),
]
Promised = Annotated[
    AwareDatetime,
    BeforeValidator(_instant_text),
    AfterValidator(_within(PROMISE_HORIZON)),
    Field(
        description=_INSTANT_FORMAT.format(
            earliest=f"{EARLIEST:%Y-%m-%d}", latest=f"{PROMISE_HORIZON.days} days from now"
        )
    ),
]


def _first_control(value: Any, multi_line: bool) -> str | None:
    """The first forbidden control character in `value`, looking into lists and objects."""
    if isinstance(value, str):
        return control_character(value, multi_line=multi_line)
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _first_control(key, False) or _first_control(item, multi_line)
            if found:
                return found
    if isinstance(value, list | tuple):
        for item in value:
            found = _first_control(item, multi_line)
            if found:
                return found
    return None


class RequestBody(BaseModel):
    """Unknown fields are refused and strings stripped.

    No string anywhere in a body (JSON objects such as `attributes` included) may hold a
    control character: PostgreSQL cannot store NUL, and the others break CSV exports, printed
    slips and channel feeds. Fields named in `multi_line_fields` may hold tab and line breaks.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    multi_line_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields of a partial update: left out, they keep their value; null is refused.
    not_null_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        # Validators run only on the fields that were sent, so an explicit null is caught here.
        if value is None and info.field_name in cls.not_null_fields:
            raise PydanticCustomError(
                "not_null", "must not be null (leave the field out to keep it)"
            )
        if isinstance(value, BaseModel):  # a nested body checks its own fields
            return value
        found = _first_control(value, info.field_name in cls.multi_line_fields)
        if found:
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters, found {character}",
                {"character": found},
            )
        return value
