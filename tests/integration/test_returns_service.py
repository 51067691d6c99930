"""Returns through the service, on both databases: returnable quantities, the channel's
request taken once, the state machine's refusals as 409s."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.bootstrap import bootstrap
from oms.returns.domain import Resolution, ReturnStatus
from oms.returns.domain.rma import ReturnAction
from oms.returns.services.rma import NewReturnLine, OpenReturn, ReturnService
from oms.shared.errors import Conflict, InvalidInput
from tests.order_builders import DC, TEE, Shop, open_shipments


def shipped_order(engine: Engine, units: int = 2) -> tuple[Shop, int, str]:
    shop = Shop(engine).build().stock((TEE, DC, 10))
    order = shop.place((TEE, units))
    [parcel] = open_shipments(order)
    shop.ship(parcel.id or 0)
    return shop, order.id or 0, order.lines[0].line_id


def test_a_return_from_authorized_to_closed(engine: Engine) -> None:
    _, order_id, line_id = shipped_order(engine)
    service = ReturnService(bootstrap(engine=engine).uow, bootstrap(engine=engine).orders)

    rma = service.open_return(
        OpenReturn(order_id, [NewReturnLine(line_id, 2, "size", "too small")]), "cs:hanako"
    )
    assert rma.status is ReturnStatus.AUTHORIZED
    service.act(rma.id or 0, ReturnAction.SHIP)
    service.act(rma.id or 0, ReturnAction.RECEIVE, units={line_id: 2})
    service.act(rma.id or 0, ReturnAction.INSPECT)
    service.act(rma.id or 0, ReturnAction.RESOLVE, resolutions={line_id: Resolution.REFUND})
    done = service.act(rma.id or 0, ReturnAction.CLOSE)

    assert done.status is ReturnStatus.CLOSED
    assert service.get_return(rma.id or 0).lines[0].resolution is Resolution.REFUND
    with pytest.raises(Conflict, match="closed cannot be approved"):
        service.act(rma.id or 0, ReturnAction.APPROVE)


def test_more_than_shipped_and_returned_is_a_409_naming_the_line(engine: Engine) -> None:
    _, order_id, line_id = shipped_order(engine)
    service = ReturnService(bootstrap(engine=engine).uow, bootstrap(engine=engine).orders)
    service.open_return(OpenReturn(order_id, [NewReturnLine(line_id, 1, "size")]), "cs")

    with pytest.raises(Conflict) as refused:
        service.open_return(OpenReturn(order_id, [NewReturnLine(line_id, 2, "size")]), "cs")
    assert refused.value.field == "lines[0].quantity"
    with pytest.raises(InvalidInput) as unknown:
        service.open_return(OpenReturn(order_id, [NewReturnLine("nope", 1, "size")]), "cs")
    assert unknown.value.field == "lines[0].line_id"
    with pytest.raises(InvalidInput) as no_reason:
        service.open_return(OpenReturn(order_id, [NewReturnLine(line_id, 1, " ")]), "cs")
    assert no_reason.value.field == "lines[0].reason_code"


def test_a_channel_request_sent_twice_is_one_return_waiting_for_approval(engine: Engine) -> None:
    _, order_id, line_id = shipped_order(engine)
    service = ReturnService(bootstrap(engine=engine).uow, bootstrap(engine=engine).orders)
    request = OpenReturn(
        order_id,
        [NewReturnLine(line_id, 1, "defective", channel_reason="DEFECTIVE")],
        channel_return_id="AMZ-R-9",
        by_channel=True,
    )

    first = service.open_return(request, "channel")
    again = service.open_return(request, "channel")

    assert first.status is ReturnStatus.REQUESTED
    assert again.id == first.id
    assert [r.id for r in service.list_returns(status="requested")] == [first.id]
    with pytest.raises(InvalidInput):
        service.list_returns(status="lost")
