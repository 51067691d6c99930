"""`oms sync` through the real command against the storefront emulator: push, pull, status,
reconcile (with and without --fix), failures and retry, and clean one-line refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.channels.emulators.storefront.app import create_app
from oms.channels.sync.domain.model import ListingRef
from tests.builders import receive
from tests.cli.conftest import Oms, messages
from tests.contract.servers import serving
from tests.contract.test_storefront_gateway import TOKEN, StorefrontControl, connection_to
from tests.order_builders import CHANNEL, DC, PANTS, TEE, Shop
from tests.sync.support import connect, list_on, services_for


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
def services(engine: Engine, emulator: StorefrontControl, oms: Oms) -> Iterator[Services]:
    Shop(engine).build()
    found = services_for(engine)  # sealed with the tests' key, as the CLI reads it
    connect(found, CHANNEL, connection_to(emulator.base_url))
    yield found
    found.gateways.close()


def test_push_pull_and_status(oms: Oms, services: Services, emulator: StorefrontControl) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, tee)
    receive(services.inventory, TEE, DC, 9)
    emulator.seed_order([(tee, 1, 3000)])

    pushed = oms("sync", "push", "--channel", CHANNEL)
    pulled = oms("sync", "pull", "--channel", CHANNEL)
    status = oms("sync", "status")

    assert pushed.exit_code == 0, pushed.output
    assert f"{CHANNEL}: 1 pushed in 1 calls" in pushed.stdout
    assert emulator.quantity_of(tee) == 9
    assert pulled.exit_code == 0, pulled.output
    assert "1 new orders" in pulled.stdout
    assert status.exit_code == 0, status.output
    assert CHANNEL in status.stdout
    assert TOKEN not in status.stdout + status.stderr


def test_a_full_push_and_reconcile_with_fix(
    oms: Oms, services: Services, emulator: StorefrontControl
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, tee)
    receive(services.inventory, TEE, DC, 5)
    assert oms("sync", "push", "--channel", CHANNEL, "--full").exit_code == 0
    receive(services.inventory, TEE, DC, 2)

    found = oms("sync", "reconcile", "--channel", CHANNEL)
    fixed = oms("sync", "reconcile", "--channel", CHANNEL, "--fix")

    assert found.exit_code == 1  # drift found and left: a script can tell
    assert "1 drifted (run with --fix to push them)" in found.stdout
    assert fixed.exit_code == 0, fixed.output
    assert "1 fixed" in fixed.stdout
    assert emulator.quantity_of(tee) == 7


def test_a_refused_sku_is_listed_as_a_failure_and_retried(
    oms: Oms, services: Services, emulator: StorefrontControl
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, CHANNEL, ListingRef(PANTS, "gid://shopify/InventoryItem/424242"))
    receive(services.inventory, PANTS, DC, 3)

    pushed = oms("sync", "push", "--channel", CHANNEL)
    failures = oms("sync", "failures")

    assert pushed.exit_code == 1
    assert "1 refused" in pushed.stdout
    assert failures.exit_code == 0
    assert PANTS in failures.stdout
    with services.uow() as uow:
        [failure] = uow.sync.failures(CHANNEL, True, 0, 10)
    still = oms("sync", "retry", str(failure.id))
    assert still.exit_code == 1
    assert f"failure {failure.id} is still open" in messages(still)

    list_on(services, CHANNEL, ListingRef(PANTS, tee.remote_id))  # fixed: no longer stands
    assert oms("sync", "push", "--channel", CHANNEL).exit_code == 0
    assert emulator.quantity_of(tee) == 3
    done = oms("sync", "retry", str(failure.id))
    assert done.exit_code == 1
    assert "resolved already" in messages(done)


def test_refusals_are_one_line(oms: Oms, services: Services) -> None:
    unknown = oms("sync", "push", "--channel", "nope")
    no_failure = oms("sync", "retry", "999")

    assert unknown.exit_code == 1
    assert messages(unknown) == "error: channel: no channel 'nope'"
    assert no_failure.exit_code == 1
    assert messages(no_failure) == "error: id: no sync failure 999"
