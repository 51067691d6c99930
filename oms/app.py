"""The HTTP application: wiring of engine, services and routes.

`uvicorn --factory oms.app:create_app` serves it with the settings from the environment.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from contextlib import closing
from functools import cache
from importlib import metadata
from typing import Any, Protocol, cast

from alembic.config import Config
from alembic.script import ScriptDirectory
from litestar import Litestar, Response, Router, get
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components
from sqlalchemy import Connection, Engine, func, select

from oms.bootstrap import Services, bootstrap
from oms.channels.availability.api import routes as channels_api
from oms.channels.availability.api import rules_csv as rules_csv_api
from oms.channels.availability.services.changes import AvailabilityChanges
from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.channels.sync.api import routes as connections_api
from oms.channels.sync.api import sync_routes as sync_api
from oms.channels.sync.services.connections import ConnectionService
from oms.channels.sync.services.listings import ListingService
from oms.channels.sync.services.status import SyncStatusService
from oms.channels.sync.services.webhooks import WebhookService
from oms.http import (
    BEARER_SCHEME,
    EXCEPTION_HANDLERS,
    PROBLEM_TYPE_BASE,
    SECURITY_SCHEMES,
    before_request,
    problem,
    problem_responses,
    provide_principal,
    reads_take_no_write_lock,
    require_api_key,
)
from oms.inventory.api import routes as inventory_api
from oms.inventory.services import InventoryService
from oms.log import configure_logging
from oms.openapi import state_request_rules
from oms.orders.api import routes as orders_api
from oms.orders.services.fulfilment import FulfilmentService
from oms.orders.services.placement import OrderService
from oms.orders.services.settings import OrderSettingsService
from oms.privacy.api import routes as privacy_api
from oms.privacy.services.audit import AuditService
from oms.privacy.services.holds import LegalHoldService
from oms.privacy.services.policies import PolicyService
from oms.repairs.api import routes as repairs_api
from oms.repairs.services import RepairService
from oms.resale.api import routes as resale_api
from oms.resale.services import ResaleService
from oms.returns.api import routes as returns_api
from oms.returns.services.policies import ReturnPolicyService
from oms.returns.services.rma import ReturnService
from oms.returns.services.units import UnitService
from oms.settings import PROJECT_ROOT, Settings, get_settings
from oms.sqlite import BUSY_TIMEOUT_SECONDS
from oms.worker import Background, start_background

log = logging.getLogger(__name__)

# `oms serve --workers N` tells each of its processes N through the environment.
SERVE_PROCESSES_ENV = "OMS_SERVE_PROCESSES"
# The PostgreSQL advisory lock of the one serving process that runs the background work.
SERVE_LEADER_LOCK_ID = 0x6F6D7301
LEADER_POLL_SECONDS = 2.0


def create_app(
    settings: Settings | None = None, *, write_wait_seconds: float = BUSY_TIMEOUT_SECONDS
) -> Litestar:
    """`write_wait_seconds`: on SQLite, how long a request waits for the write lock (tests)."""
    settings = settings or get_settings()
    if serve_processes() > 1:
        configure_logging(settings.log_level)  # uvicorn's child process set up only its own
    services = bootstrap(settings, write_wait_seconds=write_wait_seconds)
    v1 = Router(
        path="/v1",
        route_handlers=[
            *inventory_api.CONTROLLERS,
            *channels_api.CONTROLLERS,
            *rules_csv_api.CONTROLLERS,
            *orders_api.CONTROLLERS,
            *sync_api.CONTROLLERS,
            *connections_api.CONTROLLERS,
            *returns_api.CONTROLLERS,
            *repairs_api.CONTROLLERS,
            *resale_api.CONTROLLERS,
            *privacy_api.CONTROLLERS,
        ],
        guards=[require_api_key],
        security=[{BEARER_SCHEME: []}],
        dependencies={
            "inventory": Provide(_provide_inventory, sync_to_thread=False),
            "channels": Provide(_provide_channels, sync_to_thread=False),
            "availability": Provide(_provide_availability, sync_to_thread=False),
            "changes": Provide(_provide_changes, sync_to_thread=False),
            "orders": Provide(_provide_orders, sync_to_thread=False),
            "fulfilment": Provide(_provide_fulfilment, sync_to_thread=False),
            "order_settings": Provide(_provide_order_settings, sync_to_thread=False),
            "sync_status": Provide(_provide_sync_status, sync_to_thread=False),
            "connections": Provide(_provide_connections, sync_to_thread=False),
            "listings": Provide(_provide_listings, sync_to_thread=False),
            "returns": Provide(_provide_returns, sync_to_thread=False),
            "return_units": Provide(_provide_units, sync_to_thread=False),
            "return_policies": Provide(_provide_return_policies, sync_to_thread=False),
            "repairs": Provide(_provide_repairs, sync_to_thread=False),
            "resale": Provide(_provide_resale, sync_to_thread=False),
            "pii_policies": Provide(_provide_pii_policies, sync_to_thread=False),
            "legal_holds": Provide(_provide_legal_holds, sync_to_thread=False),
            "audit": Provide(_provide_audit, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
    )
    # Channels' deliveries: signed by the channel (verified by its adapter), not API keys.
    webhooks = Router(
        path="/",
        route_handlers=sync_api.WEBHOOKS,
        dependencies={"webhooks": Provide(_provide_webhooks, sync_to_thread=False)},
    )
    app = Litestar(
        route_handlers=[health, ready, v1, webhooks],
        state=State(service_state(services)),
        exception_handlers={**EXCEPTION_HANDLERS, **sync_api.EXCEPTION_HANDLERS},
        before_request=before_request,
        middleware=[reads_take_no_write_lock],
        # Logging is set up once per process (oms.log), not by Litestar on every app start.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="oms",
            version=metadata.version("oms"),
            description="Omnichannel inventory and order management. Errors are RFC 9457 "
            "problem details (`application/problem+json`) naming the field at fault.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin()],
            components=Components(security_schemes=SECURITY_SCHEMES),
        ),
        on_startup=[_start_background],
        on_shutdown=[_stop_background, _dispose_engine],
    )
    state_request_rules(app)
    return app


def service_state(services: Services) -> dict[str, Any]:
    """What the handlers find in the app's state: the services of this process. An app built
    once may be given other services between runs (the API tests: one app per process, fresh
    services and database for each test)."""
    return {
        "services": services,
        "settings": services.settings,
        "engine": services.engine,
        "session_factory": services.sessions,
        "inventory": services.inventory,
        "channels": services.channels,
        "availability": services.availability,
        "changes": services.changes,
        "orders": services.orders,
        "fulfilment": services.fulfilment,
        "order_settings": services.order_settings,
        "sync_status": services.sync_status,
        "webhooks": services.webhooks,
        "connections": services.connections,
        "listings": services.listings,
        "resale": services.resale,
    }


# --------------------------------------------------------------------------- lifecycle


def _start_background(app: Litestar) -> None:
    # Embedded mode: relay and worker run in this process. With Redis, `oms worker` does.
    services = cast(Services, app.state.services)
    if serve_processes() > 1 and not services.settings.uses_redis:
        leader = BackgroundLeader(services.engine, lambda: start_background(services))
        leader.start()
        app.state.background = leader
    else:
        app.state.background = start_background(services)


def _stop_background(app: Litestar) -> None:
    background = app.state.get("background")
    if background is not None:
        cast(Background | BackgroundLeader, background).stop()


def serve_processes() -> int:
    """How many processes `oms serve --workers N` started (1 when run otherwise)."""
    try:
        return max(1, int(os.environ.get(SERVE_PROCESSES_ENV, "1")))
    except ValueError:
        return 1


class Stoppable(Protocol):
    def stop(self) -> None: ...


class BackgroundLeader(threading.Thread):
    """`oms serve --workers N` without Redis: the in-process worker, relay and loops run once,
    in the process that holds a PostgreSQL session advisory lock. The others try again every
    few seconds, so one takes over when that process goes (its connection, and the lock with
    it, closes). The embedded runner also locks each pass, so a short overlap while a leader
    that lost its connection notices is harmless."""

    def __init__(
        self,
        engine: Engine,
        start: Callable[[], Stoppable],
        poll_seconds: float = LEADER_POLL_SECONDS,
    ) -> None:
        super().__init__(name="oms-background-leader", daemon=True)
        self._engine = engine
        self._start = start
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._connection: Connection | None = None
        self._background: Stoppable | None = None

    @property
    def leading(self) -> bool:
        return self._background is not None

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception:
                log.warning("background leadership lost", exc_info=True)
                self._resign()
            self._stopping.wait(self._poll_seconds)
        self._resign()

    def _step(self) -> None:
        if self._connection is not None:
            # Still holding it: the connection answers.
            self._connection.execute(select(1))
            self._connection.commit()
            return
        connection = self._engine.connect()
        held = connection.execute(select(func.pg_try_advisory_lock(SERVE_LEADER_LOCK_ID)))
        taken = bool(held.scalar())
        connection.commit()  # the session lock outlives the transaction
        if not taken:
            connection.close()
            return
        self._connection = connection
        self._background = self._start()
        log.info("this process runs the background work (pid %d)", os.getpid())

    def _resign(self) -> None:
        if self._background is not None:
            self._background.stop()
            self._background = None
        if self._connection is not None:
            # Closed for good, never back into the pool with the lock: the lock goes with it.
            self._connection.invalidate()
            self._connection.close()
            self._connection = None

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self.join(timeout)


def _dispose_engine(app: Litestar) -> None:
    cast(Services, app.state.services).close()


def _provide_inventory(state: State) -> InventoryService:
    return cast(InventoryService, state.inventory)


def _provide_connections(state: State) -> ConnectionService:
    return cast(ConnectionService, state.connections)


def _provide_returns(state: State) -> ReturnService:
    return cast(Services, state.services).returns


def _provide_units(state: State) -> UnitService:
    return cast(Services, state.services).units


def _provide_return_policies(state: State) -> ReturnPolicyService:
    return cast(Services, state.services).return_policies


def _provide_listings(state: State) -> ListingService:
    return cast(ListingService, state.listings)


def _provide_repairs(state: State) -> RepairService:
    return cast(Services, state.services).repairs


def _provide_resale(state: State) -> ResaleService:
    return cast(ResaleService, state.resale)


def _provide_pii_policies(state: State) -> PolicyService:
    return cast(Services, state.services).pii_policies


def _provide_legal_holds(state: State) -> LegalHoldService:
    return cast(Services, state.services).legal_holds


def _provide_audit(state: State) -> AuditService:
    return cast(Services, state.services).audit


def _provide_sync_status(state: State) -> SyncStatusService:
    return cast(SyncStatusService, state.sync_status)


def _provide_webhooks(state: State) -> WebhookService:
    return cast(WebhookService, state.webhooks)


def _provide_channels(state: State) -> ChannelService:
    return cast(ChannelService, state.channels)


def _provide_availability(state: State) -> ChannelAvailabilityService:
    return cast(ChannelAvailabilityService, state.availability)


def _provide_changes(state: State) -> AvailabilityChanges:
    return cast(AvailabilityChanges, state.changes)


def _provide_orders(state: State) -> OrderService:
    return cast(OrderService, state.orders)


def _provide_fulfilment(state: State) -> FulfilmentService:
    return cast(FulfilmentService, state.fulfilment)


def _provide_order_settings(state: State) -> OrderSettingsService:
    return cast(OrderSettingsService, state.order_settings)


# --------------------------------------------------------------------------- probes


@get("/health", tags=["operations"])
async def health() -> dict[str, str]:
    """Alive: the process answers. No authentication."""
    return {"status": "ok"}


@get("/ready", tags=["operations"], responses=problem_responses(503))
async def ready(state: State) -> Response[dict[str, Any]]:
    """Ready: the database answers and its schema is at the migrations' head."""
    engine = cast(Engine, state.engine)
    expected = _migration_heads()
    try:
        applied = await sync_to_thread(_applied_revisions, engine)
    except Exception:
        # The error may carry the database URL: log it, never answer with it.
        log.warning("readiness: database unreachable", exc_info=True)
        return problem(
            503,
            "Not ready",
            "the database is unreachable",
            type_=PROBLEM_TYPE_BASE + "not-ready",
        )
    if applied != expected:
        return problem(
            503,
            "Not ready",
            "the database schema is not at the migrations' head: run `oms db upgrade`",
            type_=PROBLEM_TYPE_BASE + "not-ready",
            members={"applied": sorted(applied), "expected": sorted(expected)},
        )
    return Response({"status": "ready", "migrations": sorted(applied)})


@cache
def _migration_heads() -> frozenset[str]:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _applied_revisions(engine: Engine) -> frozenset[str]:
    """Read `alembic_version` on a raw DBAPI connection.

    Not through a SQLAlchemy transaction: on SQLite that begins with BEGIN IMMEDIATE, and a
    probe must not queue behind writers for the write lock.
    """
    with closing(engine.raw_connection()) as connection:
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT 1")
            try:
                cursor.execute("SELECT version_num FROM alembic_version")
            except Exception:
                return frozenset()  # never migrated
            return frozenset(str(row[0]) for row in cursor.fetchall())
        finally:
            cursor.close()
