"""Hypothesis over the real services and databases: what each channel was told always equals
what the pipeline computes now, whatever the sequence of movements, reservations (for a channel
or for none), releases and rule changes; no reservation shrinks another channel's pool; each
(channel, SKU) gets at most one event per transaction, and only when its number changed.

And on PostgreSQL, with parallel clients moving the same SKUs at different locations: the
published numbers still equal the computed ones at the end (no lost update between writers).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine

from oms.channels.availability.services.publication import AvailabilityPublisher
from oms.channels.availability.services.publisher import PublicationService
from oms.db import make_session_factory
from oms.inventory.domain import InsufficientStock, ReservationLine, StockRuleBroken
from oms.inventory.services import ReserveStock
from oms.shared.errors import InvalidInput
from oms.uow import SqlUnitOfWork
from tests.builders import a_key, a_movement, reserve
from tests.conftest import clean
from tests.examples import examples
from tests.integration.test_availability_events import ADMIN, DC, STORE, World

skus = st.sampled_from(["TEE", "CAP"])
places = st.sampled_from([DC, STORE, "AMAZON-FC"])
units = st.integers(1, 6)
channels = st.sampled_from(["amazon", "rakuten", "storefront"])


class PublishedMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        clean(engine)
        self.world = World(engine).build()
        self.reservations: list[int] = []
        self.events_seen = len(self.world.events())

    def _one_transaction(self, action: Any) -> None:
        """Run one transaction; its events are one per (channel, SKU) and all real changes."""
        before = self.world.published()
        with contextlib.suppress(InsufficientStock, StockRuleBroken, InvalidInput):
            action()
        new = self.world.events()[self.events_seen :]
        self.events_seen += len(new)
        pairs = [(e[0], e[1]) for e in new]
        assert len(pairs) == len(set(pairs)), f"two events for one number: {new}"
        for channel, sku, available, _ in new:
            assert before[(channel, sku)] != available, f"event without a change: {new}"

    @rule(sku=skus, place=places, n=units)
    def receive(self, sku: str, place: str, n: int) -> None:
        self._one_transaction(
            lambda: self.world.inventory.record_movement(a_movement("receipt", sku, place, n))
        )

    @rule(sku=skus, place=places, n=units)
    def lose(self, sku: str, place: str, n: int) -> None:
        self._one_transaction(
            lambda: self.world.inventory.record_movement(a_movement("adjustment", sku, place, -n))
        )

    def _pooled(self, sku: str) -> dict[str, int]:
        """What each channel's pool of `sku` holds now, as the pipeline allocates it."""
        return {
            channel: found.availability.pooled
            for channel in ("amazon", "rakuten", "storefront")
            for found in self.world.availability.channel_availability(channel, [sku])
        }

    @rule(sku=skus, place=places, n=units, channel=channels | st.none())
    def reserve(self, sku: str, place: str, n: int, channel: str | None) -> None:
        """A reservation for a channel (or for none) never takes what another channel's
        pool holds; one for the pool's channel draws the pool down first."""
        before = self._pooled(sku)

        def act() -> None:
            result = self.world.inventory.reserve(
                ReserveStock([ReservationLine(sku, place, n)], channel=channel)
            )
            assert result.reservation.id is not None
            self.reservations.append(result.reservation.id)

        self._one_transaction(act)
        after = self._pooled(sku)
        for other, held in before.items():
            if other != channel:
                assert after[other] >= held, (channel, sku, place, n, before, after)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.reservations:
            chosen = data.draw(st.sampled_from(self.reservations))
            self._one_transaction(lambda: self.world.inventory.release(chosen))

    @rule(channel=channels, sku=skus, n=st.integers(0, 8) | st.none())
    def pool(self, channel: str, sku: str, n: int | None) -> None:
        self._one_transaction(lambda: self.world.channels.set_pool(channel, sku, n, ADMIN))

    @rule(channel=channels, n=st.integers(0, 3) | st.none())
    def buffer(self, channel: str, n: int | None) -> None:
        self._one_transaction(
            lambda: self.world.channels.set_buffer(channel, "default", None, n, ADMIN)
        )

    @rule(channel=channels, sku=skus, n=st.integers(0, 100) | st.none())
    def share(self, channel: str, sku: str, n: int | None) -> None:
        self._one_transaction(lambda: self.world.channels.set_share(channel, sku, n, ADMIN))

    @rule(place=places, n=st.integers(0, 3))
    def safety(self, place: str, n: int) -> None:
        self._one_transaction(lambda: self.world.channels.set_default_safety_stock(place, n, ADMIN))

    @invariant()
    def told_what_the_pipeline_computes(self) -> None:
        assert self.world.published() == self.world.live()


def test_published_numbers_follow_every_change(engine: Engine) -> None:
    class OnThisEngine(PublishedMachine):
        def __init__(self) -> None:
            super().__init__(engine)

    run_state_machine_as_test(
        OnThisEngine,
        settings=settings(
            max_examples=examples(12),
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_parallel_writers_and_publishers_leave_every_number_right(pg_engine: Engine) -> None:
    """Reservations at the DC and receipts at the store, of the same SKUs, at once, while two
    publishers (as two processes: a publisher each) drain the queue: each publisher computes
    from the stock committed before its lock on the SKU, so once drained no number is stale."""
    world = World(pg_engine).build()
    world.drain()
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()
    factory = make_session_factory(pg_engine)

    def a_publisher() -> PublicationService:
        own = AvailabilityPublisher()  # as in a process of its own
        return PublicationService(lambda: SqlUnitOfWork(factory, own), own, batch_size=3)

    publishers = [a_publisher(), a_publisher()]
    published: list[int] = []

    def publisher(service: PublicationService) -> None:
        try:
            while writing.is_set():
                published.append(service.drain().numbers)
        except BaseException as error:
            errors.append(error)

    def reserver(index: int) -> None:
        try:
            for i in range(12):
                sku = "TEE" if (i + index) % 2 else "CAP"
                with contextlib.suppress(InsufficientStock):
                    reserve(world.inventory, (sku, DC, 1), key=a_key())
        except BaseException as error:
            errors.append(error)

    def receiver(index: int) -> None:
        try:
            for i in range(12):
                sku = "CAP" if (i + index) % 2 else "TEE"
                world.inventory.record_movement(a_movement("receipt", sku, STORE, 1))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=reserver, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=receiver, args=(i,)) for i in range(3)]
    draining = [threading.Thread(target=publisher, args=(p,)) for p in publishers]
    for thread in threads + draining:
        thread.start()
    for thread in threads:
        thread.join()
    writing.clear()
    for thread in draining:
        thread.join()
    assert errors == []
    assert sum(published) > 0, "the two publishers published nothing while the writers ran"
    assert world.published() == world.live()
