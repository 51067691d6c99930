"""When a unit is offered: `public_from` for everyone (and the marketplaces), earlier for the
customer segments with early access (reference §1.8, §4.3)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from oms.resale.domain.unit import EarlyAccess
from oms.shared.errors import InvalidInput

MAX_SEGMENTS = 20
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


def validate_segment(value: object, field_name: str = "segment") -> str:
    if not isinstance(value, str) or not _SEGMENT_RE.match(value):
        raise InvalidInput(
            f"{field_name} must be 1-64 letters, digits, '.', '_' or '-', got {value!r}",
            field=field_name,
        )
    return value


def _aware(value: object, field_name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{field_name} must be a time with its UTC offset", field=field_name)
    return value


def validate_listing(
    public_from: object, early: Sequence[tuple[object, object]]
) -> tuple[datetime, list[EarlyAccess]]:
    """`public_from` and the early-access windows: each segment once, each before the
    public time (a window after it would give nothing)."""
    public = _aware(public_from, "public_from")
    if len(early) > MAX_SEGMENTS:
        raise InvalidInput(f"at most {MAX_SEGMENTS} segments", field="early_access")
    seen: set[str] = set()
    windows: list[EarlyAccess] = []
    for i, (segment, visible_from) in enumerate(early):
        name = validate_segment(segment, f"early_access[{i}].segment")
        if name in seen:
            raise InvalidInput(f"segment {name} is listed twice", field=f"early_access[{i}]")
        seen.add(name)
        start = _aware(visible_from, f"early_access[{i}].visible_from")
        if start >= public:
            raise InvalidInput(
                "early access must start before public_from",
                field=f"early_access[{i}].visible_from",
            )
        windows.append(EarlyAccess(name, start))
    return public, windows
