"""Every channel kind, end to end through the sync services and the real adapter over HTTP to
its emulator: a number pushed and not pushed again, an order pulled once, a channel's
cancellation cancelling it, the parcel confirmed once, drift found and fixed by reconciliation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.channels.availability.services.channels import CreateChannel
from oms.channels.emulators.amazon.app import create_app as amazon_app
from oms.channels.emulators.rakuten.app import create_app as rakuten_app
from oms.channels.emulators.storefront.app import create_app as storefront_app
from oms.channels.sync.domain.connections import Connection, RakutenConnection
from oms.channels.sync.domain.model import ChannelKind
from oms.orders.domain.order import OrderStatus
from tests.builders import receive
from tests.contract.amazon_control import EMULATOR_FAST, FAST, AmazonControl
from tests.contract.amazon_control import a_connection as amazon_connection
from tests.contract.rakuten_support import LICENSE_KEY, SERVICE_SECRET, RakutenEmulatorControl
from tests.contract.servers import serving
from tests.contract.test_storefront_gateway import StorefrontControl, connection_to
from tests.order_builders import DC, PANTS, TEE, Shop, open_shipments
from tests.sync.support import connect, list_on, push_until_accepted, services_for


@dataclass(frozen=True)
class Kind:
    kind: ChannelKind
    app: Callable[[], Any]
    control: Callable[[str], Any]
    connection: Callable[[str], Connection]
    options: dict[str, Any]
    reset: Callable[[Any], None]


KINDS = {
    "amazon": Kind(
        ChannelKind.AMAZON,
        amazon_app,
        AmazonControl,
        amazon_connection,
        {"settings": FAST},
        lambda control: control.reset(**EMULATOR_FAST),
    ),
    "rakuten": Kind(
        ChannelKind.RAKUTEN,
        rakuten_app,
        RakutenEmulatorControl,
        lambda url: RakutenConnection(
            endpoint=url, service_secret=SERVICE_SECRET, license_key=LICENSE_KEY
        ),
        {},
        lambda control: control.reset(),
    ),
    "storefront": Kind(
        ChannelKind.STOREFRONT,
        storefront_app,
        StorefrontControl,
        connection_to,
        {},
        lambda control: control.reset(),
    ),
}


@pytest.fixture(scope="module", params=sorted(KINDS))
def running(request: pytest.FixtureRequest) -> Iterator[tuple[Kind, str]]:
    kind = KINDS[request.param]
    with serving(kind.app()) as base_url:
        yield kind, base_url


@pytest.fixture
def emulator(running: tuple[Kind, str]) -> Iterator[Any]:
    kind, base_url = running
    control = kind.control(base_url)
    kind.reset(control)
    yield control
    control.http.close()


@pytest.fixture
def services(engine: Engine, running: tuple[Kind, str]) -> Iterator[Services]:
    kind, base_url = running
    shop = Shop(engine).build()
    shop.channels.create_channel(
        CreateChannel("chan", "The channel", kind.kind.value, locations=[DC])
    )
    found = services_for(engine, gateway_options={kind.kind: kind.options})
    connect(found, "chan", kind.connection(base_url))
    yield found
    found.gateways.close()


def test_a_number_is_pushed_once_and_a_second_change_once_more(
    services: Services, emulator: Any
) -> None:
    tee = emulator.listing(TEE)
    list_on(services, "chan", tee)
    receive(services.inventory, TEE, DC, 8)

    services.publication.drain()
    first = services.sync.push.push_changes("chan")
    services.publication.drain()
    idle = services.sync.push.push_changes("chan")
    receive(services.inventory, TEE, DC, 4)
    second = push_until_accepted(services, "chan")

    assert (first.accepted, idle.calls, second.accepted) == (1, 0, 1)
    assert emulator.quantity_of(tee) == 12


def test_an_order_is_pulled_once_cancelled_with_the_channel_and_a_parcel_confirmed_once(
    services: Services, emulator: Any, engine: Engine
) -> None:
    tee, pants = emulator.listing(TEE), emulator.listing(PANTS)
    list_on(services, "chan", tee, pants)
    receive(services.inventory, TEE, DC, 10)
    receive(services.inventory, PANTS, DC, 10)
    shipped_id = emulator.seed_order([(tee, 2, 3000)])
    cancelled_id = emulator.seed_order([(pants, 1, 6000)])

    first = services.sync.pull.pull("chan")
    again = services.sync.pull.pull("chan")

    assert first.taken == 2
    assert again.taken == 0
    order = services.orders.find_order("chan", shipped_id)
    assert order is not None
    assert order.id is not None
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [(TEE, 2)]

    emulator.cancel_order(cancelled_id)
    services.sync.pull.pull("chan")
    cancelled = services.orders.find_order("chan", cancelled_id)
    assert cancelled is not None
    assert cancelled.status is OrderStatus.CANCELLED

    [parcel] = open_shipments(order)
    assert parcel.id is not None
    Shop(engine).ship(parcel.id, tracking="123456789012")
    confirmed = services.sync.confirm.confirm(order.id, parcel.id)
    repeated = services.sync.confirm.confirm(order.id, parcel.id)

    assert (confirmed.confirmed, repeated.confirmed) == (True, False)
    assert len(emulator.shipments_of(shipped_id)) == 1
    assert "123456789012" in str(emulator.shipments_of(shipped_id))


def test_reconciliation_reports_drift_and_fixes_it(services: Services, emulator: Any) -> None:
    tee = emulator.listing(TEE)
    list_on(services, "chan", tee)
    receive(services.inventory, TEE, DC, 6)
    services.publication.drain()
    services.sync.push.push_changes("chan")
    services.publication.drain()
    clean = services.sync.reconcile.reconcile("chan")
    assert (clean.checked, clean.drift) == (1, [])

    receive(services.inventory, TEE, DC, 1)  # changed in oms, not pushed yet

    services.publication.drain()
    found = services.sync.reconcile.reconcile("chan")
    services.publication.drain()
    fixed = services.sync.reconcile.reconcile("chan", fix=True)

    assert [(d.sku, d.remote, d.told, d.current) for d in found.drift] == [(TEE, 6, 6, 7)]
    assert fixed.fixed is not None
    assert fixed.fixed.accepted == 1
    assert emulator.quantity_of(tee) == 7
