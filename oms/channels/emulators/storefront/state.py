"""The emulated shop: its inventory items, orders, fulfillments, cost bucket and faults.

Everything lives in memory and is touched from the server's one event loop; the lock only
guards against a handler run in a thread. Facts the contract marks unverified ([U]) are fields
of `ShopRules`, so a test or `oms emulate` can change them without editing code.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from oms.shared.clock import utcnow

GID = "gid://shopify/"

# Shopify's inventory reason codes as far as the contract lists them; the full list is [U].
REASONS = (
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
)


@dataclass(frozen=True, slots=True)
class ShopRules:
    """The contract's facts about the shop's API; [U] marks the unverified ones (section 3)."""

    api_versions: tuple[str, ...] = ("2026-01", "2026-04", "2026-07")  # quarterly strings
    bucket_size: float = 2000.0  # [U] maximumAvailable (the contract's example)
    restore_rate: float = 100.0  # points a second, Standard plan [V]
    max_query_cost: int = 1000  # [U] the single-query maximum
    throttled_status: int = 200  # [U] HTTP status of a THROTTLED answer (200 or 429)
    max_array_items: int = 250  # [V] array arguments and `first`
    change_from_required_since: str = "2026-04"  # [V] changeFromQuantity mandatory from
    idempotency_required_since: str | None = "2026-04"  # [U] for inventorySetQuantities
    reasons: tuple[str, ...] = REASONS  # [U] the full list
    access_tokens: frozenset[str] = frozenset({"shpat_emulator"})
    client_id: str = "emulator-client"
    # signs webhooks (the app's client secret); a fixed value of the emulator, not a credential
    client_secret: str = "emulator-webhook-secret"  # noqa: S105
    token_lifetime_seconds: int = 86399  # [U] client credentials grant `expires_in`
    shop_domain: str = "oms-demo.myshopify.com"
    location_ids: tuple[str, ...] = ("gid://shopify/Location/1",)
    visible_days: int | None = 60  # [V] without read_all_orders; None: the app has it
    webhook_timeout_seconds: float = 5.0  # [V2] Shopify's total delivery timeout


def gid(kind: str, number: int) -> str:
    return f"{GID}{kind}/{number}"


def gid_number(value: str, kind: str) -> int | None:
    """The number of `gid://shopify/{kind}/{n}`, or None when `value` is not one."""
    prefix = f"{GID}{kind}/"
    if not value.startswith(prefix) or not value[len(prefix) :].isdigit():
        return None
    return int(value[len(prefix) :])


def iso(moment: datetime) -> str:
    """Shopify's DateTime: UTC to the second."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class InventoryItem:
    id: str
    variant_id: str
    product_id: str
    sku: str
    levels: dict[str, int]  # location gid -> available


@dataclass(slots=True)
class LineItem:
    id: str
    item: InventoryItem
    title: str
    quantity: int
    price: int  # yen


@dataclass(slots=True)
class FulfillmentOrderLine:
    id: str
    line: LineItem
    remaining: int


@dataclass(slots=True)
class FulfillmentOrder:
    id: str
    location_id: str
    lines: list[FulfillmentOrderLine]
    status: str = "OPEN"  # OPEN | IN_PROGRESS | CLOSED | CANCELLED


@dataclass(slots=True)
class Fulfillment:
    id: str
    order_id: str
    status: str
    tracking: dict[str, str | None]
    lines: list[tuple[str, int]]  # (fulfillment order line gid, quantity)
    notify_customer: bool
    created_at: datetime


@dataclass(slots=True)
class Order:
    number: int  # the legacy resource id
    name: str
    created_at: datetime
    updated_at: datetime
    lines: list[LineItem]
    address: dict[str, str | None]
    email: str
    fulfillment_orders: list[FulfillmentOrder]
    fulfillments: list[Fulfillment] = field(default_factory=list)
    cancelled_at: datetime | None = None
    financial_status: str = "PAID"

    @property
    def id(self) -> str:
        return gid("Order", self.number)

    @property
    def fulfillment_status(self) -> str:
        remaining = sum(line.remaining for fo in self.fulfillment_orders for line in fo.lines)
        total = sum(line.quantity for line in self.lines)
        if remaining == 0:
            return "FULFILLED"
        return "UNFULFILLED" if remaining == total else "PARTIALLY_FULFILLED"


class CostBucket:
    """Shopify's leaky bucket of query cost points: full at `size`, refilled at `rate`/s."""

    def __init__(self, size: float, rate: float, now: Callable[[], float]) -> None:
        self.size, self.rate, self._now = size, rate, now
        self._available, self._at = size, now()

    def available(self) -> float:
        moment = self._now()
        self._available = min(self.size, self._available + (moment - self._at) * self.rate)
        self._at = moment
        return self._available

    def take(self, cost: float) -> bool:
        if cost > self.available():
            return False
        self._available -= cost
        return True

    def refund(self, points: float) -> None:
        self._available = min(self.size, self.available() + points)

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.size,
            "currentlyAvailable": math.floor(self.available()),
            "restoreRate": self.rate,
        }


@dataclass(slots=True)
class Fault:
    kind: str  # throttle | 5xx | auth | timeout | slow
    seconds: float


FAULTS = ("throttle", "5xx", "auth", "timeout", "slow")


@dataclass(slots=True)
class Delivery:
    webhook_id: str
    topic: str
    body: bytes
    statuses: list[int | str] = field(default_factory=list)  # one per attempt


class Shop:
    """The whole emulated state; `reset()` empties it (tests share one server per module)."""

    def __init__(
        self,
        rules: ShopRules,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._initial_rules, self.clock, self._monotonic = rules, clock, monotonic
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.rules = self._initial_rules
        self.items: dict[str, InventoryItem] = {}
        self.items_by_sku: dict[str, InventoryItem] = {}
        self.orders: dict[str, Order] = {}
        self.idempotent: dict[str, tuple[str, object]] = {}  # key -> (input fingerprint, data)
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self.webhook_url: str | None = None
        self.deliveries: list[Delivery] = []
        self.issued_tokens: dict[str, float] = {}  # client-credentials token -> expiry
        self.bucket = CostBucket(self.rules.bucket_size, self.rules.restore_rate, self._monotonic)
        self._next = 1000

    def next_number(self) -> int:
        self._next += 1
        return self._next

    def set_limits(self, bucket_size: float, restore_rate: float) -> None:
        self.bucket = CostBucket(bucket_size, restore_rate, self._monotonic)

    def next_fault(self) -> Fault | None:
        return self.faults.pop(0) if self.faults else None

    def token_is_valid(self, token: str) -> bool:
        if token in self.rules.access_tokens:
            return True
        expiry = self.issued_tokens.get(token)
        return expiry is not None and expiry > self._monotonic()

    def issue_token(self, token: str) -> None:
        self.issued_tokens[token] = self._monotonic() + self.rules.token_lifetime_seconds

    def listing(self, sku: str) -> InventoryItem:
        """The inventory item of `sku`, created stocked at every location with 0 available."""
        existing = self.items_by_sku.get(sku)
        if existing is not None:
            return existing
        number = self.next_number()
        item = InventoryItem(
            id=gid("InventoryItem", number),
            variant_id=gid("ProductVariant", number),
            product_id=gid("Product", number),
            sku=sku,
            levels=dict.fromkeys(self.rules.location_ids, 0),
        )
        self.items[item.id] = item
        self.items_by_sku[sku] = item
        return item

    def place_order(self, lines: list[tuple[InventoryItem, int, int]]) -> Order:
        """An open, paid order; its fulfillment order at the first location holds every line."""
        number = self.next_number()
        now = self.clock()
        line_items = [
            LineItem(gid("LineItem", self.next_number()), item, item.sku, quantity, price)
            for item, quantity, price in lines
        ]
        fulfillment_order = FulfillmentOrder(
            id=gid("FulfillmentOrder", self.next_number()),
            location_id=self.rules.location_ids[0],
            lines=[
                FulfillmentOrderLine(
                    gid("FulfillmentOrderLineItem", self.next_number()), li, li.quantity
                )
                for li in line_items
            ],
        )
        order = Order(
            number=number,
            name=f"#{number}",
            created_at=now,
            updated_at=now,
            lines=line_items,
            address={
                "firstName": "Hanako",
                "lastName": "Yamada",
                "name": "Hanako Yamada",
                "zip": "100-0001",
                "province": "Tokyo",
                "provinceCode": "JP-13",
                "city": "千代田区",
                "address1": "千代田1-1",
                "address2": None,
                "phone": "03-0000-0000",
                "country": "Japan",
                "countryCodeV2": "JP",
                "company": None,
            },
            email=f"buyer{number}@example.com",
            fulfillment_orders=[fulfillment_order],
        )
        self.orders[order.id] = order
        for line in line_items:  # Shopify commits the stock of an order at once
            location = fulfillment_order.location_id
            line.item.levels[location] = line.item.levels.get(location, 0) - line.quantity
        return order

    def cancel(self, order: Order) -> None:
        now = self.clock()
        order.cancelled_at = now
        order.updated_at = now
        order.financial_status = "VOIDED"
        for fo in order.fulfillment_orders:
            if fo.status != "CLOSED":
                fo.status = "CANCELLED"
