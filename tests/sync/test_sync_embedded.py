"""The embedded mode: `oms serve` on SQLite without Redis runs the sync in its own process. A
receipt reaches the storefront emulator and an order seeded there is pulled, by the server
process alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.channels.emulators.storefront.app import create_app
from tests.builders import receive
from tests.contract.servers import serving
from tests.contract.test_storefront_gateway import StorefrontControl, connection_to
from tests.order_builders import CHANNEL, DC, TEE, Shop
from tests.sync.processes import Processes, processes, reconciled_today, services_on, wait_for
from tests.sync.support import connect, list_on


@pytest.fixture
def emulator() -> Iterator[StorefrontControl]:
    with serving(create_app()) as base_url:
        control = StorefrontControl(base_url)
        yield control
        control.http.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Processes]:
    with processes(tmp_path) as started:
        yield started


@pytest.mark.parametrize("backend", ["sqlite"])
def test_oms_serve_on_sqlite_pushes_a_receipt_and_pulls_an_order(
    engine: Engine, database_url: str, emulator: StorefrontControl, running: Processes
) -> None:
    Shop(engine).build()
    oms: Services = services_on(engine)
    tee = emulator.listing(TEE)
    connect(oms, CHANNEL, connection_to(emulator.base_url), pull_interval_seconds=10)
    list_on(oms, CHANNEL, tee)
    reconciled_today(oms, CHANNEL)
    receive(oms.inventory, TEE, DC, 6)
    external_id = emulator.seed_order([(tee, 2, 3000)])
    running.serve(database_url)

    wait_for(
        "the order pulled",
        lambda: oms.orders.find_order(CHANNEL, external_id) is not None,
        180,
    )
    wait_for("its reservation told to the channel", lambda: emulator.quantity_of(tee) == 4)
    receive(oms.inventory, TEE, DC, 3)
    wait_for("the receipt on the channel", lambda: emulator.quantity_of(tee) == 7)
    assert len(oms.orders.list_orders(channel=CHANNEL).items) == 1
    oms.gateways.close()
