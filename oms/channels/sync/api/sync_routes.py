"""HTTP API of the sync: how each channel stands, the failures a person can retry, and the
storefront's order webhook.

The webhook is outside `/v1` and its API keys: the storefront signs each delivery (HMAC-SHA256
of the raw body with the connection's webhook secret) and the adapter verifies that before
anything is read. A forged delivery is a 401 and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.types import ExceptionHandlersMap
from pydantic import BaseModel

from oms.access import Role
from oms.channels.sync.domain.errors import ChannelError, WebhookRefused
from oms.channels.sync.ports import SyncFailure
from oms.channels.sync.services.status import ChannelSyncStatus, SyncStatusService
from oms.channels.sync.services.webhooks import WebhookService
from oms.http import READ_PROBLEMS, WRITE_PROBLEMS, Cursor, Id, PageResponse, problem

Status = NamedDependency[SyncStatusService]
Webhooks = NamedDependency[WebhookService]

ADMIN_WRITES: dict[str, Any] = {"roles": frozenset({Role.ADMIN})}
FailureLimit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size, 1 to 500.")]


class CallUsageResponse(BaseModel):
    operation: str
    used: int
    allowed: int
    window_seconds: int


class ChannelSyncStatusResponse(BaseModel):
    channel: str
    kind: str
    active: bool
    connected: bool
    push: bool
    pull_orders: bool
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_reconcile_at: datetime | None
    queue_depth: int
    lag_seconds: float
    pushed: int
    pulled: int
    throttled: int
    failures: int
    latency_p95_seconds: int | None
    last_error: str | None
    calls: list[CallUsageResponse]

    @classmethod
    def of(cls, s: ChannelSyncStatus) -> ChannelSyncStatusResponse:
        return cls(
            channel=s.channel,
            kind=s.kind,
            active=s.active,
            connected=s.connected,
            push=s.push,
            pull_orders=s.pull_orders,
            last_push_at=s.last_push_at,
            last_pull_at=s.last_pull_at,
            last_reconcile_at=s.last_reconcile_at,
            queue_depth=s.queue_depth,
            lag_seconds=round(s.lag_seconds, 3),
            pushed=s.pushed,
            pulled=s.pulled,
            throttled=s.throttled,
            failures=s.failures,
            latency_p95_seconds=s.latency_p95_seconds,
            last_error=s.last_error,
            calls=[
                CallUsageResponse(
                    operation=c.operation,
                    used=c.used,
                    allowed=c.allowed,
                    window_seconds=c.window_seconds,
                )
                for c in s.calls
            ],
        )


class SyncFailureResponse(BaseModel):
    id: int
    channel: str
    operation: str
    subject: str
    message: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, f: SyncFailure) -> SyncFailureResponse:
        return cls(
            id=f.id,
            channel=f.channel,
            operation=f.operation,
            subject=f.subject,
            message=f.message,
            attempts=f.attempts,
            created_at=f.created_at,
            updated_at=f.updated_at,
            resolved_at=f.resolved_at,
        )


class SyncController(Controller):
    path = "/sync"
    tags = ("sync",)

    @get("/status", sync_to_thread=True, responses=READ_PROBLEMS)
    def status(
        self, sync_status: Status, channel: FromQuery[str | None] = None
    ) -> list[ChannelSyncStatusResponse]:
        """Per channel: last push and pull, the changes waiting (`queue_depth`) and the age of
        the oldest (`lag_seconds`), calls used of the limit in its current window, throttled
        calls, open failures and the measured push latency."""
        return [ChannelSyncStatusResponse.of(s) for s in sync_status.status(channel)]

    @get("/failures", sync_to_thread=True, responses=READ_PROBLEMS)
    def failures(
        self,
        sync_status: Status,
        channel: FromQuery[str | None] = None,
        include_resolved: FromQuery[bool] = False,
        cursor: Cursor = None,
        limit: FailureLimit = 100,
    ) -> PageResponse[SyncFailureResponse]:
        """Work the sync could not do: a SKU the channel refused, an order it could not take,
        a shipment it could not confirm. Open ones only unless `include_resolved`."""
        rows, next_cursor = sync_status.failures(
            channel, include_resolved=include_resolved, cursor=cursor, limit=limit
        )
        return PageResponse(
            items=[SyncFailureResponse.of(f) for f in rows], next_cursor=next_cursor
        )

    @post(
        "/failures/{failure_id:int}/retry",
        opt=ADMIN_WRITES,
        sync_to_thread=True,
        responses=WRITE_PROBLEMS,
        status_code=200,
    )
    def retry(self, failure_id: FromPath[Id], sync_status: Status) -> SyncFailureResponse:
        """Do the work again now. Resolved when it succeeds; otherwise it stays open with one
        more attempt and the channel's latest words (a channel that does not answer: 503)."""
        try:
            return SyncFailureResponse.of(sync_status.retry(failure_id))
        except ChannelError as error:
            raise _ChannelDown(error) from error


class _ChannelDown(Exception):
    def __init__(self, error: ChannelError) -> None:
        super().__init__(str(error))
        self.error = error


def channel_down(_: Request[Any, Any, Any], exc: _ChannelDown) -> Response[dict[str, Any]]:
    return problem(
        503 if exc.error.retryable else 502,
        "Channel did not take it",
        f"{exc.error.channel}: {exc.error.message}",
        headers={"Retry-After": "30"} if exc.error.retryable else None,
    )


class WebhookController(Controller):
    path = "/webhooks"
    tags = ("webhooks",)

    @post("/{code:str}/orders", status_code=200, responses=WRITE_PROBLEMS)
    async def order_webhook(
        self, code: FromPath[str], request: Request[Any, Any, Any], webhooks: Webhooks
    ) -> Response[dict[str, Any]]:
        """The storefront's `orders/create` delivery. Verified by its HMAC signature
        (`X-Shopify-Hmac-Sha256`), deduplicated by `X-Shopify-Webhook-Id`; the order is taken
        like a pulled one. 401: not signed by the storefront, nothing changed."""
        raw = await request.body()
        headers = dict(request.headers.items())
        return await _receive(webhooks, code, raw, headers)


async def _receive(
    webhooks: WebhookService, code: str, raw: bytes, headers: dict[str, str]
) -> Response[dict[str, Any]]:
    try:
        outcome = await sync_to_thread(webhooks.receive_order, code, raw, headers)
    except WebhookRefused as refused:
        return problem(refused.status, "Webhook refused", refused.reason)
    except ChannelError as error:
        # The storefront delivers again after a 5xx.
        return problem(503, "Channel did not answer", f"{error.channel}: {error.message}")
    taken = outcome.report.taken if outcome.report is not None else 0
    return Response(
        {"delivery_id": outcome.delivery_id, "duplicate": outcome.duplicate, "taken": taken}
    )


CONTROLLERS = [SyncController]
WEBHOOKS = [WebhookController]
EXCEPTION_HANDLERS: ExceptionHandlersMap = {_ChannelDown: channel_down}
