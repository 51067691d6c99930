"""`oms orders resource ID`: the CLI beside `POST /v1/orders/{id}/resource`."""

from __future__ import annotations

from sqlalchemy import Engine

from oms.orders.domain.order import OrderStatus
from tests.cli.conftest import Oms
from tests.order_builders import DC, TEE, Shop


def test_resourcing_from_the_cli_books_the_stock_that_came_and_records_the_decision(
    oms: Oms, engine: Engine
) -> None:
    shop = Shop(engine).build()
    order = shop.place((TEE, 2))
    shop.stock((TEE, DC, 5))  # no worker runs here: the order still waits

    result = oms("orders", "resource", str(order.id))

    assert result.exit_code == 0, result.output
    assert f"order {order.id}: allocated" in result.stdout
    assert shop.order(order.id).status is OrderStatus.ALLOCATED
    [_, manual] = shop.orders.sourcing(order.id or 0)
    assert manual.trigger == "manual"


def test_resourcing_an_order_with_nothing_waiting_or_unknown_exits_1_with_the_reason(
    oms: Oms, engine: Engine
) -> None:
    shop = Shop(engine).build().stock((TEE, DC, 5))
    order = shop.place((TEE, 2))

    nothing = oms("orders", "resource", str(order.id))
    unknown = oms("orders", "resource", "424242")

    assert nothing.exit_code == 1
    assert "nothing to re-source" in nothing.stderr
    assert unknown.exit_code == 1
    assert "no order 424242" in unknown.stderr
    assert "Traceback" not in nothing.output + unknown.output
    assert [d.trigger for d in shop.orders.sourcing(order.id or 0)] == ["placed"]
