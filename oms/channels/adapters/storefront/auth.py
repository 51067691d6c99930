"""How oms proves itself to the storefront, and how the storefront proves itself to oms.

Outgoing: every Admin call carries `X-Shopify-Access-Token` (contract 3.1). Incoming: an
`orders/create` webhook is genuine when `X-Shopify-Hmac-Sha256` equals
base64(HMAC-SHA256(webhook secret, raw body)), compared in constant time (contract 3.4). Neither
secret ever appears in a repr, a message or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

TOKEN_HEADER = "X-Shopify-Access-Token"  # noqa: S105 - a header name
HMAC_HEADER = "x-shopify-hmac-sha256"


class AccessToken:
    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: self._token}

    def __repr__(self) -> str:
        return "AccessToken(********)"


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
