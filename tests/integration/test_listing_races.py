"""Listings written at the same moment on PostgreSQL: each race ends in clean answers (one
listing wins, the others are refused by the rule they break), never a unique-key error."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from oms.bootstrap import bootstrap
from oms.channels.availability.services.channels import CreateChannel
from oms.channels.sync.services.listings import ListingTaken
from tests.builders import a_location, a_sku

CLIENTS = 8


def test_skus_racing_for_one_channel_item_leave_one_listing_and_refuse_the_others(
    pg_engine: Engine,
) -> None:
    services = bootstrap(engine=pg_engine)
    a_location(services.inventory, "DC-CHIBA")
    skus = [f"TEE-{n}" for n in range(CLIENTS)]
    for sku in skus:
        a_sku(services.inventory, sku)
    services.channels.create_channel(
        CreateChannel("amazon", "Amazon", "amazon", locations=["DC-CHIBA"])
    )
    start = threading.Barrier(CLIENTS)
    outcomes: dict[str, object] = {}

    def client(sku: str) -> None:
        start.wait(timeout=10)
        try:
            outcomes[sku] = services.listings.put("amazon", sku, "SELLER-SKU-1", None, "test")
        except Exception as refused:
            outcomes[sku] = refused

    threads = [threading.Thread(target=client, args=(sku,)) for sku in skus]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    refused = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert len(outcomes) == CLIENTS
    assert len(refused) == CLIENTS - 1
    assert all(isinstance(o, ListingTaken) for o in refused), refused
    [listing] = services.listings.page("amazon").items
    assert outcomes[listing.sku] == (listing, True)


def test_the_same_sku_listed_at_once_by_many_is_one_listing(pg_engine: Engine) -> None:
    services = bootstrap(engine=pg_engine)
    a_location(services.inventory, "DC-CHIBA")
    a_sku(services.inventory, "TEE-BLK-M")
    services.channels.create_channel(
        CreateChannel("shop", "Shop", "storefront", locations=["DC-CHIBA"])
    )
    start = threading.Barrier(CLIENTS)
    created: list[bool] = []
    errors: list[BaseException] = []

    def client() -> None:
        start.wait(timeout=10)
        try:
            created.append(services.listings.put("shop", "TEE-BLK-M", "42", None, "test")[1])
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(created) == [False] * (CLIENTS - 1) + [True]
