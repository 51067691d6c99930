"""Feeds API 2021-06-30 with JSON_LISTINGS_FEED, and the presigned "S3" URLs it hands out.

createFeedDocument gives a URL that takes one PUT, with the same Content-Type, for 5 minutes;
createFeed names the uploaded document; the feed waits IN_QUEUE, is IN_PROGRESS, and is DONE
`feed_processing_seconds` after its creation (FATAL if the document is not a listings feed),
when its messages are applied and its processing report (schema v2) is written as a result
document. Fault "feed_partial" makes every second message of the next feeds fail with a passing
error (`partial_issue_code` [U]); an unknown SKU fails with `unknown_sku_issue_code` [U].
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

from oms.channels.emulators.amazon.listings import apply, quantity_issues
from oms.channels.emulators.amazon.protocol import (
    ApiError,
    Call,
    feed_validator,
    invalid,
    not_found,
    parse_body,
)
from oms.channels.emulators.amazon.state import AmazonWorld, Document, Feed, iso

MODEL = "feeds_2021-06-30.json"
LISTINGS_FEED = "JSON_LISTINGS_FEED"


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.xml = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error>"
        ).encode()


def _presign(world: AmazonWorld, document: Document, base_url: str) -> str:
    document.url_token = secrets.token_urlsafe(24)
    document.url_expires = world.now() + timedelta(seconds=world.settings.presigned_url_seconds)
    return (
        f"{base_url}/_s3/feed-documents/{document.document_id}"
        f"?X-Amz-Expires={int(world.settings.presigned_url_seconds)}"
        f"&X-Amz-Signature={document.url_token}"
    )


def create_feed_document(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    body = parse_body(call.body, MODEL, "createFeedDocument")
    document_id = f"amzn1.tortuga.4.fe.{secrets.token_hex(12)}"
    document = Document(document_id, body["contentType"], "", world.now())
    world.documents[document_id] = document
    return 201, {"feedDocumentId": document_id, "url": _presign(world, document, call.base_url)}


def _signed(world: AmazonWorld, document_id: str, signature: str | None) -> Document:
    document = world.documents.get(document_id)
    if document is None or not signature or signature != document.url_token:
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature does not match.")
    if document.url_expires <= world.now():
        raise S3Error(403, "AccessDenied", "Request has expired")
    return document


def upload(
    world: AmazonWorld, document_id: str, signature: str | None, content_type: str, raw: bytes
) -> None:
    """PUT to the presigned URL: the declared Content-Type, or S3 refuses the signature."""
    document = _signed(world, document_id, signature)
    if content_type.replace(" ", "").lower() != document.content_type.replace(" ", "").lower():
        raise S3Error(403, "SignatureDoesNotMatch", "Content-Type differs from the signed one.")
    document.content = raw


def download(world: AmazonWorld, document_id: str, signature: str | None) -> tuple[bytes, str]:
    document = _signed(world, document_id, signature)
    if document.content is None:
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
    return document.content, document.content_type


def create_feed(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    body = parse_body(call.body, MODEL, "createFeed")
    document = world.documents.get(body["inputFeedDocumentId"])
    if document is None or document.content is None:
        raise invalid("inputFeedDocumentId: no uploaded document has this id.")
    if world.settings.marketplace_id not in body["marketplaceIds"]:
        raise invalid("marketplaceIds: not a marketplace of this seller.")
    # JSON_LISTINGS_FEED has its own limit beside createFeed's: 5 feeds per 5 minutes.
    if body["feedType"] == LISTINGS_FEED and not world.admit("createFeed:JSON_LISTINGS_FEED"):
        raise ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
    partial = world.partial_feeds > 0
    world.partial_feeds -= int(partial)
    feed_id = str(50_000_000_000 + world.serial())
    world.feeds[feed_id] = Feed(
        feed_id,
        body["feedType"],
        body["marketplaceIds"],
        document.document_id,
        world.precise_now(),
        partial,
    )
    return 202, {"feedId": feed_id}


def _status(world: AmazonWorld, feed: Feed) -> str:
    if feed.cancelled:
        return "CANCELLED"
    elapsed = (world.precise_now() - feed.created_at).total_seconds()
    seconds = world.settings.feed_processing_seconds
    if elapsed < seconds / 3:
        return "IN_QUEUE"
    if elapsed < seconds:
        return "IN_PROGRESS"
    if feed.result_document_id is None:
        process(world, feed)
    return "FATAL" if feed.fatal else "DONE"


def process(world: AmazonWorld, feed: Feed) -> None:
    """Apply the feed's messages and write its processing report (schema v2)."""
    raw = world.documents[feed.document_id].content or b""
    issues: list[dict[str, Any]] = []
    accepted = invalid_count = 0
    try:
        document = json.loads(raw)
        errors = list(feed_validator().iter_errors(document))
    except ValueError:
        document, errors = None, []
    fatal = feed.feed_type != LISTINGS_FEED or document is None
    per_message: dict[int, str] = {}
    for error in errors:
        path = list(error.absolute_path)
        if len(path) >= 2 and path[0] == "messages" and isinstance(path[1], int):
            per_message.setdefault(path[1], error.message)
        else:
            fatal = True
    messages = [] if fatal or document is None else document["messages"]
    for index, message in enumerate(messages):
        issue = _message_issues(world, feed, index, message, per_message.get(index))
        if issue:
            issues.extend(issue)
            invalid_count += 1
        else:
            accepted += 1
    feed.fatal = fatal
    if fatal:
        issues = [{"code": "FATAL", "severity": "ERROR", "message": "The feed could not be read."}]
    report = {
        "header": {"sellerId": world.settings.seller_id, "version": "2.0", "feedId": feed.feed_id},
        "issues": issues,
        "summary": {
            "errors": len(issues),
            "warnings": 0,
            "messagesProcessed": len(messages),
            "messagesAccepted": accepted,
            "messagesInvalid": invalid_count,
        },
    }
    result_id = f"amzn1.tortuga.4.fe.{secrets.token_hex(12)}"
    content = json.dumps(report, ensure_ascii=False).encode()
    world.documents[result_id] = Document(result_id, "application/json", "", world.now(), content)
    feed.result_document_id = result_id


def _message_issues(
    world: AmazonWorld, feed: Feed, index: int, message: dict[str, Any], schema_error: str | None
) -> list[dict[str, Any]]:
    message_id, sku = message.get("messageId"), str(message.get("sku", ""))

    def issue(code: str, text: str) -> list[dict[str, Any]]:
        return [
            {
                "messageId": message_id,
                "sku": sku,
                "code": code,
                "severity": "ERROR",
                "message": text,
            }
        ]

    if schema_error:
        return issue("4000005", schema_error)
    if feed.partial and index % 2 == 1:
        return issue(world.settings.partial_issue_code, "An internal error occurred; resubmit.")
    operation = message["operationType"]
    if operation == "DELETE":
        return []
    patches = message.get("patches", [])
    if operation in ("UPDATE", "PARTIAL_UPDATE"):
        attributes = message.get("attributes", {})
        patches = [
            {"op": "merge", "path": f"/attributes/{name}", "value": value}
            for name, value in attributes.items()
        ]
    listing = world.listings.get(sku)
    found, quantity = quantity_issues(world, listing, sku, message["productType"], patches)
    if found:
        return issue(found[0]["code"], found[0]["message"])
    if listing is not None and quantity is not None:
        apply(world, listing, quantity)
    return []


def process_due(world: AmazonWorld) -> None:
    """Feeds finish on time whether or not anyone asks (the listings change when they do)."""
    for feed in world.feeds.values():
        if feed.result_document_id is None and not feed.cancelled:
            _status(world, feed)


def _feed(world: AmazonWorld, call: Call) -> Feed:
    feed = world.feeds.get(call.params["feedId"])
    if feed is None:
        raise not_found(f"Feed {call.params['feedId']} was not found.")
    return feed


def get_feed(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    feed = _feed(world, call)
    status = _status(world, feed)
    body: dict[str, Any] = {
        "feedId": feed.feed_id,
        "feedType": feed.feed_type,
        "marketplaceIds": feed.marketplace_ids,
        "createdTime": iso(feed.created_at),
        "processingStatus": status,
    }
    if status not in ("IN_QUEUE", "CANCELLED"):
        body["processingStartTime"] = iso(feed.created_at)
    if status in ("DONE", "FATAL"):
        body["processingEndTime"] = iso(world.now())
        body["resultFeedDocumentId"] = feed.result_document_id
    return 200, body


def cancel_feed(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    feed = _feed(world, call)
    if _status(world, feed) != "IN_QUEUE":
        raise invalid("Only a feed IN_QUEUE can be cancelled.")
    feed.cancelled = True
    return 200, None


def get_feed_document(world: AmazonWorld, call: Call) -> tuple[int, Any]:
    document = world.documents.get(call.params["feedDocumentId"])
    if document is None or document.content is None:
        raise not_found(f"Document {call.params['feedDocumentId']} was not found.")
    url = _presign(world, document, call.base_url)
    return 200, {"feedDocumentId": document.document_id, "url": url}
