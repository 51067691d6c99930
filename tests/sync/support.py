"""Shared set-up of the sync tests: oms's services over the test database, a channel
connected to a running emulator, SKUs listed on it."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine

from oms.bootstrap import Services, bootstrap
from oms.channels.sync.adapters.secrets import FernetSecretBox
from oms.channels.sync.domain.connection_input import SyncSettings
from oms.channels.sync.domain.connections import Connection
from oms.channels.sync.domain.model import ListingRef
from oms.channels.sync.services.push import PushReport
from oms.shared.clock import utcnow
from tests.api.conftest import SECRET_KEY


def connect(
    services: Services,
    channel: str,
    connection: Connection,
    *,
    push: bool = True,
    pull_orders: bool = True,
    pull_interval_seconds: int = 60,
) -> None:
    """Store `connection` for `channel` through the connection service: secrets sealed."""
    services.connections.store(
        channel,
        connection,
        SyncSettings(push, pull_orders, pull_interval_seconds),
        actor="tests",
    )


def list_on(services: Services, channel: str, *refs: ListingRef) -> None:
    with services.uow() as uow:
        for ref in refs:
            uow.sync.save_listing(channel, ref, utcnow())
        uow.commit()


def services_for(engine: Engine, **options: Any) -> Services:
    """`bootstrap(engine=engine, **options)`, credentials sealed with the tests' key (never
    with a key file in the project's var/), the one the API and CLI fixtures use too."""
    return bootstrap(engine=engine, secret_box=FernetSecretBox(SECRET_KEY), **options)


def push_until_accepted(services: Services, channel: str, deadline: float = 15.0) -> PushReport:
    """Push passes until one is accepted. A change becomes visible to the changes feed once
    every transaction older than it has ended (on PostgreSQL, any in the cluster: another test
    process's); until then a pass rightly sees nothing."""
    end = time.monotonic() + deadline
    total = PushReport(channel)
    while True:
        services.publication.drain()
        report = services.sync.push.push_changes(channel)
        total.accepted += report.accepted
        total.calls += report.calls
        if total.accepted or time.monotonic() > end:
            return total
        time.sleep(0.05)
