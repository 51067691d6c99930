"""Test-side control of a running Amazon emulator (its /_emulator/ endpoints), and builders."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from oms.channels.adapters.amazon.gateway import AmazonGateway
from oms.channels.adapters.amazon.settings import AMAZON_LIMITS, AmazonSettings
from oms.channels.sync.adapters.rate_limits import SharedRateLimiter
from oms.channels.sync.domain.connections import AmazonConnection
from oms.channels.sync.domain.model import ListingRef

# The credentials the emulator accepts by default (its EmulatorSettings).
CLIENT_ID = "amzn1.application-oa2-client.oms-emulator"
CLIENT_SECRET = "oms-emulator-client-secret"  # noqa: S105 - the emulator's demo credential
REFRESH_TOKEN = "Atzr|oms-emulator-refresh-token"  # noqa: S105
SELLER_ID = "A2OMSEMULATOR"
MARKETPLACE_ID = "A1VC38T7YXB528"


def a_connection(base_url: str, **changes: Any) -> AmazonConnection:
    values: dict[str, Any] = {
        "endpoint": base_url,
        "token_url": f"{base_url}/auth/o2/token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "seller_id": SELLER_ID,
        "marketplace_id": MARKETPLACE_ID,
    }
    return AmazonConnection(**(values | changes))


@dataclass
class MovableClock:
    """The adapter's clock: real time plus what a test lets pass."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class AmazonControl:
    """`EmulatorControl` for the Amazon emulator; an oms SKU is listed as `AMZ-<sku>`."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self, **settings: Any) -> None:
        self._ok(self.http.post("/_emulator/reset", json={"settings": settings, "seed_orders": 0}))

    def settings(self, **changes: Any) -> None:
        self._ok(self.http.put("/_emulator/settings", json=changes))

    def listing(self, sku: str, product_type: str = "PRODUCT") -> ListingRef:
        seller_sku = f"AMZ-{sku}"
        self._ok(
            self.http.post(
                "/_emulator/listings", json={"sku": seller_sku, "product_type": product_type}
            )
        )
        return ListingRef(sku, seller_sku)

    def seed_order(
        self, lines: list[tuple[ListingRef, int, int]], status: str = "Unshipped"
    ) -> str:
        body = {
            "lines": [
                {"sku": listing.remote_id, "quantity": quantity, "unit_price": price}
                for listing, quantity, price in lines
            ],
            "status": status,
        }
        return str(self._ok(self.http.post("/_emulator/orders", json=body))["AmazonOrderId"])

    def move_order(self, external_id: str, status: str) -> None:
        self._ok(self.http.post(f"/_emulator/orders/{external_id}/status", json={"status": status}))

    def cancel_order(self, external_id: str) -> None:
        self._ok(self.http.post(f"/_emulator/orders/{external_id}/cancel"))

    def quantity_of(self, listing: ListingRef) -> int | None:
        found = self._ok(self.http.get(f"/_emulator/listings/{listing.remote_id}"))
        return None if found["quantity"] is None else int(found["quantity"])

    def shipments_of(self, external_id: str) -> list[dict[str, object]]:
        shipments: list[dict[str, object]] = self._ok(
            self.http.get(f"/_emulator/orders/{external_id}/shipments")
        )
        return shipments

    def inject(self, fault: str, count: int = 1) -> None:
        self._ok(self.http.post("/_emulator/faults", json={"fault": fault, "count": count}))

    def advance(self, seconds: float) -> None:
        self._ok(self.http.post("/_emulator/clock", json={"advance_seconds": seconds}))

    def counters(self) -> dict[str, Any]:
        counted: dict[str, Any] = self._ok(self.http.get("/_emulator/counters"))
        return counted

    def calls(self, operation: str) -> int:
        return int(self.counters()["calls"].get(operation, 0))

    def throttled_calls(self) -> int:
        return int(self.counters()["throttled_total"])

    def token(self) -> str:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": REFRESH_TOKEN,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        return str(self._ok(self.http.post("/auth/o2/token", data=form))["access_token"])

    def sp_api(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A raw SP-API call, to check what the emulator itself accepts and refuses."""
        headers = {"x-amz-access-token": token} if token else {}
        return self.http.request(method, path, headers=headers, **kwargs)


class NoLimiter:
    """A limiter that never waits: to show what the channel does to a caller that does not."""

    def acquire(self, operation: str, cost: int = 1) -> None:
        return None


# The contract places an order and pulls it at once: the 2-minute rule is 0 on both sides there.
FAST = AmazonSettings(
    orders_lag=timedelta(0),
    clock_margin=timedelta(0),
    feed_poll_interval=timedelta(seconds=0.05),
)
EMULATOR_FAST = {"before_lag_seconds": 0, "feed_processing_seconds": 0.2}


def a_gateway(base_url: str, settings: AmazonSettings = FAST, **changes: object) -> AmazonGateway:
    """The adapter on the emulator; `changes`: connection fields, or clock/limiter/timeout/
    sleep."""
    clock = changes.pop("clock", MovableClock())
    limiter = changes.pop("limiter", None) or SharedRateLimiter("test", AMAZON_LIMITS)
    timeout = changes.pop("timeout", 10.0)
    sleep = changes.pop("sleep", time.sleep)
    return AmazonGateway(
        a_connection(base_url, **changes),
        limiter,  # type: ignore[arg-type]
        clock=clock,  # type: ignore[arg-type]
        timeout=timeout,  # type: ignore[arg-type]
        sleep=sleep,  # type: ignore[arg-type]
        settings=settings,
    )
