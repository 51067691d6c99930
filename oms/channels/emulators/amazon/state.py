"""The emulated seller account, in memory: listings, orders, feeds, tokens, usage buckets.

One `AmazonWorld` per app. Its clock is the real clock plus an offset the control endpoints can
move (`/_emulator/clock`), so a test can let the 2-minute rule or a token's hour pass without
waiting; the usage buckets refill on the same clock. Timestamps are whole seconds, as Amazon
shows them, so boundaries (`LastUpdatedAfter` is inclusive) behave the same on both sides.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from oms.channels.emulators.amazon.settings import EmulatorSettings


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Bucket:
    """Amazon's token bucket: `burst` tokens refilled at `rate` a second; a call takes one."""

    rate: float
    burst: int
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class Listing:
    sku: str
    product_type: str
    asin: str
    quantity: int | None = None  # None: no fulfillment availability set yet
    # PATCHes accepted but not yet applied: (apply at, quantity), applied in order.
    pending: list[tuple[datetime, int]] = field(default_factory=list)


@dataclass(slots=True)
class OrderItem:
    order_item_id: str
    asin: str
    seller_sku: str
    title: str
    quantity: int
    unit_price: Decimal
    shipped: int = 0


@dataclass(slots=True)
class Order:
    order_id: str
    purchased_at: datetime
    updated_at: datetime
    status: str  # the v0 OrderStatus enum
    currency: str
    items: list[OrderItem]
    address: dict[str, str]
    buyer: dict[str, str]
    latest_ship: datetime
    packages: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Feed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    document_id: str
    created_at: datetime
    partial: bool  # fault "feed_partial" was armed when it was created
    cancelled: bool = False
    fatal: bool = False
    result_document_id: str | None = None


@dataclass(slots=True)
class Document:
    document_id: str
    content_type: str
    url_token: str
    url_expires: datetime
    content: bytes | None = None


@dataclass(slots=True)
class IssuedToken:
    expires: datetime
    restricted: list[dict[str, Any]] | None = None  # an RDT's restrictedResources


FIRST_NAMES = ("山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健")
PLACES = (
    ("東京都", "千代田区", "100-0001", "千代田1-1"),
    ("大阪府", "大阪市北区", "530-0001", "梅田1-2-3"),
    ("北海道", "札幌市中央区", "060-0001", "北一条西2-1"),
    ("福岡県", "福岡市博多区", "812-0011", "博多駅前3-4-5"),
)


class AmazonWorld:
    def __init__(self, settings: EmulatorSettings, seed: int = 0) -> None:
        self.settings = settings
        self.offset = timedelta(0)
        self.rng = random.Random(seed)  # noqa: S311 - deterministic fake data, not security
        self.listings: dict[str, Listing] = {}
        self.orders: dict[str, Order] = {}
        self.feeds: dict[str, Feed] = {}
        self.documents: dict[str, Document] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.buckets: dict[str, Bucket] = {}
        self.pages: dict[str, tuple[list[str], int, dict[str, Any]]] = {}
        self.faults: list[str] = []
        self.partial_feeds = 0
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.faults_served = 0
        self._serial = 0

    # -- time ----------------------------------------------------------------------------------
    def now(self) -> datetime:
        return (datetime.now(UTC) + self.offset).replace(microsecond=0)

    def precise_now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    # -- usage plans ---------------------------------------------------------------------------
    def admit(self, operation: str) -> bool:
        """Take a token from the operation's bucket; False: answer 429 QuotaExceeded."""
        if self.settings.limits_lifted:
            return True
        rate, burst = self.settings.plan(operation)
        now = self.precise_now().timestamp()
        bucket = self.buckets.get(operation)
        if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
            bucket = self.buckets[operation] = Bucket(rate, burst, float(burst), now)
        if bucket.take(now):
            return True
        self.throttled[operation] += 1
        return False

    # -- tokens --------------------------------------------------------------------------------
    def issue_token(
        self, prefix: str, seconds: int, restricted: list[dict[str, Any]] | None
    ) -> str:
        token = f"{prefix}{secrets.token_urlsafe(24)}"
        self.tokens[token] = IssuedToken(self.now() + timedelta(seconds=seconds), restricted)
        return token

    # -- listings ------------------------------------------------------------------------------
    def listing(self, sku: str, product_type: str = "PRODUCT") -> Listing:
        found = self.listings.get(sku)
        if found is None:
            asin = f"B0{self.serial():08d}"
            found = self.listings[sku] = Listing(sku, product_type, asin)
        return found

    def settle(self, listing: Listing) -> Listing:
        """Apply the accepted PATCHes whose time has come (Amazon applies them asynchronously)."""
        now = self.precise_now()
        while listing.pending and listing.pending[0][0] <= now:
            listing.quantity = listing.pending.pop(0)[1]
        return listing

    # -- orders --------------------------------------------------------------------------------
    def order_id(self) -> str:
        n = self.serial()
        return f"503-{self.rng.randrange(10**7):07d}-{n:07d}"

    def place_order(
        self,
        lines: list[tuple[str, int, Decimal]],
        status: str = "Unshipped",
        placed_at: datetime | None = None,
    ) -> Order:
        at = placed_at or self.now()
        items = []
        for sku, quantity, unit_price in lines:
            listing = self.listing(sku)
            items.append(
                OrderItem(
                    order_item_id=f"{self.rng.randrange(10**13):013d}{self.serial() % 10}",
                    asin=listing.asin,
                    seller_sku=sku,
                    title=f"Item {sku}",
                    quantity=quantity,
                    unit_price=unit_price,
                )
            )
        state, city, postal, line1 = self.rng.choice(PLACES)
        name = self.rng.choice(FIRST_NAMES)
        order = Order(
            order_id=self.order_id(),
            purchased_at=at,
            updated_at=at,
            status=status,
            currency=self.settings.currency,
            items=items,
            address={
                "Name": name,
                "AddressLine1": line1,
                "AddressLine2": f"サンプルビル{self.rng.randrange(1, 20)}F",
                "City": city,
                "StateOrRegion": state,
                "PostalCode": postal,
                "CountryCode": "JP",
                "Phone": f"03-{self.rng.randrange(10**4):04d}-{self.rng.randrange(10**4):04d}",
            },
            buyer={"BuyerName": name, "BuyerEmail": f"{self.serial()}@marketplace.amazon.co.jp"},
            latest_ship=at + timedelta(days=2),
        )
        self.orders[order.order_id] = order
        return order

    def touch(self, order: Order, status: str) -> None:
        order.status = status
        order.updated_at = self.now()

    def seed(self, count: int) -> None:
        """`count` open orders placed over the past days (deterministic for a given seed)."""
        skus = [f"DEMO-{i:03d}" for i in range(1, 11)]
        start = self.now() - timedelta(days=1)
        spacing = timedelta(days=1) / max(count, 1)
        for i in range(count):
            picked = self.rng.sample(skus, self.rng.randint(1, 3))
            lines = [
                (sku, self.rng.randint(1, 3), Decimal(self.rng.choice((980, 1980, 2980, 4980))))
                for sku in picked
            ]
            self.place_order(lines, placed_at=start + spacing * i)
        for sku in skus:
            self.listing(sku).quantity = self.rng.randint(0, 50)


class Emulator:
    """What the app holds: the current world, replaced whole by a reset."""

    def __init__(self, settings: EmulatorSettings, seed_orders: int, seed: int) -> None:
        self.seed_orders = seed_orders
        self.seed_value = seed
        self.world = self._fresh(settings)

    def _fresh(self, settings: EmulatorSettings) -> AmazonWorld:
        world = AmazonWorld(settings, self.seed_value)
        world.seed(self.seed_orders)
        return world

    def reset(
        self, settings: EmulatorSettings | None = None, seed_orders: int | None = None
    ) -> None:
        if seed_orders is not None:
            self.seed_orders = seed_orders
        self.world = self._fresh(settings or self.world.settings)
