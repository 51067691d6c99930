"""One SP-API call: wait for the limiter, send with the LWA token, map failures to sync errors.

Every HTTP call of the adapter goes through `SpApi.send` (SP-API) or `SpApi.raw` (the presigned
S3 document URLs), each after `limiter.acquire(operation)`. Failures become the sync's errors:
429 -> Throttled; 5xx, timeouts, refused connections -> ChannelUnavailable; 401/403 ->
AuthenticationFailed; other 4xx -> ChannelRejected. Messages carry the operation and Amazon's
error code and message, never a token, a secret or a presigned URL (httpx's own log lines of
presigned URLs are redacted by `RedactPresigned`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from oms.channels.sync.domain.errors import (
    AuthenticationFailed,
    ChannelError,
    ChannelRejected,
    ChannelUnavailable,
    Throttled,
)
from oms.channels.sync.ports import RateLimiter

CHANNEL = "amazon"
SECRET_QUERY = re.compile(r"(X-Amz-(Signature|Credential|Security-Token)=)[^&\s\"']+", re.I)


class RedactPresigned(logging.Filter):
    """httpx logs each request's URL at INFO; a presigned URL's signature is a credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                SECRET_QUERY.sub(r"\1REDACTED", str(a)) if "X-Amz-" in str(a) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str) and "X-Amz-" in record.msg:
            record.msg = SECRET_QUERY.sub(r"\1REDACTED", record.msg)
        return True


def install_redaction() -> None:
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactPresigned) for f in target.filters):
            target.addFilter(RedactPresigned())


def _errors(response: httpx.Response) -> str:
    """Amazon's `{"errors": [{code, message}]}` as one line (no request echo, no token)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        parts = [
            f"{e.get('code', '?')}: {e.get('message', '')}".strip()
            for e in body["errors"]
            if isinstance(e, dict)
        ]
        return "; ".join(parts) or f"HTTP {response.status_code}"
    if isinstance(body, dict) and "error" in body:  # LWA (OAuth2)
        return str(body["error"])
    return f"HTTP {response.status_code}"


def failure(operation: str, response: httpx.Response) -> ChannelError:
    """The sync error for a non-2xx answer."""
    status = response.status_code
    said = f"{operation}: {_errors(response)}"
    if status == 429:
        retry_after = response.headers.get("Retry-After")  # not documented for SP-API [U]
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return Throttled(CHANNEL, said, retry_after=seconds)
    if status >= 500:
        return ChannelUnavailable(CHANNEL, said)
    if status in (401, 403):
        return AuthenticationFailed(CHANNEL, said)
    return ChannelRejected(CHANNEL, said)


def transport_failure(operation: str, exc: httpx.HTTPError) -> ChannelUnavailable:
    # The exception's text may hold a URL (a presigned one): name its kind only.
    return ChannelUnavailable(CHANNEL, f"{operation}: {type(exc).__name__}")


def json_of(operation: str, response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise ChannelUnavailable(CHANNEL, f"{operation}: the answer is not JSON") from None
    if not isinstance(body, dict):
        raise ChannelUnavailable(CHANNEL, f"{operation}: the answer is not a JSON object")
    return body


class TokenSource(Protocol):
    """What SpApi needs from auth.py's LoginWithAmazon (which itself sends through SpApi's
    failure mapping: a protocol here keeps the two modules from importing each other)."""

    def access_token(self) -> str: ...

    def forget(self) -> None: ...


class SpApi:
    def __init__(
        self,
        endpoint: str,
        client: httpx.Client,
        limiter: RateLimiter,
        tokens: TokenSource,
        user_agent: str,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.client = client
        self.limiter = limiter
        self.tokens = tokens
        self.user_agent = user_agent

    def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        token: str | None = None,
        accept: tuple[int, ...] = (),
    ) -> httpx.Response:
        """The answer when it is a success (2xx) or its status is in `accept`; otherwise the
        sync error for it.

        `token`: a Restricted Data Token for this call instead of the LWA access token.
        """
        access = token or self.tokens.access_token()
        self.limiter.acquire(operation)
        headers = {"x-amz-access-token": access, "user-agent": self.user_agent}
        try:
            response = self.client.request(
                method, f"{self.endpoint}{path}", params=params, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            raise transport_failure(operation, exc) from None
        if response.is_success or response.status_code in accept:
            return response
        if response.status_code == 403 and token is None:
            # Refused: fetch a new token next time, whatever the cause (a revoked
            # authorization is refused at the token endpoint too, and raised there).
            self.tokens.forget()
        raise failure(operation, response)

    def raw(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        """A presigned S3 URL: no SP-API headers, the exact Content-Type that was declared."""
        self.limiter.acquire(operation)
        headers = {"content-type": content_type} if content_type else {}
        try:
            response = self.client.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise transport_failure(operation, exc) from None
        if response.is_success:
            return response
        if response.status_code >= 500:
            raise ChannelUnavailable(CHANNEL, f"{operation}: HTTP {response.status_code}")
        # An expired or mis-signed URL: doing the whole feed again may succeed.
        raise ChannelUnavailable(
            CHANNEL, f"{operation}: document store refused HTTP {response.status_code}"
        )
