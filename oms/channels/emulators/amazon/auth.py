"""Login with Amazon (the token exchange) and SP-API's token checks, as the channel does them.

LWA trades the seller's refresh token (with the application's client id and secret) for an
access token that lives `expires_in` seconds. SP-API ignores any `Authorization` header (no
SigV4 since 2023-10-02) and checks `x-amz-access-token` only: missing, unknown or expired is
403 `Unauthorized`. A Restricted Data Token (Tokens API) opens the PII of the resources it names,
and nothing else.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from oms.channels.emulators.amazon.protocol import ApiError, invalid, parse_body
from oms.channels.emulators.amazon.state import AmazonWorld

DENIED = "Access to requested resource is denied."
RDT_PREFIX = "Atz.sprdt|"
RESTRICTED_PATHS = (
    # The v0 operations an RDT may open, and the data elements each may carry [V] [A-M6].
    re.compile(r"^/orders/v0/orders$"),
    re.compile(r"^/orders/v0/orders/[^/]+$"),
    re.compile(r"^/orders/v0/orders/[^/]+/(orderItems|address|buyerInfo)$"),
    re.compile(r"^/orders/v0/orders/[^/]+/orderItems/buyerInfo$"),
)
DATA_ELEMENTS = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})


class LwaError(Exception):
    """An OAuth2 error answer of the LWA endpoint [U: shape]."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def exchange(world: AmazonWorld, content_type: str, raw: bytes) -> dict[str, Any]:
    """POST token_url, form-encoded: grant_type=refresh_token with the three credentials."""
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise LwaError(400, "invalid_request", "Content-Type must be form-urlencoded.")
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    grant = form.get("grant_type")
    if grant != "refresh_token":
        # client_credentials (grantless) serves Notifications only; nothing here needs it.
        raise LwaError(400, "unsupported_grant_type", "Only grant_type=refresh_token is served.")
    for name in ("refresh_token", "client_id", "client_secret"):
        if not form.get(name):
            raise LwaError(400, "invalid_request", f"The request is missing {name}.")
    settings = world.settings
    if form["client_id"] != settings.client_id or form["client_secret"] != settings.client_secret:
        raise LwaError(401, "invalid_client", "Client authentication failed.")
    if form["refresh_token"] != settings.refresh_token:
        raise LwaError(400, "invalid_grant", "The request has an invalid grant parameter.")
    seconds = settings.access_token_seconds
    token = world.issue_token("Atza|", seconds, None)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": seconds,
        "refresh_token": settings.refresh_token,
    }


def authorize(world: AmazonWorld, token: str | None, method: str, path: str) -> bool:
    """Check the call's token; True when it is an RDT covering this resource (PII allowed)."""
    issued = world.tokens.get(token or "")
    if issued is None or issued.expires <= world.now():
        raise ApiError(403, "Unauthorized", DENIED, "The access token is missing or has expired.")
    if issued.restricted is None:
        return False
    for resource in issued.restricted:
        if resource["method"] == method and _matches(resource["path"], path):
            return True
    raise ApiError(403, "Unauthorized", DENIED, "The restricted data token does not cover this.")


def _matches(granted: str, path: str) -> bool:
    if granted == path:
        return True
    pattern = re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(granted))  # {orderId} templates
    return re.fullmatch(pattern, path) is not None


def restricted_data_token(world: AmazonWorld, raw: bytes) -> dict[str, Any]:
    """POST /tokens/2021-03-01/restrictedDataToken: an RDT for up to 50 restricted resources."""
    body = parse_body(raw, "tokens_2021-03-01.json", "createRestrictedDataToken")
    resources = body["restrictedResources"]
    if not 1 <= len(resources) <= 50:
        raise invalid("restrictedResources must hold 1 to 50 resources.")
    for resource in resources:
        template = re.sub(r"\{[^/]+\}", "X", resource["path"])
        if not any(p.fullmatch(template) for p in RESTRICTED_PATHS):
            raise invalid(f"{resource['path']} is not a restricted resource.")
        unknown = set(resource.get("dataElements", [])) - DATA_ELEMENTS
        if unknown:
            raise invalid(f"Unknown dataElements: {', '.join(sorted(unknown))}.")
    token = world.issue_token(RDT_PREFIX, 3600, resources)
    return {"restrictedDataToken": token, "expiresIn": 3600}
