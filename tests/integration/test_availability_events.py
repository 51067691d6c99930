"""AvailabilityChanged events and published numbers, kept current by the publisher.

Both databases. Writers queue the SKUs they touched; the publisher's drain (the service its
loop runs) recomputes them. Every test compares what was published once drained (the outbox
and channel_availability) with what the pipeline computes now through the read API, which
shares no code path with the publisher's reads.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from oms.channels.availability.domain.rules import Exclusion, ExclusionKind
from oms.channels.availability.orm import channel_availability
from oms.channels.availability.orm import channels as channels_table
from oms.channels.availability.services.changes import AvailabilityChanges
from oms.channels.availability.services.channels import ChannelService, CreateChannel, UpdateChannel
from oms.channels.availability.services.publication import AvailabilityPublisher
from oms.channels.availability.services.publisher import Drained, PublicationService
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_session_factory
from oms.inventory.domain import InsufficientStock, ReservationLine
from oms.inventory.orm import skus
from oms.inventory.services import (
    CreateTransfer,
    InventoryService,
    ReceiveTransfer,
    ReserveStock,
    UpdateSku,
)
from oms.outbox import outbox
from oms.uow import SqlUnitOfWork
from tests.builders import a_bundle, a_key, a_location, a_movement, a_sku, receive, reserve

DC, STORE, FC, FACTORY = "DC-CHIBA", "STORE-SHIBUYA", "AMAZON-FC", "FACTORY-OKAYAMA"
CHANNELS = ("amazon", "rakuten", "storefront")
SKUS = ("TEE", "CAP", "SET")
ADMIN = "admin"

Event = tuple[str, str, int, int]  # channel, sku, available, version


class World:
    """Three channels over a DC, a store, an Amazon FC and a factory that feeds nobody."""

    def __init__(self, engine: Engine, publisher: AvailabilityPublisher | None = None) -> None:
        self.engine = engine
        factory = make_session_factory(engine)
        self.publisher = publisher or AvailabilityPublisher()

        def uow() -> SqlUnitOfWork:
            return SqlUnitOfWork(factory, self.publisher)

        self.inventory = InventoryService(uow)
        self.channels = ChannelService(uow, self.inventory)
        self.availability = ChannelAvailabilityService(uow, self.inventory)
        self.changes = AvailabilityChanges(uow)
        self.publication = PublicationService(uow, self.publisher)

    def drain(self) -> Drained:
        """What the publisher's loop does: publish every queued change."""
        return self.publication.drain()

    def build(self, *, with_channels: bool = True) -> World:
        for code in (DC, STORE, FC):
            a_location(self.inventory, code)
        a_location(self.inventory, FACTORY, kind="factory", ships_to_customers=False)
        a_sku(self.inventory, "TEE", attributes={"category": "tops"})
        a_sku(self.inventory, "CAP", attributes={"category": "hats"})
        a_bundle(self.inventory, "SET", [("TEE", 1), ("CAP", 1)])
        receive(self.inventory, "TEE", DC, 10)
        receive(self.inventory, "CAP", DC, 4)
        receive(self.inventory, "TEE", STORE, 5)
        if with_channels:
            self.add_channels()
        return self

    def add_channels(self) -> None:
        self.channel("amazon", [FC, DC], kind="amazon")
        self.channel("rakuten", [DC])
        self.channel("storefront", [DC, STORE], kind="storefront")
        self.channels.set_default_safety_stock(STORE, 2, ADMIN)

    def channel(self, code: str, locations: list[str], **fields: Any) -> None:
        kind = fields.pop("kind", "rakuten")
        self.channels.create_channel(CreateChannel(code, code, kind, locations=locations, **fields))

    def live(self) -> dict[tuple[str, str], int]:
        """Every channel's number for every SKU, computed now by the read path."""
        return {
            (channel, found.availability.sku): found.availability.available
            for channel in CHANNELS
            for found in self.availability.channel_availability(channel, list(SKUS))
        }

    def published(self) -> dict[tuple[str, str], int]:
        """What each channel was last told by event (never told: 0), checked against the
        stored numbers that `changed_since` reads."""
        told = dict.fromkeys(((c, s) for c in CHANNELS for s in SKUS), 0)
        versions: dict[tuple[str, str], int] = {}
        for event in self.events():
            told[(event[0], event[1])] = event[2]
            versions[(event[0], event[1])] = event[3]
        with self.engine.connect() as conn:
            stored = {
                (r[0], r[1]): (r[2], r[3])
                for r in conn.execute(
                    select(
                        channels_table.c.code,
                        skus.c.code,
                        channel_availability.c.available,
                        channel_availability.c.version,
                    )
                    .join(channels_table, channels_table.c.id == channel_availability.c.channel_id)
                    .join(skus, skus.c.id == channel_availability.c.sku_id)
                )
            }
        assert stored == {pair: (told[pair], versions[pair]) for pair in versions}
        return told

    def events(self) -> list[Event]:
        """Every AvailabilityChanged, once the publisher drained what was queued."""
        self.drain()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.payload)
                .where(outbox.c.event == "AvailabilityChanged")
                .order_by(outbox.c.id)
            )
            return [
                (p["channel"], p["sku"], p["available"], p["version"])
                for p in (r.payload for r in rows)
            ]

    def events_of(self, action: Any) -> list[Event]:
        before = len(self.events())
        action()
        return self.events()[before:]


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine).build()


def test_creating_channels_tells_them_their_first_numbers(world: World) -> None:
    assert world.published() == world.live()
    # TEE: rakuten sees DC 10; storefront DC 10 + store 5 - safety 2; amazon DC 10.
    assert world.live()[("storefront", "TEE")] == 13
    assert world.live()[("rakuten", "SET")] == 4
    # A number never told and 0 gets no event.
    assert all(event[2] > 0 or event[3] > 1 for event in world.events())


def test_a_receipt_tells_each_affected_channel_once_including_bundles(world: World) -> None:
    events = world.events_of(lambda: receive(world.inventory, "CAP", DC, 3))
    pairs = [(e[0], e[1]) for e in events]
    assert sorted(pairs) == sorted([(c, s) for c in CHANNELS for s in ("CAP", "SET")]), (
        "CAP moved, and SET through it; TEE did not move"
    )
    assert len(pairs) == len(set(pairs))
    assert world.published() == world.live()
    assert {e[1]: e[2] for e in events if e[0] == "rakuten"} == {"CAP": 7, "SET": 7}


def test_stock_that_feeds_no_channel_tells_nobody(world: World) -> None:
    assert world.events_of(lambda: receive(world.inventory, "TEE", FACTORY, 50)) == []


def test_a_change_that_leaves_the_number_alone_tells_nobody(world: World) -> None:
    world.channels.set_cap("rakuten", "TEE", 3, ADMIN)
    events = world.events_of(lambda: receive(world.inventory, "TEE", DC, 1))
    assert ("rakuten", "TEE") not in [(e[0], e[1]) for e in events]  # capped at 3 either way
    assert ("amazon", "TEE") in [(e[0], e[1]) for e in events]


def test_many_movements_in_one_transaction_make_one_event_per_channel_and_sku(
    world: World,
) -> None:
    moves = [a_movement("receipt", "TEE", DC, 1) for _ in range(5)]
    events = world.events_of(lambda: world.inventory.record_movements(moves))
    pairs = [(e[0], e[1]) for e in events]
    assert sorted(pairs) == sorted([(c, "TEE") for c in CHANNELS])
    assert {e[0]: e[2] for e in events} == {"amazon": 15, "rakuten": 15, "storefront": 18}


def test_versions_count_the_changes_of_each_number(world: World) -> None:
    world.drain()
    receive(world.inventory, "TEE", DC, 1)
    world.drain()  # a batch per change here; changes drained together are one version
    receive(world.inventory, "TEE", DC, 1)
    versions = [e[3] for e in world.events() if e[:2] == ("rakuten", "TEE")]
    assert versions == [1, 2, 3]


def test_reservation_and_release_are_published_once_drained(world: World) -> None:
    events = world.events_of(lambda: reserve(world.inventory, ("TEE", DC, 4)))
    assert {(e[0], e[1]): e[2] for e in events if e[1] == "TEE"} == {
        ("amazon", "TEE"): 6,
        ("rakuten", "TEE"): 6,
        ("storefront", "TEE"): 9,
    }
    assert world.published() == world.live()
    reservation_id = reserve(world.inventory, ("CAP", DC, 4))
    assert world.published()[("rakuten", "SET")] == 0
    world.inventory.release(reservation_id)
    assert world.published() == world.live()
    assert world.published()[("rakuten", "SET")] == 4


def test_a_refused_reservation_publishes_nothing(world: World) -> None:
    before = world.events()
    with pytest.raises(InsufficientStock):
        reserve(world.inventory, ("TEE", DC, 4), ("CAP", DC, 99))
    assert world.events() == before


def test_transfers_publish_when_stock_leaves_and_arrives(world: World) -> None:
    transfer = world.inventory.create_transfer(
        CreateTransfer(DC, STORE, [("TEE", 4)], idempotency_key=a_key())
    )
    world.inventory.ship_transfer(transfer.transfer.id or 0, idempotency_key=a_key())
    assert world.published()[("rakuten", "TEE")] == 6
    assert world.published() == world.live()
    world.inventory.receive_transfer(
        ReceiveTransfer(transfer.transfer.id or 0, [("TEE", 4)], idempotency_key=a_key())
    )
    assert world.published()[("storefront", "TEE")] == 13
    assert world.published() == world.live()


def test_rule_changes_publish_and_a_rule_set_again_does_not(world: World) -> None:
    events = world.events_of(
        lambda: world.channels.set_buffer("amazon", "category", "tops", 3, ADMIN)
    )
    assert [(e[0], e[1], e[2]) for e in events] == [("amazon", "TEE", 7)]
    assert (
        world.events_of(lambda: world.channels.set_buffer("amazon", "category", "tops", 3, ADMIN))
        == []
    )
    world.channels.set_pool("rakuten", "TEE", 6, ADMIN)
    assert world.published() == world.live()
    assert world.published()[("amazon", "TEE")] == 1  # 10 - rakuten's 6 - buffer 3
    world.channels.add_exclusion(
        "storefront", Exclusion(ExclusionKind.ATTRIBUTE, attribute="category", value="hats"), ADMIN
    )
    assert world.published()[("storefront", "CAP")] == 0
    assert world.published()[("storefront", "SET")] == 0
    world.channels.set_default_safety_stock(STORE, 0, ADMIN)
    world.channels.set_share("storefront", None, 50, ADMIN)
    world.channels.set_cap("amazon", None, 0, ADMIN)
    assert world.published() == world.live()


def test_channel_changes_and_catalogue_changes_publish(world: World) -> None:
    world.channels.update_channel(UpdateChannel("rakuten", active=False))
    assert all(world.published()[("rakuten", sku)] == 0 for sku in SKUS)
    world.channels.update_channel(UpdateChannel("rakuten", active=True, locations=[DC, STORE]))
    assert world.published() == world.live()
    world.channels.add_exclusion(
        "amazon", Exclusion(ExclusionKind.ATTRIBUTE, attribute="category", value="outlet"), ADMIN
    )
    world.inventory.update_sku(UpdateSku("TEE", attributes={"category": "outlet"}))
    assert world.published()[("amazon", "TEE")] == 0
    assert world.published()[("amazon", "SET")] == 0  # its component is excluded
    # A new bundle of stocked components is sellable at once.
    events = world.events_of(lambda: a_bundle(world.inventory, "SET2", [("TEE", 2)]))
    live = world.availability.channel_availability("rakuten", ["SET2"])[0].availability.available
    assert live == 6  # DC 10 and the store's 5 - 2, two per set
    assert ("rakuten", "SET2", 6, 1) in events


def test_a_channel_created_after_the_stock_is_told_every_number(engine: Engine) -> None:
    world = World(engine).build(with_channels=False)
    assert world.events() == []
    world.add_channels()
    assert world.published() == world.live()


def test_without_channels_nothing_is_published(engine: Engine) -> None:
    world = World(engine).build(with_channels=False)
    reserve(world.inventory, ("TEE", DC, 1))
    assert world.events() == []


# --------------------------------------------------------------------------- changed_since


def test_changed_since_hands_out_each_change_once(world: World) -> None:
    world.drain()
    first = world.changes.changed_since("rakuten", "0")
    assert {i.sku: i.available for i in first.items} == {"TEE": 10, "CAP": 4, "SET": 4}
    assert not first.more
    again = world.changes.changed_since("rakuten", first.next_cursor)
    assert again.items == []
    receive(world.inventory, "CAP", DC, 1)
    receive(world.inventory, "TEE", STORE, 1)  # rakuten is not fed by the store
    world.drain()
    later = world.changes.changed_since("rakuten", again.next_cursor)
    assert [(i.sku, i.available, i.version) for i in later.items] == [
        ("CAP", 5, 2),
        ("SET", 5, 2),
    ]
    assert world.changes.changed_since("rakuten", later.next_cursor).items == []


def test_changed_since_pages_without_losing_a_change(world: World) -> None:
    world.drain()
    seen: dict[str, int] = {}
    cursor = "0"
    for _ in range(10):
        page = world.changes.changed_since("storefront", cursor, limit=1)
        seen.update({i.sku: i.available for i in page.items})
        cursor = page.next_cursor
        if not page.more:
            break
    assert seen == {sku: n for (c, sku), n in world.live().items() if c == "storefront" and n}


@pytest.mark.parametrize("cursor", ["", "abc", "c1.x.1", "c1.1", "-1", "c1.1.99999999999"])
def test_changed_since_refuses_a_cursor_it_did_not_hand_out(world: World, cursor: str) -> None:
    from oms.shared.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        world.changes.changed_since("rakuten", cursor)
    assert refused.value.field == "changed_since"


# --------------------------------------------------------------------------- velocity


def test_auto_buffer_holds_back_what_sells_between_two_pushes(engine: Engine) -> None:
    world = World(engine).build(with_channels=False)
    # 60 s between pushes; 30 units reserved for the storefront in the last hour: 0.5/min.
    world.channel("storefront", [DC], kind="storefront", auto_buffer=True, push_latency_seconds=60)
    assert world.published()[("storefront", "TEE")] == 10
    world.inventory.reserve(
        ReserveStock([ReservationLine("TEE", DC, 3)], idempotency_key=a_key(), channel="storefront")
    )
    # 7 left; velocity 3 / 60 = 0.05/min x 1 min -> ceil(0.05) = 1 held back.
    assert world.published()[("storefront", "TEE")] == 6
    explained = world.availability.explain("storefront", "TEE")
    assert explained.availability.available == 6  # the read path sees the same velocity
    assert any("0.05 units/min" in note for note in explained.notes), explained.notes
    assert world.availability.recompute_all()["storefront"]["TEE"] == 6
    # Units reserved for another channel do not count towards the storefront's velocity.
    world.channel("amazon", [DC], kind="amazon")
    world.inventory.reserve(
        ReserveStock([ReservationLine("CAP", DC, 1)], idempotency_key=a_key(), channel="amazon")
    )
    assert world.published()[("storefront", "CAP")] == 3


# --------------------------------------------------------------------------- PostgreSQL path


def test_a_reservation_on_postgresql_is_published_once_drained(pg_engine: Engine) -> None:
    world = World(pg_engine, AvailabilityPublisher()).build()
    events = world.events_of(lambda: reserve(world.inventory, ("TEE", DC, 2)))
    assert ("rakuten", "TEE", 8, 2) in events
    assert world.published() == world.live()


# --------------------------------------------------------------------------- the queue


def test_a_writer_only_queues_and_the_drain_publishes_once(world: World) -> None:
    told = world.events()  # drained
    receive(world.inventory, "CAP", DC, 3)
    with world.engine.connect() as conn:
        stored = conn.execute(
            select(outbox.c.id).where(outbox.c.event == "AvailabilityChanged")
        ).all()
    assert len(stored) == len(told), "the writer wrote no number itself"
    assert world.publication.backlog().waiting == 1
    done = world.drain()
    assert (done.changes, done.numbers) == (1, 6)  # CAP and SET, for three channels
    assert world.publication.backlog().waiting == 0
    assert world.drain() == Drained()
    assert world.published() == world.live()


def test_a_hot_sku_queued_many_times_is_recomputed_once(world: World) -> None:
    world.drain()
    for _ in range(5):
        reserve(world.inventory, ("TEE", DC, 1))
    done = world.drain()
    assert (done.changes, done.batches) == (5, 1)
    # One event per channel for the whole batch: TEE 10 -> 5 (SET stays at CAP's 4).
    assert done.numbers == 3
    assert [e[3] for e in world.events() if e[:2] == ("rakuten", "TEE")] == [1, 2]
    assert world.published() == world.live()


def test_a_rule_change_for_every_sku_is_one_queued_change(world: World) -> None:
    world.drain()
    world.channels.set_default_safety_stock(DC, 1, ADMIN)
    assert world.publication.backlog().waiting == 1
    assert world.published() == world.live()
    assert world.live()[("rakuten", "TEE")] == 9


def test_republish_all_restores_numbers_lost_around_the_api(world: World) -> None:
    world.drain()
    with world.engine.begin() as conn:
        conn.execute(channel_availability.delete())
    changed = world.publication.republish_all()
    assert changed == sum(1 for n in world.live().values() if n)
    assert world.publication.republish_all() == 0
