"""Push: tell each channel the numbers that changed, coalesced, batched, within its limits.

A pass reads the channels' changes feed from the channel's cursor (one row per SKU, the
latest: k changes are one update), keeps the listed SKUs whose number the channel was not told
yet, and sends them in batches of the adapter's size. Every call waits for its turn in the
shared rate limiter inside the adapter. After each batch, in one short transaction: what the
channel accepted is recorded as told, what it refused becomes a failure a person can see and
retry. The cursor moves only when a whole page is told or parked, so a crash (or a `kill -9`)
at any point pushes the rest, and the latest number, on the next pass; what was told is not
sent again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from oms.channels.availability.services.changes import AvailabilityChanges
from oms.channels.sync.domain.errors import AuthenticationFailed, ChannelError, Throttled
from oms.channels.sync.domain.model import PushOutcome, PushStatus, QuantityUpdate
from oms.channels.sync.domain.push import LastTold, Number, batches, p95, plan_push
from oms.channels.sync.ports import ChannelGateway, Lease, Leases, SyncUnitOfWork, Told
from oms.channels.sync.services.channel_state import note_channel_error, ready_gateway
from oms.channels.sync.services.gateways import GatewayPool
from oms.shared.clock import utcnow
from oms.shared.errors import NotFound

# A pass that finds another pass of its channel running says so in `skipped`.
BUSY = "another pass of this channel is running"
PAGE = 1000  # changes read per page (the feed's maximum)
# Changes gathered (whole pages) before a pass sends them, when the channel's batch is smaller:
# only the last batch of a round may be partial. What was told is saved after every batch, so
# a crash mid-round sends nothing twice; the cursor moves after the round.
GATHER = 10 * PAGE
LEASE_SECONDS = 120.0  # a pass renews it after every batch; a dead worker's lapses


@dataclass(slots=True)
class PushReport:
    channel: str
    accepted: int = 0  # updates the channel took
    calls: int = 0  # push calls made (batches)
    unchanged: int = 0  # newer versions of what the channel already showed: no call
    rejected: int = 0  # refused per SKU: parked as failures
    to_retry: int = 0  # passing failures per SKU: the next pass sends them again
    skipped: str | None = None  # why nothing was done (not connected, push off, busy)
    latencies: list[float] = field(default_factory=list)  # change -> accepted, seconds

    @property
    def latency_p95(self) -> float | None:
        return p95(self.latencies)

    @property
    def complete(self) -> bool:
        return self.skipped is None and self.to_retry == 0


Progress = Callable[[int, int | None], None]  # (done, total or None)


class PushService:
    def __init__(
        self,
        uow: Callable[[], SyncUnitOfWork],
        changes: AvailabilityChanges,
        gateways: GatewayPool,
        leases: Leases,
        *,
        clock: Callable[[], datetime] = utcnow,
        latency_sink: Callable[[str, float], None] | None = None,
    ) -> None:
        self._uow = uow
        self._changes = changes
        self._gateways = gateways
        self._leases = leases
        self._clock = clock
        self._latency_sink = latency_sink

    # ------------------------------------------------------------------ passes

    def push_changes(self, channel: str, progress: Progress | None = None) -> PushReport:
        """One pass: every change since the cursor, until the feed is drained."""
        report = PushReport(channel)
        with self._pass(channel, report) as ready:
            if ready is None:
                return report
            gateway, lease = ready
            self._push_new_listings(channel, gateway, report, lease.renew)
            with self._uow() as uow:
                cursor = uow.sync.sync_state(channel).push_cursor
                uow.commit()
            more = True
            while more:
                # Pages are gathered before sending: a backlog of 2,000 is 5 Rakuten calls of
                # 400 (not 6: 400+400+200 per page of 1,000) and one Amazon feed (not two, of
                # a budget of 5 in 5 minutes).
                numbers: dict[str, Number] = {}
                next_cursor = cursor
                while more and len(numbers) < max(GATHER, gateway.limits.max_push_batch):
                    page = self._changes.changed_since(channel, next_cursor, PAGE)
                    for i in page.items:  # a SKU changed again meanwhile: its latest number
                        numbers[i.sku] = Number(i.sku, i.available, i.version, i.changed_at)
                    next_cursor, more = page.next_cursor, page.more
                retry_before = report.to_retry
                self._push_numbers(
                    channel, gateway, list(numbers.values()), report, lease.renew, full=False
                )
                if report.to_retry > retry_before:
                    break  # the cursor stays: the next pass sends those again
                cursor = next_cursor
                self._save_cursor(channel, cursor, report)
                if progress is not None:
                    progress(report.accepted + report.unchanged, None)
        self._record_latency(channel, report)
        return report

    def _push_new_listings(
        self,
        channel: str,
        gateway: ChannelGateway,
        report: PushReport,
        renew: Callable[[], bool],
    ) -> None:
        """A SKU just listed hears its number without waiting for it to change."""
        while True:
            with self._uow() as uow:
                skus = uow.sync.untold_listings(channel, PAGE)
                numbers = self.current_numbers(uow, channel, skus)
                uow.commit()
            if not numbers:
                return
            before = (report.accepted, report.rejected)
            self._push_numbers(channel, gateway, numbers, report, renew, full=True)
            if (report.accepted, report.rejected) == before:
                return  # nothing settled (passing failures): the next pass tries again

    def push_full(self, channel: str, progress: Progress | None = None) -> PushReport:
        """Every listed SKU's current number, whatever the channel was told (a new connection,
        a channel restored from a backup). Listings are read a page at a time: memory stays
        flat for any catalogue."""
        report = PushReport(channel)
        with self._pass(channel, report) as ready:
            if ready is None:
                return report
            gateway, lease = ready
            with self._uow() as uow:
                total = uow.sync.listed_count(channel)
                uow.commit()
            after = ""
            while True:
                with self._uow() as uow:
                    listings = uow.sync.listing_page(channel, after, PAGE)
                    numbers = self.current_numbers(uow, channel, [x.sku for x in listings])
                    uow.commit()
                if not listings:
                    break
                after = listings[-1].sku
                self._push_numbers(channel, gateway, numbers, report, lease.renew, full=True)
                if progress is not None:
                    progress(report.accepted + report.rejected + report.to_retry, total)
        self._record_latency(channel, report)
        return report

    def push_skus(self, channel: str, skus: Sequence[str]) -> PushReport:
        """These SKUs' current numbers, sent whatever the channel was told (a failure retried,
        a reconciliation's fix)."""
        report = PushReport(channel)
        with self._pass(channel, report) as ready:
            if ready is None:
                return report
            gateway, lease = ready
            with self._uow() as uow:
                numbers = self.current_numbers(uow, channel, sorted(set(skus)))
                uow.commit()
            self._push_numbers(channel, gateway, numbers, report, lease.renew, full=True)
        return report

    def pending(self, channel: str) -> tuple[int, datetime | None]:
        """Changes not pushed yet (the queue depth) and when the oldest of them happened."""
        with self._uow() as uow:
            cursor = uow.sync.sync_state(channel).push_cursor
            uow.commit()
        count, oldest = 0, None
        while True:
            page = self._changes.changed_since(channel, cursor, PAGE)
            count += len(page.items)
            for item in page.items:
                if oldest is None or item.changed_at < oldest:
                    oldest = item.changed_at
            if not page.more:
                return count, oldest
            cursor = page.next_cursor

    # ------------------------------------------------------------------ the work

    @contextmanager
    def _pass(
        self, channel: str, report: PushReport
    ) -> Iterator[tuple[ChannelGateway, Lease] | None]:
        """The channel's adapter and its push lease for one pass, or None with the reason in
        `report.skipped` (not connected, pushing off, inactive, another pass running)."""
        gateway, why = ready_gateway(self._uow, self._gateways, channel, pushing=True)
        if gateway is None:
            report.skipped = why
            yield None
            return
        with self._leases.hold(f"push:{channel}", LEASE_SECONDS) as lease:
            if lease is None:
                report.skipped = BUSY
                yield None
                return
            yield gateway, lease

    def current_numbers(
        self, uow: SyncUnitOfWork, channel: str, skus: Sequence[str]
    ) -> list[Number]:
        """The published numbers of these SKUs now (0, version 0, when never published)."""
        found = uow.channels.channel_by_code(channel)
        if found is None or found.id is None:
            raise NotFound(f"no channel {channel!r}", field="channel")
        refs = uow.inventory.sku_refs(skus)
        published = uow.channels.published_numbers(sku_id for sku_id, _ in refs.values())
        now = self._clock()
        numbers = []
        for sku in skus:
            ref = refs.get(sku)
            if ref is None:
                continue
            number = published.get((found.id, ref[0]))
            if number is None:
                numbers.append(Number(sku, 0, 0, now))
            else:
                numbers.append(Number(sku, number.available, number.version, now))
        return numbers

    def _push_numbers(
        self,
        channel: str,
        gateway: ChannelGateway,
        numbers: Sequence[Number],
        report: PushReport,
        renew: Callable[[], bool],
        *,
        full: bool,
    ) -> None:
        if not numbers:
            return
        skus = [n.sku for n in numbers]
        with self._uow() as uow:
            listed = uow.sync.listings(channel, skus)
            if not full:
                # Refused already: pushing again is futile until a person retries it or the
                # listing changes.
                for sku in uow.sync.open_failure_subjects(channel, "push", skus):
                    listed.pop(sku, None)
            told = {
                sku: LastTold(t.quantity, t.version)
                for sku, t in uow.sync.told(channel, skus).items()
            }
            uow.commit()
        plan = plan_push(numbers, listed, told, full=full)
        if plan.unchanged:
            now = self._clock()
            with self._uow() as uow:
                uow.sync.save_told(
                    channel, [Told(n.sku, n.quantity, n.version, now) for n in plan.unchanged]
                )
                uow.commit()
            report.unchanged += len(plan.unchanged)
        changed_at = {n.sku: n.changed_at for n in numbers}
        for batch in batches(plan.updates, gateway.limits.max_push_batch):
            outcomes = self._send(channel, gateway, batch)
            report.calls += 1
            self._record(channel, outcomes, changed_at, report)
            renew()

    def _send(
        self, channel: str, gateway: ChannelGateway, batch: Sequence[QuantityUpdate]
    ) -> list[PushOutcome]:
        try:
            return gateway.push_quantities(batch)
        except Throttled as error:
            self._note_error(channel, error)
            raise
        except AuthenticationFailed as error:
            # The connection's credentials, not these SKUs: parking them as refused would keep
            # them unpushed after a person fixes the connection. The status shows the error,
            # and the cursor stays, so the next pass after the fix sends them.
            self._note_error(channel, error)
            raise
        except ChannelError as error:
            self._note_error(channel, error)
            if not error.retryable:
                now = self._clock()
                with self._uow() as uow:
                    for update in batch:
                        uow.sync.record_failure(
                            channel, "push", update.listing.sku, error.message, now
                        )
                    uow.commit()
            raise

    def _record(
        self,
        channel: str,
        outcomes: Sequence[PushOutcome],
        changed_at: dict[str, datetime],
        report: PushReport,
    ) -> None:
        now = self._clock()
        accepted = [o.update for o in outcomes if o.status is PushStatus.ACCEPTED]
        with self._uow() as uow:
            uow.sync.save_told(
                channel,
                [Told(u.listing.sku, u.quantity, u.version, now) for u in accepted],
            )
            uow.sync.resolve_failures(channel, "push", [u.listing.sku for u in accepted], now)
            for outcome in outcomes:
                if outcome.status is PushStatus.REJECTED:
                    uow.sync.record_failure(
                        channel,
                        "push",
                        outcome.update.listing.sku,
                        outcome.message or "refused by the channel",
                        now,
                    )
            state = uow.sync.sync_state(channel, lock=True)
            state.pushed += len(accepted)
            state.last_push_at = now
            state.last_error = None
            uow.sync.save_sync_state(state, now)
            uow.commit()
        report.accepted += len(accepted)
        report.rejected += sum(1 for o in outcomes if o.status is PushStatus.REJECTED)
        report.to_retry += sum(1 for o in outcomes if o.status is PushStatus.RETRY)
        for update in accepted:
            at = changed_at.get(update.listing.sku)
            if at is not None:
                report.latencies.append(max(0.0, (now - at).total_seconds()))

    def _save_cursor(self, channel: str, cursor: str, report: PushReport) -> None:
        now = self._clock()
        with self._uow() as uow:
            state = uow.sync.sync_state(channel, lock=True)
            state.push_cursor = cursor
            uow.sync.save_sync_state(state, now)
            uow.commit()

    def _note_error(self, channel: str, error: ChannelError) -> None:
        with self._uow() as uow:
            note_channel_error(uow, channel, error, self._clock())
            uow.commit()

    def _record_latency(self, channel: str, report: PushReport) -> None:
        measured = report.latency_p95
        if measured is None:
            return
        seconds = max(1, math.ceil(measured))
        now = self._clock()
        with self._uow() as uow:
            state = uow.sync.sync_state(channel, lock=True)
            state.latency_p95_seconds = seconds
            uow.sync.save_sync_state(state, now)
            uow.commit()
        if self._latency_sink is not None:
            self._latency_sink(channel, measured)
