"""`inventorySetQuantities` (compare-and-set, idempotent) and the `nodes` inventory read.

Contract 3.3: `name` is `available` or `on_hand`; `changeFromQuantity` is mandatory on every
quantity from 2026-04 (null opts out of the check) and a mismatch is the userError
`CHANGE_FROM_QUANTITY_STALE`; the `@idempotent(key:)` directive returns the original result for
the same key. Our reading, not the contract's: a call with any userError applies nothing.
"""

from __future__ import annotations

import json
import re
from typing import cast

from oms.channels.emulators.storefront.graphql import (
    GraphQLError,
    Operation,
    Plan,
    invalid_variable,
)
from oms.channels.emulators.storefront.state import GID, Shop, gid_number

MUTATION_COST = 10  # Shopify prices a mutation at 10 points
NODE_COST = 3  # the item, its inventoryLevel, its quantities


def plan_set_quantities(shop: Shop, operation: Operation, version: str) -> Plan:
    variable = operation.arg_vars.get("input", "input")
    payload = cast(dict[str, object], operation.args["input"])  # an object: graphql.py
    quantities = _validate_input(shop, variable, payload, version)
    key = operation.idempotency_key
    required_since = shop.rules.idempotency_required_since
    if key is None and required_since is not None and version >= required_since:
        raise GraphQLError(
            "The @idempotent directive is required for this mutation", "IDEMPOTENCY_KEY_REQUIRED"
        )

    def run() -> tuple[dict[str, object], int]:
        fingerprint = json.dumps(payload, sort_keys=True)
        if key is not None and key in shop.idempotent:
            seen, original = shop.idempotent[key]
            if seen != fingerprint:
                raise GraphQLError(
                    "The idempotency key was already used with other arguments",
                    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                )
            return cast(dict[str, object], original), MUTATION_COST
        data = {"inventorySetQuantities": _apply(shop, payload, quantities)}
        if key is not None:
            shop.idempotent[key] = (fingerprint, data)
        return dict(data), MUTATION_COST

    return Plan(MUTATION_COST, run)


def _validate_input(
    shop: Shop, variable: str, payload: dict[str, object], version: str
) -> list[dict[str, object]]:
    allowed = {"name", "reason", "referenceDocumentUri", "quantities", "ignoreCompareQuantity"}
    for extra in set(payload) - allowed:
        raise invalid_variable(variable, payload, [variable, extra], "Field is not defined")
    name = payload.get("name")
    if name not in ("available", "on_hand"):
        raise invalid_variable(variable, payload, [variable, "name"], "Expected available|on_hand")
    reason = payload.get("reason")
    if not isinstance(reason, str):
        raise invalid_variable(variable, payload, [variable, "reason"], "Expected a String")
    uri = payload.get("referenceDocumentUri")
    if uri is not None and not isinstance(uri, str):
        raise invalid_variable(variable, payload, [variable, "referenceDocumentUri"], "String")
    quantities = payload.get("quantities")
    if not isinstance(quantities, list) or not quantities:
        raise invalid_variable(variable, payload, [variable, "quantities"], "Expected a list")
    if len(quantities) > shop.rules.max_array_items:
        raise GraphQLError(
            f"The input array size of {len(quantities)} is greater than the maximum allowed "
            f"of {shop.rules.max_array_items}.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )
    needs_change_from = version >= shop.rules.change_from_required_since
    fields = {"inventoryItemId", "locationId", "quantity", "changeFromQuantity", "compareQuantity"}
    for i, quantity in enumerate(quantities):
        path: list[object] = [variable, "quantities", i]
        if not isinstance(quantity, dict):
            raise invalid_variable(variable, payload, path, "Expected an InventoryQuantityInput")
        for extra in set(quantity) - fields:
            raise invalid_variable(variable, payload, [*path, extra], "Field is not defined")
        for id_field in ("inventoryItemId", "locationId"):
            if not isinstance(quantity.get(id_field), str):
                raise invalid_variable(variable, payload, [*path, id_field], "Expected an ID")
        for int_field in ("quantity", "changeFromQuantity", "compareQuantity"):
            value = quantity.get(int_field)
            nullable = int_field != "quantity"
            if (value is None and not nullable) or (
                value is not None and (not isinstance(value, int) or isinstance(value, bool))
            ):
                raise invalid_variable(variable, payload, [*path, int_field], "Expected an Int")
        if needs_change_from and "changeFromQuantity" not in quantity:
            raise invalid_variable(
                variable,
                payload,
                [*path, "changeFromQuantity"],
                "Expected value to not be null (changeFromQuantity is required; null opts out)",
            )
    if reason not in shop.rules.reasons:
        raise GraphQLError(f"Invalid reason: {reason}", "INVALID_REASON")
    return [q for q in quantities if isinstance(q, dict)]


def _apply(
    shop: Shop, payload: dict[str, object], quantities: list[dict[str, object]]
) -> dict[str, object]:
    errors: list[dict[str, object]] = []
    for i, quantity in enumerate(quantities):
        item = shop.items.get(str(quantity["inventoryItemId"]))
        location = str(quantity["locationId"])
        field_path = ["input", "quantities", str(i)]
        if item is None:
            errors.append(
                _user_error(
                    "INVALID_INVENTORY_ITEM",
                    [*field_path, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                )
            )
        elif location not in shop.rules.location_ids:
            errors.append(
                _user_error(
                    "INVALID_LOCATION",
                    [*field_path, "locationId"],
                    "The specified location could not be found.",
                )
            )
        elif location not in item.levels:
            errors.append(
                _user_error(
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                    [*field_path, "inventoryItemId"],
                    "The specified inventory item is not stocked at the location.",
                )
            )
        else:
            expected = quantity.get("changeFromQuantity", quantity.get("compareQuantity"))
            if expected is not None and expected != item.levels[location]:
                errors.append(
                    _user_error(
                        "CHANGE_FROM_QUANTITY_STALE",
                        [*field_path, "changeFromQuantity"],
                        "The specified compare quantity does not match the current quantity.",
                    )
                )
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for quantity in quantities:
        item = shop.items[str(quantity["inventoryItemId"])]
        location = str(quantity["locationId"])
        new = cast(int, quantity["quantity"])  # an Int: _validate_input
        delta = new - item.levels[location]
        item.levels[location] = new
        changes.append(
            {
                "name": payload["name"],
                "delta": delta,
                "quantityAfterChange": new,
                "item": {"id": item.id, "sku": item.sku},
                "location": {"id": location},
            }
        )
    group = {
        "id": f"{GID}InventoryAdjustmentGroup/{shop.next_number()}",
        "createdAt": shop.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": payload["reason"],
        "referenceDocumentUri": payload.get("referenceDocumentUri"),
        "changes": changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _user_error(code: str, field: list[str], message: str) -> dict[str, object]:
    return {"code": code, "field": field, "message": message}


def plan_nodes(shop: Shop, operation: Operation) -> Plan:
    """`nodes(ids:)` for InventoryItem (with `inventoryLevel(locationId:)`) and ProductVariant
    (with its `inventoryItem`); an id the shop does not know answers null."""
    ids = cast(list[str], operation.args["ids"])  # [ID!]!: graphql.py
    if len(ids) > shop.rules.max_array_items:
        raise GraphQLError(
            f"The input array size of {len(ids)} is greater than the maximum allowed of "
            f"{shop.rules.max_array_items}.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )
    for node_id in ids:
        if re.fullmatch(r"gid://shopify/\w+/\d+", node_id) is None:
            raise GraphQLError(f"Invalid global id '{node_id}'", "argumentLiteralsIncompatible")
    level_args = operation.nested.get("inventoryLevel")
    location = level_args.get("locationId") if level_args else None
    names = operation.nested.get("quantities", {}).get("names", ["available"])
    if not isinstance(names, list) or not set(names) <= {"available", "on_hand"}:
        raise GraphQLError("quantities(names:) takes available and on_hand", "BAD_USER_INPUT")

    def node(node_id: str) -> tuple[dict[str, object] | None, int]:
        item = shop.items.get(node_id)
        if item is not None:
            level = None
            if isinstance(location, str) and location in item.levels:
                q = item.levels[location]
                level = {"quantities": [{"name": n, "quantity": q} for n in names]}
            return {
                "__typename": "InventoryItem",
                "id": item.id,
                "sku": item.sku,
                "inventoryLevel": level,
            }, NODE_COST
        number = gid_number(node_id, "ProductVariant")
        variant = shop.items.get(f"{GID}InventoryItem/{number}") if number else None
        if variant is not None:
            return {
                "__typename": "ProductVariant",
                "id": variant.variant_id,
                "sku": variant.sku,
                "inventoryItem": {"id": variant.id},
            }, 2
        return None, 0

    def run() -> tuple[dict[str, object], int]:
        answered = [node(str(i)) for i in ids]
        return {"nodes": [n for n, _ in answered]}, 1 + sum(c for _, c in answered)

    return Plan(1 + NODE_COST * len(ids), run)
