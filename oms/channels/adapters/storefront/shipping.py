"""Shipments: `fulfillmentCreate` against the order's fulfillment orders (contract 3.5).

Shopify fulfils fulfillment-order lines, not order lines, so the adapter first reads the
order's fulfillment orders ([U] field names), then sends, per location, the fulfillment-order
lines that cover the parcel's order lines. Confirming the same parcel again changes nothing:
a fulfillment with the parcel's tracking number already exists, or nothing it holds remains to
fulfil; either way no second fulfillment is created. Carrier names are configurable ([U]: the
contract's example says "Yamato Transport").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from oms.channels.adapters.storefront.auth import CHANNEL
from oms.channels.adapters.storefront.transport import AdminGraphQL
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import Carrier, ShipmentConfirmation

FULFILLMENT_ORDERS = 5
# Lines a fulfillment order is read with: few first (cheap, as Shopify charges the requested
# cost), then as many as the 1000-point maximum allows when a page says there are more.
LINE_READS = (10, 95)
MUTATION_COST = 10

DEFAULT_CARRIER_NAMES: Mapping[Carrier, str] = {
    Carrier.YAMATO: "Yamato Transport",
    Carrier.SAGAWA: "Sagawa Express",
    Carrier.JAPAN_POST: "Japan Post",
}

READ_FULFILLMENT_ORDERS = """
query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillments { trackingInfo { company number url } }
    fulfillmentOrders(first: FO_FIRST) {
      pageInfo { hasNextPage }
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: LINE_FIRST) {
          pageInfo { hasNextPage }
          nodes { id remainingQuantity lineItem { id } }
        }
      }
    }
  }
}
""".replace("FO_FIRST", str(FULFILLMENT_ORDERS))

CREATE_FULFILLMENT = """
mutation Ship($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""


class StorefrontShipping:
    def __init__(
        self,
        graphql: AdminGraphQL,
        carrier_names: Mapping[Carrier, str] = DEFAULT_CARRIER_NAMES,
        notify_customer: bool = True,
    ) -> None:
        self._graphql, self._carriers, self._notify = graphql, carrier_names, notify_customer

    def confirm(self, confirmation: ShipmentConfirmation) -> None:
        order = self._read(confirmation.external_order_id)
        tracked = {
            str(info.get("number"))
            for f in order.get("fulfillments") or []
            for info in f.get("trackingInfo") or []
            if isinstance(info, dict)
        }
        if confirmation.tracking_number and confirmation.tracking_number in tracked:
            return  # this parcel was confirmed before
        for lines in self._allocate(order, confirmation).values():
            self._create(lines, confirmation)

    def _read(self, order_id: str) -> dict[str, Any]:
        for lines in LINE_READS:
            query = READ_FULFILLMENT_ORDERS.replace("LINE_FIRST", str(lines))
            estimate = 6 + FULFILLMENT_ORDERS * (2 + 2 * lines)
            data = self._graphql.call(
                f"FulfillmentOrders{lines}", query, {"id": order_id}, estimate=estimate
            )
            order = data.get("order")
            if not isinstance(order, dict):
                raise ChannelRejected(CHANNEL, f"no order {order_id} on the storefront")
            if not _truncated(order):
                return order
        raise ChannelRejected(CHANNEL, f"{order_id}: too many fulfillment order lines to read")

    def _allocate(
        self, order: Mapping[str, Any], confirmation: ShipmentConfirmation
    ) -> dict[str, dict[str, dict[str, int]]]:
        """location -> fulfillment order -> fulfillment-order line -> quantity to fulfil."""
        wanted: dict[str, int] = defaultdict(int)
        for line in confirmation.lines:
            wanted[line.item_id] += line.quantity
        plan: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
            if fo.get("status") in ("CLOSED", "CANCELLED", "INCOMPLETE"):
                continue
            location = str(((fo.get("assignedLocation") or {}).get("location") or {}).get("id"))
            for fo_line in (fo.get("lineItems") or {}).get("nodes") or []:
                item_id = str((fo_line.get("lineItem") or {}).get("id"))
                take = min(wanted.get(item_id, 0), int(fo_line.get("remainingQuantity") or 0))
                if take > 0:
                    plan[location][str(fo["id"])][str(fo_line["id"])] = take
                    wanted[item_id] -= take
        return plan

    def _create(
        self,
        by_fulfillment_order: Mapping[str, Mapping[str, int]],
        confirmation: ShipmentConfirmation,
    ) -> None:
        company = self._carriers.get(confirmation.carrier) or confirmation.carrier_name or "Other"
        fulfillment = {
            "lineItemsByFulfillmentOrder": [
                {
                    "fulfillmentOrderId": fo_id,
                    "fulfillmentOrderLineItems": [
                        {"id": line_id, "quantity": quantity} for line_id, quantity in lines.items()
                    ],
                }
                for fo_id, lines in by_fulfillment_order.items()
            ],
            "trackingInfo": {"company": company, "number": confirmation.tracking_number},
            "notifyCustomer": self._notify,
        }
        data = self._graphql.call(
            "Ship", CREATE_FULFILLMENT, {"fulfillment": fulfillment}, estimate=MUTATION_COST
        )
        payload = data.get("fulfillmentCreate")
        if not isinstance(payload, dict):
            raise ChannelRejected(CHANNEL, "Ship: no fulfillmentCreate in the answer")
        errors = payload.get("userErrors") or []
        if errors:
            messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
            raise ChannelRejected(CHANNEL, f"Ship: {messages}")


def _truncated(order: Mapping[str, Any]) -> bool:
    connection = order.get("fulfillmentOrders") or {}
    if (connection.get("pageInfo") or {}).get("hasNextPage"):
        return True
    return any(
        ((fo.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage")
        for fo in connection.get("nodes") or []
    )
