"""How the sync stands, per channel, and the failures a person can see and retry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from oms.channels.sync.domain.model import ChannelKind
from oms.channels.sync.ports import SyncFailure, SyncUnitOfWork
from oms.channels.sync.services.confirm import ConfirmService
from oms.channels.sync.services.pull import PullService
from oms.channels.sync.services.push import PushService
from oms.shared.bounds import parse_id
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, InvalidInput, NotFound

MAX_PAGE = 500
OPERATIONS = ("push", "pull", "confirm")


@dataclass(frozen=True, slots=True)
class CallUsage:
    """Calls made in the limiter's current window of one operation, of what it allows."""

    operation: str
    used: int
    allowed: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class ChannelSyncStatus:
    channel: str
    kind: str
    active: bool
    connected: bool
    push: bool
    pull_orders: bool
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_reconcile_at: datetime | None
    queue_depth: int  # changes not pushed yet
    lag_seconds: float  # age of the oldest change not pushed yet (0 when none waits)
    pushed: int
    pulled: int
    throttled: int
    failures: int  # open ones
    latency_p95_seconds: int | None
    last_error: str | None
    calls: tuple[CallUsage, ...]


Usage = Callable[[str, ChannelKind], list[CallUsage]]


class SyncStatusService:
    def __init__(
        self,
        uow: Callable[[], SyncUnitOfWork],
        push: PushService,
        pull: PullService,
        confirm: ConfirmService,
        *,
        usage: Usage | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._push = push
        self._pull = pull
        self._confirm = confirm
        self._usage = usage
        self._clock = clock

    def status(self, channel: str | None = None) -> list[ChannelSyncStatus]:
        with self._uow() as uow:
            if channel is not None:
                found = uow.channels.channel_by_code(channel)
                if found is None:
                    raise NotFound(f"no channel {channel!r}", field="channel")
                known = [found]
            else:
                known = uow.channels.list_channels(0, 10_000)
            connections = {c.channel: c for c in uow.sync.connected_channels()}
            states = {c.code: uow.sync.sync_state(c.code) for c in known}
            failures: Mapping[str, int] = uow.sync.open_failure_counts()
            uow.commit()
        now = self._clock()
        shown = []
        for c in known:
            state = states[c.code]
            stored = connections.get(c.code)
            depth, oldest = self._push.pending(c.code)
            shown.append(
                ChannelSyncStatus(
                    channel=c.code,
                    kind=c.kind.value,
                    active=c.active,
                    connected=stored is not None,
                    push=bool(stored and stored.push),
                    pull_orders=bool(stored and stored.pull_orders),
                    last_push_at=state.last_push_at,
                    last_pull_at=state.last_pull_at,
                    last_reconcile_at=state.last_reconcile_at,
                    queue_depth=depth,
                    lag_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
                    pushed=state.pushed,
                    pulled=state.pulled,
                    throttled=state.throttled,
                    failures=failures.get(c.code, 0),
                    latency_p95_seconds=state.latency_p95_seconds,
                    last_error=state.last_error,
                    calls=(
                        tuple(self._usage(c.code, ChannelKind(c.kind.value)))
                        if self._usage and stored
                        else ()
                    ),
                )
            )
        return shown

    # ------------------------------------------------------------------ failures

    def failures(
        self,
        channel: str | None = None,
        *,
        include_resolved: bool = False,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[SyncFailure], str | None]:
        if limit < 1 or limit > MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        after = parse_id(cursor, "cursor") or 0
        with self._uow() as uow:
            if channel is not None and uow.channels.channel_by_code(channel) is None:
                raise NotFound(f"no channel {channel!r}", field="channel")
            rows = uow.sync.failures(channel, not include_resolved, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (str(rows[-1].id) if more and rows else None)

    def failure(self, failure_id: int) -> SyncFailure:
        with self._uow() as uow:
            found = uow.sync.failure(failure_id)
        if found is None:
            raise NotFound(f"no sync failure {failure_id}", field="id")
        return found

    def retry(self, failure_id: int) -> SyncFailure:
        """Do the failed work again now; the failure is resolved when it succeeds, and stays
        open (with one more attempt and the channel's latest words) when it does not."""
        failure = self.failure(failure_id)
        if failure.resolved_at is not None:
            raise Conflict(f"sync failure {failure_id} is resolved already", field="id")
        if failure.operation == "push":
            report = self._push.push_skus(failure.channel, [failure.subject])
            if report.skipped:
                raise Conflict(f"cannot push to {failure.channel}: {report.skipped}", field="id")
        elif failure.operation == "pull":
            self._pull.retry(failure.channel, failure.subject, failure.payload)
        else:
            order_id = self._order_of_shipment(failure)
            self._confirm.confirm(order_id, int(failure.subject))
        return self.failure(failure_id)

    def _order_of_shipment(self, failure: SyncFailure) -> int:
        with self._uow() as uow:
            order_id = uow.sync.order_of_shipment(int(failure.subject))
        if order_id is None:
            raise NotFound(f"no shipment {failure.subject}", field="id")
        return order_id
