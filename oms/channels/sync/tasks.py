"""The sync's background work, for `oms worker` (Dramatiq on Redis) and the embedded mode.

- `AvailabilityChanged` kicks a push pass of its channel. Kicks are coalesced: while a pass is
  queued, further kicks add nothing (a Redis key per channel); the pass reads every change up to
  its start, so k changes in that window are one push of the latest numbers.
- A pass that finds its channel's lease taken (another worker is pushing it) comes back a
  moment later instead of being dropped: the running pass may have read the feed before the
  change that kicked it.
- `ShipmentShipped` confirms the parcel to its channel.
- A retryable channel error (throttled, 5xx, timeout) fails the message, and Dramatiq retries it
  with exponential backoff and jitter; after the last retry it goes to Dramatiq's dead letters
  and the failure stays visible in `GET /v1/sync/failures` (and `last_error` of the status).
- One scheduler in the whole deployment (a leader lease in Redis, renewed while it lives) pulls
  orders every `pull_interval_seconds`, reconciles once a day, and kicks every pushing channel
  every few seconds, which also finishes a pass whose worker was killed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dramatiq
import redis
import structlog

from oms.channels.sync.domain.errors import ChannelError
from oms.channels.sync.ports import Leases, SyncUnitOfWork
from oms.channels.sync.services.confirm import ConfirmService
from oms.channels.sync.services.pull import PullService
from oms.channels.sync.services.push import BUSY, PushReport, PushService
from oms.channels.sync.services.reconcile import ReconcileService
from oms.shared.clock import utcnow
from oms.shared.errors import DomainError

log = structlog.get_logger("oms.sync")

QUEUE = "channels"
# Push passes have a queue of their own, ahead of everything else a worker has fetched: a kick
# queued behind thousands of AvailabilityChanged events (a busy minute) would wait for all of
# them, and every one of them only asks for the pass that is already queued.
PUSH_QUEUE = "channels_push"
PUSH_PRIORITY = -10  # Dramatiq runs lower numbers first
PUSH_ACTOR = "channels.push"
PULL_ACTOR = "channels.pull"
RECONCILE_ACTOR = "channels.reconcile"
KICK_PREFIX = "oms:sync:queued:"
# A queued kick's key lapses by itself if its message is lost (a worker killed between taking
# the message and starting the pass): until then no kick, not even the scheduler's, queues a
# pass. Short, at the price of an idle extra pass when the queue is backed up for longer.
KICK_SECONDS = 15
BUSY_RETRY_MS = 250  # a pass that found the channel busy comes back after this
SAFETY_KICK_SECONDS = 5.0  # the scheduler kicks every pushing channel this often
RECONCILE_EVERY = timedelta(days=1)
SCHEDULED_BACKOFF_SECONDS = 60.0  # embedded: a failed pull or reconciliation waits this long
LEADER_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class SyncWork:
    """The sync services the jobs run, built by the composition root."""

    uow: Callable[[], SyncUnitOfWork]
    push: PushService
    pull: PullService
    confirm: ConfirmService
    reconcile: ReconcileService
    leases: Leases


# ---------------------------------------------------------------------------- the schedule


def due_work(
    work: SyncWork, now: datetime, last_kick: dict[str, float]
) -> tuple[list[str], list[str], list[str]]:
    """(channels to push, to pull, to reconcile) at `now`, from the connections and the sync
    state: the scheduler's one decision, the same in both modes."""
    pushes, pulls, reconciles = [], [], []
    with work.uow() as uow:
        connected = uow.sync.connected_channels()
        states = {c.channel: uow.sync.sync_state(c.channel) for c in connected}
        uow.commit()
    clock = time.monotonic()
    for connection in connected:
        state = states[connection.channel]
        if connection.push and clock - last_kick.get(connection.channel, 0.0) >= (
            SAFETY_KICK_SECONDS
        ):
            last_kick[connection.channel] = clock
            pushes.append(connection.channel)
        interval = timedelta(seconds=connection.pull_interval_seconds)
        if connection.pull_orders and (
            state.last_pull_at is None or now - state.last_pull_at >= interval
        ):
            pulls.append(connection.channel)
        if state.last_reconcile_at is None or now - state.last_reconcile_at >= RECONCILE_EVERY:
            reconciles.append(connection.channel)
    return pushes, pulls, reconciles


# ---------------------------------------------------------------------------- Dramatiq


class DramatiqSync:
    """The actors of `oms worker` and the scheduler thread each worker process runs (only the
    one holding the leader lease acts)."""

    def __init__(self, broker: dramatiq.Broker, client: redis.Redis, work: SyncWork) -> None:
        self._broker = broker
        self._redis = client
        self._work = work
        options: dict[str, Any] = {
            "queue_name": QUEUE,
            "broker": broker,
            "max_retries": 20,
            "min_backoff": 500,
            "max_backoff": 60_000,
        }
        # A push may wait on an Amazon feed's processing report (up to its feed_max_wait, 20
        # minutes): Dramatiq's default 10-minute limit would kill it half way.
        self.push_actor = dramatiq.actor(
            actor_name=PUSH_ACTOR,
            time_limit=30 * 60_000,
            **{**options, "queue_name": PUSH_QUEUE},
            priority=PUSH_PRIORITY,
        )(self._push)
        self.pull_actor = dramatiq.actor(actor_name=PULL_ACTOR, time_limit=30 * 60_000, **options)(
            self._pull
        )
        self.reconcile_actor = dramatiq.actor(
            actor_name=RECONCILE_ACTOR, time_limit=60 * 60_000, **options
        )(self._reconcile)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_kick: dict[str, float] = {}

    # the event handlers (registered by oms.worker on the routed actors)

    def availability_changed(self, event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if isinstance(channel, str):
            self.kick(channel)

    def shipment_shipped(self, event: dict[str, Any]) -> None:
        order_id, shipment_id = event.get("order_id"), event.get("shipment_id")
        if isinstance(order_id, int) and isinstance(shipment_id, int):
            _confirm(self._work, order_id, shipment_id)

    def availability_batch(self, events: Sequence[dict[str, Any]]) -> None:
        """A relay pass's AvailabilityChanged events: one kick per channel among them."""
        channels = {str(e["channel"]) for e in events if isinstance(e.get("channel"), str)}
        for channel in sorted(channels):
            self.kick(channel)
        log.info("availability_changed_batch", events=len(events), channels=sorted(channels))

    def kick(self, channel: str) -> None:
        """Queue one push pass of `channel` unless one is queued already."""
        if self._redis.set(KICK_PREFIX + "push:" + channel, "1", nx=True, ex=KICK_SECONDS):
            self.push_actor.send(channel)

    # the actors

    def _push(self, channel: str) -> None:
        self._redis.delete(KICK_PREFIX + "push:" + channel)  # kicks from now on queue a pass
        report = _push(self._work, channel)
        if report is not None and report.skipped == BUSY:
            self.push_actor.send_with_options(args=(channel,), delay=BUSY_RETRY_MS)

    def _pull(self, channel: str) -> None:
        try:
            _pull(self._work, channel)
        finally:
            self._redis.delete(KICK_PREFIX + "pull:" + channel)

    def _reconcile(self, channel: str) -> None:
        try:
            report = self._work.reconcile.reconcile(channel)
        finally:
            self._redis.delete(KICK_PREFIX + "reconcile:" + channel)
        log.info("reconciled", channel=channel, checked=report.checked, drift=len(report.drift))

    # the scheduler

    def start_scheduler(self) -> None:
        self._thread = threading.Thread(
            target=self._schedule, name="oms-sync-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)

    def _schedule(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._work.leases.hold("scheduler", LEADER_SECONDS) as lease:
                    while lease is not None and not self._stopping.is_set():
                        self._tick()
                        if not lease.renew():
                            break
                        self._stopping.wait(1.0)
            except Exception:
                log.exception("sync_scheduler_failed")  # Redis down: try again shortly
            self._stopping.wait(1.0)

    def _tick(self) -> None:
        pushes, pulls, reconciles = due_work(self._work, utcnow(), self._last_kick)
        for channel in pushes:
            self.kick(channel)
        for channel in pulls:
            if self._redis.set(KICK_PREFIX + "pull:" + channel, "1", nx=True, ex=30 * 60):
                self.pull_actor.send(channel)
        for channel in reconciles:
            if self._redis.set(KICK_PREFIX + "reconcile:" + channel, "1", nx=True, ex=3600):
                self.reconcile_actor.send(channel)


# ---------------------------------------------------------------------------- embedded


class EmbeddedSync(threading.Thread):
    """The embedded mode's sync: this thread pushes kicked channels at once (and every channel
    on the safety kick); a second thread runs the slow scheduled work, pulls and
    reconciliation, so a long reconciliation (Amazon reads 5 listings a second) never holds a
    push back. A channel whose work failed is left alone for a while before the next try."""

    def __init__(self, work: SyncWork) -> None:
        super().__init__(name="oms-sync", daemon=True)
        self._work = work
        self._kicked: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._last_kick: dict[str, float] = {}
        self._retry_at: dict[str, float] = {}
        self._scheduled = threading.Thread(
            target=self._run_scheduled, name="oms-sync-scheduled", daemon=True
        )
        self._scheduled_retry_at: dict[tuple[str, str], float] = {}

    def start(self) -> None:
        super().start()
        self._scheduled.start()

    def availability_changed(self, event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if isinstance(channel, str):
            self.kick(channel)

    def shipment_shipped(self, event: dict[str, Any]) -> None:
        """Run by the embedded outbox runner, which retries a failed event with a growing
        pause."""
        order_id, shipment_id = event.get("order_id"), event.get("shipment_id")
        if isinstance(order_id, int) and isinstance(shipment_id, int):
            _confirm(self._work, order_id, shipment_id)

    def kick(self, channel: str) -> None:
        with self._lock:
            self._kicked.add(channel)
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        self.join(timeout)
        if self._scheduled.is_alive():
            self._scheduled.join(timeout)

    def _run_scheduled(self) -> None:
        while not self._stopping.wait(1.0):
            try:
                self._scheduled_step()
            except Exception:
                log.exception("embedded_sync_schedule_failed")

    def _scheduled_step(self) -> None:
        _, pulls, reconciles = due_work(self._work, utcnow(), {})
        now = time.monotonic()
        for kind, channels in (("pull", pulls), ("reconcile", reconciles)):
            for channel in channels:
                if (
                    self._stopping.is_set()
                    or self._scheduled_retry_at.get((kind, channel), 0) > now
                ):
                    continue
                ok = (
                    _pull(self._work, channel, raise_errors=False)
                    if kind == "pull"
                    else _reconcile(self._work, channel)
                )
                if ok:
                    self._scheduled_retry_at.pop((kind, channel), None)
                else:  # a channel down or refusing: not every second
                    self._scheduled_retry_at[(kind, channel)] = now + SCHEDULED_BACKOFF_SECONDS

    def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            try:
                self._step()
            except Exception:
                log.exception("embedded_sync_failed")

    def _step(self) -> None:
        pushes, _, _ = due_work(self._work, utcnow(), self._last_kick)
        with self._lock:
            kicked, self._kicked = self._kicked, set()
        now = time.monotonic()
        for channel in sorted(kicked | set(pushes)):
            if self._retry_at.get(channel, 0.0) > now:
                continue  # backing off after a channel error
            try:
                _push(self._work, channel, raise_errors=True)
                self._retry_at.pop(channel, None)
            except ChannelError:
                self._retry_at[channel] = now + 5.0


# ---------------------------------------------------------------------------- shared steps


def _push(work: SyncWork, channel: str, *, raise_errors: bool = True) -> PushReport | None:
    try:
        report = work.push.push_changes(channel)
    except ChannelError as error:
        log.warning("push_failed", channel=channel, error=str(error), retryable=error.retryable)
        if raise_errors and error.retryable:
            raise
        return None
    except DomainError as refused:  # the channel was removed meanwhile
        log.warning("push_refused", channel=channel, detail=refused.detail)
        return None
    if report.calls or report.rejected:
        log.info(
            "pushed",
            channel=channel,
            accepted=report.accepted,
            calls=report.calls,
            rejected=report.rejected,
            unchanged=report.unchanged,
            latency_p95=report.latency_p95,
        )
    return report


def _pull(work: SyncWork, channel: str, *, raise_errors: bool = True) -> bool:
    """One pull; False when it failed (a retryable error is raised with `raise_errors`)."""
    try:
        report = work.pull.pull(channel)
    except ChannelError as error:
        log.warning("pull_failed", channel=channel, error=str(error), retryable=error.retryable)
        if raise_errors and error.retryable:
            raise
        return False
    except DomainError as refused:
        log.warning("pull_refused", channel=channel, detail=refused.detail)
        return False
    if report.taken or report.cancelled or report.failed:
        log.info(
            "pulled",
            channel=channel,
            taken=report.taken,
            cancelled=report.cancelled,
            failed=report.failed,
        )
    return True


def _reconcile(work: SyncWork, channel: str) -> bool:
    try:
        report = work.reconcile.reconcile(channel)
    except DomainError as refused:
        log.warning("reconcile_refused", channel=channel, detail=refused.detail)
        return False
    log.info("reconciled", channel=channel, checked=report.checked, drift=len(report.drift))
    return True


def _confirm(work: SyncWork, order_id: int, shipment_id: int) -> None:
    """A retryable error is raised for the runner (Dramatiq, or the embedded one) to retry with
    backoff; meanwhile the failure is visible, and resolved when a retry succeeds."""
    try:
        report = work.confirm.confirm(order_id, shipment_id)
    except ChannelError as error:
        log.warning("confirm_failed", shipment=shipment_id, error=str(error))
        if error.retryable:
            raise
        return
    except DomainError as refused:
        log.warning("confirm_refused", shipment=shipment_id, detail=refused.detail)
        return
    if report.confirmed:
        log.info("shipment_confirmed", shipment=shipment_id)
