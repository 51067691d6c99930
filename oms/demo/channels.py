"""The demo channels connected to the emulators (`oms emulate ...`): connections stored with
their secrets sealed, and a slice of the catalogue listed on each channel, both in oms and on
the emulator (through its `/_emulator/` control endpoints), as a brand would have it.

The credentials are the emulators' own defaults: they are demo values, not secrets of anyone.
Connections and listings are written through the sync's unit of work, as the connection and
listing services do, so the embedded sync of `oms serve` finds them as it would any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from oms.bootstrap import Services
from oms.channels.availability.domain.rules import Exclusion
from oms.channels.emulators.amazon.settings import EmulatorSettings as AmazonEmulatorSettings
from oms.channels.emulators.rakuten.config import EmulatorConfig as RakutenEmulatorConfig
from oms.channels.emulators.storefront.state import ShopRules
from oms.channels.sync.domain.connection_input import SyncSettings
from oms.channels.sync.domain.connections import (
    AmazonConnection,
    Connection,
    RakutenConnection,
    StorefrontConnection,
)
from oms.channels.sync.domain.model import ListingRef
from oms.channels.sync.ports import StoredConnection
from oms.demo.brand import RULES, SET_CODE, SIZES, STYLES, sku_code
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound

STOREFRONT_API_VERSION = "2026-04"
# Pulled often, so a demo order shows within seconds (a brand would pull every minute or so).
DEMO_PULL_SECONDS = 10  # the least a connection allows
# The demo's receipt: Amazon lists these jeans below its cap of 30, so a receipt at the DC
# moves the number Amazon shows (the best seller sits at the cap and would not move).
RECEIPT_SKU = "DN-SEL-IND-XXL"
RECEIPT_LOCATION = "DC-CHIBA"
# What the demo orders are for, per channel: (SKU, units, price in yen).
DEMO_ORDERS: Mapping[str, tuple[str, int, int]] = {
    "storefront": ("TS-ORG-BLK-M", 1, 3900),
    "rakuten": ("DN-SEL-IND-M", 1, 12900),
    "amazon": ("TS-ORG-BLK-L", 2, 3900),
}


def demo_skus(channel: str) -> list[str]:
    """The SKUs the demo lists on `channel`: every size of each style's first colour, unless
    the channel's rules exclude the style, and the set where all its parts are sold."""
    plan = RULES[channel]
    listed = [
        sku_code(style.code, style.colours[0], size)
        for style in STYLES
        if Exclusion.of("attribute", attribute="style", value=style.code) not in plan.exclusions
        for size in SIZES
    ]
    if channel != "amazon":  # Amazon does not sell the set's bottom
        listed.append(SET_CODE)
    return listed


# --------------------------------------------------------------------------- the emulators


class EmulatorClient(Protocol):
    """What the demo does to a running emulator, through its control endpoints."""

    def list_skus(self, skus: Sequence[str]) -> list[ListingRef]: ...
    def quantity_of(self, listing: ListingRef) -> int | None: ...
    def place_order(self, listing: ListingRef, units: int, price: int) -> str: ...


class _Control:
    def __init__(self, base_url: str, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or httpx.Client(timeout=10)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self.http.request(method, f"{self.base_url}{path}", **kwargs)
        except httpx.HTTPError as error:
            raise InvalidInput(
                f"the emulator at {self.base_url} did not answer ({type(error).__name__}): "
                "is `oms emulate` running there?",
                field="emulator",
            ) from None
        if answer.status_code >= 300:
            raise InvalidInput(
                f"{method} {path} answered {answer.status_code}: {answer.text[:200]}",
                field="emulator",
            )
        return answer.json() if answer.content else None


def amazon_seller_sku(sku: str) -> str:
    return f"AMZ-{sku}"


class AmazonEmulator(_Control):
    """A seller SKU is the oms SKU with a prefix, as sellers often do."""

    def list_skus(self, skus: Sequence[str]) -> list[ListingRef]:
        refs = []
        for sku in skus:
            seller_sku = amazon_seller_sku(sku)
            self._call("POST", "/_emulator/listings", json={"sku": seller_sku})
            refs.append(ListingRef(sku, seller_sku))
        return refs

    def quantity_of(self, listing: ListingRef) -> int | None:
        found = self._call("GET", f"/_emulator/listings/{listing.remote_id}")
        return None if found["quantity"] is None else int(found["quantity"])

    def place_order(self, listing: ListingRef, units: int, price: int) -> str:
        line = {"sku": listing.remote_id, "quantity": units, "unit_price": price}
        return str(self._call("POST", "/_emulator/orders", json={"lines": [line]})["AmazonOrderId"])


class RakutenEmulator(_Control):
    """A manage number (商品管理番号) per style and colour, a variant (SKU管理番号) per size."""

    def list_skus(self, skus: Sequence[str]) -> list[ListingRef]:
        refs = [self.listing_ref(sku) for sku in skus]
        body = [{"manage_number": r.remote_id, "variant_id": r.remote_variant} for r in refs]
        self._call("POST", "/_emulator/listings", json=body)  # one call, all or nothing
        return refs

    @staticmethod
    def listing_ref(sku: str) -> ListingRef:
        manage, _, size = sku.rpartition("-")
        return ListingRef(sku, manage.lower(), size.lower())

    def quantity_of(self, listing: ListingRef) -> int | None:
        path = f"/_emulator/listings/{listing.remote_id}/{listing.remote_variant}"
        quantity = self._call("GET", path)["quantity"]
        return None if quantity is None else int(quantity)

    def place_order(self, listing: ListingRef, units: int, price: int) -> str:
        line = {
            "manage_number": listing.remote_id,
            "variant_id": listing.remote_variant,
            "units": units,
            "price": price,
        }
        return str(self._call("POST", "/_emulator/orders", json={"lines": [line]})["order_number"])


class StorefrontEmulator(_Control):
    """The shop makes the inventory item ids; oms keeps them in its listings."""

    def list_skus(self, skus: Sequence[str]) -> list[ListingRef]:
        return [
            ListingRef(
                sku, self._call("POST", "/_emulator/listings", json={"sku": sku})["inventoryItemId"]
            )
            for sku in skus
        ]

    def quantity_of(self, listing: ListingRef) -> int | None:
        params = {"inventory_item_id": listing.remote_id}
        quantity = self._call("GET", "/_emulator/quantities", params=params)["quantity"]
        return None if quantity is None else int(quantity)

    def place_order(self, listing: ListingRef, units: int, price: int) -> str:
        line = {"inventoryItemId": listing.remote_id, "quantity": units, "price": price}
        return str(self._call("POST", "/_emulator/orders", json={"lines": [line]})["id"])

    def subscribe(self, url: str | None) -> None:
        """The shop sends each new order's `orders/create` webhook to `url`."""
        self._call("POST", "/_emulator/webhooks", json={"url": url})


def emulator_for(channel: str, base_url: str, http: httpx.Client | None = None) -> EmulatorClient:
    kinds: dict[str, type[AmazonEmulator | RakutenEmulator | StorefrontEmulator]] = {
        "amazon": AmazonEmulator,
        "rakuten": RakutenEmulator,
        "storefront": StorefrontEmulator,
    }
    if channel not in kinds:
        raise InvalidInput(f"the demo has no channel {channel!r}", field="channel")
    return kinds[channel](base_url, http)


def demo_connection(channel: str, base_url: str) -> Connection:
    """The connection to the emulator at `base_url`, with the credentials it accepts."""
    base = base_url.rstrip("/")
    if channel == "amazon":
        amazon = AmazonEmulatorSettings()
        return AmazonConnection(
            endpoint=base,
            token_url=f"{base}/auth/o2/token",
            client_id=amazon.client_id,
            client_secret=amazon.client_secret,
            refresh_token=amazon.refresh_token,
            seller_id=amazon.seller_id,
            marketplace_id=amazon.marketplace_id,
        )
    if channel == "rakuten":
        rakuten = RakutenEmulatorConfig()
        return RakutenConnection(
            endpoint=base, service_secret=rakuten.service_secret, license_key=rakuten.license_key
        )
    if channel == "storefront":
        shop = ShopRules()
        return StorefrontConnection(
            endpoint=f"{base}/admin/api/{STOREFRONT_API_VERSION}/graphql.json",
            access_token=min(shop.access_tokens),
            webhook_secret=shop.client_secret,
            location_id=shop.location_ids[0],
        )
    raise InvalidInput(f"the demo has no channel {channel!r}", field="channel")


def emulator_url(connection: StoredConnection) -> str:
    """The emulator's base URL from a stored connection (the storefront's endpoint is its
    GraphQL path)."""
    parts = urlsplit(str(connection.settings["endpoint"]))
    return f"{parts.scheme}://{parts.netloc}"


# --------------------------------------------------------------------------- connecting


@dataclass(frozen=True, slots=True)
class ConnectedChannel:
    channel: str
    endpoint: str
    listed: int


def connect_demo(
    services: Services,
    urls: Mapping[str, str],
    *,
    pull_interval_seconds: int = DEMO_PULL_SECONDS,
    http: httpx.Client | None = None,
) -> list[ConnectedChannel]:
    """Connect each demo channel in `urls` (channel -> emulator base URL): list the demo SKUs
    on the emulator, then store the connection (secrets sealed) and the listings in oms.

    Run again against the same emulators, it changes nothing: a listing is saved as it is.
    """
    for channel in urls:
        services.channels.get_channel(channel)  # NotFound before anything is written
    # Every emulator first: one that does not answer leaves oms as it was.
    listed = {
        channel: emulator_for(channel, base_url, http).list_skus(demo_skus(channel))
        for channel, base_url in urls.items()
    }
    connected = []
    for channel, base_url in urls.items():
        store_connection(
            services,
            channel,
            demo_connection(channel, base_url),
            pull_interval_seconds=pull_interval_seconds,
        )
        now = utcnow()
        with services.uow() as uow:
            for ref in listed[channel]:
                uow.sync.save_listing(channel, ref, now)
            uow.commit()
        connected.append(ConnectedChannel(channel, base_url, len(listed[channel])))
    return connected


def store_connection(
    services: Services,
    channel: str,
    connection: Connection,
    *,
    push: bool = True,
    pull_orders: bool = True,
    pull_interval_seconds: int = DEMO_PULL_SECONDS,
) -> None:
    """Store `connection` through the connection service: secrets sealed, the rest plain."""
    services.connections.store(
        channel,
        connection,
        SyncSettings(push, pull_orders, pull_interval_seconds),
        actor="oms demo connect",
    )


def connected_emulator(services: Services, channel: str) -> EmulatorClient:
    """The emulator a demo channel is connected to."""
    with services.uow() as uow:
        stored = uow.sync.connection(channel)
        uow.commit()
    if stored is None:
        raise NotFound(f"{channel} is not connected: run `oms demo connect` first", field="channel")
    return emulator_for(channel, emulator_url(stored))


def listing_of(services: Services, channel: str, sku: str) -> ListingRef:
    with services.uow() as uow:
        found = uow.sync.listings(channel, [sku])
        uow.commit()
    if sku not in found:
        raise InvalidInput(f"{sku} is not listed on {channel}", field="sku")
    return found[sku]


def place_demo_order(
    services: Services, channel: str, sku: str | None = None, units: int | None = None
) -> tuple[str, str, int]:
    """A buyer orders on the channel's emulator; (its order id, SKU, units). oms takes it on
    its next pull (the storefront's at once when its webhook is subscribed)."""
    if channel not in DEMO_ORDERS:
        raise InvalidInput(f"the demo has no channel {channel!r}", field="channel")
    default_sku, default_units, price = DEMO_ORDERS[channel]
    sku = sku or default_sku
    units = units or default_units
    emulator = connected_emulator(services, channel)
    listing = listing_of(services, channel, sku)
    external_id = emulator.place_order(listing, units, price)
    return external_id, sku, units
