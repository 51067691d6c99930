"""The Amazon SP-API emulator: `create_app(seed_orders=N)` is an ASGI app (`oms emulate amazon`).

Every SP-API call goes through `_serve`, in the order the channel applies them: an injected fault
(if one is pending), the `user-agent` Amazon requires, the token (`x-amz-access-token`; 403
Unauthorized), the operation's usage-plan bucket (429 QuotaExceeded, no rate header), then the
operation itself, whose request is validated against Amazon's model. Where it answers:
  POST /auth/o2/token                       LWA (point the connection's token_url here)
  /orders/v0/..., /orders/2026-01-01/...    Orders
  /listings/2021-08-01/items/...            Listings Items
  /feeds/2021-06-30/...  and  /_s3/...      Feeds and their presigned documents
  /tokens/2021-03-01/restrictedDataToken    RDTs
  /_emulator/...                            control (see control.py)
Injected faults hit SP-API and LWA calls, not the presigned document URLs (S3 is not Amazon's
SP-API and fails rarely; a feed's own partial failure is the "feed_partial" fault).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from litestar import HttpMethod, Litestar, Request, Response, get, post, put, route
from litestar.exceptions import MethodNotAllowedException, NotFoundException

from oms.channels.emulators.amazon import auth, feeds, listings, orders, shipping
from oms.channels.emulators.amazon.control import CONTROL_HANDLERS, ControlError, problem
from oms.channels.emulators.amazon.protocol import ApiError, Call, answer, error_answer
from oms.channels.emulators.amazon.settings import EmulatorSettings
from oms.channels.emulators.amazon.state import AmazonWorld, Emulator

Operate = Callable[[AmazonWorld, Call], tuple[int, Any]]
QUOTA = "You exceeded your quota for the requested resource."


def _world(request: Request[Any, Any, Any]) -> AmazonWorld:
    emulator: Emulator = request.app.state.emulator
    return emulator.world


async def _fault(world: AmazonWorld) -> str | None:
    """Serve the next injected fault, if any: the name of the failure to answer with."""
    if not world.faults:
        return None
    fault = world.faults.pop(0)
    world.faults_served += 1
    if fault == "slow":
        await asyncio.sleep(world.settings.slow_seconds)
        return None
    if fault == "timeout":
        await asyncio.sleep(world.settings.timeout_seconds)
    return fault


async def _serve(
    request: Request[Any, Any, Any], operation: str, operate: Operate
) -> Response[Any]:
    world = _world(request)
    world.calls[operation] += 1
    rate = None if world.settings.limits_lifted else world.settings.plan(operation)[0]
    try:
        fault = await _fault(world)
        if fault == "throttle":
            raise ApiError(429, "QuotaExceeded", QUOTA)
        if fault in ("5xx", "timeout"):
            raise ApiError(503, "ServiceUnavailable", "Service temporarily unavailable.")
        if fault == "auth":
            raise ApiError(403, "Unauthorized", auth.DENIED, "The access token is invalid.")
        if not request.headers.get("user-agent") or len(request.headers["user-agent"]) > 500:
            raise ApiError(
                400, "InvalidInput", "A user-agent of at most 500 characters is required."
            )
        path = request.url.path
        restricted = auth.authorize(
            world, request.headers.get("x-amz-access-token"), request.method, path
        )
        if not world.admit(operation):
            raise ApiError(429, "QuotaExceeded", QUOTA)
        feeds.process_due(world)
        call = Call(
            method=request.method,
            path=path,
            query=dict(parse_qsl(request.url.query, keep_blank_values=True)),
            params={k: str(v) for k, v in request.path_params.items()},
            body=await request.body(),
            content_type=request.headers.get("content-type", ""),
            restricted=restricted,
            base_url=str(request.base_url).rstrip("/"),
        )
        status, body = operate(world, call)
        return answer(status, body, rate)
    except ApiError as error:
        return error_answer(error, None if error.status == 429 else rate)


def _operation(method: HttpMethod, path: str, operation: str, operate: Operate) -> Any:
    async def handle(request: Request[Any, Any, Any]) -> Response[Any]:
        return await _serve(request, operation, operate)

    handle.__name__ = handle.__qualname__ = operation
    return route(path, http_method=method, status_code=200)(handle)


OPERATIONS = [
    _operation(HttpMethod.GET, "/orders/v0/orders", "getOrders", orders.get_orders),
    _operation(HttpMethod.GET, "/orders/v0/orders/{orderId:str}", "getOrder", orders.get_order),
    _operation(
        HttpMethod.GET,
        "/orders/v0/orders/{orderId:str}/orderItems",
        "getOrderItems",
        orders.get_order_items,
    ),
    _operation(
        HttpMethod.POST,
        "/orders/v0/orders/{orderId:str}/shipmentConfirmation",
        "confirmShipment",
        shipping.confirm_shipment,
    ),
    _operation(HttpMethod.GET, "/orders/2026-01-01/orders", "searchOrders", orders.search_orders),
    _operation(
        HttpMethod.GET,
        "/orders/2026-01-01/orders/{orderId:str}",
        "getOrder2026",
        orders.get_order_2026,
    ),
    _operation(
        HttpMethod.PATCH,
        "/listings/2021-08-01/items/{sellerId:str}/{sku:str}",
        "patchListingsItem",
        listings.patch_listings_item,
    ),
    _operation(
        HttpMethod.GET,
        "/listings/2021-08-01/items/{sellerId:str}/{sku:str}",
        "getListingsItem",
        listings.get_listings_item,
    ),
    _operation(
        HttpMethod.GET,
        "/listings/2021-08-01/items/{sellerId:str}",
        "searchListingsItems",
        listings.search_listings_items,
    ),
    _operation(
        HttpMethod.POST,
        "/feeds/2021-06-30/documents",
        "createFeedDocument",
        feeds.create_feed_document,
    ),
    _operation(HttpMethod.POST, "/feeds/2021-06-30/feeds", "createFeed", feeds.create_feed),
    _operation(HttpMethod.GET, "/feeds/2021-06-30/feeds/{feedId:str}", "getFeed", feeds.get_feed),
    _operation(
        HttpMethod.DELETE, "/feeds/2021-06-30/feeds/{feedId:str}", "cancelFeed", feeds.cancel_feed
    ),
    _operation(
        HttpMethod.GET,
        "/feeds/2021-06-30/documents/{feedDocumentId:str}",
        "getFeedDocument",
        feeds.get_feed_document,
    ),
    _operation(
        HttpMethod.POST,
        "/tokens/2021-03-01/restrictedDataToken",
        "createRestrictedDataToken",
        lambda world, call: (200, auth.restricted_data_token(world, call.body)),
    ),
]


@post("/auth/o2/token", status_code=200)
async def lwa_token(request: Request[Any, Any, Any]) -> Response[Any]:
    world = _world(request)
    world.calls["lwaToken"] += 1
    try:
        fault = await _fault(world)
        if fault == "throttle" or (fault is None and not world.admit("lwaToken")):
            raise auth.LwaError(429, "slow_down", "Too many requests.")
        if fault in ("5xx", "timeout"):
            raise auth.LwaError(500, "server_error", "Internal server error.")
        if fault == "auth":
            raise auth.LwaError(400, "invalid_grant", "The request has an invalid grant parameter.")
        raw = await request.body()
        body = auth.exchange(world, request.headers.get("content-type", ""), raw)
        return Response(content=body, status_code=200, headers={"Cache-Control": "no-store"})
    except auth.LwaError as error:
        return Response(content=error.body, status_code=error.status)


@put("/_s3/feed-documents/{document_id:str}", status_code=200)
async def s3_upload(request: Request[Any, Any, Any]) -> Response[Any]:
    document_id = str(request.path_params["document_id"])
    world = _world(request)
    world.calls["s3:PUT"] += 1
    signature = dict(parse_qsl(request.url.query)).get("X-Amz-Signature")
    try:
        feeds.upload(
            world,
            document_id,
            signature,
            request.headers.get("content-type", ""),
            await request.body(),
        )
    except feeds.S3Error as error:
        return Response(content=error.xml, status_code=error.status, media_type="application/xml")
    return Response(content=b"", status_code=200, headers={"ETag": f'"{document_id}"'})


@get("/_s3/feed-documents/{document_id:str}")
async def s3_download(request: Request[Any, Any, Any]) -> Response[Any]:
    document_id = str(request.path_params["document_id"])
    world = _world(request)
    world.calls["s3:GET"] += 1
    signature = dict(parse_qsl(request.url.query)).get("X-Amz-Signature")
    try:
        content, content_type = feeds.download(world, document_id, signature)
    except feeds.S3Error as error:
        return Response(content=error.xml, status_code=error.status, media_type="application/xml")
    return Response(content=content, status_code=200, media_type=content_type)


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return error_answer(ApiError(404, "NotFound", "The requested resource does not exist."))


def _not_allowed(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return error_answer(ApiError(405, "MethodNotAllowed", "The method is not allowed here."))


def _control_error(request: Request[Any, Any, Any], exc: ControlError) -> Response[Any]:
    return problem(exc)


def create_app(
    seed_orders: int = 0, settings: EmulatorSettings | None = None, seed: int = 9
) -> Litestar:
    """The emulator with `seed_orders` open orders (the same ones for the same `seed`)."""
    app = Litestar(
        route_handlers=[*OPERATIONS, lwa_token, s3_upload, s3_download, *CONTROL_HANDLERS],
        exception_handlers={
            NotFoundException: _not_found,
            MethodNotAllowedException: _not_allowed,
            ControlError: _control_error,
        },
        openapi_config=None,
    )
    app.state.emulator = Emulator(settings or EmulatorSettings(), seed_orders, seed)
    return app
