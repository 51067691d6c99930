"""The world the sync benchmarks run in: a catalogue, three channels connected to their
emulators, every SKU listed on each, and each emulator showing what oms last told it.

The emulators run in this process (uvicorn threads), so a benchmark can read their state
directly instead of spending HTTP calls (which the emulators would count) to look at it. The
storefront emulator's inventory levels are swapped for a dict that notes when each quantity was
applied: the latency benchmark's "the channel has the number" moment.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis
import uvicorn
from sqlalchemy import Engine, text

from bench.database import settle, truncate_all
from oms.bootstrap import Services
from oms.channels.availability.services.channels import CreateChannel
from oms.channels.emulators.amazon.app import create_app as amazon_app
from oms.channels.emulators.amazon.settings import EmulatorSettings
from oms.channels.emulators.amazon.state import Emulator as AmazonEmulator
from oms.channels.emulators.rakuten.app import create_app as rakuten_app
from oms.channels.emulators.rakuten.config import EmulatorConfig
from oms.channels.emulators.rakuten.state import ShopState
from oms.channels.emulators.storefront.app import create_app as storefront_app
from oms.channels.emulators.storefront.state import Shop
from oms.channels.sync.domain.connection_input import SyncSettings
from oms.channels.sync.domain.connections import (
    AmazonConnection,
    Connection,
    RakutenConnection,
    StorefrontConnection,
)
from oms.shared.clock import utcnow

LOCATION = "SYNC-DC"
SKU_PREFIX = "SYNC-"
ON_HAND = 10
STOREFRONT = "storefront"
RAKUTEN = "rakuten"
AMAZON = "amazon"
CHANNELS = (STOREFRONT, RAKUTEN, AMAZON)
STOREFRONT_LOCATION = "gid://shopify/Location/1"
STOREFRONT_VERSION = "2026-04"


def sku_code(n: int) -> str:
    return f"{SKU_PREFIX}{n:06d}"


# ---------------------------------------------------------------------------- emulators


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"emulator-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("an emulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class AppliedLevels(dict[str, int]):
    """A storefront item's levels that note (sku, quantity, time.time()) of every write."""

    def __init__(self, sku: str, initial: dict[str, int], journal: list[tuple[str, int, float]]):
        super().__init__(initial)
        self._sku = sku
        self._journal = journal

    def __setitem__(self, location: str, quantity: int) -> None:
        super().__setitem__(location, quantity)
        self._journal.append((self._sku, quantity, time.time()))  # list.append: thread-safe


@dataclass
class Emulators:
    storefront_url: str
    rakuten_url: str
    amazon_url: str
    storefront: Shop
    rakuten: ShopState
    amazon: AmazonEmulator
    applied: list[tuple[str, int, float]] = field(default_factory=list)

    def connections(self) -> dict[str, Connection]:
        amazon = EmulatorSettings()
        return {
            STOREFRONT: StorefrontConnection(
                endpoint=f"{self.storefront_url}/admin/api/{STOREFRONT_VERSION}/graphql.json",
                access_token="shpat_emulator",  # noqa: S106 - the emulator's fixed demo token
                webhook_secret="emulator-webhook-secret",  # noqa: S106
                location_id=STOREFRONT_LOCATION,
            ),
            RAKUTEN: RakutenConnection(
                endpoint=self.rakuten_url,
                service_secret=EmulatorConfig().service_secret,
                license_key=EmulatorConfig().license_key,
            ),
            AMAZON: AmazonConnection(
                endpoint=self.amazon_url,
                token_url=f"{self.amazon_url}/auth/o2/token",
                client_id=amazon.client_id,
                client_secret=amazon.client_secret,
                refresh_token=amazon.refresh_token,
                seller_id=amazon.seller_id,
                marketplace_id=amazon.marketplace_id,
            ),
        }

    # what each emulator has counted, read from its state

    def push_calls(self, channel: str) -> dict[str, int]:
        if channel == STOREFRONT:
            return dict(self.storefront.calls)
        if channel == RAKUTEN:
            return dict(self.rakuten.calls)
        return dict(self.amazon.world.calls)

    def throttled(self, channel: str) -> int:
        if channel == STOREFRONT:
            return int(self.storefront.throttled)
        if channel == RAKUTEN:
            return sum(self.rakuten.throttled.values())
        return sum(self.amazon.world.throttled.values())

    def lift_limits(self) -> None:
        self.storefront.set_limits(1e12, 1e12)
        self.rakuten.config.limits = {}
        self.amazon.world.settings = self.amazon.world.settings.updated({"limits_lifted": True})

    def real_limits(self, feed_processing_seconds: float) -> None:
        rules = self.storefront.rules
        self.storefront.set_limits(rules.bucket_size, rules.restore_rate)
        self.rakuten.config.limits = dict(EmulatorConfig().limits)
        self.amazon.world.settings = self.amazon.world.settings.updated(
            {"limits_lifted": False, "feed_processing_seconds": feed_processing_seconds}
        )
        self.amazon.world.buckets.clear()


@contextmanager
def emulators() -> Iterator[Emulators]:
    storefront = storefront_app()
    rakuten = rakuten_app()
    amazon = amazon_app()
    shop = storefront.dependencies["shop"].dependency()
    with (
        _serving(storefront) as storefront_url,
        _serving(rakuten) as rakuten_url,
        _serving(amazon) as amazon_url,
    ):
        yield Emulators(
            storefront_url,
            rakuten_url,
            amazon_url,
            shop,
            rakuten.state.shop,
            amazon.state.emulator,
        )


def clear_redis(redis_url: str) -> None:
    """The bench's Redis as new: Dramatiq's queues, the sync's kicks and leases, and the rate
    limiters' windows, so that one measurement's leftovers never slow the next."""
    client = redis.Redis.from_url(redis_url)
    for pattern in ("dramatiq:*", "oms:*", "LIMITS:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()


# ---------------------------------------------------------------------------- oms


def seed(engine: Engine, count: int) -> list[str]:
    """Empty database, one DC and `count` SKUs with ON_HAND units each (bulk SQL, ledger first)."""
    now = utcnow()
    with engine.begin() as conn:
        truncate_all(conn)
        location_id = conn.execute(
            text(
                "INSERT INTO locations (code, name, kind, prefecture, postal_code,"
                " ships_to_customers, active, created_at)"
                " VALUES (:code, 'Sync DC', 'warehouse', '13', '100-0001', true, true, :now)"
                " RETURNING id"
            ),
            {"code": LOCATION, "now": now},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO skus (code, name, kind, attributes, ship_together, event_seq,"
                " created_at, updated_at)"
                " SELECT :prefix || lpad(n::text, 6, '0'), 'Sync item ' || n, 'simple',"
                " '{}', true, 0, :now, :now"
                " FROM generate_series(0, :count - 1) AS n ORDER BY n"
            ),
            {"prefix": SKU_PREFIX, "count": count, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO movements (type, sku_id, location_id, d_on_hand, d_reserved,"
                " d_quarantined, d_in_transit, quantity, idempotency_key, seq, recorded_at)"
                " SELECT 'receipt', id, :location_id, :qty, 0, 0, 0, :qty,"
                " 'sync-seed:' || code, 0, :now FROM skus ORDER BY id"
            ),
            {"location_id": location_id, "qty": ON_HAND, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO stock_levels (sku_id, location_id, on_hand, reserved, quarantined,"
                " in_transit, version, updated_at)"
                " SELECT sku_id, location_id, sum(d_on_hand), sum(d_reserved),"
                " sum(d_quarantined), sum(d_in_transit), count(*), :now"
                " FROM movements GROUP BY sku_id, location_id ORDER BY sku_id"
            ),
            {"now": now},
        )
    settle(engine, ["locations", "skus", "movements", "stock_levels"])
    return [sku_code(n) for n in range(count)]


def connect(services: Services, channel: str, connection: Connection) -> None:
    """Store the connection through the connection service: secrets sealed."""
    services.connections.store(
        channel, connection, SyncSettings(pull_orders=False, pull_interval_seconds=3600), "bench"
    )


def remote_id(channel: str, sku: str, world: Emulators) -> tuple[str, str]:
    if channel == STOREFRONT:
        return world.storefront.listing(sku).id, ""
    if channel == RAKUTEN:
        return sku.lower(), "std"
    return f"AMZ-{sku}", ""


def build(services: Services, engine: Engine, world: Emulators, count: int) -> list[str]:
    """Catalogue, channels, connections, listings; oms told = what each emulator shows."""
    skus = seed(engine, count)
    for channel in CHANNELS:
        services.channels.create_channel(
            CreateChannel(channel, channel, channel, locations=[LOCATION])
        )
        connect(services, channel, world.connections()[channel])
    with engine.connect() as conn:
        published = {
            (row.channel, row.sku): (row.available, row.version)
            for row in conn.execute(
                text(
                    "SELECT c.code AS channel, s.code AS sku, a.available, a.version"
                    " FROM channel_availability a JOIN channels c ON c.id = a.channel_id"
                    " JOIN skus s ON s.id = a.sku_id"
                )
            )
        }
    now = utcnow()
    listings: list[dict[str, Any]] = []
    told: list[dict[str, Any]] = []
    for channel in CHANNELS:
        for sku in skus:
            available, version = published.get((channel, sku), (0, 0))
            remote, variant = remote_id(channel, sku, world)
            _show(world, channel, sku, remote, variant, available)
            listings.append({"c": channel, "s": sku, "r": remote, "v": variant, "now": now})
            told.append({"c": channel, "s": sku, "q": available, "v": version, "now": now})
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channel_listings (channel, sku, remote_id, remote_variant,"
                " created_at, updated_at) VALUES (:c, :s, :r, :v, :now, :now)"
            ),
            listings,
        )
        conn.execute(
            text(
                "INSERT INTO channel_told (channel, sku, quantity, version, told_at)"
                " VALUES (:c, :s, :q, :v, :now)"
            ),
            told,
        )
    # The cursor past every change made so far: what was told needs no call.
    for channel in CHANNELS:
        report = services.sync.push.push_changes(channel)
        if report.calls:
            raise RuntimeError(f"{channel}: {report.calls} calls to start from a told state")
    return skus


def _show(
    world: Emulators, channel: str, sku: str, remote: str, variant: str, quantity: int
) -> None:
    if channel == STOREFRONT:
        item = world.storefront.items[remote]
        levels = dict(item.levels)
        levels[STOREFRONT_LOCATION] = quantity
        item.levels = AppliedLevels(sku, levels, world.applied)
    elif channel == RAKUTEN:
        world.rakuten.register(remote, variant, quantity)
    else:
        world.amazon.world.listing(remote).quantity = quantity
