"""The publisher's drain, for tests that read channel numbers after a write.

Writers only queue what they touched; the publisher's loop (`oms worker`, or `oms serve`
without Redis) publishes it. A test that reads published numbers or AvailabilityChanged
events calls the same service the loop runs, explicitly, before it reads.
"""

from __future__ import annotations

from typing import cast

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.channels.availability.services.publisher import Drained, PublicationService
from oms.db import make_session_factory
from oms.uow import PUBLISHER, SqlUnitOfWork


def drain(engine: Engine) -> Drained:
    """Publish every queued change on this database, as the publisher's loop would."""
    factory = make_session_factory(engine)
    return PublicationService(lambda: SqlUnitOfWork(factory), PUBLISHER).drain()


def drain_app(client: TestClient[Litestar]) -> Drained:
    """The same, through the app's own services (its loop runs beside: one drain at a time)."""
    services = cast(Services, client.app.state.services)
    return services.publication.drain()
