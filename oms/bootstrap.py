"""The composition root: the one place that decides which implementation serves which port.

The API (`oms.app`), the CLI (`oms.cli`), the workers (`oms.worker`), the benchmarks and the
tests all build their services here, so every wiring decision is in this file: the engine and
its sessions, the SQL unit of work (with the process's channel-number publisher), and each
context's services over it. Tests pass their own engine (and clock) instead of settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from oms.channels.adapters.registry import Gateways
from oms.channels.availability.services.changes import AvailabilityChanges
from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.publication import AvailabilityPublisher
from oms.channels.availability.services.publisher import PublicationService
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.channels.availability.services.resale_rules import EarlyUnitsOffMarketplaces
from oms.channels.sync.adapters.leases import MemoryLeases, RedisLeases
from oms.channels.sync.adapters.secrets import FernetSecretBox
from oms.channels.sync.domain.model import ChannelKind
from oms.channels.sync.ports import Leases, SecretBox
from oms.channels.sync.services.confirm import ConfirmService
from oms.channels.sync.services.connections import ConnectionService
from oms.channels.sync.services.gateways import GatewayPool
from oms.channels.sync.services.latency import LatencyFeed
from oms.channels.sync.services.listings import ListingService
from oms.channels.sync.services.pull import PullService
from oms.channels.sync.services.push import PushService
from oms.channels.sync.services.reconcile import ReconcileService
from oms.channels.sync.services.status import SyncStatusService
from oms.channels.sync.services.webhooks import WebhookService
from oms.channels.sync.tasks import SyncWork
from oms.db import make_engine, make_session_factory
from oms.inventory.services import InventoryService
from oms.orders.services.fulfilment import FulfilmentService
from oms.orders.services.placement import OrderService
from oms.orders.services.settings import OrderSettingsService
from oms.privacy.services.anonymise import AnonymisationService
from oms.privacy.services.audit import AuditService
from oms.privacy.services.holds import LegalHoldService
from oms.privacy.services.policies import PolicyService
from oms.repairs.services import RepairService
from oms.resale.services import ResaleService
from oms.returns.services.policies import ReturnPolicyService
from oms.returns.services.resale_units import ResaleUnitsFromReturns
from oms.returns.services.rma import ReturnService
from oms.returns.services.units import UnitService
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
    publication: PublicationService
    orders: OrderService
    fulfilment: FulfilmentService
    order_settings: OrderSettingsService
    sync: SyncWork
    sync_status: SyncStatusService
    gateways: GatewayPool
    secrets: SecretBox
    webhooks: WebhookService
    connections: ConnectionService
    listings: ListingService
    returns: ReturnService
    units: UnitService
    return_policies: ReturnPolicyService
    repairs: RepairService
    resale: ResaleService
    pii_policies: PolicyService
    legal_holds: LegalHoldService
    anonymisation: AnonymisationService
    audit: AuditService

    def close(self) -> None:
        self.gateways.close()
        self.engine.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    pool_size: int | None = None,
    clock: Callable[[], datetime] = utcnow,
    publisher: AvailabilityPublisher | None = None,
    write_wait_seconds: float = BUSY_TIMEOUT_SECONDS,
    gateway_options: Mapping[ChannelKind, Mapping[str, Any]] | None = None,
    secret_box: SecretBox | None = None,
) -> Services:
    """Build the services for `settings` (default: the environment's).

    `engine`: use this engine instead of one made from the settings (tests, benchmarks); it is
    then the caller's to dispose of. `pool_size`: connections for an engine made here (the CLI
    needs few, the API `db_pool_size`). `publisher`: a publisher of its own instead of the
    process's one (tests that inspect its cache). `write_wait_seconds`: on SQLite, how long
    a writer waits for the lock before it fails (the CLI's batch jobs wait longer).
    `gateway_options`: keyword arguments per channel adapter kind (tests: faster timings).
    `secret_box`: what seals channel credentials, instead of the settings' key.
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
    channels = ChannelService(uow, inventory, clock=clock)
    changes = AvailabilityChanges(uow)
    # Channel credentials: sealed with OMS_SECRET_KEY, else with a key file under `home`,
    # made the first time a connection is stored or read (not when a process starts).
    box = secret_box or FernetSecretBox.for_settings(
        settings.secret_key.get_secret_value(), settings.secret_key_file
    )
    connections = ConnectionService(uow, box, clock=clock)
    sync, status, gateways = _sync(
        settings, uow, connections, orders, channels, changes, clock, gateway_options
    )
    webhooks = WebhookService(uow, gateways, sync.pull, clock=clock)
    # Early-access units stay off the marketplaces through ordinary channel exclusions.
    resale = ResaleService(uow, inventory, EarlyUnitsOffMarketplaces(channels), clock=clock)
    pii_policies = PolicyService(uow, clock=clock)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        uow=uow,
        inventory=inventory,
        channels=channels,
        availability=ChannelAvailabilityService(uow, inventory),
        changes=changes,
        publication=PublicationService(uow, chosen),
        orders=orders,
        fulfilment=fulfilment,
        order_settings=OrderSettingsService(uow, clock=clock),
        sync=sync,
        sync_status=status,
        gateways=gateways,
        secrets=box,
        webhooks=webhooks,
        connections=connections,
        listings=ListingService(uow, clock=clock),
        returns=ReturnService(uow, orders, inventory, clock=clock),
        units=UnitService(uow, inventory, resale=ResaleUnitsFromReturns(resale), clock=clock),
        return_policies=ReturnPolicyService(uow, clock=clock),
        repairs=RepairService(uow, inventory, orders, clock=clock),
        resale=resale,
        pii_policies=pii_policies,
        legal_holds=LegalHoldService(uow, clock=clock),
        anonymisation=AnonymisationService(
            uow, pii_policies, clock=clock, batch_size=settings.pii_batch_size
        ),
        audit=AuditService(uow, clock=clock),
    )


def _sync(
    settings: Settings,
    uow: Callable[[], SqlUnitOfWork],
    connections: ConnectionService,
    orders: OrderService,
    channels: ChannelService,
    changes: AvailabilityChanges,
    clock: Callable[[], datetime],
    gateway_options: Mapping[ChannelKind, Mapping[str, Any]] | None,
) -> tuple[SyncWork, SyncStatusService, GatewayPool]:
    """The channel sync: adapters built from the stored connections, rate limits and leases
    shared through Redis when there is one (every worker process), in memory otherwise."""
    factory = Gateways(settings.redis_url or "memory://", gateway_options)
    gateways = GatewayPool(connections, factory)
    leases: Leases = (
        RedisLeases(redis.Redis.from_url(settings.redis_url))
        if settings.uses_redis
        else MemoryLeases()
    )
    latency = LatencyFeed(channels)
    push = PushService(uow, changes, gateways, leases, clock=clock, latency_sink=latency.measured)
    pull = PullService(uow, orders, gateways, leases, clock=clock)
    confirm = ConfirmService(uow, orders, gateways, clock=clock)
    reconcile = ReconcileService(uow, gateways, push, clock=clock)
    work = SyncWork(uow, push, pull, confirm, reconcile, leases)
    status = SyncStatusService(uow, push, pull, confirm, usage=factory.usage, clock=clock)
    return work, status, gateways
