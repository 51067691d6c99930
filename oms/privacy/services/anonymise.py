"""The anonymisation job: each channel's orders past their deadline lose the personal fields
of the channel's policy, in every scrubbed place, batch by batch.

Idempotent: an anonymised order is recorded (`pii_anonymised_orders`) and never selected
again, so a second run changes nothing. Each batch is one short transaction that locks its
orders' rows and re-checks holds after the lock. Ids, SKUs, amounts, prefecture and postal
code are never touched; returns and repairs refer to orders by id and keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from oms.privacy.domain import PiiPolicy
from oms.privacy.ports import PrivacyUnitOfWork
from oms.privacy.services.policies import PolicyService
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound

log = structlog.get_logger("oms.privacy")

DEFAULT_BATCH = 2_000


class Trigger:
    DAILY = "daily"
    COMMAND = "command"


@dataclass(frozen=True, slots=True)
class ChannelRun:
    channel: str
    enabled: bool
    due: int  # past the deadline, not held: anonymised by this run (or would be: dry run)
    held: int  # past the deadline, kept by a legal hold
    anonymised: int


@dataclass(frozen=True, slots=True)
class AnonymisationReport:
    dry_run: bool
    channels: list[ChannelRun] = field(default_factory=list)

    @property
    def anonymised(self) -> int:
        return sum(c.anonymised for c in self.channels)

    @property
    def due(self) -> int:
        return sum(c.due for c in self.channels)

    @property
    def held(self) -> int:
        return sum(c.held for c in self.channels)


class AnonymisationService:
    def __init__(
        self,
        uow: Callable[[], PrivacyUnitOfWork],
        policies: PolicyService,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self._uow = uow
        self._policies = policies
        self._clock = clock
        self.batch_size = batch_size

    def anonymise(
        self,
        *,
        dry_run: bool = False,
        channel: str | None = None,
        now: datetime | None = None,
        trigger: str = Trigger.COMMAND,
    ) -> AnonymisationReport:
        """Anonymise every order past its channel's deadline at `now` (default: the clock).
        `dry_run`: count what would be, change nothing (not even the run record)."""
        now = now or self._clock()
        policies = self._policies.every_policy()
        if channel is not None:
            policies = [p for p in policies if p.channel == channel]
            if not policies:
                raise NotFound(f"no channel {channel!r}", field="channel")
        run_id = None
        if not dry_run:
            with self._uow() as uow:
                run_id = uow.privacy.start_run(trigger, now)
                uow.commit()
        report = AnonymisationReport(dry_run)
        for policy in policies:
            report.channels.append(self._channel(policy, now, dry_run))
        if run_id is not None:
            with self._uow() as uow:
                uow.privacy.finish_run(run_id, report.anonymised, self._clock())
                uow.commit()
            log.info("pii_anonymised", orders=report.anonymised, held=report.held, trigger=trigger)
        return report

    def _channel(self, policy: PiiPolicy, now: datetime, dry_run: bool) -> ChannelRun:
        if not policy.enabled:
            return ChannelRun(policy.channel, False, 0, 0, 0)
        shipped_before, ordered_before = policy.cutoffs(now)
        with self._uow() as uow:
            due, held = uow.privacy.count_due(policy.channel, shipped_before, ordered_before)
        if dry_run:
            return ChannelRun(policy.channel, True, due, held, 0)
        done, after = 0, 0
        while True:
            with self._uow() as uow:
                batch = uow.privacy.due_orders(
                    policy.channel, shipped_before, ordered_before, after, self.batch_size
                )
                if not batch:
                    break
                free = uow.privacy.lock_free(batch)
                uow.privacy.anonymise(free, policy.channel, policy.fields, now)
                uow.commit()
            done += len(free)
            after = batch[-1]
            if len(batch) < self.batch_size:
                break
        return ChannelRun(policy.channel, True, due, held, done)

    def daily_due(self, interval_hours: float = 24.0) -> bool:
        """True when no daily run started within the last `interval_hours`."""
        if interval_hours <= 0:
            raise InvalidInput("interval_hours must be positive", field="interval_hours")
        with self._uow() as uow:
            last = uow.privacy.last_run(Trigger.DAILY)
        return last is None or (self._clock() - last).total_seconds() >= interval_hours * 3600
