"""`orders/create` webhooks as Shopify sends them (contract 3.4).

The body is the REST Order resource; `X-Shopify-Hmac-Sha256` is base64(HMAC-SHA256(app client
secret, raw body)); `X-Shopify-Webhook-Id` is the delivery's id and stays the same when a
delivery is retried, which is what a receiver deduplicates on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import httpx

from oms.channels.emulators.storefront.state import Delivery, Order, Shop, gid_number, iso


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _number(value: str, kind: str) -> int:
    return gid_number(value, kind) or 0


def order_payload(order: Order) -> dict[str, object]:
    """The REST Order resource of the contract's example, for this order."""
    total = sum(line.price * line.quantity for line in order.lines)
    address = order.address
    return {
        "id": order.number,
        "admin_graphql_api_id": order.id,
        "name": order.name,
        "order_number": order.number,
        "email": order.email,
        "phone": None,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "processed_at": iso(order.created_at),
        "currency": "JPY",
        "subtotal_price": str(total),
        "total_tax": str(total * 10 // 110),  # consumption tax included in the price
        "total_price": str(total),
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": None,
        "cancelled_at": iso(order.cancelled_at) if order.cancelled_at else None,
        "cancel_reason": "customer" if order.cancelled_at else None,
        "test": False,
        "tags": "",
        "source_name": "web",
        "customer": {
            "id": order.number + 1,
            "email": order.email,
            "first_name": address["firstName"],
            "last_name": address["lastName"],
        },
        "shipping_address": {
            "first_name": address["firstName"],
            "last_name": address["lastName"],
            "name": address["name"],
            "address1": address["address1"],
            "address2": address["address2"],
            "city": address["city"],
            "province": address["province"],
            "province_code": address["provinceCode"],
            "zip": address["zip"],
            "country": address["country"],
            "country_code": address["countryCodeV2"],
            "phone": address["phone"],
            "company": address["company"],
        },
        "line_items": [
            {
                "id": _number(line.id, "LineItem"),
                "admin_graphql_api_id": line.id,
                "variant_id": _number(line.item.variant_id, "ProductVariant"),
                "product_id": _number(line.item.product_id, "Product"),
                "sku": line.item.sku,
                "title": line.title,
                "name": line.title,
                "quantity": line.quantity,
                "price": str(line.price),
                "fulfillable_quantity": line.quantity,
                "fulfillment_status": None,
                "requires_shipping": True,
            }
            for line in order.lines
        ],
        "shipping_lines": [{"title": "Standard", "price": "0", "code": "Standard"}],
    }


def new_delivery(shop: Shop, order: Order) -> Delivery:
    body = json.dumps(order_payload(order), ensure_ascii=False).encode()
    delivery = Delivery(webhook_id=str(uuid.uuid4()), topic="orders/create", body=body)
    shop.deliveries.append(delivery)
    return delivery


async def deliver(shop: Shop, delivery: Delivery) -> int | str:
    """POST the delivery to the subscribed URL once; its HTTP status, or why it failed."""
    url = shop.webhook_url
    if url is None:
        return "no subscription"
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": delivery.topic,
        "X-Shopify-Hmac-Sha256": sign(shop.rules.client_secret, delivery.body),
        "X-Shopify-Shop-Domain": shop.rules.shop_domain,
        "X-Shopify-API-Version": shop.rules.api_versions[-1],
        "X-Shopify-Webhook-Id": delivery.webhook_id,
        "X-Shopify-Triggered-At": iso(shop.clock()),
        "X-Shopify-Event-Id": str(uuid.uuid5(uuid.NAMESPACE_URL, delivery.webhook_id)),
    }
    timeout = httpx.Timeout(shop.rules.webhook_timeout_seconds, connect=1.0)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answer = await client.post(url, content=delivery.body, headers=headers)
        status: int | str = answer.status_code
    except httpx.HTTPError as error:
        status = type(error).__name__
    delivery.statuses.append(status)
    return status
