"""Connections and listings as an operator makes them (ConnectionService, ListingService)
drive the real sync against the storefront emulator, on both databases: a SKU listed by CSV is
pushed, an unlisted one is pushed no more."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

import pytest
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.channels.emulators.storefront.app import create_app
from tests.builders import receive
from tests.contract.servers import serving
from tests.contract.test_storefront_gateway import StorefrontControl, connection_to
from tests.order_builders import CHANNEL, DC, PANTS, TEE, Shop
from tests.sync.support import services_for


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with serving(create_app()) as base_url:
        yield base_url


@pytest.fixture
def emulator(emulator_url: str) -> Iterator[StorefrontControl]:
    control = StorefrontControl(emulator_url)
    control.reset()
    yield control
    control.http.close()


@pytest.fixture
def services(engine: Engine, emulator: StorefrontControl) -> Iterator[Services]:
    Shop(engine).build()
    found = services_for(engine)
    connection = connection_to(emulator.base_url)
    body = {f.name: getattr(connection, f.name) for f in fields(connection)}
    found.connections.put(CHANNEL, body, "test")  # as PUT /v1/channels/{code}/connection does
    yield found
    found.gateways.close()


def test_a_sku_listed_by_csv_is_pushed_and_once_unlisted_is_pushed_no_more(
    services: Services, emulator: StorefrontControl
) -> None:
    tee, pants = emulator.listing(TEE), emulator.listing(PANTS)
    csv = f"sku,remote_id\n{TEE},{tee.remote_id}\n{PANTS},{pants.remote_id.rsplit('/', 1)[1]}\n"
    services.listings.import_file(CHANNEL, csv.encode(), "test")
    receive(services.inventory, TEE, DC, 6)
    receive(services.inventory, PANTS, DC, 2)

    services.publication.drain()
    services.sync.push.push_changes(CHANNEL)
    assert (emulator.quantity_of(tee), emulator.quantity_of(pants)) == (6, 2)

    services.listings.remove(CHANNEL, PANTS, "test")
    receive(services.inventory, TEE, DC, 1)
    receive(services.inventory, PANTS, DC, 5)
    services.publication.drain()
    services.sync.push.push_changes(CHANNEL)

    assert (emulator.quantity_of(tee), emulator.quantity_of(pants)) == (7, 2)
