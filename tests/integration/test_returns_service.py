"""Returns through the services, on both databases: returnable quantities, a channel's request
taken once and approved by policy, receiving into quarantine with a unit per item, grading,
exceptions, dispositions and their ledger movements, resolutions with money and new orders."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, update

from oms.bootstrap import Services, bootstrap
from oms.orders.orm import orders
from oms.returns.domain import Resolution, ReturnStatus
from oms.returns.domain.rma import ReturnAction
from oms.returns.domain.units import UnitStatus
from oms.returns.services.rma import LineResolution, NewReturnLine, OpenReturn
from oms.returns.services.units import GradeUnit
from oms.shared.errors import Conflict, InvalidInput, NotFound
from oms.shared.personal_data import ANONYMISED
from tests.order_builders import CAP, DC, TEE, Shop, open_shipments

GOOD = GradeUnit("A", "full", completeness={"tags": True, "box": True})


def shipped_order(engine: Engine, units: int = 2) -> tuple[Shop, Services, int, str]:
    shop = Shop(engine).build().stock((TEE, DC, 10))
    order = shop.place((TEE, units))
    [parcel] = open_shipments(order)
    shop.ship(parcel.id or 0)
    return shop, bootstrap(engine=engine), order.id or 0, order.lines[0].line_id


def tee_at_dc(services: Services) -> tuple[int, int, int]:
    [level] = services.inventory.stock_levels(sku=TEE, location=DC).items
    return level.on_hand, level.quarantined, level.available


def test_a_return_from_authorized_to_closed(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine)
    returns = services.returns

    rma = returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 2, "size_fit", "too small")]), "cs:hanako"
    )
    assert rma.status is ReturnStatus.AUTHORIZED
    assert rma.approved_by == "cs:hanako"
    returns.act(rma.id or 0, ReturnAction.SHIP, "cs")
    received = returns.receive(rma.id or 0, DC, {line_id: 2}, "wh:taro")
    assert received.rma.status is ReturnStatus.RECEIVED
    for unit in received.units:
        services.units.grade(unit.id or 0, GOOD, "wh:taro")
    assert returns.get_return(rma.id or 0).status is ReturnStatus.INSPECTED
    returns.resolve(
        rma.id or 0, [LineResolution(line_id, Resolution.REFUND, 3000, "original_payment")], "cs"
    )
    done = returns.act(rma.id or 0, ReturnAction.CLOSE, "cs")

    assert done.status is ReturnStatus.CLOSED
    line = returns.get_return(rma.id or 0).lines[0]
    assert (line.resolution, line.refund_amount, line.refund_method) == (
        Resolution.REFUND,
        3000,
        "original_payment",
    )
    assert line.resolved_at is not None
    with pytest.raises(Conflict, match="closed cannot be approved"):
        returns.act(rma.id or 0, ReturnAction.APPROVE, "cs")


def test_receiving_puts_each_item_in_quarantine_as_a_unit_of_its_own(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine, units=3)
    before = tee_at_dc(services)
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 3, "defective")]), "cs"
    )

    first = services.returns.receive(rma.id or 0, DC, {line_id: 2}, "wh")
    assert first.rma.status is ReturnStatus.RECEIVING
    assert len(first.units) == 2
    assert len({u.barcode for u in first.units}) == 2
    assert all(u.status is UnitStatus.AWAITING_INSPECTION for u in first.units)
    on_hand, quarantined, available = tee_at_dc(services)
    assert (on_hand, quarantined, available) == (before[0] + 2, 2, before[2])  # never sellable

    with pytest.raises(Conflict) as too_many:
        services.returns.receive(rma.id or 0, DC, {line_id: 2}, "wh")
    assert too_many.value.field == f"lines.{line_id}.quantity"
    with pytest.raises(InvalidInput) as nowhere:
        services.returns.receive(rma.id or 0, "NOWHERE", {line_id: 1}, "wh")
    assert nowhere.value.field == "location"
    assert tee_at_dc(services) == (on_hand, quarantined, available)
    assert len(services.returns.units_of(rma.id or 0)) == 2
    assert services.inventory.verify().clean


def test_a_channel_request_sent_twice_is_one_return_waiting_for_approval(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine)
    request = OpenReturn(
        order_id,
        [NewReturnLine(line_id, 1, "defective", channel_reason="DEFECTIVE")],
        channel_return_id="AMZ-R-9",
        by_channel=True,
    )

    first = services.returns.open_return(request, "channel")
    again = services.returns.open_return(request, "channel")

    assert first.status is ReturnStatus.REQUESTED
    assert again.id == first.id
    assert first.lines[0].channel_reason == "DEFECTIVE"
    assert [r.id for r in services.returns.list_returns(status="requested")] == [first.id]
    with pytest.raises(InvalidInput):
        services.returns.list_returns(status="lost")


def test_a_policy_approves_a_channel_request_in_its_window_with_its_reasons(
    engine: Engine,
) -> None:
    _, services, order_id, line_id = shipped_order(engine)
    channel = services.orders.get_order(order_id).channel
    services.return_policies.put(channel, 30, ["defective"], "admin")

    approved = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "defective")], "R1", by_channel=True),
        "channel",
    )
    waiting = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "changed_mind")], "R2", by_channel=True),
        "channel",
    )

    assert (approved.status, approved.approved_by) == (ReturnStatus.AUTHORIZED, "policy")
    assert waiting.status is ReturnStatus.REQUESTED
    with pytest.raises(InvalidInput) as bad:
        services.return_policies.put(channel, 30, ["whatever"], "admin")
    assert bad.value.field == "reasons[0]"
    assert services.return_policies.get(channel).reasons == {"defective"}


def test_more_than_shipped_and_returned_is_a_409_naming_the_line(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine)
    returns = services.returns
    returns.open_return(OpenReturn(order_id, [NewReturnLine(line_id, 1, "size_fit")]), "cs")

    with pytest.raises(Conflict) as refused:
        returns.open_return(OpenReturn(order_id, [NewReturnLine(line_id, 2, "size_fit")]), "cs")
    assert refused.value.field == "lines[0].quantity"
    with pytest.raises(InvalidInput) as unknown:
        returns.open_return(OpenReturn(order_id, [NewReturnLine("nope", 1, "size_fit")]), "cs")
    assert unknown.value.field == "lines[0].line_id"
    with pytest.raises(InvalidInput) as no_reason:
        returns.open_return(OpenReturn(order_id, [NewReturnLine(line_id, 1, "because")]), "cs")
    assert no_reason.value.field == "lines[0].reason_code"
    assert len(returns.list_returns(order_id=order_id)) == 1


def test_grades_are_appended_and_the_latest_counts(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine, units=1)
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "defective")]), "cs"
    )
    [unit] = services.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh").units

    services.units.grade(unit.id or 0, GOOD, "wh:a")
    services.units.grade(
        unit.id or 0,
        GradeUnit(
            "J",
            "none",
            defects=[{"code": "NO_POWER", "zone": "body", "severity": "critical"}],
            photos=["s3://photos/1.jpg"],
        ),
        "wh:b",
    )
    view = services.units.unit(unit.id or 0)

    assert view.unit.grade is not None
    assert view.unit.grade.value == "J"
    assert [(g["grade"], g["grader"]) for g in view.grades] == [("A", "wh:a"), ("J", "wh:b")]
    with pytest.raises(InvalidInput) as forced:
        services.units.grade(unit.id or 0, GradeUnit("A", "partial"), "wh")
    assert forced.value.field == "grade"
    with pytest.raises(InvalidInput) as severity:
        services.units.grade(
            unit.id or 0,
            GradeUnit("D", "full", defects=[{"code": "X", "zone": "z", "severity": "huge"}]),
            "wh",
        )
    assert severity.value.field == "defects[0].severity"
    assert len(services.units.unit(unit.id or 0).grades) == 2


def test_dispositions_move_the_unit_out_of_quarantine_once_executed(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine, units=3)
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 3, "changed_mind")]), "cs"
    )
    restock, destroy, refurbish = services.returns.receive(
        rma.id or 0, DC, {line_id: 3}, "wh"
    ).units
    on_hand, _, available = tee_at_dc(services)
    for unit in (restock, destroy, refurbish):
        services.units.grade(unit.id or 0, GradeUnit("N", "full"), "wh")

    services.units.decide(restock.id or 0, "DESTROY", "wh", "first thought")
    services.units.decide(restock.id or 0, "RESTOCK", "wh", "sealed")  # changed, not executed
    services.units.execute(restock.id or 0, "wh")
    services.units.decide(destroy.id or 0, "DESTROY", "wh", "smells", execute=True)
    services.units.decide(refurbish.id or 0, "REFURBISH", "wh", execute=True)

    assert tee_at_dc(services) == (on_hand - 1, 1, available + 1)
    assert services.units.unit(restock.id or 0).unit.status is UnitStatus.DONE
    assert [d["disposition"] for d in services.units.unit(restock.id or 0).decisions] == [
        "DESTROY",
        "RESTOCK",
    ]
    assert services.units.unit(refurbish.id or 0).unit.status is UnitStatus.AWAITING_INSPECTION
    with pytest.raises(Conflict):
        services.units.decide(destroy.id or 0, "RESTOCK", "wh")
    with pytest.raises(InvalidInput) as bad:
        services.units.decide(refurbish.id or 0, "SELL", "wh")
    assert bad.value.field == "disposition"
    assert services.inventory.verify().clean


def test_a_used_unit_is_not_restocked_and_a_hold_is_never_executed(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine, units=1)
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "changed_mind")]), "cs"
    )
    [unit] = services.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh").units
    with pytest.raises(Conflict):
        services.units.decide(unit.id or 0, "HOLD", "wh")  # not graded yet
    services.units.grade(unit.id or 0, GradeUnit("B", "full"), "wh")

    with pytest.raises(InvalidInput):
        services.units.decide(unit.id or 0, "RESTOCK", "wh")
    services.units.decide(unit.id or 0, "HOLD", "wh", "waiting for the buyer")
    with pytest.raises(Conflict):
        services.units.execute(unit.id or 0, "wh")
    assert tee_at_dc(services)[1] == 1


def test_a_counterfeit_holds_the_return_and_blocks_its_refund(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine, units=1)
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "defective")]), "cs"
    )
    [unit] = services.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh").units

    view = services.units.record_exception(unit.id or 0, "COUNTERFEIT", "wh", "wrong stitching")

    assert view.unit.status is UnitStatus.ESCALATED
    held = services.returns.get_return(rma.id or 0)
    assert held.on_hold
    with pytest.raises(Conflict) as blocked:
        services.returns.resolve(
            rma.id or 0, [LineResolution(line_id, Resolution.REFUND, 100, "cash")], "cs"
        )
    assert blocked.value.field == "on_hold"
    with pytest.raises(InvalidInput) as kind:
        services.units.record_exception(unit.id or 0, "ODD", "wh")
    assert kind.value.field == "kind"


def test_an_unexpected_parcel_is_received_without_a_request(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine, units=1)

    received = services.returns.receive_unexpected(order_id, DC, {line_id: 1}, "wh", "no slip")

    assert received.rma.unexpected
    assert received.rma.status is ReturnStatus.RECEIVED
    assert received.rma.lines[0].reason_code == "unexpected"
    assert tee_at_dc(services)[1] == 1
    kept = services.returns.resolve(
        received.rma.id or 0, [LineResolution(line_id, Resolution.REJECT)], "cs"
    )
    assert kept.status is ReturnStatus.RESOLVED
    with pytest.raises(NotFound):
        services.returns.receive_unexpected(10**9, DC, {line_id: 1}, "wh")


def test_an_exchange_sends_no_more_than_comes_back(engine: Engine) -> None:
    shop, services, order_id, line_id = shipped_order(engine, units=1)
    shop.stock((CAP, DC, 10))
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "size_fit")]), "cs"
    )
    services.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh")

    for resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT):
        with pytest.raises(InvalidInput) as too_many:
            services.returns.resolve(
                rma.id or 0, [LineResolution(line_id, resolution, sku=CAP, quantity=7)], "cs"
            )
        assert too_many.value.field == "lines[0].quantity"
    assert services.returns.get_return(rma.id or 0).status is ReturnStatus.RECEIVED
    assert [o.id for o in services.orders.list_orders().items] == [order_id]  # none placed


def test_an_exchange_places_an_order_once_through_the_ordinary_ingest(engine: Engine) -> None:
    shop, services, order_id, line_id = shipped_order(engine, units=1)
    shop.stock((CAP, DC, 5))
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "size_fit")]), "cs"
    )
    services.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh")

    with pytest.raises(InvalidInput) as no_amount:
        services.returns.resolve(rma.id or 0, [LineResolution(line_id, Resolution.REFUND)], "cs")
    assert no_amount.value.field == "lines[0].amount"
    resolved = services.returns.resolve(
        rma.id or 0, [LineResolution(line_id, Resolution.EXCHANGE, sku=CAP)], "cs"
    )

    order_id_sent = resolved.lines[0].resolution_order_id
    assert order_id_sent is not None
    sent = services.orders.get_order(order_id_sent)
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in sent.lines] == [(CAP, 1, 0)]
    assert sent.external_id == f"RMA{rma.id}-{line_id}"
    assert sent.ship_to == services.orders.get_order(order_id).ship_to


def test_a_refund_is_at_most_what_was_paid_for_the_units_coming_back(engine: Engine) -> None:
    _, services, order_id, line_id = shipped_order(engine, units=2)
    paid = services.orders.get_order(order_id).lines[0].unit_price
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "defective")]), "cs"
    )
    services.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh")

    with pytest.raises(InvalidInput) as too_much:
        services.returns.resolve(
            rma.id or 0, [LineResolution(line_id, Resolution.REFUND, paid + 1, "cash")], "cs"
        )
    assert too_much.value.field == "lines[0].amount"
    goodwill = services.returns.resolve(
        rma.id or 0, [LineResolution(line_id, Resolution.STORE_CREDIT, paid + 500, "points")], "cs"
    )
    assert goodwill.lines[0].refund_amount == paid + 500


def test_an_exchange_for_an_anonymised_order_needs_the_address_to_ship_to(engine: Engine) -> None:
    shop, services, order_id, line_id = shipped_order(engine, units=1)
    shop.stock((CAP, DC, 5))
    rma = services.returns.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 1, "size_fit")]), "cs"
    )
    services.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh")
    with engine.begin() as conn:
        conn.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(
                ship_to={
                    "name": ANONYMISED,
                    "postal_code": "150-0001",
                    "prefecture": "13",
                    "city": "渋谷区",
                    "address1": ANONYMISED,
                }
            )
        )
    exchange = [LineResolution(line_id, Resolution.EXCHANGE, sku=CAP)]

    with pytest.raises(Conflict) as no_address:
        services.returns.resolve(rma.id or 0, exchange, "cs")
    assert no_address.value.field == "ship_to"
    new_home = {
        "name": "山田 花子",
        "postal_code": "530-0001",
        "prefecture": "27",
        "city": "大阪市北区",
        "address1": "梅田1-1",
    }
    resolved = services.returns.resolve(rma.id or 0, exchange, "cs", ship_to=new_home)
    sent = services.orders.get_order(resolved.lines[0].resolution_order_id or 0)
    assert sent.ship_to.name == "山田 花子"
    assert sent.ship_to.prefecture == "27"
