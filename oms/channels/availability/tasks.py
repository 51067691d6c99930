"""The publisher's loop: drains the publication queue while the process runs.

Every `oms worker` process runs one, and `oms serve` runs one in-process without Redis: the
drains are safe at once (each takes its own queued rows; the SKUs it recomputes are locked).
It drains whenever a writer of this process rings the publisher's doorbell (a commit that
queued changes) and at least every `poll_seconds` for writers in other processes.
"""

from __future__ import annotations

import threading

import structlog

from oms.channels.availability.services.publisher import PublicationService

log = structlog.get_logger("oms.channels.publisher")

# Changes committed by another process wait at most this long before a drain starts: the lag
# target (commit -> AvailabilityChanged committed, p95 <= 250 ms) leaves room for the drain.
POLL_SECONDS = 0.05


class PublisherLoop(threading.Thread):
    def __init__(self, publication: PublicationService, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(name="oms-publisher", daemon=True)
        self._publication = publication
        self._doorbell = publication.publisher.doorbell
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self.drained = 0  # queued changes published since the start (for status and tests)

    def run(self) -> None:
        busy = False
        while not self._stopping.is_set():
            # Cleared before the drain: a commit ringing during it makes the next wait short.
            self._doorbell.clear()
            busy, was_busy = False, busy
            try:
                done = self._publication.drain(look_first=not was_busy)
                self.drained += done.changes
            except Exception:
                log.exception("publisher_failed")  # the database away: try on the next turn
            else:
                if done.changes:
                    busy = True
                    continue  # more came while it drained: at once, not after a poll
            if self._stopping.is_set():
                break
            self._doorbell.wait(self._poll)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._doorbell.set()
        self.join(timeout)
