"""Test-side control of the Rakuten emulator (`/_emulator/...`) and gateway builders."""

from __future__ import annotations

from typing import Any, cast

import httpx

from oms.channels.adapters.rakuten.gateway import RakutenGateway, RakutenSettings
from oms.channels.emulators.rakuten.config import EmulatorConfig
from oms.channels.sync.adapters.rate_limits import SharedRateLimiter
from oms.channels.sync.domain.connections import RakutenConnection
from oms.channels.sync.domain.model import ListingRef
from tests.contract.gateway_contract import EmulatorControl

SERVICE_SECRET = EmulatorConfig().service_secret
LICENSE_KEY = EmulatorConfig().license_key


class RakutenEmulatorControl:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/_emulator", timeout=10)

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def reset(self) -> None:
        self._ok(self.http.post("/reset"))

    def listing(self, sku: str) -> ListingRef:
        manage = sku.lower()
        self._ok(self.http.post("/listings", json={"manage_number": manage, "variant_id": "std"}))
        return ListingRef(sku, manage, "std")

    def listings(self, skus: list[str]) -> list[ListingRef]:
        """Many listings in one control call."""
        body = [{"manage_number": sku.lower(), "variant_id": "std"} for sku in skus]
        self._ok(self.http.post("/listings", json=body))
        return [ListingRef(sku, sku.lower(), "std") for sku in skus]

    def seed_order(
        self,
        lines: list[tuple[ListingRef, int, int]],
        progress: int | None = None,
        ordered_at: str | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "lines": [
                {
                    "manage_number": listing.remote_id,
                    "variant_id": listing.remote_variant,
                    "units": units,
                    "price": price,
                }
                for listing, units, price in lines
            ]
        }
        if progress is not None:
            body["order_progress"] = progress
        if ordered_at is not None:
            body["ordered_at"] = ordered_at
        return cast(str, self._ok(self.http.post("/orders", json=body))["order_number"])

    def cancel_order(self, external_id: str) -> None:
        self._ok(self.http.post(f"/orders/{external_id}/cancel"))

    def move_order(self, external_id: str, progress: int) -> None:
        self._ok(
            self.http.post(f"/orders/{external_id}/progress", json={"order_progress": progress})
        )

    def quantity_of(self, listing: ListingRef) -> int | None:
        answer = self._ok(self.http.get(f"/listings/{listing.remote_id}/{listing.remote_variant}"))
        return cast(int | None, answer["quantity"])

    def shipments_of(self, external_id: str) -> list[dict[str, object]]:
        return cast(
            list[dict[str, object]], self._ok(self.http.get(f"/orders/{external_id}/shipments"))
        )

    def inject(
        self,
        fault: str,
        count: int = 1,
        operation: str | None = None,
        seconds: float | None = None,
    ) -> None:
        body = {"fault": fault, "count": count, "operation": operation, "seconds": seconds}
        self._ok(self.http.post("/faults", json=body))

    def counters(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._ok(self.http.get("/counters")))

    def calls(self, function: str) -> int:
        return int(self.counters()["calls"].get(function, 0))

    def throttled_calls(self) -> int:
        return int(self.counters()["throttled_total"])

    def set_limits(self, limits: dict[str, dict[str, float] | None]) -> None:
        self._ok(self.http.post("/limits", json=limits))


def a_gateway(
    base_url: str,
    settings: RakutenSettings | None = None,
    service_secret: str = SERVICE_SECRET,
    license_key: str = LICENSE_KEY,
    timeout: float = 5.0,
) -> RakutenGateway:
    settings = settings or RakutenSettings()
    connection = RakutenConnection(
        endpoint=base_url, service_secret=service_secret, license_key=license_key
    )
    limiter = SharedRateLimiter("rakuten-test", settings.limits, "memory://")
    return RakutenGateway(connection, limiter, httpx.Client(timeout=timeout), settings=settings)


def _conforms(control: RakutenEmulatorControl) -> EmulatorControl:
    return control  # mypy checks the control client against the suite's protocol
