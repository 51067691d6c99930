"""The job plane: AvailabilityChanged events through the relay and the actor, beside a no-op.

Both sides run in this process on the same Redis broker with the same Dramatiq worker
(`worker_threads` of the settings, as `oms worker`): the job plane is N AvailabilityChanged
rows of the outbox, published by `OutboxRelay` and handled by the actor `oms worker` registers
(`channels.availability_changed` -> `DramatiqSync.kick`); the baseline is N messages sent
straight to an actor that does nothing. The kicks' push passes are of a channel with no
connection (skipped at once): what is measured is the plane that carries them, not a push.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import text

from bench.sync_world import clear_redis
from oms.bootstrap import Services
from oms.channels.availability.services.channels import CreateChannel
from oms.channels.sync.tasks import DramatiqSync
from oms.settings import Settings
from oms.shared.clock import utcnow
from oms.shared.events import EventName
from oms.worker import OutboxRelay, register_actors

MESSAGES = 3_000
CHANNEL = "sync-jobs"  # no connection: its push passes skip at once
NOOP_QUEUE = "bench-noop"
TARGET = 0.8


@dataclass(slots=True)
class JobPlane:
    messages: int
    job_plane_seconds: float
    noop_seconds: float
    handled: int
    failures: list[str] = field(default_factory=list)

    @property
    def job_plane_per_s(self) -> float:
        return self.messages / self.job_plane_seconds

    @property
    def noop_per_s(self) -> float:
        return self.messages / self.noop_seconds

    @property
    def ratio(self) -> float:
        return self.job_plane_per_s / self.noop_per_s

    def summary(self) -> str:
        return (
            f"{self.job_plane_per_s:,.0f} events/s through relay + actor, no-op actor"
            f" {self.noop_per_s:,.0f} msg/s, ratio {self.ratio:.2f}"
        )

    def document(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "job_plane_per_s": round(self.job_plane_per_s, 1),
            "noop_per_s": round(self.noop_per_s, 1),
            "ratio": round(self.ratio, 3),
            "target": TARGET,
            "met": self.ratio >= TARGET,
            "handled": self.handled,
        }


def _noop(payload: dict[str, Any]) -> None:
    return None


def _outbox_events(services: Services, count: int) -> None:
    """Every pending event marked published (earlier measurements'), then `count` new ones."""
    now = utcnow()
    with services.engine.begin() as conn:
        conn.execute(
            text("UPDATE outbox SET published_at = :now WHERE published_at IS NULL"), {"now": now}
        )
        conn.execute(
            text(
                "INSERT INTO outbox (event, partition_key, sequence, payload, created_at, attempts)"
                " VALUES (:event, :key, :seq, CAST(:payload AS json), :now, 0)"
            ),
            [
                {
                    "event": EventName.AVAILABILITY_CHANGED.value,
                    "key": f"{CHANNEL}:JOB-{i}",
                    "seq": i + 1,
                    "payload": json.dumps(
                        {"channel": CHANNEL, "sku": f"JOB-{i}", "available": i, "version": i + 1}
                    ),
                    "now": now,
                }
                for i in range(count)
            ],
        )


def measure_job_plane(services: Services, settings: Settings) -> JobPlane:
    services.channels.create_channel(CreateChannel(CHANNEL, CHANNEL, "storefront"))
    clear_redis(settings.redis_url)
    broker = RedisBroker(url=settings.redis_url)  # type: ignore[no-untyped-call]
    client = redis.Redis.from_url(settings.redis_url)
    sync = DramatiqSync(broker, client, services.sync)
    handled: list[int] = []

    def availability_changed(event: dict[str, Any]) -> None:
        sync.availability_changed(event)
        handled.append(1)  # list.append is atomic: the worker's threads share it

    def availability_batch(events: Sequence[dict[str, Any]]) -> None:
        sync.availability_batch(events)
        handled.extend(1 for _ in events)

    register_actors(broker, {EventName.AVAILABILITY_CHANGED: availability_changed})
    noop = dramatiq.actor(actor_name="bench.noop", queue_name=NOOP_QUEUE, broker=broker)(_noop)
    worker = dramatiq.Worker(broker, worker_threads=settings.worker_threads)
    worker.start()
    try:
        # The no-op baseline: N messages sent one by one (as the relay sends them), consumed.
        started = time.monotonic()
        for i in range(MESSAGES):
            noop.send({"n": i})
        broker.join(NOOP_QUEUE)
        noop_seconds = time.monotonic() - started

        _outbox_events(services, MESSAGES)
        # The relay `oms worker` runs (oms.worker.sync_relay): the events become kicks in it.
        relay = OutboxRelay(
            services.sessions,
            broker,
            settings.outbox_batch_size,
            batched={EventName.AVAILABILITY_CHANGED: availability_batch},
        )
        started = time.monotonic()
        published = relay.drain()
        broker.join("channels")
        job_seconds = time.monotonic() - started
    finally:
        worker.stop()
        broker.close()
    failures = []
    if published != MESSAGES or len(handled) != MESSAGES:
        failures.append(
            f"job plane: {published} of {MESSAGES} events published, {len(handled)} handled"
        )
    return JobPlane(MESSAGES, job_seconds, noop_seconds, len(handled), failures)
