"""The Rakuten adapter against its emulator: the contract suite, then Rakuten's own rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oms.channels.adapters.rakuten.gateway import RakutenGateway
from oms.channels.emulators.rakuten.app import create_app
from tests.contract.gateway_contract import ChannelGatewayContract
from tests.contract.rakuten_support import RakutenEmulatorControl, a_gateway
from tests.contract.servers import serving


@pytest.fixture(scope="module")
def rakuten_url() -> Iterator[str]:
    with serving(create_app()) as base_url:
        yield base_url


@pytest.fixture
def emulator(rakuten_url: str) -> Iterator[RakutenEmulatorControl]:
    control = RakutenEmulatorControl(rakuten_url)
    control.reset()  # fresh shop, counters and rate buckets: the gateway's limiter is new too
    yield control
    control.http.close()


@pytest.fixture
def gateway(rakuten_url: str, emulator: RakutenEmulatorControl) -> Iterator[RakutenGateway]:
    gateway = a_gateway(rakuten_url)
    yield gateway
    gateway.close()


class TestRakutenGateway(ChannelGatewayContract):
    pass
