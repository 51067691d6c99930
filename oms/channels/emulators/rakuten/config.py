"""What the emulator is told about Rakuten: the contract's facts, the unverified ones ([U] in
../shared/contracts/README.md section 2) as settings, so a test or a demo can play either reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")

# Function names as RMS lists them for enabling (rpay.order.*) and the Inventory API's own.
SEARCH_ORDER = "rpay.order.searchOrder"
GET_ORDER = "rpay.order.getOrder"
UPDATE_ORDER_SHIPPING = "rpay.order.updateOrderShipping"
BULK_GET = "inventories.bulk.get"
BULK_GET_RANGE = "inventories.bulk.get.range"
BULK_UPSERT = "inventories.bulk.upsert"
VARIANT_GET = "inventories.variants.get"
VARIANT_UPSERT = "inventories.variants.upsert"


@dataclass(frozen=True, slots=True)
class FunctionLimit:
    """A token bucket: `burst` calls at once, refilled at `per_second`."""

    per_second: float
    burst: int


def _default_limits() -> dict[str, FunctionLimit]:
    return {
        # Inventory API 2.0 [V2]: 1 req/s for single-SKU calls and bulk-upsert, 5 for bulk-get.
        BULK_GET: FunctionLimit(5.0, 5),
        BULK_GET_RANGE: FunctionLimit(5.0, 5),
        BULK_UPSERT: FunctionLimit(1.0, 1),
        VARIANT_GET: FunctionLimit(1.0, 1),
        VARIANT_UPSERT: FunctionLimit(1.0, 1),
        # Rakuten Pay Order API [U]: "<= 1 req/s per function per shop" by secondary sources.
        SEARCH_ORDER: FunctionLimit(1.0, 1),
        GET_ORDER: FunctionLimit(1.0, 1),
        UPDATE_ORDER_SHIPPING: FunctionLimit(1.0, 1),
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class EmulatorConfig:
    shop_id: str = "123456"
    # The credentials the emulated shop was issued; anything else is refused.
    service_secret: str = "SP123456_emulated_service_secret"  # noqa: S105 - a stand-in's
    license_key: str = "SL123456_emulated_license_key"
    limits: dict[str, FunctionLimit] = field(default_factory=_default_limits)
    # Arrivals jitter by a few milliseconds against the client's own clock; a bucket with no
    # slack at all would refuse a client that spaced its calls exactly by the limit.
    limit_tolerance_seconds: float = 0.05
    # Throttling answer [U]: the RMS common definition shows 403 + "AccessLimit" (XML APIs);
    # whether the JSON APIs answer 403 or 429 is unverified.
    throttle_status: int = 403
    throttle_error_code: str = "ES04-02"  # [U]
    throttle_message: str = "AccessLimit"
    throttle_retry_after: int | None = None  # [U] whether Rakuten sends Retry-After at all
    # Refused credentials [U]: the common definition lists 401 for auth errors; the ES code is
    # unverified (only ES04-01 is documented, for a function not enabled in RMS).
    auth_status: int = 401
    auth_error_code: str = "ES01-01"  # [U]
    auth_message: str = "Un-Authorised"
    disabled_status: int = 403  # [U]
    disabled_functions: frozenset[str] = frozenset()
    unavailable_status: int = 503
    unavailable_error_code: str = "ES05-01"  # [U]
    # Faults: "timeout" holds the answer this long (longer than any sane client timeout);
    # "slow" delays a normal answer.
    timeout_seconds: float = 30.0
    slow_seconds: float = 1.0
    # Order API constraints [V2].
    max_search_span: timedelta = timedelta(days=63)
    max_search_age: timedelta = timedelta(days=730)
    max_page_records: int = 1000
    default_page_records: int = 30
    max_reachable_records: int = 15000
    max_get_order: int = 100
    get_order_versions: tuple[int, ...] = tuple(range(3, 11))
    max_shippings_per_basket: int = 20
    max_shipping_number_chars: int = 120
    # Inventory API constraints [V2].
    max_bulk_upsert: int = 400
    max_bulk_get: int = 1000
    max_quantity: int = 99999
    # Seeded and control-made orders start here (100: awaiting the shop's confirmation).
    seed_progress: int = 100
    # Registering a shipment on an order in 300 reports it shipped (-> 500) [V2 wording; U rule].
    shipping_completes_from: frozenset[int] = frozenset({300})
    clock: Callable[[], datetime] = _utc_now
