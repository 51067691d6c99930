"""Leases: one holder at a time for a named piece of work (a channel's push pass, the
scheduler). In Redis, shared by every worker process (redis-py's Lock: a token with a time to
live, so a holder killed with `kill -9` lets go when its term ends); in memory for the embedded
mode, where one process does all the work."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis
from redis.exceptions import LockError

PREFIX = "oms:lease:"


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
        lock = self._client.lock(PREFIX + name, timeout=seconds, blocking=False)
        if not lock.acquire(blocking=False):
            yield None
            return
        try:
            yield _RedisLease(lock, seconds)
        finally:
            # The term may have ended first, and someone else hold it now: not ours to free.
            with suppress(LockError):
                lock.release()


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
