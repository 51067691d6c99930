"""Legal holds: an order whose personal data must not be anonymised (a 古物台帳 entry, a tax
audit, a dispute). Placed and released by a person, each with a reason; both are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oms.shared.errors import InvalidInput

MAX_REASON = 1000


def hold_reason(raw: str, field: str = "reason") -> str:
    reason = raw.strip()
    if not reason:
        raise InvalidInput("a reason is required", field=field)
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"{field} must be at most {MAX_REASON} characters", field=field)
    if any(ord(c) < 32 and c not in "\n\t" for c in reason):
        raise InvalidInput(f"{field} holds control characters", field=field)
    return reason


@dataclass(frozen=True, slots=True)
class LegalHold:
    id: int
    order_id: int
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None
