"""Leases: one holder at a time for a named piece of work (a channel's push pass, the
scheduler). In Redis, shared by every worker process (redis-py's Lock: a token with a time to
live, so a holder killed with `kill -9` lets go when its term ends); in memory for the embedded
mode, where one process does all the work.

A Redis lease is kept alive by a heartbeat thread of its holder, and its term is short
(`TERM_SECONDS`): a pass may run for minutes (an Amazon feed), but a killed worker's lease must
lapse within seconds, or its channel stays unpushed until the long term ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis
from redis.exceptions import LockError, RedisError

PREFIX = "oms:lease:"
TERM_SECONDS = 10.0  # the longest a dead holder keeps a lease in Redis


class _RedisLease:
    def __init__(self, lock: redis.lock.Lock, seconds: float) -> None:
        self._lock = lock
        self._seconds = seconds

    def renew(self) -> bool:
        try:
            return bool(self._lock.reacquire())
        except LockError:
            return False


class RedisLeases:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    @contextmanager
    def hold(self, name: str, seconds: float) -> Iterator[_RedisLease | None]:
        """`seconds` is the longest the holder may go without a sign of life; the heartbeat
        renews the lease while the holder's process lives, so its term is at most
        `TERM_SECONDS`."""
        term = min(seconds, TERM_SECONDS)
        # Not thread-local: the heartbeat thread renews with the holder's token.
        lock = self._client.lock(PREFIX + name, timeout=term, blocking=False, thread_local=False)
        if not lock.acquire(blocking=False):
            yield None
            return
        stopping = threading.Event()
        beat = threading.Thread(
            target=_heartbeat, args=(lock, term, stopping), name=f"lease-{name}", daemon=True
        )
        beat.start()
        try:
            yield _RedisLease(lock, term)
        finally:
            stopping.set()
            beat.join()
            # The term may have ended first, and someone else hold it now: not ours to free.
            with suppress(LockError, RedisError):
                lock.release()


def _heartbeat(lock: redis.lock.Lock, term: float, stopping: threading.Event) -> None:
    """Renew the lease three times a term until its holder is done. A lease lost (Redis was
    away longer than a term) is not taken back: the holder's next `renew()` says so."""
    while not stopping.wait(term / 3):
        try:
            if not lock.reacquire():
                return
        except (LockError, RedisError):
            return


class _MemoryLease:
    def __init__(self, owner: MemoryLeases, name: str, seconds: float) -> None:
        self._owner = owner
        self._name = name
        self._seconds = seconds

    def renew(self) -> bool:
        return self._owner._renew(self._name, self, self._seconds)


class MemoryLeases:
    def __init__(self) -> None:
        self._held: dict[str, tuple[_MemoryLease, float]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, name: str, seconds: float) -> Iterator[_MemoryLease | None]:
        lease = _MemoryLease(self, name, seconds)
        with self._lock:
            current = self._held.get(name)
            taken = current is not None and current[1] > time.monotonic()
            if not taken:
                self._held[name] = (lease, time.monotonic() + seconds)
        if taken:
            yield None
            return
        try:
            yield lease
        finally:
            with self._lock:
                if self._held.get(name, (None, 0.0))[0] is lease:
                    del self._held[name]

    def _renew(self, name: str, lease: _MemoryLease, seconds: float) -> bool:
        with self._lock:
            current = self._held.get(name)
            if current is None or current[0] is not lease:
                return False
            self._held[name] = (lease, time.monotonic() + seconds)
            return True
