"""One path for every RMS call: wait for the rate limiter, send, and turn whatever comes back
that is not success into the sync's errors.

Rakuten answers in three families (contract section 2.2): the gateway's
`{"Results": {"errorCode", "message"}}`, the Inventory API's `{"errors": [{"code", "message",
"metadata"}]}`, and the Order API's `MessageModelList` (ERROR entries even on HTTP 200).
Throttling is 403 with `AccessLimit`/`QPSLimit` per the common definition, or 429 [U]: both
are Throttled. No message built here carries a header or a credential.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from oms.channels.adapters.rakuten.auth import EsaCredentials
from oms.channels.sync.domain.errors import (
    AuthenticationFailed,
    ChannelRejected,
    ChannelUnavailable,
    Throttled,
)
from oms.channels.sync.ports import RateLimiter

CHANNEL = "rakuten"
MAX_MESSAGE_CHARS = 300


@dataclass(frozen=True, slots=True)
class ErrorReading:
    """How to read Rakuten's refusals; the [U] parts of the contract are settings."""

    throttle_statuses: frozenset[int] = frozenset({429})
    # A 403 whose body says one of these is the rate limit, not a permission [U for JSON APIs].
    throttle_markers: tuple[str, ...] = ("AccessLimit", "QPSLimit", "QPMLimit", "ThreadLimit")
    auth_statuses: frozenset[int] = frozenset({401, 403})
    # Codes that mean the account must be fixed in RMS, whatever the status: ES04-01 (the API
    # function is not enabled for this license key), GE0011/CE0001 (common/auth errors).
    auth_codes: frozenset[str] = field(
        default_factory=lambda: frozenset({"ES04-01", "GE0011", "CE0001"})
    )


def channel_words(body: Any) -> tuple[list[str], str]:
    """The codes and a short message of a Rakuten error body, in any of the three families."""
    codes: list[str] = []
    texts: list[str] = []
    if isinstance(body, dict):
        results = body.get("Results")
        if isinstance(results, dict):
            codes.append(str(results.get("errorCode", "")))
            texts.append(str(results.get("message", "")))
        for error in body.get("errors") or []:
            if isinstance(error, dict):
                codes.append(str(error.get("code", "")))
                texts.append(str(error.get("message", "")))
        for entry in body.get("MessageModelList") or []:
            if isinstance(entry, dict) and entry.get("messageType") == "ERROR":
                codes.append(str(entry.get("messageCode", "")))
                texts.append(str(entry.get("message", "")))
    words = "; ".join(f"{c} {t}".strip() for c, t in zip(codes, texts, strict=True))
    return [c for c in codes if c], words[:MAX_MESSAGE_CHARS]


def order_api_errors(body: Any) -> list[dict[str, Any]]:
    """The ERROR entries of an Order API answer (they come even with HTTP 200)."""
    if not isinstance(body, dict):
        return []
    return [
        entry
        for entry in body.get("MessageModelList") or []
        if isinstance(entry, dict) and entry.get("messageType") == "ERROR"
    ]


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


class RmsClient:
    def __init__(
        self,
        endpoint: str,
        credentials: EsaCredentials,
        limiter: RateLimiter,
        http: httpx.Client,
        reading: ErrorReading,
        clock: Callable[[], datetime],
    ) -> None:
        self._base = endpoint.rstrip("/")
        self._credentials = credentials
        self._limiter = limiter
        self._http = http
        self._reading = reading
        self._clock = clock

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        body: Any = None,
        answered: Collection[int] = (),
    ) -> tuple[int, Any]:
        """(status, parsed body) of a successful call, or of one whose status is in `answered`
        (the caller reads those itself); every other outcome raises a sync error."""
        self._limiter.acquire(operation)
        try:
            response = self._http.request(
                method,
                f"{self._base}{path}",
                content=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
                headers=self._credentials.headers(),
            )
        except httpx.TimeoutException:
            raise ChannelUnavailable(CHANNEL, f"{operation}: no answer in time") from None
        except httpx.HTTPError as exc:  # refused connection, reset, protocol error
            raise ChannelUnavailable(CHANNEL, f"{operation}: {type(exc).__name__}") from None
        status, parsed = response.status_code, _body(response)
        if status < 400 or status in answered:
            return status, parsed
        self._raise(operation, response, parsed)
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise(self, operation: str, response: httpx.Response, parsed: Any) -> None:
        status, reading = response.status_code, self._reading
        codes, words = channel_words(parsed)
        said = f"{operation}: HTTP {status}" + (f" {words}" if words else "")
        raw = response.text[:MAX_MESSAGE_CHARS] if parsed is None else ""
        if status in reading.throttle_statuses or (
            status == 403 and any(m in words or m in raw for m in reading.throttle_markers)
        ):
            raise Throttled(CHANNEL, said, retry_after=self._retry_after(response))
        if status >= 500:
            raise ChannelUnavailable(CHANNEL, said)
        if status in reading.auth_statuses or reading.auth_codes.intersection(codes):
            raise AuthenticationFailed(CHANNEL, said)
        raise ChannelRejected(CHANNEL, said)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self._clock()).total_seconds())
