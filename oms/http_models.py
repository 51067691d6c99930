"""Pydantic building blocks shared by every context's request schemas (the HTTP edge)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


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


StrictInt = Annotated[int, BeforeValidator(_exact_int)]
StrictNumber = Annotated[float, BeforeValidator(_exact_number)]
StrictBool = Annotated[bool, BeforeValidator(_exact_bool)]
Code = Annotated[str, Field(min_length=1, max_length=64)]


class RequestBody(BaseModel):
    """Unknown fields are refused and strings stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
