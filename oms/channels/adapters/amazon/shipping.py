"""Confirming a parcel: Orders API v0 confirmShipment, one call per package.

`packageReferenceId` is oms's shipment id (Amazon takes positive numbers only), the lines carry
the order's `OrderItemId`s, and the carrier is the connection's mapping of oms's carriers to
Amazon's `carrierCode`s, else `Other` with a `carrierName` [U: the JP spellings]. Amazon does not
document the answer to a package confirmed twice [U]: a 400 whose message matches
`AmazonSettings.already_confirmed` means it is there already, which is what was wanted.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC

from oms.channels.adapters.amazon.http import CHANNEL, SpApi, failure
from oms.channels.adapters.amazon.settings import AmazonSettings
from oms.channels.sync.domain.connections import AmazonConnection
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import Carrier, ShipmentConfirmation

log = logging.getLogger(__name__)

CARRIER_NAMES = {
    Carrier.YAMATO: "Yamato Transport",
    Carrier.SAGAWA: "Sagawa Express",
    Carrier.JAPAN_POST: "Japan Post",
}


class Shipping:
    def __init__(self, api: SpApi, connection: AmazonConnection, settings: AmazonSettings) -> None:
        self._api = api
        self._connection = connection
        self._already = re.compile(settings.already_confirmed)

    def _carrier(self, confirmation: ShipmentConfirmation) -> dict[str, str]:
        code = dict(self._connection.carrier_codes).get(confirmation.carrier)
        if code is not None and code != "Other":
            return {"carrierCode": code}
        name = confirmation.carrier_name or CARRIER_NAMES.get(confirmation.carrier)
        if not name:
            raise ChannelRejected(CHANNEL, "confirmShipment: carrier Other needs a carrier name")
        return {"carrierCode": "Other", "carrierName": name}

    def confirm(self, confirmation: ShipmentConfirmation) -> None:
        reference = confirmation.package_ref
        if not reference.isdigit() or int(reference) < 1:
            raise ChannelRejected(
                CHANNEL, f"confirmShipment: package {reference!r} is not a positive number"
            )
        if not confirmation.lines or any(line.quantity < 1 for line in confirmation.lines):
            raise ChannelRejected(CHANNEL, "confirmShipment: a package needs positive quantities")
        body = {
            "marketplaceId": self._connection.marketplace_id,
            "packageDetail": {
                "packageReferenceId": reference,
                **self._carrier(confirmation),
                "trackingNumber": confirmation.tracking_number,
                "shipDate": confirmation.shipped_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "orderItems": [
                    {"orderItemId": line.item_id, "quantity": line.quantity}
                    for line in confirmation.lines
                ],
            },
        }
        path = f"/orders/v0/orders/{confirmation.external_order_id}/shipmentConfirmation"
        answer = self._api.send("confirmShipment", "POST", path, json=body, accept=(400,))
        if answer.status_code != 400:
            return
        error = failure("confirmShipment", answer)
        if self._already.search(error.message):
            log.info(
                "amazon package already confirmed",
                extra={"order": confirmation.external_order_id, "package": reference},
            )
            return
        raise error
