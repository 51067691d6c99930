"""SP-API's conventions: its error body, its headers, and validation against Amazon's models.

The models in `models/` are unmodified copies of Amazon's own (amzn/selling-partner-api-models,
Apache-2.0, see models/LICENSE-NOTICE.txt). Query parameters are checked against the operation's
parameter list (required, type, enum, bounds) and JSON bodies against the operation's body schema
with jsonschema, so the emulator refuses what the model refuses, with SP-API's 400 InvalidInput.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, Draft7Validator
from litestar import Response

MODELS = Path(__file__).parent / "models"


class ApiError(Exception):
    """An SP-API error answer: status and `{"errors": [{code, message, details}]}`."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFound", message)


def answer(
    status: int, body: Any | None, rate: float | None = None, headers: Mapping[str, str] = {}
) -> Response[Any]:
    """Every SP-API answer carries x-amzn-RequestId; the rate only on 20x, 400 and 404 [V]."""
    out = {"x-amzn-RequestId": str(uuid.uuid4()), **headers}
    if rate is not None and (200 <= status < 300 or status in (400, 404)):
        out["x-amzn-RateLimit-Limit"] = f"{rate:g}"
    if body is None:
        return Response(content=b"", status_code=status, headers=out)
    return Response(
        content=json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        headers=out,
        media_type="application/json",
    )


def error_answer(error: ApiError, rate: float | None = None) -> Response[Any]:
    body = {"errors": [{"code": error.code, "message": error.message, "details": error.details}]}
    return answer(error.status, body, rate)


@cache
def model(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MODELS / name).read_text(encoding="utf-8"))
    return loaded


@cache
def _operation(model_name: str, operation_id: str) -> dict[str, Any]:
    for ops in model(model_name)["paths"].values():
        for op in ops.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(operation_id)


def check_query(model_name: str, operation_id: str, query: Mapping[str, str]) -> None:
    """The operation's query parameters as its model declares them; csv for arrays."""
    for param in _operation(model_name, operation_id).get("parameters", []):
        if param.get("in") != "query":
            continue
        name = param["name"]
        raw = query.get(name)
        if raw is None:
            if param.get("required"):
                raise invalid(f"Missing required parameter {name}.")
            continue
        kind = param.get("type")
        if kind == "array":
            values = [v for v in raw.split(",") if v]
            if not values:
                raise invalid(f"{name} must not be empty.")
            if "maxItems" in param and len(values) > param["maxItems"]:
                raise invalid(f"{name} accepts at most {param['maxItems']} values.")
            allowed = param.get("items", {}).get("enum")
            for value in values:
                if allowed and value not in allowed:
                    raise invalid(f"{value!r} is not a valid value for {name}.")
        elif kind == "integer":
            try:
                number = int(raw)
            except ValueError:
                raise invalid(f"{name} must be an integer.") from None
            if "minimum" in param and number < param["minimum"]:
                raise invalid(f"{name} must be at least {param['minimum']}.")
            if "maximum" in param and number > param["maximum"]:
                raise invalid(f"{name} must be at most {param['maximum']}.")
        elif kind == "boolean" and raw not in ("true", "false"):
            raise invalid(f"{name} must be true or false.")
        elif param.get("enum") and raw not in param["enum"]:
            raise invalid(f"{raw!r} is not a valid value for {name}.")


@cache
def _body_validator(model_name: str, operation_id: str) -> Draft4Validator:
    for param in _operation(model_name, operation_id).get("parameters", []):
        if param.get("in") == "body":
            schema = {**param["schema"], "definitions": model(model_name)["definitions"]}
            return Draft4Validator(schema)  # Swagger 2.0 schemas are draft-4 JSON Schema
    raise KeyError(operation_id)


def parse_body(raw: bytes, model_name: str, operation_id: str) -> dict[str, Any]:
    """The JSON body, valid against the operation's body schema, or 400 InvalidInput."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise invalid("The request body is not valid JSON.") from None
    errors = sorted(
        _body_validator(model_name, operation_id).iter_errors(body), key=lambda e: list(e.path)
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "body"
        raise invalid(f"{where}: {first.message}")
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


@cache
def feed_validator() -> Draft7Validator:
    schema = json.loads((MODELS / "listings-feed-schema-v2.json").read_text(encoding="utf-8"))
    return Draft7Validator(schema)


def parse_time(name: str, raw: str | None) -> datetime | None:
    """An ISO 8601 instant with a zone (Amazon's query times), or 400 naming the parameter."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} is not a valid ISO 8601 date-time.") from None
    if moment.tzinfo is None:
        raise invalid(f"{name} must carry a time zone (ISO 8601).")
    return moment


@dataclass(frozen=True, slots=True)
class Call:
    """One SP-API request, read once by the app and handed to an operation."""

    method: str
    path: str
    query: Mapping[str, str]
    params: Mapping[str, str]
    body: bytes
    content_type: str
    restricted: bool  # made with an RDT that covers this resource
    base_url: str  # where this emulator answers (presigned document URLs point back here)
