"""How oms proves itself to the storefront, and how the storefront proves itself to oms.

Outgoing: every Admin call carries `X-Shopify-Access-Token` (contract 3.1): either a permanent
`shpat_` token of a legacy custom app (none can be created since 2026-01-01), or one obtained by
the client credentials grant of a Dev Dashboard app, valid about 24 hours ([U] the exact
`expires_in`): requested when needed, re-requested before it expires and once when the API
refuses it (a rotated secret, a revoked token). Incoming: an
`orders/create` webhook is genuine when `X-Shopify-Hmac-Sha256` equals
base64(HMAC-SHA256(webhook secret, raw body)), compared in constant time (contract 3.4). Neither
secret ever appears in a repr, a message or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from oms.channels.sync.domain.errors import (
    AuthenticationFailed,
    ChannelUnavailable,
    Throttled,
)

CHANNEL = "storefront"

TOKEN_HEADER = "X-Shopify-Access-Token"  # noqa: S105 - a header name
HMAC_HEADER = "x-shopify-hmac-sha256"


class TokenSource(Protocol):
    def headers(self) -> dict[str, str]: ...

    def refused(self) -> bool:
        """The API refused the token: True when a new one may be worth a retry."""
        ...


class AccessToken:
    """A permanent token: refused means refused."""

    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: self._token}

    def refused(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "AccessToken(********)"


class ClientCredentials:
    """Tokens by `POST https://{shop}/admin/oauth/access_token` with grant_type
    client_credentials, cached until `EXPIRY_MARGIN` seconds before they expire."""

    EXPIRY_MARGIN = 300.0

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        client: httpx.Client,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url, self._client_id, self._secret = token_url, client_id, client_secret
        self._client, self._monotonic = client, monotonic
        self._token: str | None = None
        self._expires_at = 0.0
        self.grants = 0

    @classmethod
    def for_endpoint(
        cls, endpoint: str, client_id: str, client_secret: str, client: httpx.Client
    ) -> ClientCredentials:
        parts = urlsplit(endpoint)
        token_url = f"{parts.scheme}://{parts.netloc}/admin/oauth/access_token"
        return cls(token_url, client_id, client_secret, client)

    def headers(self) -> dict[str, str]:
        if self._token is None or self._monotonic() >= self._expires_at:
            self._grant()
        return {TOKEN_HEADER: str(self._token)}

    def refused(self) -> bool:
        self._token = None  # the next call asks for a new one
        return True

    def _grant(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret,
        }
        try:
            answer = self._client.post(self._url, data=form)
        except httpx.HTTPError as error:
            raise ChannelUnavailable(CHANNEL, f"access token: {type(error).__name__}") from None
        if answer.status_code >= 500:
            raise ChannelUnavailable(CHANNEL, f"access token: HTTP {answer.status_code}")
        if answer.status_code == 429:
            raise Throttled(CHANNEL, "access token: HTTP 429")
        try:
            body = answer.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 0))
        except (ValueError, KeyError, TypeError, AttributeError):
            body, token, lifetime = None, "", 0.0
        if answer.status_code >= 400 or not token:
            # the grant's own error code only: the body may echo what was sent
            code = body.get("error") if isinstance(body, dict) else None
            raise AuthenticationFailed(
                CHANNEL, f"access token refused: HTTP {answer.status_code} {code or ''}".strip()
            )
        self._token = token
        self._expires_at = self._monotonic() + max(lifetime - self.EXPIRY_MARGIN, 0.0)
        self.grants += 1

    def __repr__(self) -> str:
        return f"ClientCredentials({self._client_id!r}, ********)"


class WebhookRefused(Exception):
    """The delivery is not from the storefront (bad or missing signature) or is unreadable:
    answer 401 (signature) or 400 and change nothing."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (the contract says to treat names so)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_webhook(raw_body: bytes, headers: Mapping[str, str], secret: str) -> None:
    """Raise WebhookRefused unless the body is signed with `secret`."""
    given = header(headers, HMAC_HEADER)
    if not given or not secret:
        raise WebhookRefused("missing X-Shopify-Hmac-Sha256")
    digest = base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest())
    if not hmac.compare_digest(digest, given.strip().encode()):
        raise WebhookRefused("the HMAC does not match the body")
