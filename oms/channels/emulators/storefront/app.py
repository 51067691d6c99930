"""The storefront emulator: Shopify's Admin GraphQL API as the contract describes it.

`POST /admin/api/{version}/graphql.json` answers the operations the adapters use, priced by
query cost against a leaky bucket (contract 3.2): a call whose requested cost exceeds what is
available is answered THROTTLED with no `data`; otherwise the requested cost is taken and the
difference to the actual cost refunded, and every answer reports `extensions.cost`. Control
endpoints for tests and demos live under `/_emulator/` (control.py).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from oms.channels.emulators.storefront import control
from oms.channels.emulators.storefront.auth import (
    authenticated,
    client_credentials_grant,
    refused,
)
from oms.channels.emulators.storefront.graphql import GraphQLError, Operation, Plan, parse_operation
from oms.channels.emulators.storefront.inventory import plan_nodes, plan_set_quantities
from oms.channels.emulators.storefront.orders import plan_order, plan_orders
from oms.channels.emulators.storefront.shipping import plan_fulfillment_create
from oms.channels.emulators.storefront.state import Shop, ShopRules
from oms.shared.clock import utcnow

Answer = Response[dict[str, object]]


def _plan(shop: Shop, operation: Operation, version: str) -> Plan:
    if operation.root == "inventorySetQuantities":
        return plan_set_quantities(shop, operation, version)
    if operation.root == "nodes":
        return plan_nodes(shop, operation)
    if operation.root == "orders":
        return plan_orders(shop, operation)
    if operation.root == "order":
        return plan_order(shop, operation)
    return plan_fulfillment_create(shop, operation)


def _cost(shop: Shop, requested: int, actual: int | None) -> dict[str, object]:
    cost: dict[str, object] = {"requestedQueryCost": requested}
    if actual is not None:
        cost["actualQueryCost"] = actual
    cost["throttleStatus"] = shop.bucket.status()
    return {"cost": cost}


def _throttled(shop: Shop, requested: int) -> Answer:
    shop.throttled += 1
    body: dict[str, object] = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": _cost(shop, requested, None),
    }
    return Response(body, status_code=shop.rules.throttled_status)


@post("/admin/api/{version:str}/graphql.json", status_code=200)
async def graphql(
    version: FromPath[str], request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> Answer:
    if version not in shop.rules.api_versions:
        return Response({"errors": "Not Found"}, status_code=404)
    fault = shop.next_fault()
    if fault is not None:
        if fault.kind in ("timeout", "slow"):
            await asyncio.sleep(fault.seconds)
            if fault.kind == "timeout":
                return Response({"errors": "Gateway Timeout"}, status_code=504)
        elif fault.kind == "auth":
            return refused()
        elif fault.kind == "5xx":
            return Response({"errors": "Internal Server Error"}, status_code=503)
        elif fault.kind == "throttle":
            return _throttled(shop, 1)
    if not authenticated(shop, request):
        return refused()
    try:
        body = json.loads(await request.body())
    except ValueError:
        return Response({"errors": "Invalid JSON in request body"}, status_code=400)
    with shop.lock:
        try:
            operation = parse_operation(body)
            plan = _plan(shop, operation, version)
            if plan.cost > shop.rules.max_query_cost:
                raise GraphQLError(
                    f"Query cost is {plan.cost}, which exceeds the single query max cost limit "
                    f"({shop.rules.max_query_cost}).",
                    "MAX_COST_EXCEEDED",
                    cost=plan.cost,
                    maxCost=shop.rules.max_query_cost,
                )
        except GraphQLError as error:
            return Response({"errors": [error.as_json()]}, status_code=200)
        if not shop.bucket.take(plan.cost):
            return _throttled(shop, plan.cost)
        shop.calls[operation.root] += 1
        try:
            data, actual = plan.run()
        except GraphQLError as error:
            shop.bucket.refund(plan.cost)
            return Response({"errors": [error.as_json()]}, status_code=200)
        shop.bucket.refund(max(plan.cost - actual, 0))
        return Response({"data": data, "extensions": _cost(shop, plan.cost, actual)})


def seed(shop: Shop, orders: int) -> None:
    """Deterministic starting state: five listings with stock, and `orders` open orders over
    the last days (the same content for the same count)."""
    rng = random.Random(9)  # noqa: S311 - test data, not secrets
    items = [shop.listing(f"DEMO-{i}") for i in range(1, 6)]
    for item in items:
        for location in item.levels:
            item.levels[location] = 50
    start = shop.clock() - timedelta(hours=orders)
    for n in range(orders):
        picked = rng.sample(items, rng.randint(1, 3))
        order = shop.place_order(
            [(item, rng.randint(1, 3), rng.choice([1980, 2980, 4980])) for item in picked]
        )
        order.created_at = order.updated_at = start + timedelta(hours=n)


def create_app(
    seed_orders: int = 0,
    rules: ShopRules | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Litestar:
    shop = Shop(rules or ShopRules(), clock=clock)
    seed(shop, seed_orders)

    def provide_shop() -> Shop:
        return shop

    return Litestar(
        route_handlers=[graphql, client_credentials_grant, *control.handlers],
        dependencies={"shop": Provide(provide_shop, sync_to_thread=False)},
        exception_handlers={control.BadControlRequest: control.problem},
        openapi_config=None,
    )
