"""Channels and their rules through ChannelService, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from oms.channels.availability.domain.rules import Exclusion, RuleKind
from oms.channels.availability.orm import (
    channel_caps,
    channel_exclusions,
    channel_locations,
    channel_pools,
    channel_shares,
    channels,
    rule_changes,
    safety_stock,
)
from oms.channels.availability.services.channels import ChannelService, CreateChannel, UpdateChannel
from oms.db import make_session_factory
from oms.inventory.services import InventoryService
from oms.shared.errors import InvalidInput, NotFound
from oms.uow import SqlUnitOfWork
from tests.builders import SteppingClock, a_location, a_service, a_sku, receive, reserve

DC, STORE = "DC-CHIBA", "STORE-SHIBUYA"
TEE = "TEE-BLK-M"


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def stock(engine: Engine, clock: SteppingClock) -> InventoryService:
    inventory = a_service(engine, clock)
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0002")
    a_sku(inventory, TEE)
    return inventory


@pytest.fixture
def service(engine: Engine, stock: InventoryService, clock: SteppingClock) -> ChannelService:
    factory = make_session_factory(engine)
    return ChannelService(lambda: SqlUnitOfWork(factory), stock, clock=clock)


def a_channel(service: ChannelService, code: str = "RAKUTEN", **overrides: Any) -> str:
    fields: dict[str, Any] = {"code": code, "name": code, "kind": "rakuten", "locations": [DC]}
    fields.update(overrides)
    service.create_channel(CreateChannel(**fields))
    return code


def rule_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a rule or channel write can touch, to prove a refusal changed nothing."""
    tables = (
        channels,
        channel_locations,
        safety_stock,
        channel_exclusions,
        channel_pools,
        channel_shares,
        channel_caps,
        rule_changes,
    )
    with engine.connect() as conn:
        return {t.name: sorted(tuple(map(str, r)) for r in conn.execute(select(t))) for t in tables}


def test_a_channel_keeps_its_feeding_locations_in_order_through_changes(
    service: ChannelService,
) -> None:
    a_channel(service, locations=[STORE, DC])
    assert service.get_channel("RAKUTEN").locations == [STORE, DC]
    service.update_channel(UpdateChannel("RAKUTEN", locations=[DC], active=False))
    channel = service.get_channel("RAKUTEN")
    assert (channel.locations, channel.active, channel.name) == ([DC], False, "RAKUTEN")


def test_a_channel_fed_by_an_unknown_location_is_refused_and_nothing_is_written(
    service: ChannelService, engine: Engine
) -> None:
    before = rule_rows(engine)
    with pytest.raises(InvalidInput) as refused:
        a_channel(service, locations=[DC, "NOWHERE"])
    assert refused.value.field == "locations[1]"
    assert rule_rows(engine) == before


def test_a_pool_may_not_exceed_what_is_available_at_the_feeding_locations_now(
    service: ChannelService, stock: InventoryService, engine: Engine
) -> None:
    a_channel(service)
    receive(stock, TEE, DC, 5)
    receive(stock, TEE, STORE, 100)
    reserve(stock, (TEE, DC, 2))
    before = rule_rows(engine)
    with pytest.raises(InvalidInput) as refused:
        service.set_pool("RAKUTEN", TEE, 4, "admin")
    assert (refused.value.field, refused.value.extra) == ("quantity", {"available": 3})
    assert rule_rows(engine) == before
    assert service.set_pool("RAKUTEN", TEE, 3, "admin") is not None


@pytest.mark.parametrize(
    ("write", "field"),
    [
        (lambda s: s.set_safety_stock(TEE, DC, -1, "a"), "quantity"),
        (lambda s: s.set_safety_stock("NOPE", DC, 1, "a"), "sku"),
        (lambda s: s.set_default_safety_stock("NOWHERE", 1, "a"), "location"),
        (lambda s: s.set_buffer("RAKUTEN", "default", None, -2, "a"), "units"),
        (lambda s: s.set_share("RAKUTEN", None, 101, "a"), "percent"),
        (lambda s: s.set_cap("RAKUTEN", "NOPE", 1, "a"), "sku"),
        (
            lambda s: s.add_exclusion("RAKUTEN", Exclusion.of("location", location="X"), "a"),
            "location",
        ),
    ],
)
def test_a_bad_rule_changes_nothing(
    service: ChannelService, engine: Engine, write: Any, field: str
) -> None:
    a_channel(service)
    before = rule_rows(engine)
    with pytest.raises(InvalidInput) as refused:
        write(service)
    assert refused.value.field == field
    assert rule_rows(engine) == before


def test_a_rule_of_an_unknown_channel_is_not_found(service: ChannelService) -> None:
    with pytest.raises(NotFound):
        service.set_cap("NOPE", None, 1, "admin")
    with pytest.raises(NotFound):
        service.channel_rules("NOPE")


def test_rule_changes_record_the_actor_the_time_and_both_values(
    service: ChannelService, clock: SteppingClock
) -> None:
    a_channel(service)
    first = clock.advance(minutes=1)
    service.set_share("RAKUTEN", TEE, 30, "alice")
    second = clock.advance(minutes=1)
    service.set_share("RAKUTEN", TEE, 40.5, "bob")
    service.set_share("RAKUTEN", TEE, 40.5, "bob")  # no change, no row
    third = clock.advance(minutes=1)
    service.set_safety_stock(TEE, STORE, 2, "carol")
    recorded = service.rule_changes().items
    assert [(c.kind, c.channel, c.key, c.old, c.new, c.actor, c.at) for c in recorded] == [
        (RuleKind.SAFETY_STOCK, None, f"{TEE}@{STORE}", None, 2, "carol", third),
        (RuleKind.SHARE, "RAKUTEN", f"sku:{TEE}", 30, 40.5, "bob", second),
        (RuleKind.SHARE, "RAKUTEN", f"sku:{TEE}", None, 30, "alice", first),
    ]
    assert len(service.rule_changes(channel="RAKUTEN").items) == 2


def test_safety_stock_defaults_and_overrides_are_kept_apart(service: ChannelService) -> None:
    service.set_default_safety_stock(STORE, 3, "admin")
    service.set_safety_stock(TEE, STORE, 0, "admin")  # zero overrides the default
    assert [(d.location, d.quantity) for d in service.default_safety_stocks()] == [(STORE, 3)]
    assert [(r.sku, r.location, r.quantity) for r in service.safety_stocks().items] == [
        (TEE, STORE, 0)
    ]
    service.set_safety_stock(TEE, STORE, None, "admin")
    assert service.safety_stocks().items == []
