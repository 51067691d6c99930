"""What a channel sync job reads: every SKU whose number changed since its cursor.

The cursor is opaque to callers. Inside it is a position (change_seq, sku id) in the order the
numbers were published; see `oms.channels.availability.repository.published_store` for why no
change can appear
behind a cursor once it has been handed out. `0` starts from the beginning: every number the
channel was ever told that is not 0 (a SKU it was never told anything about is at 0).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from oms.channels.availability.ports import ChannelUnitOfWork
from oms.shared.bounds import MAX_ID, MAX_SMALL_ID
from oms.shared.errors import InvalidInput, NotFound

MAX_CHANGES_PAGE = 1000
DEFAULT_CHANGES_PAGE = 500
_LAST_SKU_ID = 2**31 - 1
_CURSOR = re.compile(r"^(?:0|c1\.(\d{1,19})\.(\d{1,10}))$")


@dataclass(frozen=True, slots=True)
class ChangedNumber:
    sku: str
    available: int
    version: int
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ChangesPage:
    """`more`: the page was full, ask again at once with `next_cursor`."""

    channel: str
    items: list[ChangedNumber]
    next_cursor: str
    more: bool


def parse_cursor(cursor: str) -> tuple[int, int]:
    match = _CURSOR.match(cursor.strip())
    if match is None:
        raise InvalidInput(
            "changed_since must be 0 or a cursor this API returned", field="changed_since"
        )
    if match.group(1) is None:
        return (0, 0)
    # `\d` also matches other scripts' digits, and 19 digits can exceed a BIGINT: a position
    # this API never handed out is refused here, not by the database.
    change_seq, sku_id = match.group(1), match.group(2)
    if (
        not (change_seq + sku_id).isascii()
        or int(change_seq) > MAX_ID
        or int(sku_id) > MAX_SMALL_ID
    ):
        raise InvalidInput(
            "changed_since must be 0 or a cursor this API returned", field="changed_since"
        )
    return (int(change_seq), int(sku_id))


def format_cursor(position: tuple[int, int]) -> str:
    return f"c1.{position[0]}.{position[1]}"


class AvailabilityChanges:
    """Reads published numbers by change; one instance per process."""

    def __init__(self, uow: Callable[[], ChannelUnitOfWork]) -> None:
        self._uow = uow

    def changed_since(
        self, code: str, cursor: str, limit: int = DEFAULT_CHANGES_PAGE
    ) -> ChangesPage:
        if limit < 1 or limit > MAX_CHANGES_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_CHANGES_PAGE}", field="limit")
        after = parse_cursor(cursor)
        with self._uow() as uow:
            channel = uow.channels.channel_by_code(code)
            if channel is None or channel.id is None:
                raise NotFound(f"no channel {code!r}", field="code")
            rows, horizon = uow.channels.changed_since(channel.id, after, limit)
            facts = uow.inventory.sku_facts(r.sku_id for r in rows)
        items = [
            ChangedNumber(facts[r.sku_id].code, r.available, r.version, r.changed_at) for r in rows
        ]
        if len(rows) == limit:
            return ChangesPage(
                code, items, format_cursor((rows[-1].change_seq, rows[-1].sku_id)), True
            )
        # Every change below the horizon has been seen; later ones will be at or above it.
        position = max(after, (horizon - 1, _LAST_SKU_ID))
        return ChangesPage(code, items, format_cursor(position), False)
