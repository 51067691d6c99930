"""`fulfillmentCreate` (contract 3.5): lines by fulfillment order, tracking info, all-or-nothing.

`lineItemsByFulfillmentOrder` is required; leaving out `fulfillmentOrderLineItems` fulfils every
remaining line of that fulfillment order; all listed fulfillment orders must belong to the same
order and location. Asking for more than remains is a userError, so a second identical call
fulfils nothing: not creating a second fulfillment is the caller's care, as on the real API.
"""

from __future__ import annotations

from typing import Any, cast

from oms.channels.emulators.storefront.graphql import (
    GraphQLError,
    Operation,
    Plan,
    invalid_variable,
)
from oms.channels.emulators.storefront.state import (
    Fulfillment,
    FulfillmentOrder,
    Order,
    Shop,
    gid,
)

MUTATION_COST = 10


def plan_fulfillment_create(shop: Shop, operation: Operation) -> Plan:
    variable = operation.arg_vars.get("fulfillment", "fulfillment")
    payload = cast(dict[str, object], operation.args["fulfillment"])  # an object: graphql.py
    requests = _validate(shop, variable, payload)

    def run() -> tuple[dict[str, object], int]:
        return {"fulfillmentCreate": _create(shop, payload, requests)}, MUTATION_COST

    return Plan(MUTATION_COST, run)


Request = tuple[str, list[tuple[str, int]] | None]  # fulfillment order id, (line id, qty)


def _validate(shop: Shop, variable: str, payload: dict[str, object]) -> list[Request]:
    allowed = {"lineItemsByFulfillmentOrder", "trackingInfo", "notifyCustomer", "originAddress"}
    for extra in sorted(set(payload) - allowed):
        raise invalid_variable(variable, payload, [variable, extra], "Field is not defined")
    groups = payload.get("lineItemsByFulfillmentOrder")
    if not isinstance(groups, list) or not groups:
        raise invalid_variable(
            variable, payload, [variable, "lineItemsByFulfillmentOrder"], "Expected a list"
        )
    if len(groups) > shop.rules.max_array_items:
        raise GraphQLError("Too many fulfillment orders", "MAX_INPUT_SIZE_EXCEEDED")
    requests: list[Request] = []
    for i, group in enumerate(groups):
        path: list[object] = [variable, "lineItemsByFulfillmentOrder", i]
        if not isinstance(group, dict) or not isinstance(group.get("fulfillmentOrderId"), str):
            raise invalid_variable(variable, payload, [*path, "fulfillmentOrderId"], "Expected ID")
        for extra in sorted(set(group) - {"fulfillmentOrderId", "fulfillmentOrderLineItems"}):
            raise invalid_variable(variable, payload, [*path, extra], "Field is not defined")
        raw_lines = group.get("fulfillmentOrderLineItems")
        lines: list[tuple[str, int]] | None = None
        if raw_lines is not None:
            if not isinstance(raw_lines, list):
                raise invalid_variable(
                    variable, payload, [*path, "fulfillmentOrderLineItems"], "Expected a list"
                )
            lines = []
            for j, line in enumerate(raw_lines):
                at = [*path, "fulfillmentOrderLineItems", j]
                ok = (
                    isinstance(line, dict)
                    and set(line) == {"id", "quantity"}
                    and isinstance(line["id"], str)
                    and isinstance(line["quantity"], int)
                    and not isinstance(line["quantity"], bool)
                )
                if not ok:
                    raise invalid_variable(
                        variable, payload, at, "Expected {id: ID!, quantity: Int!}"
                    )
                checked = cast(dict[str, Any], line)
                lines.append((checked["id"], checked["quantity"]))
        requests.append((str(group["fulfillmentOrderId"]), lines))
    tracking = payload.get("trackingInfo")
    if tracking is not None:
        fields = {"company", "number", "numbers", "url", "urls"}
        if not isinstance(tracking, dict) or not set(tracking) <= fields:
            raise invalid_variable(variable, payload, [variable, "trackingInfo"], "Invalid field")
        for name in ("company", "number", "url"):
            if tracking.get(name) is not None and not isinstance(tracking[name], str):
                raise invalid_variable(
                    variable, payload, [variable, "trackingInfo", name], "Expected a String"
                )
    notify = payload.get("notifyCustomer")
    if notify is not None and not isinstance(notify, bool):
        raise invalid_variable(variable, payload, [variable, "notifyCustomer"], "Boolean")
    return requests


def _user_error(field: list[str], message: str) -> dict[str, object]:
    return {"fulfillment": None, "userErrors": [{"field": field, "message": message}]}


def _find(shop: Shop, fo_id: str) -> tuple[Order, FulfillmentOrder] | None:
    for order in shop.orders.values():
        for fo in order.fulfillment_orders:
            if fo.id == fo_id:
                return order, fo
    return None


def _create(shop: Shop, payload: dict[str, object], requests: list[Request]) -> dict[str, object]:
    base = ["fulfillment", "lineItemsByFulfillmentOrder"]
    found: list[tuple[Order, FulfillmentOrder, list[tuple[str, int]] | None]] = []
    for i, (fo_id, lines) in enumerate(requests):
        hit = _find(shop, fo_id)
        if hit is None:
            return _user_error(
                [*base, str(i), "fulfillmentOrderId"], "Fulfillment order does not exist."
            )
        found.append((hit[0], hit[1], lines))
    orders = {order.id for order, _, _ in found}
    locations = {fo.location_id for _, fo, _ in found}
    if len(orders) > 1 or len(locations) > 1:
        return _user_error(
            base, "All fulfillment orders must belong to the same order and location."
        )
    moves: list[tuple[str, int]] = []
    for i, (_, fo, lines) in enumerate(found):
        if fo.status in ("CLOSED", "CANCELLED"):
            return _user_error(
                [*base, str(i)], "Fulfillment order is not in an acceptable state for fulfillment."
            )
        remaining = {line.id: line.remaining for line in fo.lines}
        wanted = lines if lines is not None else [(k, v) for k, v in remaining.items() if v > 0]
        for line_id, quantity in wanted:
            if line_id not in remaining:
                return _user_error(
                    [*base, str(i), "fulfillmentOrderLineItems"],
                    "Fulfillment order line item does not exist.",
                )
            if quantity < 1 or quantity > remaining[line_id]:
                return _user_error(
                    [*base, str(i), "fulfillmentOrderLineItems"],
                    "Invalid fulfillment order line item quantity requested.",
                )
            remaining[line_id] -= quantity
            moves.append((line_id, quantity))
    if not moves:
        return _user_error(base, "Fulfillment order has no remaining line items to fulfill.")
    order = found[0][0]
    if order.cancelled_at is not None:
        return _user_error(base, "The order has been cancelled.")
    for _, fo, _ in found:
        for line in fo.lines:
            line.remaining -= sum(q for line_id, q in moves if line_id == line.id)
        fo.status = "CLOSED" if all(line.remaining == 0 for line in fo.lines) else "IN_PROGRESS"
    tracking = cast(dict[str, str | None], payload.get("trackingInfo") or {})  # _validate
    now = shop.clock()
    fulfillment = Fulfillment(
        id=gid("Fulfillment", shop.next_number()),
        order_id=order.id,
        status="SUCCESS",
        tracking={k: tracking.get(k) for k in ("company", "number", "url")},
        lines=moves,
        notify_customer=bool(payload.get("notifyCustomer", False)),
        created_at=now,
    )
    order.fulfillments.append(fulfillment)
    order.updated_at = now
    return {
        "fulfillment": {
            "id": fulfillment.id,
            "status": fulfillment.status,
            "trackingInfo": [fulfillment.tracking] if fulfillment.tracking.get("number") else [],
        },
        "userErrors": [],
    }
