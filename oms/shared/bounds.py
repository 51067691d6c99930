"""What the databases can hold, stated once: ids, cursors, instants and text.

Every input is checked against these before it reaches SQL, so a value the database cannot
store is a 422 that names the field, never a driver error (a 500). The HTTP edge states the
same bounds in the OpenAPI; the services check them again for the CLI and the workers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from oms.shared.errors import InvalidInput

# Ids of the ledger, reservations, transfers, orders and shipments are BIGINT; locations, SKUs,
# channels and exclusions are INTEGER (PostgreSQL's 32 bits).
MAX_ID = 2**63 - 1
MAX_SMALL_ID = 2**31 - 1

# Nothing the business records happened before this; PostgreSQL and Python both hold it, in
# every time zone (year 1 at +09:00 is year 0 in UTC, which Python cannot represent).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# A record of something that happened (an order placed, a parcel shipped) may come from a
# clock a little ahead of ours, never from the future.
CLOCK_SKEW = timedelta(minutes=5)
# How far ahead a promise (a delivery date) may reach.
PROMISE_HORIZON = timedelta(days=366)

# C0 control characters and DEL. PostgreSQL cannot store NUL in text or JSON at all; the
# others corrupt CSV exports, printed slips and channel feeds. Multi-line text keeps tab, LF, CR.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# JSON Schema patterns that say the same, for the OpenAPI (ECMA-262 syntax).
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f]*$"
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"


def control_character(text: str, *, multi_line: bool = False) -> str | None:
    """The first control character `text` may not hold, as `U+0000`, or None."""
    found = (_CONTROL_IN_TEXT if multi_line else _CONTROL).search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def check_text(text: str, field: str, *, multi_line: bool = False) -> str:
    bad = control_character(text, multi_line=multi_line)
    if bad is not None:
        raise InvalidInput(f"{field} must not contain control characters, found {bad}", field=field)
    return text


def bounded_text(text: object, field: str, max_length: int, *, multi_line: bool = False) -> str:
    """Text from a person or a channel: a string, at most `max_length` characters, without
    control characters (line breaks only where `multi_line`)."""
    if not isinstance(text, str):
        raise InvalidInput(f"{field} must be text", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{field} must be at most {max_length} characters", field=field)
    return check_text(text, field, multi_line=multi_line)


def parse_id(text: str | None, field: str, *, upper: int = MAX_ID) -> int | None:
    """A numeric cursor or id as the API handed it out: ASCII digits, 1 to `upper`.

    `str.isdigit` also accepts '²' and Arabic-Indic digits, which `int()` then refuses or reads
    as another number: only ASCII digits are ids.
    """
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= upper:
        raise InvalidInput(f"{field} is not one this API returned", field=field)
    return int(text)


def instant_problem(
    moment: datetime, *, now: datetime, latest: timedelta = CLOCK_SKEW
) -> str | None:
    """Why `moment` is not an aware instant from `EARLIEST` to `now + latest`, or None."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return "needs a time zone offset (e.g. +09:00 or Z)"
    if moment < EARLIEST or moment > now + latest:
        return f"must be from {EARLIEST:%Y-%m-%d} to {_horizon(latest)}, got {moment.isoformat()}"
    return None


def check_instant(
    moment: datetime, field: str, *, now: datetime, latest: timedelta = CLOCK_SKEW
) -> datetime:
    problem = instant_problem(moment, now=now, latest=latest)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}", field=field)
    return moment


def _horizon(latest: timedelta) -> str:
    if latest <= CLOCK_SKEW:
        return "now"
    return f"{latest.days} days from now"
