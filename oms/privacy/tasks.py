"""The daily anonymisation, beside the pruning loop (oms.retention) rather than in the sync's
scheduler: that scheduler belongs to the channels context, below this one, and schedules per
channel work by the second; this is one call a day.

Every process that runs background work (`oms serve` without Redis, each `oms worker`) runs
one loop. It wakes every `pii_check_interval_seconds` and runs when the last daily run
(recorded in `pii_runs`) started a day ago or more, so a restart neither skips a day nor runs
twice, and the first run of a fresh install comes with the first check. Two processes that
check at the same moment both run: harmless, a batch locks its orders and skips those
anonymised by the other.
"""

from __future__ import annotations

import threading

import structlog

from oms.privacy.services.anonymise import AnonymisationService, Trigger

log = structlog.get_logger("oms.privacy")

DAY_HOURS = 24.0


class AnonymiseLoop(threading.Thread):
    def __init__(self, service: AnonymisationService, check_seconds: float) -> None:
        super().__init__(name="oms-pii", daemon=True)
        self._service = service
        self._check_seconds = check_seconds
        self._stopping = threading.Event()

    def step(self) -> bool:
        """One check: run when due; True when it ran."""
        if not self._service.daily_due(DAY_HOURS):
            return False
        self._service.anonymise(trigger=Trigger.DAILY)
        return True

    def run(self) -> None:
        while not self._stopping.wait(self._check_seconds):
            try:
                self.step()
            except Exception:
                log.exception("pii_anonymise_failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.join(timeout)
