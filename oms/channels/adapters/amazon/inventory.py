"""Pushing and reading quantities: patchListingsItem per SKU, or one JSON_LISTINGS_FEED.

A patch is `merge` on `/attributes/fulfillment_availability` (only the quantity of the
`DEFAULT` entry changes; restock date and handling time stay) and is answered at once, per SKU.
A feed carries up to 25,000 such patches but takes minutes (createFeedDocument -> upload ->
createFeed -> getFeed until DONE -> the processing report); it is used when patching them at
patchListingsItem's 5/s would take longer (`AmazonSettings.feed_from`). Per-SKU errors of the
report become per-SKU outcomes: REJECTED, or RETRY for the passing ones.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from oms.channels.adapters.amazon.http import CHANNEL, SpApi, json_of
from oms.channels.adapters.amazon.settings import AmazonSettings
from oms.channels.sync.domain.connections import AmazonConnection
from oms.channels.sync.domain.errors import (
    AuthenticationFailed,
    ChannelError,
    ChannelRejected,
    ChannelUnavailable,
)
from oms.channels.sync.domain.model import (
    ChannelLimits,
    ListingRef,
    PushOutcome,
    PushStatus,
    QuantityUpdate,
    RemoteQuantity,
)

AVAILABILITY = "/attributes/fulfillment_availability"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
UNKNOWN = "the channel does not know this listing"
INCLUDED = "fulfillmentAvailability,productTypes"
SEARCH_PAGE = 20  # searchListingsItems: at most 20 identifiers, 20 a page [V]


class Inventory:
    def __init__(
        self,
        api: SpApi,
        connection: AmazonConnection,
        settings: AmazonSettings,
        limits: ChannelLimits,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self._api = api
        self._connection = connection
        self._settings = settings
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._product_types: dict[str, str] = {}

    # -- reading -------------------------------------------------------------------------------
    def _learn(self, item: dict[str, Any]) -> None:
        for entry in item.get("productTypes") or []:
            if entry.get("marketplaceId") == self._connection.marketplace_id:
                self._product_types[str(item["sku"])] = str(entry["productType"])

    def _get(self, sku: str) -> dict[str, Any] | None:
        path = f"/listings/2021-08-01/items/{self._connection.seller_id}/{quote(sku, safe='')}"
        params = {"marketplaceIds": self._connection.marketplace_id, "includedData": INCLUDED}
        answer = self._api.send("getListingsItem", "GET", path, params=params, accept=(404,))
        if answer.status_code == 404:
            return None
        return json_of("getListingsItem", answer)

    def _listings(self, skus: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The listings among `skus` the channel has, by SKU: 20 a call by searchListingsItems
        (getListingsItem would take one call each); a SKU with a comma, which the csv of
        `identifiers` cannot carry, by getListingsItem."""
        found: dict[str, dict[str, Any]] = {}
        plain = sorted({sku for sku in skus if "," not in sku})
        path = f"/listings/2021-08-01/items/{self._connection.seller_id}"
        for start in range(0, len(plain), SEARCH_PAGE):
            params = {
                "marketplaceIds": self._connection.marketplace_id,
                "identifiers": ",".join(plain[start : start + SEARCH_PAGE]),
                "identifiersType": "SKU",
                "includedData": INCLUDED,
                "pageSize": str(SEARCH_PAGE),
            }
            answer = self._api.send("searchListingsItems", "GET", path, params=params)
            for item in json_of("searchListingsItems", answer).get("items") or []:
                found[str(item.get("sku"))] = item
        for sku in {sku for sku in skus if "," in sku}:
            item = self._get(sku)
            if item is not None:
                found[sku] = item
        for item in found.values():
            self._learn(item)
        return found

    def remote_quantities(self, listings: Sequence[ListingRef]) -> list[RemoteQuantity]:
        found = self._listings([listing.remote_id for listing in listings])
        code = self._settings.fulfillment_channel_code
        read = []
        for listing in listings:
            item = found.get(listing.remote_id)
            quantity: int | None = None
            if item is not None:
                quantity = next(
                    (
                        int(entry.get("quantity") or 0)
                        for entry in item.get("fulfillmentAvailability") or []
                        if entry.get("fulfillmentChannelCode") == code
                    ),
                    0,  # known, but no stock of ours set: nothing sellable
                )
            read.append(RemoteQuantity(listing, quantity))
        return read

    def _product_types_of(self, skus: Sequence[str]) -> dict[str, str]:
        """Each known listing's product type (a patch must name it); a SKU missing from the
        answer is a listing the channel does not have."""
        if self._settings.product_type is not None:
            return dict.fromkeys(skus, self._settings.product_type)
        missing = [sku for sku in skus if sku not in self._product_types]
        if missing:
            self._listings(missing)
        return {sku: self._product_types[sku] for sku in skus if sku in self._product_types}

    # -- pushing -------------------------------------------------------------------------------
    def push(self, updates: Sequence[QuantityUpdate]) -> list[PushOutcome]:
        if len(updates) > self._limits.max_push_batch:
            raise ChannelRejected(CHANNEL, f"at most {self._limits.max_push_batch} updates a push")
        # The same SKU twice in one push: only its newest number goes out.
        newest: dict[str, QuantityUpdate] = {}
        for update in updates:
            held = newest.get(update.listing.remote_id)
            if held is None or update.version >= held.version:
                newest[update.listing.remote_id] = update
        outcomes: dict[int, PushOutcome] = {}
        sending: list[QuantityUpdate] = []
        queued: set[int] = set()
        for index, update in enumerate(updates):
            if update.quantity < 0:
                outcomes[index] = PushOutcome(update, PushStatus.REJECTED, "negative quantity")
            elif newest[update.listing.remote_id] is not update:
                said = "superseded by a newer number in the same push"
                outcomes[index] = PushOutcome(update, PushStatus.ACCEPTED, said)
            elif id(update) not in queued:
                queued.add(id(update))
                sending.append(update)
        types = self._product_types_of([u.listing.remote_id for u in sending])
        known = [(u, types[u.listing.remote_id]) for u in sending if u.listing.remote_id in types]
        sent = [
            PushOutcome(u, PushStatus.REJECTED, UNKNOWN)
            for u in sending
            if u.listing.remote_id not in types
        ]
        if known:
            by_feed = len(known) >= self._settings.feed_from(self._limits)
            sent += self._by_feed(known) if by_feed else self._by_patch(known)
        done = {id(outcome.update): outcome for outcome in sent}
        return [outcomes.get(i) or done[id(update)] for i, update in enumerate(updates)]

    def _patches(self, quantity: int) -> list[dict[str, Any]]:
        value = [
            {
                "fulfillment_channel_code": self._settings.fulfillment_channel_code,
                "quantity": quantity,
            }
        ]
        return [{"op": "merge", "path": AVAILABILITY, "value": value}]

    def _by_patch(self, updates: Sequence[tuple[QuantityUpdate, str]]) -> list[PushOutcome]:
        outcomes: list[PushOutcome] = []
        for update, product_type in updates:
            try:
                outcomes.append(self._patch(update, product_type))
            except AuthenticationFailed:
                raise
            except ChannelError as error:
                if not error.retryable:
                    outcomes.append(PushOutcome(update, PushStatus.REJECTED, error.message))
                    continue
                if not outcomes:
                    raise  # nothing went out: the whole push waits and retries
                # Some went out: keep their outcomes; the rest is pushed again later.
                rest = updates[len(outcomes) :]
                outcomes.extend(PushOutcome(u, PushStatus.RETRY, error.message) for u, _ in rest)
                return outcomes
        return outcomes

    def _patch(self, update: QuantityUpdate, product_type: str) -> PushOutcome:
        sku = update.listing.remote_id
        path = f"/listings/2021-08-01/items/{self._connection.seller_id}/{quote(sku, safe='')}"
        body = {"productType": product_type, "patches": self._patches(update.quantity)}
        params = {"marketplaceIds": self._connection.marketplace_id}
        answer = json_of(
            "patchListingsItem",
            self._api.send("patchListingsItem", "PATCH", path, params=params, json=body),
        )
        if answer.get("status") == "ACCEPTED":
            return PushOutcome(update, PushStatus.ACCEPTED)
        issues = [i for i in answer.get("issues") or [] if i.get("severity") == "ERROR"]
        return self._refused(update, issues or [{"message": f"status {answer.get('status')}"}])

    def _refused(self, update: QuantityUpdate, issues: list[dict[str, Any]]) -> PushOutcome:
        said = "; ".join(f"{i.get('code', '?')}: {i.get('message', '')}" for i in issues)
        retry = all(str(i.get("code")) in self._settings.retryable_issue_codes for i in issues)
        return PushOutcome(update, PushStatus.RETRY if retry else PushStatus.REJECTED, said)

    def _by_feed(self, messages: list[tuple[QuantityUpdate, str]]) -> list[PushOutcome]:
        return self._report_outcomes(messages, self._submit_feed(messages))

    def _submit_feed(self, messages: list[tuple[QuantityUpdate, str]]) -> dict[str, Any] | str:
        """The processing report, or the terminal status when there is none (FATAL, CANCELLED)."""
        document = {
            "header": {
                "sellerId": self._connection.seller_id,
                "version": "2.0",
                "issueLocale": "en_US",
            },
            "messages": [
                {
                    "messageId": n,
                    "sku": update.listing.remote_id,
                    "operationType": "PATCH",
                    "productType": product_type,
                    "patches": self._patches(update.quantity),
                }
                for n, (update, product_type) in enumerate(messages, start=1)
            ],
        }
        created = json_of(
            "createFeedDocument",
            self._api.send(
                "createFeedDocument",
                "POST",
                "/feeds/2021-06-30/documents",
                json={"contentType": FEED_CONTENT_TYPE},
            ),
        )
        content = json.dumps(document, ensure_ascii=False).encode()
        self._api.raw(
            "feedDocumentUpload",
            "PUT",
            str(created["url"]),
            content=content,
            content_type=FEED_CONTENT_TYPE,
        )
        spec = {
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [self._connection.marketplace_id],
            "inputFeedDocumentId": created["feedDocumentId"],
        }
        # Its own limit (5 feeds in 5 minutes) and createFeed's both apply.
        self._api.limiter.acquire("createFeed:JSON_LISTINGS_FEED")
        feed = json_of(
            "createFeed",
            self._api.send("createFeed", "POST", "/feeds/2021-06-30/feeds", json=spec),
        )
        status = self._await_feed(str(feed["feedId"]))
        if status["processingStatus"] != "DONE":
            return str(status["processingStatus"])
        return self._report(str(status["resultFeedDocumentId"]))

    def _await_feed(self, feed_id: str) -> dict[str, Any]:
        deadline = self._clock() + self._settings.feed_max_wait
        # A small feed is often done in seconds: ask after `feed_poll_first`, then twice as
        # long each time up to `feed_poll_interval` (getFeed allows 2 a second; these are few).
        pause = min(self._settings.feed_poll_first, self._settings.feed_poll_interval)
        while True:
            self._sleep(pause.total_seconds())
            pause = min(pause * 2, self._settings.feed_poll_interval)
            status = json_of(
                "getFeed", self._api.send("getFeed", "GET", f"/feeds/2021-06-30/feeds/{feed_id}")
            )
            if status.get("processingStatus") in ("DONE", "FATAL", "CANCELLED"):
                return status
            if self._clock() >= deadline:
                raise ChannelUnavailable(CHANNEL, f"getFeed: feed {feed_id} not done in time")

    def _report(self, document_id: str) -> dict[str, Any]:
        path = f"/feeds/2021-06-30/documents/{document_id}"
        where = json_of("getFeedDocument", self._api.send("getFeedDocument", "GET", path))
        raw = self._api.raw("feedDocumentDownload", "GET", str(where["url"])).content
        if where.get("compressionAlgorithm") == "GZIP":
            raw = gzip.decompress(raw)
        try:
            report = json.loads(raw)
        except ValueError:
            raise ChannelUnavailable(CHANNEL, "the processing report is not JSON") from None
        if not isinstance(report, dict):
            raise ChannelUnavailable(CHANNEL, "the processing report is not a JSON object")
        return report

    def _report_outcomes(
        self, messages: list[tuple[QuantityUpdate, str]], report: dict[str, Any] | str
    ) -> list[PushOutcome]:
        if isinstance(report, str):  # FATAL or CANCELLED: nothing was applied
            return [PushOutcome(u, PushStatus.RETRY, f"feed {report}") for u, _ in messages]
        by_message: dict[int, list[dict[str, Any]]] = {}
        for issue in report.get("issues") or []:
            if issue.get("severity") == "ERROR" and isinstance(issue.get("messageId"), int):
                by_message.setdefault(issue["messageId"], []).append(issue)
        outcomes = []
        for n, (update, _) in enumerate(messages, start=1):
            issues = by_message.get(n)
            outcomes.append(
                self._refused(update, issues)
                if issues
                else PushOutcome(update, PushStatus.ACCEPTED)
            )
        return outcomes
