"""The composition root: the one place that decides which implementation serves which port.

The API (`oms.app`), the CLI (`oms.cli`), the workers (`oms.worker`), the benchmarks and the
tests all build their services here, so every wiring decision is in this file: the engine and
its sessions, the SQL unit of work (with the process's channel-number publisher), and each
context's services over it. Tests pass their own engine (and clock) instead of settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from oms.channels.availability.services.changes import AvailabilityChanges
from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.publication import AvailabilityPublisher
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.db import make_engine, make_session_factory
from oms.inventory.services import InventoryService
from oms.orders.services.fulfilment import FulfilmentService
from oms.orders.services.placement import OrderService
from oms.orders.services.settings import OrderSettingsService
from oms.settings import Settings, get_settings
from oms.shared.clock import utcnow
from oms.sqlite import BUSY_TIMEOUT_SECONDS
from oms.uow import PUBLISHER, SqlUnitOfWork


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a process needs, built once; `close()` gives the connections back."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    uow: Callable[[], SqlUnitOfWork]
    inventory: InventoryService
    channels: ChannelService
    availability: ChannelAvailabilityService
    changes: AvailabilityChanges
    orders: OrderService
    fulfilment: FulfilmentService
    order_settings: OrderSettingsService

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    pool_size: int | None = None,
    clock: Callable[[], datetime] = utcnow,
    publisher: AvailabilityPublisher | None = None,
    write_wait_seconds: float = BUSY_TIMEOUT_SECONDS,
) -> Services:
    """Build the services for `settings` (default: the environment's).

    `engine`: use this engine instead of one made from the settings (tests, benchmarks); it is
    then the caller's to dispose of. `pool_size`: connections for an engine made here (the CLI
    needs few, the API `db_pool_size`). `publisher`: a publisher of its own instead of the
    process's one (tests that inspect its cache). `write_wait_seconds`: on SQLite, how long
    a writer waits for the lock before it fails (the CLI's batch jobs wait longer).
    """
    settings = settings or get_settings()
    if engine is None:
        engine = make_engine(
            settings.database_url,
            pool_size=pool_size or settings.db_pool_size,
            synchronous=settings.sqlite_synchronous,
            write_wait_seconds=write_wait_seconds,
        )
    sessions = make_session_factory(engine)
    chosen = publisher or PUBLISHER

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, chosen)

    inventory = InventoryService(uow, clock=clock)
    orders = OrderService(uow, inventory, clock=clock)
    fulfilment = FulfilmentService(uow, inventory, orders, clock=clock)
    # A count below what is reserved cuts reservations; the orders re-source what they lost.
    inventory.handle_shortfalls_with(fulfilment)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        uow=uow,
        inventory=inventory,
        channels=ChannelService(uow, inventory, clock=clock),
        availability=ChannelAvailabilityService(uow, inventory),
        changes=AvailabilityChanges(uow),
        orders=orders,
        fulfilment=fulfilment,
        order_settings=OrderSettingsService(uow, clock=clock),
    )
