"""The emulated shop: its items, stock, orders and shipments, call counters and pending faults.

All in memory, touched only from the event loop (the handlers never await while they change it).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from oms.channels.emulators.rakuten.config import JST, EmulatorConfig, FunctionLimit

FAULTS = frozenset({"throttle", "5xx", "auth", "timeout", "slow"})


@dataclass(slots=True)
class Stock:
    quantity: int
    created: datetime
    updated: datetime


@dataclass(slots=True)
class Shipping:
    shipping_detail_id: int
    delivery_company: str
    shipping_number: str
    shipping_date: str  # YYYY-MM-DD


@dataclass(slots=True)
class Item:
    item_detail_id: int
    item_id: int
    manage_number: str
    variant_id: str
    name: str
    price: int
    units: int


@dataclass(slots=True)
class Package:
    basket_id: int
    items: list[Item]
    shippings: list[Shipping] = field(default_factory=list)


@dataclass(slots=True)
class Buyer:
    family_name: str
    first_name: str
    zip_code: str  # 7 digits
    prefecture: str
    city: str
    sub_address: str
    phone: str


@dataclass(slots=True)
class Order:
    order_number: str
    progress: int
    ordered_at: datetime
    buyer: Buyer
    packages: list[Package]
    confirmed_at: datetime | None = None
    shipped_reported_at: datetime | None = None
    cancel_applied_at: datetime | None = None
    cancel_fixed_at: datetime | None = None

    @property
    def goods_price(self) -> int:
        return sum(i.price * i.units for p in self.packages for i in p.items)


@dataclass(slots=True)
class PendingFault:
    fault: str
    remaining: int
    operation: str | None  # None: whatever API call comes next
    seconds: float | None = None  # "timeout"/"slow": how long, else the config's


_BUYERS = (
    Buyer("山田", "花子", "1000001", "東京都", "千代田区", "千代田1-1", "0300000000"),
    Buyer("佐藤", "太郎", "5300001", "大阪府", "大阪市北区", "梅田1-1-1", "0600000000"),
    Buyer("鈴木", "一郎", "4600002", "愛知県", "名古屋市中区", "丸の内1-1", "0520000000"),
)
_SEED_ITEMS = (
    ("tshirt-001", "red-m", "Tシャツ 赤 M", 3980),
    ("tshirt-001", "red-l", "Tシャツ 赤 L", 3980),
    ("cap-002", "navy", "キャップ ネイビー", 2980),
)


class ShopState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._initial_limits = dict(config.limits)
        self.reset()

    def reset(self) -> None:
        self.config.limits = dict(self._initial_limits)
        # Registered items: manage number -> variant ids. Stock of unregistered SKUs is kept
        # apart: Rakuten stores such records orphaned and invisible (and drops them in ~24 h).
        self.items: dict[str, set[str]] = {}
        self.stock: dict[tuple[str, str], Stock] = {}
        self.orphans: dict[tuple[str, str], Stock] = {}
        self.orders: dict[str, Order] = {}
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.faults: list[PendingFault] = []
        self._tat: dict[str, float] = {}  # per function: the bucket's theoretical arrival time
        self._serial = 0
        self._next_id = 1_000_000

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The shop's clock, in JST, to the second (Rakuten's datetimes carry no fraction)."""
        return self.config.clock().astimezone(JST).replace(microsecond=0)

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- items and stock ----------------------------------------------------------------------

    def register(self, manage_number: str, variant_id: str, quantity: int = 0) -> None:
        manage_number = manage_number.lower()  # Rakuten lowers manage numbers itself
        self.items.setdefault(manage_number, set()).add(variant_id)
        key = (manage_number, variant_id)
        if key not in self.stock:
            now = self.now()
            self.stock[key] = Stock(quantity, now, now)

    def is_registered(self, manage_number: str, variant_id: str) -> bool:
        return variant_id in self.items.get(manage_number.lower(), set())

    def set_quantity(self, manage_number: str, variant_id: str, quantity: int) -> None:
        key = (manage_number.lower(), variant_id)
        now = self.now()
        table = self.stock if self.is_registered(*key) else self.orphans
        record = table.get(key)
        if record is None:
            table[key] = Stock(quantity, now, now)
        else:
            record.quantity, record.updated = quantity, now

    def visible_stock(self, manage_number: str, variant_id: str) -> Stock | None:
        return self.stock.get((manage_number.lower(), variant_id))

    # -- orders -------------------------------------------------------------------------------

    def place_order(
        self,
        lines: list[tuple[str, str, int, int]],
        ordered_at: datetime | None = None,
        buyer: Buyer | None = None,
        progress: int | None = None,
    ) -> Order:
        """An order of (manage number, variant id, units, price) lines, in one package."""
        ordered_at = ordered_at or self.now()
        self._serial += 1
        number = f"{self.config.shop_id}-{ordered_at:%Y%m%d}-{self._serial:010d}"
        items = [
            Item(self.next_id(), 10_000_000 + i, m.lower(), v, f"{m} {v}", price, units)
            for i, (m, v, units, price) in enumerate(lines)
        ]
        order = Order(
            order_number=number,
            progress=self.config.seed_progress if progress is None else progress,
            ordered_at=ordered_at,
            buyer=buyer or _BUYERS[self._serial % len(_BUYERS)],
            packages=[Package(self.next_id(), items)],
        )
        self.orders[number] = order
        return order

    def seed(self, count: int) -> None:
        """`count` open orders, the same every run but for their times (the last minutes)."""
        rng = random.Random(9)  # noqa: S311 - deterministic demo data, not security
        for manage, variant, _name, _price in _SEED_ITEMS:
            self.register(manage, variant, 10)
        now = self.now()
        for n in range(count):
            picks = rng.sample(_SEED_ITEMS, rng.randint(1, 2))
            lines = [(m, v, rng.randint(1, 3), price) for m, v, _, price in picks]
            self.place_order(lines, ordered_at=now - timedelta(minutes=count - n))

    def cancel(self, order: Order) -> None:
        now = self.now()
        order.progress = 900
        order.cancel_applied_at = order.cancel_applied_at or now
        order.cancel_fixed_at = now

    # -- rate limits and faults ---------------------------------------------------------------

    def admit(self, function: str, at: float) -> bool:
        """One call to `function` at monotonic time `at`: within its bucket? (GCRA)"""
        limit: FunctionLimit | None = self.config.limits.get(function)
        if limit is None:
            return True
        interval = 1.0 / limit.per_second
        tat = max(self._tat.get(function, at), at)
        slack = (limit.burst - 1) * interval + self.config.limit_tolerance_seconds
        if tat - at > slack:
            return False
        self._tat[function] = tat + interval
        return True

    def take_fault(self, function: str) -> PendingFault | None:
        for pending in self.faults:
            if pending.operation in (None, function):
                pending.remaining -= 1
                if pending.remaining <= 0:
                    self.faults.remove(pending)
                self.injected[pending.fault] += 1
                return pending
        return None
