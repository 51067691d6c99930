"""Why items come back (our normalised reasons) and what a channel's return policy approves.

A channel's request keeps the channel's own reason code verbatim (`channel_reason`) beside one
of these normalised reasons, so reports compare channels on one list. A policy approves a
channel's request without a person when it is in the window and every line's reason is one the
policy takes; anything else waits for customer service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from oms.shared.errors import InvalidInput

MAX_WINDOW_DAYS = 3650


class ReturnReason(StrEnum):
    DEFECTIVE = "defective"
    DAMAGED = "damaged"  # arrived damaged
    WRONG_ITEM = "wrong_item"  # we sent the wrong thing
    MISSING_PARTS = "missing_parts"
    NOT_AS_DESCRIBED = "not_as_described"
    SIZE_FIT = "size_fit"
    CHANGED_MIND = "changed_mind"
    ARRIVED_LATE = "arrived_late"
    UNEXPECTED = "unexpected"  # a parcel that came with no request
    OTHER = "other"


def parse_reason(value: str, field_name: str) -> ReturnReason:
    try:
        return ReturnReason(value.strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in ReturnReason)
        raise InvalidInput(f"reason_code must be one of {known}", field=field_name) from None


@dataclass(frozen=True, slots=True)
class ReturnPolicy:
    channel: str
    window_days: int
    reasons: frozenset[ReturnReason]
    auto_approve: bool = True
    exchange_channel: str | None = None  # where exchanges and replacements are placed

    def __post_init__(self) -> None:
        if isinstance(self.window_days, bool) or not 0 <= self.window_days <= MAX_WINDOW_DAYS:
            raise InvalidInput(
                f"window_days must be between 0 and {MAX_WINDOW_DAYS}", field="window_days"
            )

    def approves(
        self, shipped_at: datetime | None, asked_at: datetime, reasons: Iterable[ReturnReason]
    ) -> bool:
        """In the window (counted from the last shipment of the order) with reasons it takes."""
        if not self.auto_approve or shipped_at is None:
            return False
        if asked_at - shipped_at > timedelta(days=self.window_days):
            return False
        return all(reason in self.reasons for reason in reasons)
