"""Orders API v0 (getOrders, getOrder, getOrderItems) and 2026-01-01 (searchOrders).

Both select by creation or by last update, exactly one of the two, and refuse a `*Before` later
than two minutes before the request (a setting, `before_lag_seconds`); when it is omitted the
window ends there. Bounds are inclusive, as the models say ("at or after", "at or before").
Pages are snapshots: the ids matched by the first request, served `MaxResultsPerPage` at a time
behind an opaque token. v0 shows PII (names, address lines, phone, buyer) only to a Restricted
Data Token; 2026-01-01 shows it when the application holds the roles (`pii_roles`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from oms.channels.emulators.amazon.protocol import (
    Call,
    check_query,
    invalid,
    not_found,
    parse_time,
)
from oms.channels.emulators.amazon.state import AmazonWorld, Order, iso

V0_STATUSES = frozenset(
    {
        "PendingAvailability",
        "Pending",
        "Unshipped",
        "PartiallyShipped",
        "Shipped",
        "InvoiceUnconfirmed",
        "Canceled",
        "Unfulfillable",
    }
)
STATUS_2026 = {
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "InvoiceUnconfirmed": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
}
ADDRESS_SHOWN = frozenset({"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})
NON_PII_ADDRESS = ("City", "StateOrRegion", "PostalCode", "CountryCode")
PAGE_TOKEN_HOURS = 24


def _money(amount: Decimal, currency: str, lower: bool = False) -> dict[str, str]:
    text = f"{amount:.2f}"
    if lower:
        return {"amount": text, "currencyCode": currency}
    return {"CurrencyCode": currency, "Amount": text}


def _window(
    world: AmazonWorld, query: dict[str, str], names: tuple[str, str, str, str]
) -> tuple[str, datetime, datetime]:
    """(which of created/updated, after, before) with Amazon's rules on the four bounds."""
    created_after, created_before, updated_after, updated_before = names
    ca = parse_time(created_after, query.get(created_after))
    cb = parse_time(created_before, query.get(created_before))
    ua = parse_time(updated_after, query.get(updated_after))
    ub = parse_time(updated_before, query.get(updated_before))
    if (ca is None) == (ua is None):
        raise invalid(f"Exactly one of {created_after} and {updated_after} is required.")
    if ca is not None and (ua or ub):
        raise invalid(f"{created_after} cannot be combined with {updated_after}/{updated_before}.")
    if ua is not None and cb is not None:
        raise invalid(f"{updated_after} cannot be combined with {created_before}.")
    latest = world.precise_now() - timedelta(seconds=world.settings.before_lag_seconds)
    by, after, before = ("created", ca, cb) if ca is not None else ("updated", ua, ub)
    name = created_before if by == "created" else updated_before
    assert after is not None  # noqa: S101 - exactly one of the two was checked above
    if before is None:
        before = latest.replace(microsecond=0)
    elif before > latest:
        raise invalid(f"{name} must be no later than two minutes before the request time.")
    if before < after:
        raise invalid(f"{name} must be equal to or after the corresponding After date.")
    return by, after, before


def _page_size(raw: str | None) -> int:
    if raw is None:
        return 100
    size = int(raw)  # check_query made sure it is an integer
    if not 1 <= size <= 100:
        raise invalid("The maximum results per page must be between 1 and 100.")
    return size


def _select(
    world: AmazonWorld, by: str, after: datetime, before: datetime, statuses: set[str] | None
) -> list[str]:
    def moment(order: Order) -> datetime:
        return order.purchased_at if by == "created" else order.updated_at

    chosen = [
        o
        for o in world.orders.values()
        if after <= moment(o) <= before and (statuses is None or o.status in statuses)
    ]
    chosen.sort(key=lambda o: (moment(o), o.order_id))
    return [o.order_id for o in chosen]


def _page(
    world: AmazonWorld, token: str | None, fresh: tuple[list[str], int, dict[str, Any]]
) -> tuple[list[str], str | None, dict[str, Any]]:
    """(ids of this page, next token or None, the first request's echo)."""
    if token is not None:
        found = world.pages.get(token)
        if found is None or found[2]["expires"] <= world.now():
            raise invalid("Invalid or expired page token.")
        ids, size, echo = found
        del world.pages[token]
    else:
        ids, size, echo = fresh
    page, rest = ids[:size], ids[size:]
    following = None
    if rest:
        now = world.now()
        for stale in [t for t, (_, _, e) in world.pages.items() if e["expires"] <= now]:
            del world.pages[stale]  # abandoned paging: tokens live 24 hours
        following = secrets.token_urlsafe(18)
        world.pages[following] = (rest, size, echo)
    return page, following, echo


# -- v0 --------------------------------------------------------------------------------------
def _order_v0(world: AmazonWorld, order: Order, pii: bool) -> dict[str, Any]:
    unshipped = sum(i.quantity - i.shipped for i in order.items)
    body: dict[str, Any] = {
        "AmazonOrderId": order.order_id,
        "PurchaseDate": iso(order.purchased_at),
        "LastUpdateDate": iso(order.updated_at),
        "OrderStatus": order.status,
        "FulfillmentChannel": "MFN",
        "SalesChannel": "Amazon.co.jp",
        "ShipServiceLevel": "Std JP Kanto8",
        "NumberOfItemsShipped": sum(i.shipped for i in order.items),
        "NumberOfItemsUnshipped": unshipped,
        "PaymentMethod": "Other",
        "MarketplaceId": world.settings.marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "LatestShipDate": iso(order.latest_ship),
        "IsBusinessOrder": False,
        "IsPrime": False,
        "IsPremiumOrder": False,
        "IsReplacementOrder": False,
    }
    if order.status not in ("Pending", "PendingAvailability"):
        total = sum((i.unit_price * i.quantity for i in order.items), Decimal(0))
        body["OrderTotal"] = _money(total, order.currency)
    if order.status in ADDRESS_SHOWN:
        shown = order.address if pii else {k: order.address[k] for k in NON_PII_ADDRESS}
        body["ShippingAddress"] = dict(shown)
        if pii:
            body["BuyerInfo"] = dict(order.buyer)
    return body


def get_orders(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    query = dict(call.query)
    check_query("ordersV0.json", "getOrders", query)
    token = query.get("NextToken")
    fresh: tuple[list[str], int, dict[str, Any]] = ([], 100, {})
    if token is None:
        if world.settings.marketplace_id not in query["MarketplaceIds"].split(","):
            raise invalid("None of MarketplaceIds is a marketplace of this seller.")
        names = ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore")
        by, after, before = _window(world, query, names)
        statuses = None
        if "OrderStatuses" in query:
            statuses = set(query["OrderStatuses"].split(","))
            if not statuses <= V0_STATUSES:
                raise invalid(
                    f"Invalid OrderStatuses: {', '.join(sorted(statuses - V0_STATUSES))}."
                )
        size = _page_size(query.get("MaxResultsPerPage"))
        echo_name = "CreatedBefore" if by == "created" else "LastUpdatedBefore"
        expires = world.now() + timedelta(hours=PAGE_TOKEN_HOURS)
        fresh = (
            _select(world, by, after, before, statuses),
            size,
            {echo_name: iso(before), "expires": expires},
        )
    ids, following, echo = _page(world, token, fresh)
    payload: dict[str, Any] = {
        "Orders": [_order_v0(world, world.orders[i], call.restricted) for i in ids],
        **{k: v for k, v in echo.items() if k != "expires"},
    }
    if following:
        payload["NextToken"] = following
    return 200, {"payload": payload}


def _order(world: AmazonWorld, call: Call) -> Order:
    order = world.orders.get(call.params["orderId"])
    if order is None:
        raise not_found(f"Order {call.params['orderId']} was not found.")
    return order


def get_order(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    return 200, {"payload": _order_v0(world, _order(world, call), call.restricted)}


def get_order_items(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    check_query("ordersV0.json", "getOrderItems", call.query)
    order = _order(world, call)
    priced = order.status not in ("Pending", "PendingAvailability")
    items = []
    for item in order.items:
        row: dict[str, Any] = {
            "ASIN": item.asin,
            "SellerSKU": item.seller_sku,
            "OrderItemId": item.order_item_id,
            "Title": item.title,
            "QuantityOrdered": item.quantity,
            "QuantityShipped": item.shipped,
            "IsGift": "false",
            "ConditionId": "New",
        }
        if priced:  # while Pending, pricing is omitted [V]
            row["ItemPrice"] = _money(item.unit_price * item.quantity, order.currency)
            row["ShippingPrice"] = _money(Decimal(0), order.currency)
            row["PromotionDiscount"] = _money(Decimal(0), order.currency)
        items.append(row)
    return 200, {"payload": {"AmazonOrderId": order.order_id, "OrderItems": items}}


# -- 2026-01-01 ------------------------------------------------------------------------------
def _order_2026(world: AmazonWorld, order: Order, included: set[str]) -> dict[str, Any]:
    status = STATUS_2026[order.status]
    body: dict[str, Any] = {
        "orderId": order.order_id,
        "createdTime": iso(order.purchased_at),
        "lastUpdatedTime": iso(order.updated_at),
        "salesChannel": {
            "channelName": "Amazon.co.jp",
            "marketplaceId": world.settings.marketplace_id,
            "marketplaceName": "Amazon.co.jp",
        },
        "orderItems": [
            {
                "orderItemId": i.order_item_id,
                "quantityOrdered": i.quantity,
                "product": {
                    "asin": i.asin,
                    "sellerSku": i.seller_sku,
                    "title": i.title,
                    "price": {"unitPrice": _money(i.unit_price, order.currency, lower=True)},
                },
            }
            for i in order.items
        ],
    }
    if "FULFILLMENT" in included:
        body["fulfillment"] = {
            "fulfillmentStatus": status,
            "fulfilledBy": "MERCHANT",
            "shipByWindow": {"latestTime": iso(order.latest_ship)},
        }
    shown = order.status in ADDRESS_SHOWN
    if "RECIPIENT" in included and shown:
        address = order.address
        delivery = {
            "city": address["City"],
            "stateOrRegion": address["StateOrRegion"],
            "postalCode": address["PostalCode"],
            "countryCode": address["CountryCode"],
        }
        if world.settings.pii_roles:
            delivery |= {
                "name": address["Name"],
                "addressLine1": address["AddressLine1"],
                "addressLine2": address["AddressLine2"],
                "phone": address["Phone"],
            }
        body["recipient"] = {"deliveryAddress": delivery}
    if "BUYER" in included and shown and world.settings.pii_roles:
        body["buyer"] = {
            "buyerName": order.buyer["BuyerName"],
            "buyerEmail": order.buyer["BuyerEmail"],
        }
    if "PACKAGES" in included:
        shown_fields = (
            "packageReferenceId",
            "carrier",
            "trackingNumber",
            "shipTime",
            "packageStatus",
        )
        body["packages"] = [{k: p[k] for k in shown_fields if p.get(k)} for p in order.packages]
    return body


def search_orders(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    query = dict(call.query)
    check_query("orders_2026-01-01.json", "searchOrders", query)
    included = set(query.get("includedData", "").split(",")) - {""}
    token = query.get("paginationToken")
    fresh: tuple[list[str], int, dict[str, Any]] = ([], 100, {})
    if token is None:
        markets = query.get("marketplaceIds")
        if markets and world.settings.marketplace_id not in markets.split(","):
            raise invalid("None of marketplaceIds is a marketplace of this seller.")
        names = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")
        by, after, before = _window(world, query, names)
        statuses = None
        if "fulfillmentStatuses" in query:
            wanted = set(query["fulfillmentStatuses"].split(","))
            statuses = {v0 for v0, new in STATUS_2026.items() if new in wanted}
        size = _page_size(query.get("maxResultsPerPage"))
        echo_name = "createdBefore" if by == "created" else "lastUpdatedBefore"
        expires = world.now() + timedelta(hours=PAGE_TOKEN_HOURS)
        echo = {echo_name: iso(before), "expires": expires, "included": sorted(included)}
        fresh = (_select(world, by, after, before, statuses), size, echo)
    ids, following, echo = _page(world, token, fresh)
    # A page token keeps the first request's includedData, as it keeps its filters.
    kept = echo.get("included")
    shown = set(kept) if isinstance(kept, list) else included
    body: dict[str, Any] = {
        "orders": [_order_2026(world, world.orders[i], shown) for i in ids],
        **{k: v for k, v in echo.items() if k not in ("expires", "included")},
    }
    if following:
        body["pagination"] = {"nextToken": following}
    return 200, body


def get_order_2026(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    check_query("orders_2026-01-01.json", "getOrder", call.query)
    included = set(call.query.get("includedData", "").split(",")) - {""}
    return 200, {"order": _order_2026(world, _order(world, call), included)}
