"""The OpenAPI states the rules the request bodies enforce, so a generated client sends valid
requests and a fuzzer (schemathesis) generates requests the server should accept.

Litestar builds the document from the Pydantic models' fields but leaves out what lives in
their configuration and validators. `state_request_rules` adds it, from the same source the
validation reads (`oms.http_models.RequestBody`), once, when the app is built:
- unknown fields are refused: `additionalProperties: false`;
- no string holds a control character: a `pattern` on every free string, in a body, a path or
  a query;
- a field that may be left out but not sent as null (`not_null_fields`) is not nullable;
- bounds that Litestar drops: those of a type inside `X | None`, and a bound of 0;
- integer bounds of path and query parameters as integers: Litestar writes them as floats, and
  float(2**63 - 1) is 2**63, an id no row can have.
"""

from __future__ import annotations

import types
from dataclasses import fields
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import OpenAPI, OpenAPIType, Operation, Parameter, Reference, Schema
from pydantic.fields import FieldInfo

from oms.http_models import RequestBody
from oms.shared.bounds import MAX_ID, MAX_SMALL_ID, MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN

_EXACT_BOUNDS = {float(b): b for b in (MAX_ID, MAX_SMALL_ID)}
_BOUNDS = {
    annotated_types.Ge: "minimum",
    annotated_types.Le: "maximum",
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
}
_BOUND_VALUE = {
    annotated_types.Ge: "ge",
    annotated_types.Le: "le",
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
}


# The finished document per route table: every app `create_app` builds has the same routes, and
# building the document is most of the time an app takes to build (each API test builds one).
_DOCUMENTS: dict[tuple[tuple[str, tuple[str, ...]], ...], OpenAPI] = {}


def state_request_rules(app: Litestar) -> None:
    plugin = app.plugins.get(OpenAPIPlugin)
    key = tuple(
        sorted((route.path, tuple(sorted(getattr(route, "methods", ())))) for route in app.routes)
    )
    done = _DOCUMENTS.get(key)
    if done is not None and hasattr(plugin, "_openapi"):
        plugin._openapi = done  # read-only from here on: shared by the apps of this process
        return
    _add_rules(app.openapi_schema)
    _DOCUMENTS[key] = app.openapi_schema


def _add_rules(openapi: OpenAPI) -> None:
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path_item, method, None)
            if isinstance(operation, Operation):
                for parameter in operation.parameters or []:
                    if isinstance(parameter, Parameter) and isinstance(parameter.schema, Schema):
                        _integral_bounds(parameter.schema)
                        if parameter.param_in in ("path", "query"):
                            # oms.http.refuse_control_characters checks every one.
                            _text_pattern(parameter.schema, SINGLE_LINE_PATTERN)
    components = openapi.components.schemas or {}
    models = {model.__name__: model for model in _subclasses(RequestBody)}
    for schema in components.values():
        model = models.get(schema.title or "")
        if model is None:
            continue
        schema.additional_properties = False
        for name, prop in (schema.properties or {}).items():
            if not isinstance(prop, Schema):
                continue
            if name in model.not_null_fields:
                _not_nullable(prop)
            if name in model.model_fields:
                _bounds(prop, model.model_fields[name])
            multi_line = name in model.multi_line_fields
            _text_pattern(prop, MULTI_LINE_PATTERN if multi_line else SINGLE_LINE_PATTERN)


def _subclasses(cls: type[RequestBody]) -> list[type[RequestBody]]:
    found: list[type[RequestBody]] = []
    for sub in cls.__subclasses__():
        found.extend([sub, *_subclasses(sub)])
    return found


def _is_string(schema: Schema | Reference) -> bool:
    return isinstance(schema, Schema) and schema.type == OpenAPIType.STRING


def _text_pattern(prop: Schema, pattern: str) -> None:
    """A free string (no enum, format or pattern of its own) may not hold control characters.

    On a `oneOf` of a string and null the pattern sits beside `oneOf`, where Litestar puts the
    length bounds too: JSON Schema applies string keywords to strings only.
    """
    if prop.pattern is not None or prop.enum is not None or prop.format is not None:
        return
    if _is_string(prop):
        prop.pattern = pattern
        return
    strings = [a for a in prop.one_of or [] if isinstance(a, Schema) and _is_string(a)]
    if strings and all(a.enum is None and a.format is None and a.pattern is None for a in strings):
        prop.pattern = pattern
    if prop.type == OpenAPIType.ARRAY and isinstance(prop.items, Schema):
        _text_pattern(prop.items, pattern)


def _not_nullable(prop: Schema) -> None:
    """`X | None` whose null the model refuses: only X remains."""
    alternatives = [
        a for a in prop.one_of or [] if not (isinstance(a, Schema) and a.type == OpenAPIType.NULL)
    ]
    if not prop.one_of or len(alternatives) != 1:
        return
    (only,) = alternatives
    prop.one_of = None
    if isinstance(only, Reference):
        prop.all_of = [only]
        return
    for spec_field in fields(Schema):
        value = getattr(only, spec_field.name)
        if value is not None and getattr(prop, spec_field.name) is None:
            setattr(prop, spec_field.name, value)


def _integral_bounds(schema: Schema) -> None:
    if schema.type != OpenAPIType.INTEGER:
        return
    for name in ("minimum", "maximum"):
        value = getattr(schema, name)
        if isinstance(value, float) and value.is_integer():
            setattr(schema, name, _EXACT_BOUNDS.get(value, int(value)))


def _bounds(prop: Schema, field: FieldInfo) -> None:
    """Numeric and length bounds of the field (or of the type inside `X | None`)."""
    for constraint in [*field.metadata, *_nested_metadata(field.annotation)]:
        extra = constraint.json_schema_extra if isinstance(constraint, FieldInfo) else None
        if isinstance(extra, dict) and prop.pattern is None and "pattern" in extra:
            prop.pattern = str(extra["pattern"])  # e.g. a `Code | None`
        for kind, attribute in _BOUNDS.items():
            if isinstance(constraint, kind) and getattr(prop, attribute) is None:
                setattr(prop, attribute, getattr(constraint, _BOUND_VALUE[kind]))


def _nested_metadata(annotation: Any) -> list[Any]:
    found: list[Any] = []
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        for item in metadata:
            found.extend([*item.metadata, item] if isinstance(item, FieldInfo) else [item])
        found.extend(_nested_metadata(inner))
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            found.extend(_nested_metadata(arg))
    return found
