"""The embedded mode's worker: it runs the event handlers straight from the outbox.

Without Redis there is no durable broker to hand an event to. Dramatiq's `StubBroker`, used
here before, is meant for tests: the relay marked an event published once the stub held it, so
a process that died before the actor ran lost the work. Here the outbox is the queue: an event
is marked handled only after its handler returned, in a transaction of its own that marks the
pass's handled events together. A crash anywhere before that leaves the events unhandled and
the next start runs them again; every handler is safe to run twice (backorder sourcing re-reads
what waits and what is in stock).

Events are handled one at a time in id order, which is commit order per partition (SKU,
order). A handler that fails is retried on later passes, with a growing pause, and given up
after `max_attempts`, so one bad event cannot hold up the others for ever.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from oms.outbox import OUTBOX_LOCK_ID, outbox
from oms.shared.clock import utcnow
from oms.shared.events import EventName

log = structlog.get_logger("oms.embedded")

Handler = Callable[[dict[str, Any]], None]

# A test hook, never set in production: "<point>:<event name>:<marker file>". At that point of
# the first such event the runner writes the event id to the marker file and blocks, so that a
# test can kill the process exactly there. Points: `handing_over` (the event was taken from the
# outbox, its handler has not run) and `handled` (the handler finished, the event is not yet
# marked).
STOP_HOOK_ENV = "OMS_TEST_EMBEDDED_STOP"
STOP_POINTS = ("handing_over", "handled")


class EmbeddedRunner:
    """One pass at a time over the unhandled outbox events; see the module docstring."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        handlers: Mapping[EventName, Handler],
        batch_size: int = 200,
        max_attempts: int = 20,
    ) -> None:
        self._factory = factory
        self._handlers = dict(handlers)
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._stop_at = _stop_hook(os.environ.get(STOP_HOOK_ENV, ""))
        self._pause_until = 0.0  # after a failure: monotonic time of the next try

    def run_pending(self) -> int:
        """One pass. Returns the number of events handled (0: nothing to do, or stopped at a
        failing event, which a later pass retries)."""
        if time.monotonic() < self._pause_until:
            return 0
        with ExitStack() as stack:
            engine = self._factory.kw["bind"]
            if isinstance(engine, Engine) and engine.dialect.name == "postgresql":
                # One runner at a time per database, also across processes. A session lock on
                # a connection of its own: the handlers commit their own transactions meanwhile,
                # and a killed process drops the connection and with it the lock.
                connection = stack.enter_context(
                    engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                )
                if not _try_lock(connection):
                    return 0
                stack.callback(_unlock, connection)
            with self._factory() as session:
                rows = session.execute(
                    select(outbox.c.id, outbox.c.event, outbox.c.payload, outbox.c.attempts)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                ).all()
                session.rollback()  # a read: release the snapshot (and SQLite's lock) at once
            handled: list[int] = []
            passed = 0
            try:
                for row in rows:
                    outcome = self._handle(row.id, row.event, dict(row.payload), row.attempts)
                    if outcome is False:
                        break  # keep the order: the next pass starts again at this event
                    if outcome is True:
                        handled.append(row.id)
                    passed += 1
            finally:
                self._mark_handled(handled)
            return passed
        return 0  # not reached: ExitStack swallows no exception

    def drain(self) -> int:
        """Run passes until nothing is left (CLI, tests of the runner itself)."""
        total = 0
        while handled := self.run_pending():
            total += handled
        return total

    def _handle(
        self, event_id: int, stored_name: str, payload: dict[str, Any], tries: int
    ) -> bool | None:
        """True: handled, to be marked; None: given up (marked so); False: failed, to retry."""
        try:
            name: EventName | None = EventName(stored_name)
        except ValueError:
            name = None
        handler = self._handlers.get(name) if name is not None else None
        if handler is None:
            # Nothing listens to it in this build: marked, so it does not hold up the rest.
            log.warning("outbox_event_without_handler", name=stored_name, id=event_id)
        else:
            payload["event_id"] = event_id
            payload["event"] = stored_name
            self._stop_here("handing_over", stored_name, event_id)
            try:
                handler(payload)
            except Exception:
                return None if self._failed(event_id, stored_name, tries + 1) else False
            self._stop_here("handled", stored_name, event_id)
        return True

    def _mark_handled(self, event_ids: list[int]) -> None:
        """The pass's handled events, marked in one transaction once their handlers returned:
        one commit a pass, not one an event (an order's few events each cost a commit of the
        server's before). A crash before it runs their handlers again, which each may."""
        if not event_ids:
            return
        with self._factory.begin() as session:
            session.execute(
                update(outbox)
                .where(outbox.c.id.in_(event_ids))
                .values(published_at=utcnow(), attempts=outbox.c.attempts + 1)
            )

    def _failed(self, event_id: int, name: str, tries: int) -> bool:
        given_up = tries >= self._max_attempts
        # A growing pause before the next try: a database that is briefly away is not
        # hammered, and the attempts span minutes, not a few polls.
        if not given_up:
            self._pause_until = time.monotonic() + min(0.1 * 2**tries, 60.0)
        log.exception("outbox_handler_failed", id=event_id, name=name, attempts=tries)
        with self._factory.begin() as session:
            values: dict[str, Any] = {"attempts": tries}
            if given_up:
                # Like Dramatiq's dead letters: logged for an operator, out of everyone's way.
                log.error("outbox_handler_given_up", id=event_id, name=name, attempts=tries)
                values["published_at"] = utcnow()
            session.execute(update(outbox).where(outbox.c.id == event_id).values(**values))
        return given_up

    def _stop_here(self, point: str, name: str, event_id: int) -> None:
        if self._stop_at is None or self._stop_at[:2] != (point, name):
            return
        self._stop_at[2].write_text(str(event_id))
        log.warning("embedded_runner_stopped_for_test", point=point, id=event_id)
        threading.Event().wait()  # until the test kills the process


def _stop_hook(spec: str) -> tuple[str, str, Path] | None:
    if not spec:
        return None
    point, name, marker = spec.split(":", 2)
    if point not in STOP_POINTS:
        raise ValueError(f"{STOP_HOOK_ENV}: point must be one of {STOP_POINTS}, got {point!r}")
    return point, EventName(name).value, Path(marker)


def _try_lock(connection: Connection) -> bool:
    return bool(connection.execute(select(func.pg_try_advisory_lock(OUTBOX_LOCK_ID))).scalar())


def _unlock(connection: Connection) -> None:
    connection.execute(select(func.pg_advisory_unlock(OUTBOX_LOCK_ID)))
