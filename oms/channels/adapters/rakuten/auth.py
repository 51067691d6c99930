"""The ESA authorization every RMS call carries: `ESA base64(serviceSecret:licenseKey)`.

The license key expires every 90 days and is re-issued in RMS; a refused header is a person's
job to fix (AuthenticationFailed), never retried.
"""

from __future__ import annotations

import base64


class EsaCredentials:
    """Holds the header value; its repr shows nothing of it (it may end up in a log line)."""

    __slots__ = ("_header",)

    def __init__(self, service_secret: str, license_key: str) -> None:
        token = base64.b64encode(f"{service_secret}:{license_key}".encode()).decode("ascii")
        self._header = f"ESA {token}"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": self._header,
            "Content-Type": "application/json; charset=utf-8",
        }

    def __repr__(self) -> str:
        return "EsaCredentials(********)"
