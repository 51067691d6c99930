"""The whole path on both databases (issue 10): order -> ship -> return -> receive -> grade ->
RESALE -> the unit listed on two channels -> ordered on one -> 0 on the other, and sold when
it ships; the ledger verifies clean at the end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from oms.bootstrap import bootstrap
from oms.channels.availability.services.channels import CreateChannel
from oms.resale.domain import ResaleStatus
from oms.returns.domain.rma import ReturnAction
from oms.returns.services.rma import NewReturnLine, OpenReturn
from oms.returns.services.units import GradeUnit
from tests.builders import SteppingClock
from tests.order_builders import DC, PRICES, TEE, Shop, an_order, open_shipments
from tests.resale_builders import START


def test_a_returned_item_is_resold_as_its_own_unit_on_one_channel_only(engine: Engine) -> None:
    shop = Shop(engine).build().stock((TEE, DC, 3))
    shop.channels.create_channel(CreateChannel("amz", "Amazon", "amazon", locations=[DC]))
    clock = SteppingClock(START)
    services = bootstrap(engine=engine, clock=clock)
    order = shop.place((TEE, 1))
    [parcel] = open_shipments(order)
    shop.ship(parcel.id or 0)
    line_id = order.lines[0].line_id

    rma = services.returns.open_return(
        OpenReturn(order.id or 0, [NewReturnLine(line_id, 1, "size_fit")]), "cs"
    )
    services.returns.act(rma.id or 0, ReturnAction.SHIP, "cs")
    [received] = services.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh").units
    services.units.grade(
        received.id or 0,
        GradeUnit(
            "B",
            "full",
            defects=[{"code": "scuff", "zone": "hem", "severity": "minor"}],
            photos=["units/1/front.jpg"],
        ),
        "wh:taro",
    )
    view = services.units.decide(received.id or 0, "RESALE", "wh", "light wear", execute=True)

    code = view.resale_code
    assert code is not None
    resale = services.resale
    unit = resale.get_unit(code).unit
    assert (unit.grade.value, unit.order_id, unit.channel, unit.return_id) == (
        "B",
        order.id,
        "web",
        rma.id,
    )
    assert unit.photos == ["units/1/front.jpg"]
    assert unit.defects[0]["code"] == "scuff"
    assert unit.pricing.price == PRICES[TEE] * 55 // 100
    parent = shop.level(TEE, DC)
    assert (parent.on_hand, parent.quarantined) == (2, 0)  # out of quarantine, into the unit

    resale.prepare(code, "cs")
    resale.ready(code, "cs")
    resale.publish(code, "cs", clock() - timedelta(minutes=1))

    def number(channel: str) -> int:
        [found] = services.availability.channel_availability(channel, [code])
        return found.availability.available

    assert (number("web"), number("amz")) == (1, 1)
    placed = services.orders.place_order(an_order((code, 1), channel="amz"))
    assert (number("web"), number("amz")) == (0, 0)

    [sold] = open_shipments(placed.order)
    shop.ship(sold.id or 0)
    resale.observe_stock([code])
    assert resale.get_unit(code).unit.status is ResaleStatus.SOLD
    assert services.inventory.verify().clean
