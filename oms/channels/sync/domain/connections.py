"""How oms reaches a channel: its endpoint and credentials, by kind.

Base URLs are configuration, so a connection can point at the real API, a sandbox or the
emulators (`oms emulate ...`). Secrets are fields named in `SECRETS`: stored encrypted, never
logged, and returned masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar

from oms.channels.sync.domain.model import Carrier, ChannelKind


@dataclass(frozen=True, slots=True)
class AmazonConnection:
    endpoint: str  # e.g. https://sellingpartnerapi-fe.amazon.com (Japan: the Far East region)
    token_url: str  # LWA: https://api.amazon.com/auth/o2/token
    client_id: str
    client_secret: str = field(repr=False)  # a secret: never in a repr or a log line
    refresh_token: str = field(repr=False)  # a secret: never in a repr or a log line
    seller_id: str
    marketplace_id: str  # Japan: A1VC38T7YXB528
    orders_api: str = "v0"  # "v0" | "2026-01-01" (v0 retires 2027-03-27)
    # oms carrier -> Amazon carrierCode; a carrier missing here is sent as Other + carrierName.
    carrier_codes: tuple[tuple[Carrier, str], ...] = (
        (Carrier.YAMATO, "Yamato Transport"),
        (Carrier.SAGAWA, "Sagawa Express"),
        (Carrier.JAPAN_POST, "Japan Post"),
    )

    kind: ClassVar[ChannelKind] = ChannelKind.AMAZON
    SECRETS: ClassVar[frozenset[str]] = frozenset({"client_secret", "refresh_token"})


@dataclass(frozen=True, slots=True)
class RakutenConnection:
    endpoint: str  # e.g. https://api.rms.rakuten.co.jp
    service_secret: str = field(repr=False)  # a secret: never in a repr or a log line
    license_key: str = field(repr=False)  # a secret: never in a repr or a log line
    # oms carrier -> Rakuten deliveryCompany code.
    carrier_codes: tuple[tuple[Carrier, str], ...] = (
        (Carrier.YAMATO, "1001"),
        (Carrier.SAGAWA, "1002"),
        (Carrier.JAPAN_POST, "1003"),
        (Carrier.OTHER, "1000"),
    )

    kind: ClassVar[ChannelKind] = ChannelKind.RAKUTEN
    SECRETS: ClassVar[frozenset[str]] = frozenset({"service_secret", "license_key"})


@dataclass(frozen=True, slots=True)
class StorefrontConnection:
    endpoint: (
        str  # the Admin GraphQL URL: https://{shop}.myshopify.com/admin/api/2025-07/graphql.json
    )
    access_token: str = field(repr=False)  # a secret: never in a repr or a log line
    webhook_secret: str = field(repr=False)  # a secret: never in a repr or a log line
    location_id: str  # gid://shopify/Location/...

    kind: ClassVar[ChannelKind] = ChannelKind.STOREFRONT
    SECRETS: ClassVar[frozenset[str]] = frozenset({"access_token", "webhook_secret"})


Connection = AmazonConnection | RakutenConnection | StorefrontConnection


def masked(connection: Connection) -> dict[str, object]:
    """The connection as it may be shown: every secret replaced by a fixed mask."""
    shown: dict[str, object] = {}
    for f in fields(connection):
        value = getattr(connection, f.name)
        shown[f.name] = "********" if f.name in connection.SECRETS and value else value
    return shown
