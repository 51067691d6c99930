"""Resale's scheduled work: the loop that runs `ResaleService.run_due` (flip units from early
access to public at `public_from`, apply markdown steps that fell due). `oms serve` runs it
in-process, every `oms worker` process runs one too: the work is safe to run twice and at once
(each unit changes under its row lock, and what is due is decided after taking it)."""

from __future__ import annotations

import threading

import structlog

from oms.resale.services import ResaleService

log = structlog.get_logger("oms.resale")

DUE_EVERY_SECONDS = 60.0


class ResaleDueLoop(threading.Thread):
    def __init__(self, resale: ResaleService, every_seconds: float = DUE_EVERY_SECONDS) -> None:
        super().__init__(name="oms-resale-due", daemon=True)
        self._resale = resale
        self._every = every_seconds
        self._stopping = threading.Event()

    def run(self) -> None:
        # A turn first, then the work: a process starting (an API test builds one a second)
        # does not take the write lock at once; nothing is due for longer than one turn.
        while not self._stopping.wait(self._every):
            try:
                changed = self._resale.run_due()
                if changed:
                    log.info("resale_units_due", changed=changed)
            except Exception:
                log.exception("resale_due_failed")  # the database away: try on the next turn

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.join(timeout)
