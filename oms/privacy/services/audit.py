"""The audit log of personal data read by people: written by every route that shows it (the
`PersonalDataAudit` port of oms.shared), read by admins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from oms.privacy.domain import AuditEntry
from oms.privacy.ports import PrivacyStore, PrivacyUnitOfWork
from oms.shared.bounds import parse_id
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput
from oms.shared.personal_data import PersonalDataRead, Reader
from oms.sqlite import writing

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEntry]
    next_cursor: str | None


class AuditService:
    def __init__(
        self,
        uow: Callable[[], PrivacyUnitOfWork],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._clock = clock

    def record_reads(self, reader: Reader, purpose: str, reads: Sequence[PersonalDataRead]) -> None:
        """One row per record shown. An anonymised order shows placeholders, no personal
        data: its reads are not recorded. Called from GET handlers, which read under
        `reading()`: this transaction writes all the same."""
        shown = [r for r in reads if r.fields]
        if not shown:
            return
        with writing(), self._uow() as uow:
            gone = uow.privacy.anonymised_among(
                sorted({r.order_id for r in shown if r.order_id is not None})
            )
            kept = [r for r in shown if r.order_id not in gone]
            uow.privacy.add_reads(reader, purpose, kept, self._clock())
            uow.commit()

    def record_reads_within(
        self, transaction: object, reader: Reader, purpose: str, reads: Sequence[PersonalDataRead]
    ) -> None:
        """In the caller's transaction: an order placed through the API is shown in the
        response of the transaction that wrote it (one commit, not two)."""
        store = getattr(transaction, "privacy", None)
        if store is None:
            raise TypeError(f"not a unit of work with the privacy store: {transaction!r}")
        shown = [r for r in reads if r.fields]
        if shown:
            cast(PrivacyStore, store).add_reads(reader, purpose, shown, self._clock())

    def reads(
        self,
        *,
        order_id: int | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> AuditPage:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        since, until = _utc(since, "since"), _utc(until, "until")
        if since is not None and until is not None and until <= since:
            raise InvalidInput("until must be after since", field="until")
        after = parse_id(cursor, "cursor") or 0
        with self._uow() as uow:
            items = uow.privacy.reads_page(order_id, actor, since, until, after, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return AuditPage(items, str(items[-1].id) if more and items else None)


def _utc(value: datetime | None, field: str) -> datetime | None:
    """A time without an offset is UTC (as the query parameters say). One that UTC cannot
    hold (year 1 at +09:00 is year 0 in UTC) is bad input, never a server error."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{field} is out of range", field=field) from None
