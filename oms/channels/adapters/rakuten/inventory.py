"""Stock: Inventory API 2.0 `bulk-upsert` (<= 400 SKUs a call, 1 call a second) to push,
`bulk-get` (<= 1000, 5 a second) to check existence first and to read back.

Rakuten stores an upsert of an unknown manage number / variant id as an invisible orphan and
answers 204 all the same: without the check, a mistyped listing would look pushed forever.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from oms.channels.adapters.rakuten.client import CHANNEL, RmsClient, channel_words
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import (
    ListingRef,
    PushOutcome,
    PushStatus,
    QuantityUpdate,
    RemoteQuantity,
)

BULK_GET = "inventories.bulk.get"
BULK_UPSERT = "inventories.bulk.upsert"
INVENTORY_API = "/es/2.0/inventories"
MAX_BULK_GET = 1000
MAX_BULK_UPSERT = 400
MAX_QUANTITY = 99999
MAX_ID_BYTES = 32
MANAGE_NUMBER = re.compile(r"^[a-zA-Z0-9_-]+$")
PROPERTY_INDEX = re.compile(r"^inventories\[(\d+)\]")

Key = tuple[str, str]


def key_of(listing: ListingRef) -> Key | str:
    """(manage number, variant id) as Rakuten stores them, or why the listing cannot be one."""
    manage, variant = listing.remote_id, listing.remote_variant
    if not variant:
        return "a Rakuten listing needs a variant id (SKU管理番号)"
    if len(manage.encode()) > MAX_ID_BYTES or not MANAGE_NUMBER.match(manage):
        return "manageNumber must be 1-32 bytes of a-z, A-Z, 0-9, _ and -"
    if len(variant.encode()) > MAX_ID_BYTES:
        return "variantId must be at most 32 bytes"
    return manage.lower(), variant  # Rakuten lowers manage numbers; variant ids keep case


class InventoryClient:
    def __init__(self, client: RmsClient) -> None:
        self._client = client

    def existing(self, keys: Sequence[Key]) -> dict[Key, int]:
        """The quantity of each key Rakuten has registered; unknown keys are absent."""
        found: dict[Key, int] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), MAX_BULK_GET):
            chunk = unique[start : start + MAX_BULK_GET]
            body = {"inventories": [{"manageNumber": m, "variantId": v} for m, v in chunk]}
            status, answer = self._client.call(
                BULK_GET, "POST", f"{INVENTORY_API}/bulk-get", body, answered=(404,)
            )
            if status == 404:  # GE0014: none of them exists
                continue
            records = answer.get("inventories") if isinstance(answer, dict) else None
            for record in records or []:
                if isinstance(record, dict) and isinstance(record.get("quantity"), int):
                    key = (
                        str(record.get("manageNumber", "")).lower(),
                        str(record.get("variantId")),
                    )
                    found[key] = record["quantity"]
        return found

    def read(self, listings: Sequence[ListingRef]) -> list[RemoteQuantity]:
        keys = [key_of(listing) for listing in listings]
        found = self.existing([k for k in keys if isinstance(k, tuple)])
        return [
            RemoteQuantity(listing, found.get(k) if isinstance(k, tuple) else None)
            for listing, k in zip(listings, keys, strict=True)
        ]

    def push(self, updates: Sequence[QuantityUpdate]) -> list[PushOutcome]:
        outcomes: list[PushOutcome | None] = [None] * len(updates)
        # The newest number of each SKU; an older one in the same push is superseded, not sent.
        latest: dict[Key, int] = {}
        for i, update in enumerate(updates):
            key = key_of(update.listing)
            if isinstance(key, str):
                outcomes[i] = PushOutcome(update, PushStatus.REJECTED, key)
            elif update.quantity < 0:
                outcomes[i] = PushOutcome(update, PushStatus.REJECTED, "a negative quantity")
            else:
                kept = latest.get(key)
                if kept is None or updates[kept].version <= update.version:
                    if kept is not None:
                        outcomes[kept] = _superseded(updates[kept])
                    latest[key] = i
                else:
                    outcomes[i] = _superseded(update)
        known = self.existing(list(latest))
        to_send: list[tuple[Key, int]] = []
        for key, i in latest.items():
            if key in known:
                to_send.append((key, i))
            else:
                outcomes[i] = PushOutcome(
                    updates[i],
                    PushStatus.REJECTED,
                    f"Rakuten has no item {key[0]} / variant {key[1]}: an upsert would be "
                    "dropped silently (register the SKU in RMS, or fix the listing)",
                )
        for start in range(0, len(to_send), MAX_BULK_UPSERT):
            self._upsert(updates, to_send[start : start + MAX_BULK_UPSERT], outcomes)
        return [o for o in outcomes if o is not None]

    def _upsert(
        self,
        updates: Sequence[QuantityUpdate],
        chunk: list[tuple[Key, int]],
        outcomes: list[PushOutcome | None],
    ) -> None:
        body = {
            "inventories": [
                {
                    "manageNumber": manage,
                    "variantId": variant,
                    "mode": "ABSOLUTE",
                    # Rakuten shows at most 99,999: more than that is still "all it can show".
                    "quantity": min(updates[i].quantity, MAX_QUANTITY),
                }
                for (manage, variant), i in chunk
            ]
        }
        status, answer = self._client.call(
            BULK_UPSERT, "POST", f"{INVENTORY_API}/bulk-upsert", body, answered=(400,)
        )
        if status != 400:
            for _, i in chunk:
                outcomes[i] = PushOutcome(updates[i], PushStatus.ACCEPTED)
            return
        # One bad record refuses the whole call: that record is rejected, the others were not
        # written and go again.
        refused: dict[int, str] = {}
        for error in _errors(answer):
            path = str((error.get("metadata") or {}).get("propertyPath", ""))
            match = PROPERTY_INDEX.match(path)
            if match and int(match.group(1)) < len(chunk):
                index = int(match.group(1))
                said = f"{error.get('code')} {error.get('message')}".strip()
                refused[index] = f"{refused[index]}; {said}" if index in refused else said
        if not refused:
            _, words = channel_words(answer)
            raise ChannelRejected(CHANNEL, f"{BULK_UPSERT}: HTTP 400 {words}")
        for position, (_, i) in enumerate(chunk):
            if position in refused:
                outcomes[i] = PushOutcome(updates[i], PushStatus.REJECTED, refused[position])
            else:
                outcomes[i] = PushOutcome(
                    updates[i], PushStatus.RETRY, "not written: another SKU of the call was refused"
                )


def _errors(answer: Any) -> list[dict[str, Any]]:
    if not isinstance(answer, dict):
        return []
    return [e for e in answer.get("errors") or [] if isinstance(e, dict)]


def _superseded(update: QuantityUpdate) -> PushOutcome:
    return PushOutcome(
        update, PushStatus.ACCEPTED, "superseded by a newer number for the same SKU in this push"
    )
