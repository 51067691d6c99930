"""HTTP API of channel connections and listings.

A connection (`PUT`/`GET /v1/channels/{code}/connection`) is for admins only, and is shown
with every secret masked. Listings (`/v1/channels/{code}/listings`) map oms SKUs to the
channel's items: every role reads them, admins write them, one at a time or as a CSV file
(`POST .../listings/import`, the body is the file; `GET .../listings/export`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.openapi.spec import RequestBody as OpenAPIRequestBody
from litestar.params import Body, FromPath, JSONBody, QueryParameter, RawBody
from litestar.types import ExceptionHandlersMap

from oms.access import Principal, Role
from oms.channels.sync.api.schemas import (
    CONNECTION_DESCRIPTION,
    ConnectionResponse,
    ListingResponse,
    ListingsImportResponse,
    SetListingRequest,
)
from oms.channels.sync.domain.listings import ListingsEncoding, ListingsFileInvalid
from oms.channels.sync.services.connections import ConnectionService
from oms.channels.sync.services.listings import ListingService
from oms.http import (
    PROBLEM_TYPE_BASE,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    Cursor,
    Limit,
    PageResponse,
    problem,
)
from oms.shared.errors import InvalidInput

Connections = NamedDependency[ConnectionService]
Listings = NamedDependency[ListingService]
Caller = NamedDependency[Principal]  # the authenticated API key; its name is the actor

ADMIN_ONLY: dict[str, Any] = {"roles": frozenset({Role.ADMIN})}
CSV_MEDIA_TYPES = frozenset({"text/csv", "application/csv"})
# Charset labels as clients send them. What Windows calls Shift_JIS is cp932.
CHARSETS = {
    "utf-8": ListingsEncoding.UTF8,
    "utf8": ListingsEncoding.UTF8,
    "shift_jis": ListingsEncoding.SHIFT_JIS,
    "shift-jis": ListingsEncoding.SHIFT_JIS,
    "sjis": ListingsEncoding.SHIFT_JIS,
    "x-sjis": ListingsEncoding.SHIFT_JIS,
    "cp932": ListingsEncoding.CP932,
    "windows-31j": ListingsEncoding.CP932,
    "ms932": ListingsEncoding.CP932,
}


def _invalid_file(_: Request[Any, Any, Any], exc: ListingsFileInvalid) -> Response[dict[str, Any]]:
    # Every bad line, not only the first that `oms.http` would name.
    return problem(
        422,
        exc.title,
        exc.detail,
        type_=PROBLEM_TYPE_BASE + "invalid-input",
        field=exc.field,
        errors=[{"field": e.field, "message": e.message} for e in exc.errors],
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {ListingsFileInvalid: _invalid_file}


def _upload_encoding(request: Request[Any, Any, Any]) -> ListingsEncoding:
    media_type, options = request.content_type
    if media_type.lower() not in CSV_MEDIA_TYPES:
        raise HTTPException(
            f"the body must be a CSV file (Content-Type: text/csv), not {media_type or 'none'}",
            status_code=415,
        )
    charset = options.get("charset", "").strip().lower()
    if not charset:
        return ListingsEncoding.AUTO
    if charset not in CHARSETS:
        raise HTTPException(
            f"charset {charset} is not supported: utf-8 or shift_jis (or leave it out)",
            status_code=415,
        )
    return CHARSETS[charset]


@dataclass
class _CsvUpload(Operation):
    """OpenAPI: the raw body is a CSV file, which Litestar cannot see in a `RawBody`."""

    def __post_init__(self) -> None:
        self.request_body = OpenAPIRequestBody(
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            description="The listings file: sku,remote_id,remote_variant (a header first)",
            required=True,
        )


class ConnectionController(Controller):
    path = "/channels/{code:str}/connection"
    tags = ("channel sync",)

    @put("/", opt=ADMIN_ONLY, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def put_connection(
        self,
        code: FromPath[str],
        data: Annotated[dict[str, Any], Body(description=CONNECTION_DESCRIPTION)],
        connections: Connections,
        principal: Caller,
    ) -> ConnectionResponse:
        """Store how oms reaches the channel: endpoint, credentials and sync settings.

        Answers the connection as stored, every secret masked. A first PUT needs every
        secret; later ones keep a secret left out or sent as `********`."""
        return ConnectionResponse.of(connections.put(code, data, principal.name))

    @get("/", opt=ADMIN_ONLY, sync_to_thread=True, responses=READ_PROBLEMS)
    def get_connection(self, code: FromPath[str], connections: Connections) -> ConnectionResponse:
        """The connection, every secret masked (`********`); 404 when it has none yet."""
        return ConnectionResponse.of(connections.get(code))


class ListingController(Controller):
    path = "/channels/{code:str}/listings"
    tags = ("channel sync",)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_listings(
        self, code: FromPath[str], listings: Listings, cursor: Cursor = None, limit: Limit = 100
    ) -> PageResponse[ListingResponse]:
        """The SKUs listed on the channel, by SKU: only these are pushed."""
        page = listings.page(code, cursor, limit)
        return PageResponse(
            items=[ListingResponse.of(x) for x in page.items], next_cursor=page.next_cursor
        )

    @put(
        "/{sku:str}",
        opt=ADMIN_ONLY,
        sync_to_thread=True,
        responses={
            201: ResponseSpec(data_container=ListingResponse, description="The SKU was listed"),
            **WRITE_PROBLEMS,
        },
    )
    def put_listing(
        self,
        code: FromPath[str],
        sku: FromPath[str],
        data: JSONBody[SetListingRequest],
        listings: Listings,
        principal: Caller,
    ) -> Response[ListingResponse]:
        """List the SKU on the channel as this channel item (201), or change its item (200).

        The identifiers follow the channel's rules (422 naming the field); an item already
        listed for another SKU is a 409."""
        listing, created = listings.put(
            code, sku, data.remote_id, data.remote_variant, principal.name
        )
        return Response(ListingResponse.of(listing), status_code=201 if created else 200)

    @delete(
        "/{sku:str}", opt=ADMIN_ONLY, sync_to_thread=True, status_code=200, responses=WRITE_PROBLEMS
    )
    def remove_listing(
        self, code: FromPath[str], sku: FromPath[str], listings: Listings, principal: Caller
    ) -> ListingResponse:
        """Unlist the SKU: it is pushed to the channel no more. Answers what was removed."""
        return ListingResponse.of(listings.remove(code, sku, principal.name))

    @post(
        "/import",
        opt=ADMIN_ONLY,
        sync_to_thread=True,
        status_code=200,
        responses=WRITE_PROBLEMS,
        exception_handlers=EXCEPTION_HANDLERS,
        operation_class=_CsvUpload,
    )
    def import_listings(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        body: RawBody,
        listings: Listings,
        principal: Caller,
    ) -> ListingsImportResponse:
        """Set listings from a CSV file (the body): `sku,remote_id,remote_variant`.

        `Content-Type: text/csv`, with `charset=utf-8` or `shift_jis` when known (without
        one, UTF-8 with or without BOM, else Shift_JIS, is recognised). Every row is checked
        first: a bad row is a 422 naming each bad line and column, and nothing changes.
        Listings the file does not name stay."""
        outcome = listings.import_file(code, body, principal.name, _upload_encoding(request))
        return ListingsImportResponse.of(outcome)

    @get(
        "/export",
        sync_to_thread=True,
        media_type="text/csv",
        responses=READ_PROBLEMS,
    )
    def export_listings(
        self,
        code: FromPath[str],
        listings: Listings,
        encoding: Annotated[
            str, QueryParameter(description="utf-8 (the default) or shift_jis")
        ] = "utf-8",
    ) -> Response[bytes]:
        """Every listing of the channel as CSV in the import format; `encoding` is utf-8 or
        shift_jis (written as cp932, as Japanese spreadsheet tools read it)."""
        chosen = CHARSETS.get(encoding.strip().lower())
        if chosen is None:
            raise InvalidInput(
                f"encoding must be utf-8 or shift_jis, got {encoding[:50]!r}", field="encoding"
            )
        charset = "utf-8" if chosen.codec == "utf-8" else "shift_jis"
        return Response(
            listings.export_file(code, chosen),
            media_type=f"text/csv; charset={charset}",
            headers={"Content-Disposition": f'attachment; filename="listings-{code}.csv"'},
        )


CONTROLLERS = [ConnectionController, ListingController]
