"""A shop with resale: a TEE sold on the storefront `web`, returned, quarantined at the DC,
and sent to resale the way the returns context's RESALE disposition does it (the parent's
WRITE_OFF out of quarantine and `create_unit_within` in one transaction). Channels: `web`
(storefront, every location) and `amz` (Amazon, the DC only)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from oms.bootstrap import Services, bootstrap
from oms.channels.availability.services.channels import CreateChannel
from oms.inventory.domain import MovementType
from oms.inventory.services.commands import SystemMove
from oms.resale.domain import ResaleUnit
from oms.resale.services import ResaleService, ResaleSource
from tests.builders import SteppingClock
from tests.order_builders import DC, TEE, Shop, an_order, open_shipments

AMAZON = "amz"
WEB = "web"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
_units = itertools.count(1)


class ResaleShop:
    def __init__(self, engine: Engine) -> None:
        self.clock = SteppingClock(START)
        self.shop = Shop(engine).build().stock((TEE, DC, 5))
        self.shop.channels.create_channel(CreateChannel(AMAZON, "Amazon", "amazon", locations=[DC]))
        self.services: Services = bootstrap(engine=engine, clock=self.clock)
        order = self.shop.place((TEE, 1))
        [parcel] = open_shipments(order)
        self.shop.ship(parcel.id or 0)
        self.order_id = order.id or 0

    @property
    def resale(self) -> ResaleService:
        return self.services.resale

    def returned_unit(self, grade: str = "A", **source: Any) -> ResaleUnit:
        """A returned TEE received into quarantine at the DC, then sent to resale."""
        unit_id = source.pop("unit_id", next(_units))
        now = self.clock()
        inventory = self.services.inventory
        with self.services.uow() as uow:
            inventory.record_system_within(
                uow,
                [SystemMove(MovementType.RETURN_RECEIPT, TEE, DC, 1)],
                key=f"test-return:{unit_id}",
                reference=None,
                actor="warehouse",
                now=now,
            )
            uow.publish_changes()
            uow.commit()
        fields: dict[str, Any] = {
            "unit_id": unit_id,
            "barcode": f"RU{unit_id:08d}",
            "parent_sku": TEE,
            "location": DC,
            "grade": grade,
            "functional": "full",
            "defects": [{"code": "pilling", "zone": "front", "severity": "minor"}],
            "photos": ["photos/front.jpg"],
            "order_id": self.order_id,
            "channel": WEB,
            "return_id": 7,
        }
        fields.update(source)
        with self.services.uow() as uow:
            inventory.record_system_within(
                uow,
                [SystemMove(MovementType.WRITE_OFF, TEE, DC, 1, "resale")],
                key=f"test-disposition:{unit_id}",
                reference=None,
                actor="warehouse",
                now=now,
            )
            unit = self.resale.create_unit_within(
                uow, ResaleSource(**fields), "warehouse:taro", now
            )
            uow.publish_changes()
            uow.commit()
        return unit

    def listed_unit(self, grade: str = "A", **publish: Any) -> ResaleUnit:
        unit = self.returned_unit(grade)
        self.resale.prepare(unit.code, "cs")
        self.resale.ready(unit.code, "cs")
        options: dict[str, Any] = {"public_from": self.clock() - timedelta(minutes=1)}
        options.update(publish)
        return self.resale.publish(unit.code, "cs", **options)

    def number(self, channel: str, sku: str) -> int:
        """What the read path says the channel may sell now."""
        [found] = self.services.availability.channel_availability(channel, [sku])
        return found.availability.available

    def published(self, channel: str, sku: str) -> int:
        """What was published to the channel, once the publisher drained what is queued."""
        self.services.publication.drain()
        with self.services.uow() as uow:
            sku_id = uow.inventory.sku_ids_by_code([sku])[sku]
            found = uow.channels.channel_by_code(channel)
            assert found is not None
            numbers = uow.channels.published_numbers([sku_id])
        number = numbers.get((found.id or 0, sku_id))
        return number.available if number is not None else 0

    def order_unit(self, code: str, channel: str) -> Any:
        return self.shop.orders.place_order(an_order((code, 1), channel=channel))
