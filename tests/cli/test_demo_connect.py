"""`oms demo connect` and `oms demo order` against the three emulators served in-process over
real HTTP, on both databases: the connections are stored with their secrets sealed, the demo
SKUs are listed in oms and on the emulators, and one push pass makes each emulator show oms's
numbers; a receipt at the DC then reaches "Amazon", and an order placed on a channel comes in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from oms.bootstrap import Services, bootstrap
from oms.channels.emulators.amazon.app import create_app as amazon_app
from oms.channels.emulators.rakuten.app import create_app as rakuten_app
from oms.channels.emulators.storefront.app import create_app as storefront_app
from oms.channels.sync.orm import channel_connections
from oms.demo.channels import (
    RECEIPT_LOCATION,
    RECEIPT_SKU,
    demo_connection,
    demo_skus,
    emulator_for,
)
from oms.settings import Settings
from tests.builders import receive
from tests.cli.conftest import Oms, messages
from tests.contract.servers import serving

CHANNELS = ("amazon", "rakuten", "storefront")


@pytest.fixture(scope="module")
def emulator_urls() -> Iterator[dict[str, str]]:
    with (
        serving(amazon_app()) as amazon,
        serving(rakuten_app()) as rakuten,
        serving(storefront_app()) as storefront,
    ):
        yield {"amazon": amazon, "rakuten": rakuten, "storefront": storefront}


@pytest.fixture
def emulators(emulator_urls: dict[str, str]) -> dict[str, str]:
    """The emulators as they start: no listings, no orders."""
    resets: dict[str, dict[str, Any]] = {
        "amazon": {"settings": {}, "seed_orders": 0},
        "rakuten": {},
        "storefront": {},
    }
    for channel, body in resets.items():
        answer = httpx.post(f"{emulator_urls[channel]}/_emulator/reset", json=body, timeout=10)
        assert answer.status_code < 300, answer.text
    return emulator_urls


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("OMS_SECRET_KEY", key)
    return key


@pytest.fixture
def services(engine: Engine, database_url: str, secret_key: str) -> Iterator[Services]:
    """oms as the server would build it, with the key the commands sealed the secrets with."""
    found = bootstrap(Settings(database_url=database_url, secret_key=secret_key), engine=engine)
    yield found
    found.gateways.close()


def connect_args(urls: dict[str, str]) -> list[str]:
    return [arg for channel in CHANNELS for arg in (f"--{channel}", urls[channel])]


def number(services: Services, channel: str, sku: str) -> int:
    [shown] = services.availability.channel_availability(channel, [sku])
    return shown.availability.available


def test_connect_stores_sealed_connections_lists_the_skus_and_one_push_pass_shows_the_numbers(
    oms: Oms, services: Services, emulators: dict[str, str], engine: Engine
) -> None:
    assert oms("demo", "seed").exit_code == 0

    result = oms("demo", "connect", *connect_args(emulators))

    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        stored_secrets = {
            row.channel: row.secrets
            for row in conn.execute(
                select(channel_connections.c.channel, channel_connections.c.secrets)
            )
        }
    assert sorted(stored_secrets) == list(CHANNELS)
    for channel in CHANNELS:
        expected = demo_connection(channel, emulators[channel])
        secrets = {name: str(getattr(expected, name)) for name in expected.SECRETS}
        assert all(value not in stored_secrets[channel] for value in secrets.values())
        assert all(value not in result.output for value in secrets.values())
        assert services.secrets.open(stored_secrets[channel]) == secrets
        with services.uow() as uow:
            listings = uow.sync.listings(channel, demo_skus(channel))
            uow.commit()
        assert sorted(listings) == sorted(demo_skus(channel))

    for channel in CHANNELS:
        services.publication.drain()
        report = services.sync.push.push_changes(channel)
        assert report.complete, report
        emulator = emulator_for(channel, emulators[channel])
        with services.uow() as uow:
            listings = uow.sync.listings(channel, demo_skus(channel))
            uow.commit()
        shown = {sku: emulator.quantity_of(ref) for sku, ref in listings.items()}
        told = {sku: number(services, channel, sku) for sku in listings}
        # A number of 0 is never news to a new listing: it is not pushed.
        assert {sku: q or 0 for sku, q in shown.items()} == told, channel
        assert sum(told.values()) > 0

    amazon = emulator_for("amazon", emulators["amazon"])
    with services.uow() as uow:
        [ref] = uow.sync.listings("amazon", [RECEIPT_SKU]).values()
        uow.commit()
    before = amazon.quantity_of(ref)
    receive(services.inventory, RECEIPT_SKU, RECEIPT_LOCATION, 10)
    services.publication.drain()
    services.sync.push.push_changes("amazon")

    assert before is not None
    assert amazon.quantity_of(ref) == number(services, "amazon", RECEIPT_SKU) == before + 10


def test_an_order_placed_with_demo_order_comes_in_on_the_next_pull(
    oms: Oms, services: Services, emulators: dict[str, str]
) -> None:
    assert oms("demo", "seed").exit_code == 0
    assert oms("demo", "connect", "--rakuten", emulators["rakuten"]).exit_code == 0

    placed = oms(
        "demo", "order", "--channel", "rakuten", "--sku", "KN-MER-BLK-L", "--quantity", "2"
    )

    assert placed.exit_code == 0, placed.output
    external_id = placed.stdout.strip()
    assert services.orders.find_order("rakuten", external_id) is None
    report = services.sync.pull.pull("rakuten")
    assert report.taken == 1
    order = services.orders.find_order("rakuten", external_id)
    assert order is not None
    assert [(line.sku, line.quantity) for line in order.lines] == [("KN-MER-BLK-L", 2)]


def test_connect_and_order_refuse_what_cannot_be_done_and_change_nothing(
    oms: Oms, services: Services, emulators: dict[str, str]
) -> None:
    nothing = oms("demo", "connect")
    assert nothing.exit_code == 2
    assert "--amazon URL" in nothing.stderr  # a usage error: before any database is named

    not_seeded = oms("demo", "connect", "--rakuten", emulators["rakuten"])
    assert not_seeded.exit_code == 1
    assert "rakuten" in messages(not_seeded)

    assert oms("demo", "seed").exit_code == 0
    nobody_there = oms(
        "demo", "connect", "--rakuten", emulators["rakuten"], "--amazon", "http://127.0.0.1:9"
    )
    assert nobody_there.exit_code == 1
    assert "emulator: the emulator at http://127.0.0.1:9 did not answer" in messages(nobody_there)
    with services.uow() as uow:
        assert uow.sync.connected_channels() == []  # not even the rakuten that answered
        uow.commit()

    not_connected = oms("demo", "order", "--channel", "storefront")
    assert not_connected.exit_code == 1
    assert "storefront is not connected" in messages(not_connected)
    assert oms("demo", "connect", "--storefront", emulators["storefront"]).exit_code == 0
    unlisted = oms("demo", "order", "--channel", "storefront", "--sku", "NO-SUCH-SKU")
    assert unlisted.exit_code == 1
    assert "sku: NO-SUCH-SKU is not listed on storefront" in messages(unlisted)
    unknown = oms("demo", "order", "--channel", "yahoo")
    assert unknown.exit_code == 1
    assert "channel: the demo has no channel 'yahoo'" in messages(unknown)


def test_each_channel_lists_only_what_its_rules_let_it_sell() -> None:
    styles = {
        channel: {sku.rsplit("-", 2)[0] for sku in demo_skus(channel)} for channel in CHANNELS
    }

    assert styles["amazon"] == {"TS-ORG", "SW-LWT", "DN-SEL"}  # the styles sold on Amazon
    assert "JK-CVR" not in styles["rakuten"]  # the storefront's exclusive
    assert "JK-CVR" in styles["storefront"]
    assert "SET-LWT-GRY-M" not in demo_skus("amazon")  # Amazon excludes the set's bottom
    assert "SET-LWT-GRY-M" in demo_skus("rakuten")
    assert RECEIPT_SKU in demo_skus("amazon")
