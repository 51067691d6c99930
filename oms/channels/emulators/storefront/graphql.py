"""Just enough GraphQL to answer the operations the contract names, strictly.

This is no general engine: a request holds one operation with one root field
(`inventorySetQuantities`, `nodes`, `orders`, `order`, `fulfillmentCreate`), whose arguments
and the nested arguments that drive cost (`first`, `locationId`, `names`) are read from the text.
What it does check as Shopify does: every name in the document is one the Admin schema has for
these operations (a typo is `undefinedField`), variables are declared with the argument's type,
no undeclared variable is sent, non-null ones are present, and scalar values have their type.
The answer carries every field the emulator knows for the root, whatever the selection asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROOTS: dict[str, tuple[str, dict[str, str]]] = {
    # root field -> (operation type, argument -> GraphQL type)
    "inventorySetQuantities": ("mutation", {"input": "InventorySetQuantitiesInput!"}),
    "nodes": ("query", {"ids": "[ID!]!"}),
    "orders": (
        "query",
        {
            "first": "Int",
            "after": "String",
            "query": "String",
            "sortKey": "OrderSortKeys",
            "reverse": "Boolean",
        },
    ),
    "order": ("query", {"id": "ID!"}),
    "fulfillmentCreate": ("mutation", {"fulfillment": "FulfillmentInput!", "message": "String"}),
}
NESTED_ARGS: dict[str, dict[str, str]] = {
    "inventoryLevel": {"locationId": "ID!"},
    "quantities": {"names": "[String!]!"},
    "lineItems": {"first": "Int", "after": "String"},
    "fulfillmentOrders": {"first": "Int", "after": "String"},
    "fulfillments": {"first": "Int"},
}

# Every name the documents for these operations may use: fields, arguments, types, enums.
KNOWN_NAMES = frozenset(
    [
        "query",
        "mutation",
        "on",
        "true",
        "false",
        "null",
        "fragment",
        "ID",
        "Int",
        "String",
        "Boolean",
        "Float",
        "DateTime",
        "InventorySetQuantitiesInput",
        "FulfillmentInput",
        "OrderSortKeys",
        "InventoryItem",
        "ProductVariant",
        "Order",
        "Node",
        "idempotent",
        "key",
        "id",
        "legacyResourceId",
        "name",
        "sku",
        "title",
        "createdAt",
        "updatedAt",
        "processedAt",
        "cancelledAt",
        "cancelReason",
        "closed",
        "closedAt",
        "displayFinancialStatus",
        "displayFulfillmentStatus",
        "currencyCode",
        "email",
        "phone",
        "note",
        "shippingAddress",
        "firstName",
        "lastName",
        "zip",
        "province",
        "provinceCode",
        "city",
        "address1",
        "address2",
        "company",
        "country",
        "countryCodeV2",
        "shippingLine",
        "code",
        "lineItems",
        "nodes",
        "edges",
        "node",
        "cursor",
        "pageInfo",
        "hasNextPage",
        "hasPreviousPage",
        "endCursor",
        "startCursor",
        "quantity",
        "currentQuantity",
        "variant",
        "inventoryItem",
        "originalUnitPriceSet",
        "shopMoney",
        "amount",
        "orders",
        "order",
        "first",
        "after",
        "query",
        "sortKey",
        "reverse",
        "UPDATED_AT",
        "CREATED_AT",
        "ID",
        "PROCESSED_AT",
        "inventoryLevel",
        "locationId",
        "location",
        "quantities",
        "names",
        "inventorySetQuantities",
        "input",
        "inventoryAdjustmentGroup",
        "reason",
        "referenceDocumentUri",
        "changes",
        "delta",
        "quantityAfterChange",
        "item",
        "userErrors",
        "field",
        "message",
        "ids",
        "fulfillmentOrders",
        "status",
        "assignedLocation",
        "remainingQuantity",
        "totalQuantity",
        "lineItem",
        "fulfillments",
        "fulfillmentCreate",
        "fulfillment",
        "trackingInfo",
        "number",
        "url",
    ]
)


class GraphQLError(Exception):
    """A top-level error, answered with HTTP 200 and no `data`, as Shopify does."""

    def __init__(self, message: str, code: str, **extensions: object) -> None:
        super().__init__(message)
        self.message, self.code, self.extensions = message, code, extensions

    def as_json(self) -> dict[str, object]:
        return {"message": self.message, "extensions": {"code": self.code, **self.extensions}}


def invalid_variable(name: str, value: object, path: list[object], why: str) -> GraphQLError:
    return GraphQLError(
        f"Variable ${name} was provided invalid value for {'.'.join(map(str, path))} ({why})",
        "INVALID_VARIABLE",
        value=value,
        problems=[{"path": path, "explanation": why}],
    )


@dataclass(slots=True)
class Operation:
    kind: str  # query | mutation
    root: str
    text: str
    args: dict[str, object]
    nested: dict[str, dict[str, object]]
    variables: dict[str, object]
    declared: dict[str, str]
    idempotency_key: str | None = None
    arg_vars: dict[str, str] = field(default_factory=dict)  # root argument -> variable name


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_COMMENT = re.compile(r"#[^\n]*")
_HEADER = re.compile(r"^\s*(query|mutation)\b\s*(\w+)?\s*(?:\(([^)]*)\))?\s*\{", re.S)
_DECLARATION = re.compile(r"\$(\w+)\s*:\s*([\[\]\w!]+)\s*(?:=\s*([^,$)]+))?")
_ROOT = re.compile(r"\{\s*(?:\w+\s*:\s*)?(\w+)\s*(\(([^()]*)\))?\s*(@\w+\s*\([^()]*\))?")
_ARG = re.compile(r'(\w+)\s*:\s*(\$\w+|"(?:[^"\\]|\\.)*"|-?\d+|\[[^\]]*\]|\w+)')
_IDEMPOTENT = re.compile(r'@idempotent\s*\(\s*key\s*:\s*(?:"([^"]*)"|\$(\w+))\s*\)')


def parse_operation(body: object) -> Operation:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise GraphQLError("Required parameter missing or invalid: query", "BAD_REQUEST")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise GraphQLError("variables must be an object", "BAD_REQUEST")
    text = _COMMENT.sub("", body["query"])
    header = _HEADER.match(text) or re.match(r"^\s*\{", text)
    if header is None:
        raise GraphQLError("Parse error: expected query or mutation", "parseError")
    kind = header.group(1) if header.re is _HEADER else "query"
    declared: dict[str, str] = {}
    if header.re is _HEADER and header.group(3):
        for name, type_, _default in _DECLARATION.findall(header.group(3)):
            declared[name] = type_
    _check_names(text)
    for name in variables:
        if name not in declared:
            raise GraphQLError(f"Variable ${name} is not declared", "variableNotDefined")
    root_match = _ROOT.search(text, header.end() - 1)
    if root_match is None or root_match.group(1) not in ROOTS:
        found = root_match.group(1) if root_match else "?"
        raise GraphQLError(f"Field '{found}' doesn't exist on type '{kind}'", "undefinedField")
    root = root_match.group(1)
    expected_kind, arg_types = ROOTS[root]
    if kind != expected_kind:
        raise GraphQLError(f"Field '{root}' doesn't exist on type '{kind}'", "undefinedField")
    operation = Operation(kind, root, text, {}, {}, dict(variables), declared)
    operation.args, operation.arg_vars = _arguments(
        root, root_match.group(3) or "", arg_types, operation
    )
    for nested, types in NESTED_ARGS.items():
        found = re.search(rf"\b{nested}\s*\(([^()]*)\)", text[root_match.end() :])
        if found:
            operation.nested[nested], _ = _arguments(nested, found.group(1), types, operation)
    directive = _IDEMPOTENT.search(root_match.group(4) or "")
    if directive:
        key = directive.group(1) if directive.group(1) is not None else None
        if key is None:
            key_value = _variable(directive.group(2), "String!", operation)
            key = key_value if isinstance(key_value, str) else None
        operation.idempotency_key = key
    return operation


def _check_names(text: str) -> None:
    bare = _STRING.sub('""', text)
    for match in re.finditer(r"(?<![$@\w])([A-Za-z_]\w*)", bare):
        name = match.group(1)
        if name not in KNOWN_NAMES and not _is_declared_type_context(bare, match.start()):
            raise GraphQLError(f"Field '{name}' doesn't exist", "undefinedField", name=name)


def _is_declared_type_context(text: str, at: int) -> bool:
    # the operation's own name (`query PullOrders(`) is free-form
    return re.search(r"(query|mutation)\s+$", text[:at]) is not None


def _arguments(
    owner: str, text: str, types: dict[str, str], operation: Operation
) -> tuple[dict[str, object], dict[str, str]]:
    values: dict[str, object] = {}
    variable_of: dict[str, str] = {}
    for name, raw in _ARG.findall(text):
        if name not in types:
            raise GraphQLError(
                f"Field '{owner}' doesn't accept argument '{name}'", "argumentNotAccepted"
            )
        if raw.startswith("$"):
            variable_of[name] = raw[1:]
            values[name] = _variable(raw[1:], types[name], operation)
        else:
            values[name] = _literal(raw)
    for name, type_ in types.items():
        if type_.endswith("!") and values.get(name) is None:
            raise GraphQLError(
                f"Field '{owner}' is missing required arguments: {name}", "missingRequiredArguments"
            )
    return values, variable_of


def _literal(raw: str) -> object:
    if raw in ("true", "false", "null") or raw.startswith(('"', "[")) or raw.lstrip("-").isdigit():
        return json.loads(raw)
    return raw  # an enum value


def _variable(name: str, expected: str, operation: Operation) -> object:
    declared = operation.declared.get(name)
    if declared is None:
        raise GraphQLError(f"Variable ${name} is used but not declared", "variableNotDefined")
    # A non-null variable may feed a nullable argument, not the other way round.
    if declared != expected and declared != expected + "!":
        raise GraphQLError(
            f"Type mismatch on variable ${name} (declared {declared}, expected {expected})",
            "variableMismatch",
        )
    value = operation.variables.get(name)
    if value is None:
        if declared.endswith("!"):
            raise invalid_variable(name, None, [name], "Expected value to not be null")
        return None
    _check_scalar(name, value, declared.rstrip("!"), [name])
    return value


def _check_scalar(name: str, value: object, type_: str, path: list[object]) -> None:
    if type_.startswith("["):
        if not isinstance(value, list):
            raise invalid_variable(name, value, path, f"Expected a list for {type_}")
        for i, element in enumerate(value):
            _check_scalar(name, element, type_[1:-1].rstrip("!"), [*path, i])
        return
    checks: dict[str, Any] = {
        "Int": lambda v: isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**31,
        "String": lambda v: isinstance(v, str),
        "ID": lambda v: isinstance(v, str),
        "Boolean": lambda v: isinstance(v, bool),
        "OrderSortKeys": lambda v: v in ("UPDATED_AT", "CREATED_AT", "ID", "PROCESSED_AT"),
    }
    check = checks.get(type_)
    if check is not None and not check(value):
        raise invalid_variable(name, value, path, f"Could not coerce value to {type_}")
    if check is None and not isinstance(value, dict):  # an input object
        raise invalid_variable(name, value, path, f"Expected an object for {type_}")


@dataclass(slots=True)
class Plan:
    """A validated operation: its requested (worst-case) cost, and how to run it, which
    answers `data` and the actual cost (the difference is refunded to the bucket)."""

    cost: int
    run: Callable[[], tuple[dict[str, object], int]]


def first_of(operation: Operation, owner: str | None, default: int, limit: int) -> int:
    """A connection's `first` (the root's when `owner` is None), within 1..limit."""
    args = operation.args if owner is None else operation.nested.get(owner, {})
    value = args.get("first", default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise GraphQLError(
            f"{owner or operation.root}: first must be between 1 and {limit}",
            "BAD_USER_INPUT",
        )
    return value
