"""Admission: concurrent requests of one process taken into one transaction (group commit).

The first caller to find nobody working becomes the leader: it takes every request queued so
far (first come, first served, up to `max_batch`), runs them together, hands each caller its
own outcome, and passes the lead to the first caller still waiting. The others wait for their
outcome, at most `max_wait` seconds while they are still queued; a request already taken is
always waited for, since it may have committed.

Why: a hot row (one SKU in a flash sale) takes one transaction at a time however many callers
there are. Taking the waiting callers together turns N transactions into one, and the number
of transactions the database sees no longer grows with the callers: admission control, not a
collapse.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from oms.shared.errors import GaveWay

A = TypeVar("A")
R = TypeVar("R")


class AdmissionTimeout(GaveWay):
    """Queued longer than the bound: nothing was done, try again."""

    title = "Too busy"


@dataclass(eq=False, slots=True)
class _Slot(Generic[A, R]):
    ask: A
    key: Hashable
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    outcome: R | BaseException | None = None
    finished: bool = False


class Admission(Generic[A, R]):
    """`submit(ask)` returns `run([asks])`'s outcome for that ask (or raises its exception).

    `run` gets the asks in arrival order and returns one outcome per ask, in the same order: a
    result, or an exception for that ask alone. An exception raised by `run` itself is every
    ask's outcome. Two asks with the same `key` never run in the same batch.
    """

    def __init__(
        self,
        run: Callable[[Sequence[A]], Sequence[R | BaseException]],
        *,
        max_batch: int = 64,
        max_wait: float = 10.0,
        gather: float = 0.0005,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._queue: deque[_Slot[A, R]] = deque()
        self._busy = False
        self._gather = gather
        self._last = 0

    def submit(self, ask: A, key: Hashable = None) -> R:
        slot: _Slot[A, R] = _Slot(ask, key if key is not None else object())
        with self._lock:
            self._queue.append(slot)
            if not self._busy:
                self._busy = True
                slot.lead = True
        if not slot.lead:
            self._wait(slot)
        if slot.lead and not slot.finished:
            self._lead()
        outcome = slot.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]

    def _wait(self, slot: _Slot[A, R]) -> None:
        if slot.done.wait(self._max_wait):
            return
        with self._lock:
            if slot in self._queue and not slot.lead:
                self._queue.remove(slot)
                slot.outcome = AdmissionTimeout(
                    f"waited more than {self._max_wait:g} s for a turn; nothing was done, try again"
                )
                slot.finished = True
                return
        slot.done.wait()

    def _take(self) -> list[_Slot[A, R]]:
        batch: list[_Slot[A, R]] = []
        keys: set[Hashable] = set()
        kept: deque[_Slot[A, R]] = deque()
        with self._lock:
            while self._queue and len(batch) < self._max_batch:
                slot = self._queue.popleft()
                if slot.key in keys:
                    kept.append(slot)  # the same key waits for the next batch
                    continue
                keys.add(slot.key)
                batch.append(slot)
            self._queue.extendleft(reversed(kept))
        return batch

    def _lead(self) -> None:
        # Let the threads that are ready to ask run first (they need the GIL to queue): a
        # leader that took only itself while others were one step from asking would make the
        # batches of one that it exists to avoid. When the last batch was larger than what is
        # queued now, its callers are likely on their way back: wait for them a moment.
        with self._lock:
            gather = len(self._queue) < self._last
        time.sleep(self._gather if gather else 0)
        batch = self._take()
        self._last = len(batch)
        try:
            outcomes: Sequence[R | BaseException] = self._run([s.ask for s in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError("an admission batch returned the wrong number of outcomes")
        except BaseException as error:  # every ask of the batch gets it
            outcomes = [error] * len(batch)
        for slot, outcome in zip(batch, outcomes, strict=True):
            slot.outcome = outcome
            slot.finished = True
            slot.done.set()
        with self._lock:
            if not self._queue:
                self._busy = False
                return
            successor = self._queue[0]
            successor.lead = True
        successor.done.set()
