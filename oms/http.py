"""HTTP plumbing shared by every context: problem details, the API key guard, pagination.

Every error leaves as an RFC 9457 `application/problem+json` document that names the field at
fault, so a client can point at the input to fix without parsing prose.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from http import HTTPStatus
from typing import Annotated, Any, Generic, TypeVar, cast

import msgspec
import sqlalchemy.exc
from litestar import Request, Response
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Reference, SecurityScheme
from litestar.params import HeaderParameter, PathParameter, QueryParameter
from litestar.response import Response as ASGIResponse
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, ExceptionHandlersMap, Receive, Scope, Send
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from oms.access import ALL_ROLES, Principal, Role, authenticate, bootstrap_admin
from oms.shared.bounds import MAX_ID, MAX_SMALL_ID, check_text
from oms.shared.errors import DomainError
from oms.sqlite import reading

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:oms:problem:"
BEARER_SCHEME = "BearerAuth"
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    BEARER_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        description="An API key (`oms apikey create`) as `Authorization: Bearer <key>`.",
    )
}
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_LIMIT = 500  # the services refuse larger pages (oms.inventory.services.MAX_PAGE)

_STATUS_BY_KIND = {"invalid": 422, "not_found": 404, "conflict": 409, "forbidden": 403}
# The problem types of errors that come from HTTP itself rather than from a domain rule (those
# take their type from the error's class: `InsufficientStock` -> `...:insufficient-stock`).
# Stable: clients branch on them. The README's Errors section lists every type.
HTTP_PROBLEM_TYPES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "request-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
    500: "internal-error",
    503: "not-ready",
}
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "field", "errors", "instance"})
_MISSING_PARAMETER = re.compile(r"^Missing required (?P<where>\w+) parameter '(?P<name>[^']+)'")
_BODY = "body"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# --------------------------------------------------------------------------- problem details


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem document; conflicts may carry more members (e.g. `short_lines`)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
    errors: list[FieldError] | None = None


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str | None = None,
    field: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    members: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": type_ or problem_type(status), "title": title, "status": status}
    body["detail"] = detail or title
    if field is not None:
        body["field"] = field
    if errors is not None:
        body["errors"] = errors
    body.update((k, v) for k, v in (members or {}).items() if k not in _PROBLEM_MEMBERS)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_type(status: int) -> str:
    """The type URI of a problem that no domain error names: one per HTTP status."""
    return PROBLEM_TYPE_BASE + HTTP_PROBLEM_TYPES.get(status, f"http-{status}")


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problems a handler may answer with."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=HTTPStatus(status).phrase,
            media_type=PROBLEM_JSON,
        )
        for status in statuses
    }


# What any operation may answer besides its success: declared in the OpenAPI so a client (and
# schemathesis' response checks) knows every body it can get. 400: malformed JSON; 422: a field.
READ_PROBLEMS = problem_responses(400, 401, 403, 404, 422, 500)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 415, 422, 500)


def field_path(key: str) -> str:
    """`lines.0.quantity` (Litestar's join of a Pydantic location) -> `lines[0].quantity`."""
    path = ""
    for part in key.split("."):
        if part.isdigit() and path:
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = _STATUS_BY_KIND.get(exc.kind, 400)
    errors = [{"field": exc.field, "message": exc.detail}] if status == 422 and exc.field else None
    return problem(
        status,
        exc.title,
        exc.detail,
        type_=PROBLEM_TYPE_BASE + exc.type_slug,
        field=exc.field,
        errors=errors,
        members=exc.extra,
    )


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors: list[dict[str, str]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or _BODY)
            message = str(item.get("message") or "invalid value")
            if key in (_BODY, "data"):  # the body as a whole: missing, or not an object
                key = _BODY
                message = "a JSON object is required" if message == "'data'" else message
            errors.append({"field": field_path(key), "message": message})
    missing = _MISSING_PARAMETER.match(exc.detail)
    if not errors and missing:
        errors.append(
            {"field": missing["name"], "message": f"the {missing['where']} parameter is required"}
        )
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return problem(
        422,
        "Invalid input",
        detail,
        type_=PROBLEM_TYPE_BASE + "invalid-input",
        field=errors[0]["field"] if errors else None,
        errors=errors,
    )


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= 500:
        return _internal_error(request, exc)
    if isinstance(exc.__cause__, SerializationException):  # Litestar wraps body decoding
        return _serialization_error(request, exc.__cause__)
    title = HTTPStatus(status).phrase
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="oms"')
    return problem(status, title, exc.detail, headers=headers)


def _serialization_error(
    request: Request[Any, Any, Any], exc: SerializationException
) -> Response[dict[str, Any]]:
    # Raised both for a request body that is not JSON (the client's fault) and for a response
    # that cannot be encoded (ours): only the first is a 400.
    if isinstance(exc.__cause__, msgspec.DecodeError):
        return problem(
            400,
            "Malformed JSON",
            f"the request body is not valid JSON: {exc.__cause__}",
            type_=PROBLEM_TYPE_BASE + "malformed-json",
            field="body",
        )
    return _internal_error(request, exc)


def _out_of_range(request: Request[Any, Any, Any], exc: DataError) -> Response[dict[str, Any]]:
    """Every input is bounded on its own, but a sum may still pass what a column holds (stock
    levels are 32-bit: 2,147,483,647 units at one location). The transaction rolled back."""
    log.warning("value out of range on %s %s: %s", request.method, request.url.path, exc.orig)
    detail = (
        "the result would be beyond what the database can hold (a stock level holds at most "
        "2,147,483,647 units); nothing was changed"
    )
    return problem(
        422,
        "Out of range",
        detail,
        type_=PROBLEM_TYPE_BASE + "out-of-range",
        field="quantity",
        errors=[{"field": "quantity", "message": detail}],
    )


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal Server Error", "the server could not complete the request")


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """SQLite's write lock not had in time (another process held it): 503, try again.

    The request changed nothing (its transaction never began), so the answer is the client's
    to retry, not a fault of ours. Any other database error stays a 500.
    """
    if "database is locked" not in str(exc):
        return _internal_error(request, exc)
    log.warning("write lock not had in time on %s %s", request.method, request.url.path)
    return problem(
        503,
        "Database busy",
        "another writer held the database for too long; nothing was changed, try again",
        type_=PROBLEM_TYPE_BASE + "database-busy",
        headers={"Retry-After": "1"},
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain_error,
    # Raised by oms.sqlite when a writer's turn does not come (not wrapped by SQLAlchemy:
    # it comes from the begin event), or by the driver inside a statement (wrapped).
    sqlite3.OperationalError: _database_error,
    sqlalchemy.exc.OperationalError: _database_error,
    ValidationException: _validation_error,
    SerializationException: _serialization_error,
    HTTPException: _http_error,
    DataError: _out_of_range,
    Exception: _internal_error,
}

# --------------------------------------------------------------------------- methods


def allowed_methods(request: Request[Any, Any, Any]) -> set[str]:
    """The methods the requested path answers, read from the app's routes."""
    path = request.scope.get("path_template") or request.url.path
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, HTTPRoute) and route.path_format == path:
            methods.update(route.methods)
    return methods


def refuse_control_characters(request: Request[Any, Any, Any]) -> None:
    """Text in the path or the query holds no control character, as text in a body does.

    The handlers pass codes from the URL straight to SQL, and PostgreSQL cannot hold a NUL
    in text at all (`GET /v1/skus/T%00` was a driver error, a 500). Integer parameters are
    bounded by their types; every string is checked here, once, for every route.
    """
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(value, name)
    for name, values in request.query_params.dict().items():
        for value in values:
            check_text(value, name)


async def before_request(request: Request[Any, Any, Any]) -> ASGIResponse[None] | None:
    """`before_request` of the app: URL text is checked, then OPTIONS is answered."""
    refuse_control_characters(request)
    return await answer_options(request)


async def answer_options(request: Request[Any, Any, Any]) -> ASGIResponse[None] | None:
    """`before_request`: OPTIONS lists every method of the path.

    Litestar 2 builds its automatic OPTIONS handler with the first handler registered for a
    path, so `OPTIONS /v1/orders` answered `Allow: GET, OPTIONS` without POST (litestar#4169,
    fixed only in Litestar 3). The routes themselves know all their methods.
    """
    if request.method != "OPTIONS":
        return None
    return ASGIResponse(
        None, status_code=204, headers={"Allow": ", ".join(sorted(allowed_methods(request)))}
    )


# --------------------------------------------------------------------------- access


def reads_take_no_write_lock(app: ASGIApp) -> ASGIApp:
    """Middleware: GET, HEAD and OPTIONS requests read under `reading()`.

    On SQLite their transactions then begin deferred and never queue behind a writer; a
    handler of a safe method that tried to write would fail loudly (query_only).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") in _SAFE_METHODS:  # HTTP only: websockets have no method
            with reading():
                await app(scope, receive, send)
        else:
            await app(scope, receive, send)

    return middleware


async def require_api_key(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: a valid API key whose role the handler allows (`opt={"roles": ...}`).

    A handler without `roles` is open to every role for reads and to admins only for writes,
    so forgetting to declare the roles never opens a write to everyone.
    """
    scheme, _, presented = connection.headers.get("authorization", "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise NotAuthorizedException(
            "an API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": 'Bearer realm="oms"'},
        )
    state = connection.app.state
    # The bootstrap key is told without the database: no hop to a thread for it.
    principal = bootstrap_admin(presented, state.settings.bootstrap_admin_key) or (
        await sync_to_thread(
            authenticate, session_factory(state), presented, state.settings.bootstrap_admin_key
        )
    )
    if principal is None:
        raise NotAuthorizedException(
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": 'Bearer realm="oms", error="invalid_token"'},
        )
    default = ALL_ROLES if connection.scope.get("method") in _SAFE_METHODS else {Role.ADMIN}
    roles = handler.opt.get("roles", default)
    if principal.role not in roles:
        raise PermissionDeniedException(f"the role {principal.role.value} may not do this")
    connection.state.principal = principal


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller, as the guard of the route authenticated it."""
    return cast(Principal, request.state.principal)


def session_factory(state: State) -> sessionmaker[Session]:
    return cast("sessionmaker[Session]", state.session_factory)


# --------------------------------------------------------------------------- pagination

ItemT = TypeVar("ItemT")

# Ids in paths: BIGINT ids (orders, shipments, reservations, transfers) and INTEGER ones
# (exclusions). The bounds show in the OpenAPI and are checked before any SQL runs.
Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
SmallId = Annotated[int, PathParameter(ge=1, le=MAX_SMALL_ID)]

Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.")
]
RequiredKey = Annotated[
    str,
    HeaderParameter(
        name=IDEMPOTENCY_KEY,
        description="Unique per intended change; a retry with the same key changes nothing",
    ),
]
OptionalKey = Annotated[
    str | None,
    HeaderParameter(
        name=IDEMPOTENCY_KEY,
        required=False,
        description="Optional; a retry with the same key and body replays the first answer",
    ),
]
Cursor = Annotated[
    str | None,
    QueryParameter(description="`next_cursor` of the previous page; omit for the first page."),
]


class PageResponse(BaseModel, Generic[ItemT]):
    """One page of a list; pass `next_cursor` back as `cursor` until it is null."""

    items: list[ItemT]
    next_cursor: str | None
