"""The canonical shapes between oms and a channel, whatever its API.

An adapter translates its channel's protocol into these and back; the sync services see nothing
else. Money is in integer minor units (yen have none: 1,980 JPY is 1980). Instants are aware.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ChannelKind(StrEnum):
    AMAZON = "amazon"
    RAKUTEN = "rakuten"
    STOREFRONT = "storefront"


class RemoteOrderStatus(StrEnum):
    """What the channel says of an order, reduced to what oms acts on."""

    PENDING = "pending"  # not yet payable or confirmed (Amazon Pending): do not ingest yet
    OPEN = "open"  # to be shipped: ingest it
    SHIPPED = "shipped"  # shipped (by oms or by the channel itself, e.g. FBA)
    CANCELLED = "cancelled"  # cancelled on the channel: cancel it in oms too


class Carrier(StrEnum):
    """oms's carriers; each adapter maps them to its channel's codes (configurable)."""

    YAMATO = "yamato"
    SAGAWA = "sagawa"
    JAPAN_POST = "japan_post"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ListingRef:
    """An oms SKU as one channel knows it.

    `remote_id`: Amazon's seller SKU, Rakuten's manage number (商品管理番号), the storefront's
    inventory item id. `remote_variant`: Rakuten's variant id (SKU管理番号); None elsewhere.
    """

    sku: str
    remote_id: str
    remote_variant: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteAddress:
    """Where the buyer wants it. Personal data: kept only as long as the channel allows."""

    name: str
    postal_code: str
    prefecture: str
    city: str
    address1: str
    address2: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteOrderLine:
    """One line as the channel sent it. `item_id` is the channel's own line id (Amazon
    OrderItemId, Rakuten itemDetailId, Shopify line item id): confirming a shipment needs it."""

    item_id: str
    remote_sku: str  # the channel's identifier of what was bought (see ListingRef.remote_id)
    quantity: int
    unit_price: int
    remote_variant: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteOrder:
    external_id: str
    status: RemoteOrderStatus
    ordered_at: datetime
    updated_at: datetime
    currency: str
    lines: Sequence[RemoteOrderLine]
    ship_to: RemoteAddress | None  # None until the channel releases it (Amazon Pending)
    shipping_method: str | None = None
    promised_by: datetime | None = None
    gift_note: str | None = None


@dataclass(frozen=True, slots=True)
class OrderPull:
    """One pull: the orders new or changed since the cursor, and the cursor to resume from.

    The cursor is the adapter's own (a watermark time, a page token), opaque to the sync; it is
    stored only after every order of the pull was ingested, so a crash pulls them again and the
    idempotent ingest keeps one order each. `more`: call again at once with `cursor`.
    """

    orders: list[RemoteOrder]
    cursor: str
    more: bool = False


@dataclass(frozen=True, slots=True)
class QuantityUpdate:
    """Tell the channel `quantity` for `listing`. `version` is oms's version of that number
    (AvailabilityChanged.version): a push never overwrites a newer number with an older one."""

    listing: ListingRef
    quantity: int
    version: int


class PushStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # the channel refused this SKU (unknown listing, invalid): do not retry
    RETRY = "retry"  # a passing failure for this SKU: push it again later


@dataclass(frozen=True, slots=True)
class PushOutcome:
    update: QuantityUpdate
    status: PushStatus
    message: str | None = None  # the channel's own words, per SKU (feed processing reports)


@dataclass(frozen=True, slots=True)
class ShippedLine:
    item_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ShipmentConfirmation:
    """A parcel left: tell the channel. `package_ref` is oms's shipment id (Amazon
    packageReferenceId); confirming the same package twice must change nothing."""

    external_order_id: str
    package_ref: str
    carrier: Carrier
    tracking_number: str
    shipped_at: datetime
    lines: Sequence[ShippedLine]
    carrier_name: str | None = None  # for Carrier.OTHER


@dataclass(frozen=True, slots=True)
class RemoteQuantity:
    """What the channel shows for a listing now; None: the channel does not know the listing."""

    listing: ListingRef
    quantity: int | None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A channel's published limit for one operation: a token bucket of `burst` tokens refilled
    at `per_second`. `cost` of a call is 1 unless the channel prices calls (Shopify)."""

    operation: str
    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """What an adapter needs the sync to respect: its operations' limits and batch sizes."""

    limits: Sequence[RateLimit]
    max_push_batch: int  # updates in one push call
    extra: dict[str, float] = field(default_factory=dict)

    def of(self, operation: str) -> RateLimit:
        for limit in self.limits:
            if limit.operation == operation:
                return limit
        raise KeyError(operation)


def order_to_json(order: RemoteOrder) -> dict[str, object]:
    """A pulled order as JSON, kept with a failure so that its retry does not need the channel
    to send it again (pulls read windows, not single orders)."""
    address = order.ship_to
    return {
        "external_id": order.external_id,
        "status": order.status.value,
        "ordered_at": order.ordered_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "currency": order.currency,
        "lines": [
            {
                "item_id": ln.item_id,
                "remote_sku": ln.remote_sku,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "remote_variant": ln.remote_variant,
            }
            for ln in order.lines
        ],
        "ship_to": None
        if address is None
        else {
            "name": address.name,
            "postal_code": address.postal_code,
            "prefecture": address.prefecture,
            "city": address.city,
            "address1": address.address1,
            "address2": address.address2,
            "phone": address.phone,
        },
        "shipping_method": order.shipping_method,
        "promised_by": order.promised_by.isoformat() if order.promised_by else None,
        "gift_note": order.gift_note,
    }


def order_from_json(raw: dict[str, Any]) -> RemoteOrder:
    address = raw.get("ship_to")
    promised = raw.get("promised_by")
    return RemoteOrder(
        external_id=str(raw["external_id"]),
        status=RemoteOrderStatus(raw["status"]),
        ordered_at=datetime.fromisoformat(raw["ordered_at"]),
        updated_at=datetime.fromisoformat(raw["updated_at"]),
        currency=str(raw["currency"]),
        lines=[
            RemoteOrderLine(
                item_id=str(ln["item_id"]),
                remote_sku=str(ln["remote_sku"]),
                quantity=int(ln["quantity"]),
                unit_price=int(ln["unit_price"]),
                remote_variant=ln.get("remote_variant"),
            )
            for ln in raw["lines"]
        ],
        ship_to=None if not address else RemoteAddress(**address),
        shipping_method=raw.get("shipping_method"),
        promised_by=datetime.fromisoformat(promised) if promised else None,
        gift_note=raw.get("gift_note"),
    )
