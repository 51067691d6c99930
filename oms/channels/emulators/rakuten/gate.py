"""What every RMS call passes before its function runs, in the gateway's order: pending faults,
the ESA authorization header, the function being enabled, then its rate limit.

Refusals at this level use the gateway's own family: `{"Results": {"errorCode", "message"}}`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import time
from typing import Any

from litestar import Request, Response
from litestar.di import NamedDependency

from oms.channels.emulators.rakuten.state import ShopState

# Handlers name the shop this way: Litestar injects the one `create_app` built.
Shop = NamedDependency[ShopState]


def json_response(body: Any, status: int) -> Response[bytes]:
    return Response(
        content=json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        media_type="application/json; charset=utf-8",
    )


def gateway_error(status: int, code: str, message: str) -> Response[bytes]:
    return json_response({"Results": {"errorCode": code, "message": message}}, status)


def credentials_match(header: str | None, shop: ShopState) -> bool:
    """`Authorization: ESA base64(serviceSecret:licenseKey)`, exactly; nothing else passes."""
    if header is None:
        return False
    scheme, _, token = header.partition(" ")
    if scheme != "ESA" or not token:
        return False
    try:
        decoded = base64.b64decode(token.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        return False
    expected = f"{shop.config.service_secret}:{shop.config.license_key}"
    return hmac.compare_digest(decoded.encode(), expected.encode())


async def admit(
    request: Request[Any, Any, Any], shop: ShopState, function: str
) -> Response[bytes] | None:
    """None: the call goes on to its function; else the answer that ends it."""
    config = shop.config
    shop.calls[function] += 1
    pending = shop.take_fault(function)
    fault = pending.fault if pending is not None else None
    if pending is not None and fault == "timeout":
        await asyncio.sleep(pending.seconds or config.timeout_seconds)
        return gateway_error(504, config.unavailable_error_code, "Gateway Timeout")
    if pending is not None and fault == "slow":
        await asyncio.sleep(pending.seconds or config.slow_seconds)
    if fault == "5xx":
        return gateway_error(
            config.unavailable_status, config.unavailable_error_code, "Service Unavailable"
        )
    if fault == "auth" or not credentials_match(request.headers.get("authorization"), shop):
        return gateway_error(config.auth_status, config.auth_error_code, config.auth_message)
    if function in config.disabled_functions:
        return gateway_error(config.disabled_status, "ES04-01", "Forbidden")
    if fault == "throttle" or not shop.admit(function, time.monotonic()):
        if fault != "throttle":
            shop.throttled[function] += 1
        return throttled(shop)
    return None


def throttled(shop: ShopState) -> Response[bytes]:
    config = shop.config
    answer = gateway_error(
        config.throttle_status, config.throttle_error_code, config.throttle_message
    )
    if config.throttle_retry_after is not None:
        answer.headers["Retry-After"] = str(config.throttle_retry_after)
    return answer


async def json_body(request: Request[Any, Any, Any]) -> Any:
    """The parsed body, or None when it is not JSON (each API answers that in its own family)."""
    raw = await request.body()
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
