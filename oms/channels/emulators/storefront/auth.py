"""Authentication as the Admin API does it (contract 3.1).

Every Admin call carries `X-Shopify-Access-Token`; a missing or unknown token is HTTP 401 (the
body text is Shopify's well-known REST wording, [U] for GraphQL). Tokens are either the shop's
permanent `shpat_` tokens (`ShopRules.access_tokens`) or ones issued by the client credentials
grant, which expire after `token_lifetime_seconds` ([U] the exact `expires_in`).
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from litestar import Request, Response, post
from litestar.di import NamedDependency

from oms.channels.emulators.storefront.state import Shop

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 - an error text


def refused() -> Response[dict[str, object]]:
    return Response({"errors": INVALID_TOKEN}, status_code=401)


def authenticated(shop: Shop, request: Request[Any, Any, Any]) -> bool:
    token = request.headers.get("x-shopify-access-token")
    return bool(token) and shop.token_is_valid(str(token))


@post("/admin/oauth/access_token", status_code=200)
async def client_credentials_grant(
    request: Request[Any, Any, Any], shop: NamedDependency[Shop]
) -> Response[dict[str, object]]:
    """`grant_type=client_credentials&client_id=...&client_secret=...` (form or JSON)."""
    raw = await request.body()
    form: dict[str, object]
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            parsed = None
        form = parsed if isinstance(parsed, dict) else {}
    else:
        form = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return Response(
            {"error": "unsupported_grant_type", "error_description": "grant_type"}, status_code=400
        )
    client_ok = secrets.compare_digest(str(form.get("client_id", "")), shop.rules.client_id)
    secret_ok = secrets.compare_digest(str(form.get("client_secret", "")), shop.rules.client_secret)
    if not (client_ok and secret_ok):
        return Response(
            {"error": "invalid_client", "error_description": "Client authentication failed"},
            status_code=401,
        )
    token = "shpat_" + secrets.token_hex(16)
    shop.issue_token(token)
    shop.calls["access_token"] += 1
    return Response(
        {
            "access_token": token,
            "scope": "read_orders,write_inventory,write_fulfillments",
            "expires_in": shop.rules.token_lifetime_seconds,
        },
        status_code=200,
    )
