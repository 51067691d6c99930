"""Listings Items API 2021-08-01: patchListingsItem, getListingsItem, searchListingsItems.

A PATCH answers 200 whether or not it was taken: `status` says (ACCEPTED, INVALID, or VALID for
`mode=VALIDATION_PREVIEW`), with issues. An accepted quantity is applied `listing_apply_seconds`
later (Amazon applies them asynchronously). The patch must name the listing's product type
(`strict_product_type` [U]); `merge` needs the `fulfillment_channel_code` selector [V]. A GET of a
listing the seller does not have is 404; `fulfillmentAvailability` is camelCase there [V].
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from oms.channels.emulators.amazon.protocol import (
    ApiError,
    Call,
    check_query,
    invalid,
    not_found,
    parse_body,
)
from oms.channels.emulators.amazon.state import AmazonWorld, Listing, iso

MODEL = "listingsItems_2021-08-01.json"
AVAILABILITY = "/attributes/fulfillment_availability"


def _issue(code: str, message: str, attribute: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "categories": ["INVALID_ATTRIBUTE"],
    }
    if attribute:
        issue["attributeNames"] = [attribute]
    return issue


def _seller_and_market(world: AmazonWorld, call: Call, operation: str) -> None:
    check_query(MODEL, operation, call.query)
    if call.params["sellerId"] != world.settings.seller_id:
        raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
    if world.settings.marketplace_id not in call.query["marketplaceIds"].split(","):
        raise invalid("marketplaceIds: not a marketplace of this seller.")


def quantity_issues(
    world: AmazonWorld, listing: Listing | None, sku: str, product_type: str, patches: list[Any]
) -> tuple[list[dict[str, Any]], int | None]:
    """What is wrong with these patches for this listing, and the quantity they set.

    Shared by the PATCH and by JSON_LISTINGS_FEED messages, which carry the same patches.
    """
    if listing is None:
        code = world.settings.unknown_sku_issue_code
        return [_issue(code, f"SKU '{sku}' does not match any listing of this seller.")], None
    if world.settings.strict_product_type and product_type != listing.product_type:
        message = f"The product type '{product_type}' does not match the listing's."
        return [_issue("4000001", message)], None
    quantity: int | None = None
    for patch in patches:
        path = patch.get("path", "")
        if path.count("/") != 2 or not path.startswith("/attributes/"):
            return [_issue("4000002", f"Only top-level attributes can be patched: {path}")], None
        if path != AVAILABILITY:
            continue  # other attributes: accepted, not modelled here
        if patch["op"] == "delete":
            continue
        values = patch.get("value") or []
        for value in values:
            code = value.get("fulfillment_channel_code")
            if not code:
                message = "fulfillment_channel_code is required to select the entry to merge."
                return [_issue("4000003", message, "fulfillment_availability")], None
            amount = value.get("quantity")
            if code == "DEFAULT" and amount is not None:
                if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                    message = "quantity must be a non-negative integer."
                    return [_issue("4000004", message, "fulfillment_availability")], None
                quantity = amount
    return [], quantity


def patch_listings_item(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    _seller_and_market(world, call, "patchListingsItem")
    body = parse_body(call.body, MODEL, "patchListingsItem")
    sku = call.params["sku"]
    listing = world.listings.get(sku)
    issues, quantity = quantity_issues(world, listing, sku, body["productType"], body["patches"])
    preview = call.query.get("mode") == "VALIDATION_PREVIEW"
    status = "INVALID" if issues else ("VALID" if preview else "ACCEPTED")
    if status == "ACCEPTED" and listing is not None and quantity is not None:
        apply(world, listing, quantity)
    answer = {"sku": sku, "status": status, "submissionId": str(uuid.uuid4()), "issues": issues}
    return 200, answer


def apply(world: AmazonWorld, listing: Listing, quantity: int) -> None:
    delay = world.settings.listing_apply_seconds
    if delay <= 0 and not listing.pending:
        listing.quantity = quantity
    else:
        listing.pending.append((world.precise_now() + timedelta(seconds=delay), quantity))


def get_listings_item(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    _seller_and_market(world, call, "getListingsItem")
    sku = call.params["sku"]
    listing = world.listings.get(sku)
    if listing is None:
        raise not_found(f"SKU '{sku}' not found in marketplace {world.settings.marketplace_id}.")
    included = set(call.query.get("includedData", "summaries").split(","))
    return 200, _item(world, listing, included)


def search_listings_items(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    """GET .../items/{sellerId}: here by `identifiers` (up to 20) of `identifiersType=SKU`."""
    _seller_and_market(world, call, "searchListingsItems")
    query = call.query
    if ("identifiers" in query) != ("identifiersType" in query):
        raise invalid("identifiers and identifiersType go together.")
    if "identifiers" in query and query["identifiersType"] != "SKU":
        raise invalid("Only identifiersType=SKU is served by this emulator.")
    wanted = query["identifiers"].split(",") if "identifiers" in query else None
    size = int(query.get("pageSize", "10"))
    if size < 1:
        raise invalid("pageSize must be at least 1.")
    found = sorted(
        (x for x in world.listings.values() if wanted is None or x.sku in wanted),
        key=lambda x: x.sku,
    )
    start = 0
    if "pageToken" in query:
        if not query["pageToken"].isdigit():
            raise invalid("Invalid pageToken.")
        start = int(query["pageToken"])
    included = set(query.get("includedData", "summaries").split(","))
    page = found[start : start + size]
    body: dict[str, Any] = {
        "numberOfResults": len(found),
        "items": [_item(world, listing, included) for listing in page],
    }
    if start + size < len(found):
        body["pagination"] = {"nextToken": str(start + size)}
    return 200, body


def _item(world: AmazonWorld, listing: Listing, included: set[str]) -> dict[str, Any]:
    world.settle(listing)
    sku = listing.sku
    market = world.settings.marketplace_id
    body: dict[str, Any] = {"sku": sku}
    if "summaries" in included:
        body["summaries"] = [
            {
                "marketplaceId": market,
                "asin": listing.asin,
                "productType": listing.product_type,
                "status": ["BUYABLE", "DISCOVERABLE"],
                "createdDate": iso(world.now()),
                "lastUpdatedDate": iso(world.now()),
            }
        ]
    if "productTypes" in included:
        body["productTypes"] = [{"marketplaceId": market, "productType": listing.product_type}]
    if "fulfillmentAvailability" in included:
        body["fulfillmentAvailability"] = (
            []
            if listing.quantity is None
            else [{"fulfillmentChannelCode": "DEFAULT", "quantity": listing.quantity}]
        )
    if "issues" in included:
        body["issues"] = []
    return body
