"""Request and response bodies of the channel sync API. Pydantic lives here, at the edge only.

A connection's body is checked by the service, by the channel's kind (its fields differ per
kind); these models state its shape for the OpenAPI and carry what the service answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from oms.channels.sync.domain.connection_input import (
    MAX_PULL_INTERVAL,
    MIN_PULL_INTERVAL,
    ORDERS_APIS,
)
from oms.channels.sync.ports import Listing
from oms.channels.sync.services.connections import ConnectionView
from oms.channels.sync.services.listings import ListingsImport
from oms.http_models import RequestBody

RemoteId = Annotated[str, Field(min_length=1, max_length=200)]

CONNECTION_DESCRIPTION = f"""The channel's connection; its fields depend on the channel's kind:
- `amazon`: `endpoint`, `token_url`, `client_id`, `client_secret`*, `refresh_token`*,
  `seller_id`, `marketplace_id`, `orders_api` ({" or ".join(ORDERS_APIS)}, default v0),
  `carrier_codes` (optional: oms carrier -> Amazon carrierCode);
- `rakuten`: `endpoint`, `service_secret`*, `license_key`*, `carrier_codes` (optional);
- `storefront`: `endpoint` (the Admin GraphQL URL), `access_token`*, `webhook_secret`*,
  `location_id`.

Every kind: `push`, `pull_orders` (default true), `pull_interval_seconds`
({MIN_PULL_INTERVAL} to {MAX_PULL_INTERVAL}, default 60). URLs are http(s) with a host.
Secrets (*) are stored encrypted and shown as `********`; a secret left out or sent as
`********` keeps the stored one, so a GET body edited and PUT back keeps them. `channel`,
`kind` and `updated_at` may be sent back as shown. Any other field is refused, named."""


class ConnectionResponse(BaseModel):
    """The connection with every secret masked (`********`), plus the kind's own fields."""

    model_config = ConfigDict(extra="allow")

    channel: str
    kind: str
    endpoint: str
    push: bool
    pull_orders: bool
    pull_interval_seconds: int
    updated_at: datetime

    @classmethod
    def of(cls, view: ConnectionView) -> ConnectionResponse:
        return cls.model_validate(view.as_document())


class SetListingRequest(RequestBody):
    remote_id: RemoteId = Field(
        description="Amazon: the seller SKU (<= 40); Rakuten: the manage number (商品管理番号); "
        "storefront: the inventory item id (gid://shopify/InventoryItem/<digits> or digits)"
    )
    remote_variant: RemoteId | None = Field(
        default=None, description="Rakuten: the variant id (SKU管理番号), required; else empty"
    )


class ListingResponse(BaseModel):
    sku: str
    remote_id: str
    remote_variant: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, listing: Listing) -> ListingResponse:
        return cls(
            sku=listing.sku,
            remote_id=listing.ref.remote_id,
            remote_variant=listing.ref.remote_variant,
            created_at=listing.created_at,
            updated_at=listing.updated_at,
        )


class ListingsImportResponse(BaseModel):
    created: int = Field(description="SKUs listed that were not")
    updated: int = Field(description="Listings whose channel item changed")
    unchanged: int = Field(description="Rows that were already the listing")

    @classmethod
    def of(cls, outcome: ListingsImport) -> ListingsImportResponse:
        return cls(created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged)
