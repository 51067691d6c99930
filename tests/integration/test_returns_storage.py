"""Returns are stored and read back whole, on both databases; what an order has asked back
counts only the returns that still stand."""

from __future__ import annotations

from sqlalchemy import Engine

from oms.bootstrap import bootstrap
from oms.returns.domain import Resolution, ReturnLine, ReturnRequest, ReturnStatus
from oms.shared.clock import utcnow
from tests.order_builders import TEE, Shop


def test_a_return_round_trips_and_counts_what_was_asked_back(engine: Engine) -> None:
    shop = Shop(engine).build().stock((TEE, "DC-CHIBA", 5))
    order = shop.place((TEE, 2))
    assert order.id is not None
    services = bootstrap(engine=engine)
    line_id = order.lines[0].line_id
    rma = ReturnRequest(
        order_id=order.id,
        lines=[ReturnLine(line_id, TEE, 1, "size", "too small", channel_reason="SIZE_WRONG")],
        status=ReturnStatus.AUTHORIZED,
        channel=order.channel,
        channel_return_id="R-1",
    )
    declined = ReturnRequest(
        order_id=order.id,
        lines=[ReturnLine(line_id, TEE, 1, "changed_mind")],
        channel=order.channel,
    )
    now = utcnow()
    with services.uow() as uow:
        uow.returns.add_return(rma, "cs:hanako", now)
        uow.returns.add_return(declined, "cs:hanako", now)
        uow.commit()
    with services.uow() as uow:
        stored = uow.returns.return_by_id(rma.id or 0, lock=True)
        assert stored is not None
        stored.ship()
        stored.receive({line_id: 1})
        stored.inspect()
        stored.resolve({line_id: Resolution.REFUND})
        uow.returns.save_return(stored, utcnow())
        gone = uow.returns.return_by_id(declined.id or 0, lock=True)
        assert gone is not None
        gone.decline()
        uow.returns.save_return(gone, utcnow())
        uow.commit()

    with services.uow() as uow:
        again = uow.returns.return_by_channel_id(order.channel, "R-1")
        asked = uow.returns.returned(order.id)
        page = uow.returns.returns_page(ReturnStatus.RESOLVED, order.id, 0, 10)
    assert again is not None
    assert again.status is ReturnStatus.RESOLVED
    [line] = again.lines
    assert (line.received, line.resolution, line.channel_reason) == (
        1,
        Resolution.REFUND,
        "SIZE_WRONG",
    )
    assert asked == {line_id: 1}  # the declined return no longer counts
    assert [r.id for r in page] == [rma.id]
