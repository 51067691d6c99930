"""The sync's background work under faults, with real `oms worker` processes on PostgreSQL and
Redis against the storefront emulator: a worker killed (`kill -9`) in the middle of a push, a
Redis that goes away for a while, a soak against the emulated cost limit, and credentials
that never reach the logs."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, func, select

from oms.bootstrap import Services
from oms.channels.availability.services.channels import CreateChannel
from oms.channels.emulators.rakuten.app import create_app as rakuten_app
from oms.channels.emulators.storefront.app import create_app
from oms.channels.emulators.storefront.state import ShopRules
from oms.channels.sync.adapters import leases as leases_module
from oms.channels.sync.adapters.leases import RedisLeases
from oms.channels.sync.domain.connections import RakutenConnection
from oms.outbox import outbox
from tests.api.conftest import SECRET_KEY
from tests.builders import receive
from tests.contract.rakuten_support import LICENSE_KEY, SERVICE_SECRET, RakutenEmulatorControl
from tests.contract.servers import free_port, serving
from tests.contract.test_storefront_gateway import StorefrontControl, connection_to
from tests.order_builders import CAP, CHANNEL, DC, PANTS, TEE, Shop
from tests.sync.processes import (
    Processes,
    Watched,
    processes,
    reconciled_today,
    services_on,
    wait_for,
)
from tests.sync.support import connect, list_on

pytestmark = pytest.mark.redis

# Distinctive credentials: any of them in a log line is a leak.
ACCESS_TOKEN = "shpat_DO-NOT-LOG-7f3a9c"  # noqa: S105
WEBHOOK_SECRET = "whsec-DO-NOT-LOG-41d2e8"  # noqa: S105


@pytest.fixture(scope="module")
def watched() -> Iterator[tuple[Watched, str]]:
    rules = ShopRules(access_tokens=frozenset({"shpat_emulator", ACCESS_TOKEN}))
    app = Watched(create_app(rules=rules), "/admin/")
    with serving(app) as base_url:
        yield app, base_url


@pytest.fixture
def emulator(watched: tuple[Watched, str]) -> Iterator[StorefrontControl]:
    control = StorefrontControl(watched[1])
    control.reset()
    yield control
    control.http.close()


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


@pytest.fixture
def oms(pg_engine: Engine) -> Iterator[Services]:
    Shop(pg_engine).build()
    services = services_on(pg_engine)
    yield services
    services.gateways.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Processes]:
    with processes(tmp_path) as started:
        yield started


def number(services: Services, sku: str) -> int:
    [shown] = services.availability.channel_availability(CHANNEL, [sku])
    return shown.availability.available


def unpublished(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            ).scalar_one()
        )


def test_a_push_killed_midway_completes_after_a_restart_with_the_latest_number(
    oms: Services,
    emulator: StorefrontControl,
    watched: tuple[Watched, str],
    running: Processes,
    postgres_url: str,
    clean_redis: str,
) -> None:
    tee = emulator.listing(TEE)
    connect(oms, CHANNEL, connection_to(emulator.base_url), pull_orders=False)
    list_on(oms, CHANNEL, tee)
    reconciled_today(oms, CHANNEL)
    first = running.worker(postgres_url, clean_redis)
    receive(oms.inventory, TEE, DC, 5)
    wait_for("the first number on the channel", lambda: emulator.quantity_of(tee) == 5, 180)

    app, _ = watched
    emulator.inject("slow", count=1, seconds=3.0)
    receive(oms.inventory, TEE, DC, 3)
    wait_for("the slow push to be under way", lambda: app.in_flight > 0)
    running.kill(first)
    receive(oms.inventory, TEE, DC, 4)  # changed again while no worker runs
    wait_for("the killed call to end on the channel's side", lambda: app.in_flight == 0)

    running.worker(postgres_url, clean_redis)
    wait_for("the latest number after the restart", lambda: emulator.quantity_of(tee) == 12, 180)
    assert number(oms, TEE) == 12
    assert emulator.throttled_calls() == 0


# ---------------------------------------------------------------------------- Redis down


class OwnRedis:
    """A Redis server of this test's own, which it may stop and start again on the same port
    without disturbing the other tests' Redis."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed")
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        arguments += ["--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(  # noqa: S603  (a fixed command)
            [server, *arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_for("our Redis to answer", lambda: _pings(client), 20)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_while_redis_is_down_writes_succeed_the_outbox_holds_and_all_drains_after(
    oms: Services,
    emulator: StorefrontControl,
    running: Processes,
    pg_engine: Engine,
    postgres_url: str,
    own_redis: OwnRedis,
) -> None:
    tee, pants = emulator.listing(TEE), emulator.listing(PANTS)
    connect(oms, CHANNEL, connection_to(emulator.base_url), pull_orders=False)
    list_on(oms, CHANNEL, tee, pants)
    reconciled_today(oms, CHANNEL)
    running.worker(postgres_url, own_redis.url)
    receive(oms.inventory, TEE, DC, 5)
    wait_for("the first number on the channel", lambda: emulator.quantity_of(tee) == 5, 180)

    own_redis.stop()
    for _ in range(3):
        receive(oms.inventory, TEE, DC, 2)  # writes never need Redis
    receive(oms.inventory, PANTS, DC, 7)
    wait_for("the relay to fail on Redis", lambda: "outbox_relay_failed" in running.output())
    assert unpublished(pg_engine) > 0  # the events wait in the outbox
    assert emulator.quantity_of(tee) == 5

    own_redis.start()
    wait_for(
        "everything to drain after Redis is back",
        lambda: emulator.quantity_of(tee) == 11 and emulator.quantity_of(pants) == 7,
        120,
    )
    wait_for("the outbox to be empty", lambda: unpublished(pg_engine) == 0)
    assert (number(oms, TEE), number(oms, PANTS)) == (11, 7)


# ---------------------------------------------------------------------------- soak


SOAK_SECONDS = 10  # of changes, made faster than the channel's limit lets them out


@pytest.fixture(scope="module")
def rakuten_url() -> Iterator[str]:
    with serving(rakuten_app()) as base_url:
        yield base_url


def test_a_soak_under_rakutens_real_limit_is_never_throttled_and_ends_at_the_latest_numbers(
    oms: Services,
    rakuten_url: str,
    running: Processes,
    postgres_url: str,
    clean_redis: str,
) -> None:
    """About 20 s of changes to three SKUs, many times faster than Rakuten's one inventory
    call a second lets them out: the backlog waits in the shared limiter, never refused."""
    rakuten = RakutenEmulatorControl(rakuten_url)
    rakuten.reset()
    Shop(oms.engine).channels.create_channel(
        CreateChannel("rakuten", "Rakuten Ichiba", "rakuten", locations=[DC])
    )
    skus = (TEE, PANTS, CAP)
    refs = rakuten.listings(list(skus))
    connection = RakutenConnection(
        endpoint=rakuten_url, service_secret=SERVICE_SECRET, license_key=LICENSE_KEY
    )
    connect(oms, "rakuten", connection, pull_orders=False)
    list_on(oms, "rakuten", *refs)
    reconciled_today(oms, "rakuten")
    running.worker(postgres_url, clean_redis)
    receive(oms.inventory, TEE, DC, 1)
    wait_for("the worker to push", lambda: rakuten.quantity_of(refs[0]) == 1, 180)
    calls_before = rakuten.counters()["calls"]

    end = time.monotonic() + SOAK_SECONDS
    received = {TEE: 1, PANTS: 0, CAP: 0}
    while time.monotonic() < end:
        for sku in skus:
            receive(oms.inventory, sku, DC, 1)
            received[sku] += 1
        time.sleep(0.1)

    wait_for(
        "the latest numbers on the channel",
        lambda: [rakuten.quantity_of(r) for r in refs] == [received[s] for s in skus],
        60,
    )
    calls = rakuten.counters()["calls"]
    made = sum(calls.values()) - sum(calls_before.values())
    assert made >= 10, calls  # pushes went on through the whole run, held by the limit
    assert rakuten.throttled_calls() == 0, running.output()
    assert SERVICE_SECRET not in running.output()
    assert LICENSE_KEY not in running.output()
    rakuten.http.close()


# ---------------------------------------------------------------------------- secrets


def test_credentials_never_appear_in_the_worker_logs(
    oms: Services,
    emulator: StorefrontControl,
    running: Processes,
    postgres_url: str,
    clean_redis: str,
) -> None:
    tee = emulator.listing(TEE)
    connect(
        oms,
        CHANNEL,
        connection_to(emulator.base_url, access_token=ACCESS_TOKEN, webhook_secret=WEBHOOK_SECRET),
    )
    list_on(oms, CHANNEL, tee)
    receive(oms.inventory, TEE, DC, 10)
    external_id = emulator.seed_order([(tee, 1, 3000)])
    running.worker(postgres_url, clean_redis, OMS_LOG_LEVEL="DEBUG")
    wait_for("the pull", lambda: oms.orders.find_order(CHANNEL, external_id) is not None, 180)
    wait_for("the push", lambda: emulator.quantity_of(tee) == number(oms, TEE) == 9)

    emulator.inject("auth", count=2)  # the next calls are refused
    receive(oms.inventory, TEE, DC, 1)
    wait_for("the refused push to be logged", lambda: "push_failed" in running.output())
    # Refused credentials are the connection's fault, not the SKU's: it is not parked.
    wait_for("the catch-up push", lambda: emulator.quantity_of(tee) == 10)
    failures, _ = oms.sync_status.failures(CHANNEL)
    assert [f.subject for f in failures if f.resolved_at is None] == []

    log = running.output()
    for secret in (ACCESS_TOKEN, WEBHOOK_SECRET, SECRET_KEY):
        assert secret not in log
    assert "receive_response_body.complete" in log  # DEBUG was on: httpcore's events logged


# ---------------------------------------------------------------------------- leases


def test_a_redis_lease_is_kept_by_its_heartbeat_and_a_dead_holders_lapses_within_a_term(
    clean_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push pass asks for 120 s; the lease in Redis lives a short term, renewed while its
    holder's process lives, so a killed worker's channel is free again within that term."""
    monkeypatch.setattr(leases_module, "TERM_SECONDS", 0.6)
    client = redis.Redis.from_url(clean_redis)
    leases = RedisLeases(client)
    key = leases_module.PREFIX + "push:web"

    with leases.hold("push:web", 120.0) as lease:
        assert lease is not None
        assert 0 < client.pttl(key) <= 600  # a short term, not the 120 s asked for
        time.sleep(1.5)  # over two terms: only the heartbeat keeps it
        with leases.hold("push:web", 120.0) as other:
            assert other is None  # still ours
        assert lease.renew()
    assert client.exists(key) == 0  # let go at the end

    client.close()
