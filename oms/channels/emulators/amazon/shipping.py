"""Orders API v0 confirmShipment: one package per call, 204 on success.

`packageReferenceId` is the seller's, a positive number unique within the order [V]; the items
must be the order's and not shipped beyond what was ordered. The answer to a package confirmed
again is not documented [U]: `duplicate_package` = "reject" answers 400 InvalidInput saying the
package was already confirmed; "accept" answers 204; neither records it twice.
"""

from __future__ import annotations

from typing import Any

from oms.channels.emulators.amazon.protocol import Call, invalid, not_found, parse_body, parse_time
from oms.channels.emulators.amazon.state import AmazonWorld, iso

CONFIRMABLE = frozenset({"Unshipped", "PartiallyShipped"})


def confirm_shipment(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    body = parse_body(call.body, "ordersV0.json", "confirmShipment")
    order = world.orders.get(call.params["orderId"])
    if order is None:
        raise not_found(f"Order {call.params['orderId']} was not found.")
    if body["marketplaceId"] != world.settings.marketplace_id:
        raise invalid("marketplaceId: not the order's marketplace.")
    detail = body["packageDetail"]
    reference = detail["packageReferenceId"]
    if not reference.isdigit() or int(reference) < 1:
        raise invalid("packageReferenceId: only positive numeric values are supported.")
    if any(p["packageReferenceId"] == reference for p in order.packages):
        if world.settings.duplicate_package == "accept":
            return 204, None
        raise invalid(f"Package {reference} has already been confirmed for this order.")
    if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
        raise invalid("carrierName is required when carrierCode is Other.")
    shipped_at = parse_time("shipDate", detail["shipDate"])
    if order.status not in CONFIRMABLE:
        raise invalid(f"The order is {order.status}; only unshipped orders can be confirmed.")
    by_id = {item.order_item_id: item for item in order.items}
    wanted: dict[str, int] = {}
    for line in detail["orderItems"]:
        item = by_id.get(line["orderItemId"])
        if item is None:
            raise invalid(f"orderItemId {line['orderItemId']} is not an item of this order.")
        wanted[item.order_item_id] = wanted.get(item.order_item_id, 0) + line["quantity"]
    for item_id, quantity in wanted.items():
        item = by_id[item_id]
        if quantity < 1 or item.shipped + quantity > item.quantity:
            raise invalid(f"orderItemId {item_id}: quantity exceeds what is left to ship.")
    for item_id, quantity in wanted.items():
        by_id[item_id].shipped += quantity
    assert shipped_at is not None  # noqa: S101 - shipDate is required by the model
    order.packages.append(
        {
            "packageReferenceId": reference,
            "carrier": detail["carrierCode"],
            "carrierName": detail.get("carrierName"),
            "trackingNumber": detail["trackingNumber"],
            "shipTime": iso(shipped_at),
            "packageStatus": {"status": "SHIPPED"},
            "orderItems": [{"orderItemId": i, "quantity": q} for i, q in wanted.items()],
        }
    )
    done = all(item.shipped == item.quantity for item in order.items)
    world.touch(order, "Shipped" if done else "PartiallyShipped")
    return 204, None
