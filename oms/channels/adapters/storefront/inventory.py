"""Quantities: `inventorySetQuantities` with `changeFromQuantity`, and the inventory levels read.

Compare-and-set (contract 3.3): each quantity says what oms believes the storefront holds now
(what it last told it, else what it just read); `changeFromQuantity` is mandatory from 2026-04.
A stale compare means units moved on the storefront since: almost always an order it took that
oms has not ingested yet. Setting oms's number regardless would hand those units back for sale,
so the adapter re-reads and retries once with the number lowered by what left meanwhile (never
raised: the next push, after the order is ingested, sets the exact number). The call is
all-or-nothing, so SKUs the storefront refuses are taken out and the rest sent again.
Every call carries `@idempotent(key:)`, derived from its content and the numbers' versions: a
retry of the same push after a timeout cannot apply twice, a later push is never mistaken for it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from oms.channels.adapters.storefront.auth import CHANNEL
from oms.channels.adapters.storefront.transport import AdminGraphQL
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import (
    ListingRef,
    PushOutcome,
    PushStatus,
    QuantityUpdate,
    RemoteQuantity,
)

MAX_ITEMS = 250  # array arguments (contract 3.2)
MUTATION_COST = 10
KEY_NAMESPACE = uuid.UUID("6c0f4a52-3b8e-4f0b-9d55-5e3d3f1b2a61")
STALE = "CHANGE_FROM_QUANTITY_STALE"

SET_QUANTITIES = """
mutation SetStock($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: "%s") {
    inventoryAdjustmentGroup { createdAt }
    userErrors { code field message }
  }
}
"""

READ_LEVELS = """
query InventoryLevels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    id
    ... on InventoryItem {
      inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } }
    }
  }
}
"""


class StorefrontInventory:
    def __init__(self, graphql: AdminGraphQL, location_id: str, reason: str = "correction") -> None:
        self._graphql, self._location, self._reason = graphql, location_id, reason
        # inventory item -> what the storefront held when oms last told or read it
        self._known: dict[str, int] = {}

    def read(self, item_ids: Sequence[str]) -> dict[str, int | None]:
        """Available quantity at the connection's location; None: not known there."""
        # A malformed id fails the whole query on Shopify ("Invalid global id"): keep it out.
        found: dict[str, int | None] = {i: None for i in item_ids if not is_inventory_item(i)}
        unique = [i for i in dict.fromkeys(item_ids) if i not in found]
        for start in range(0, len(unique), MAX_ITEMS):
            chunk = unique[start : start + MAX_ITEMS]
            data = self._graphql.call(
                "InventoryLevels",
                READ_LEVELS,
                {"ids": chunk, "locationId": self._location},
                estimate=1 + 3 * len(chunk),
            )
            nodes = data.get("nodes")
            if not isinstance(nodes, list) or len(nodes) != len(chunk):
                raise ChannelRejected(CHANNEL, "InventoryLevels: nodes do not match the ids")
            for item_id, node in zip(chunk, nodes, strict=True):
                found[item_id] = _available(node)
                quantity = found[item_id]
                if quantity is None:
                    self._known.pop(item_id, None)
                else:
                    self._known[item_id] = quantity
        return found

    def remote_quantities(self, listings: Sequence[ListingRef]) -> list[RemoteQuantity]:
        read = self.read([listing.remote_id for listing in listings])
        return [RemoteQuantity(listing, read[listing.remote_id]) for listing in listings]

    def push(self, updates: Sequence[QuantityUpdate]) -> list[PushOutcome]:
        outcomes: dict[int, PushOutcome] = {}
        latest: dict[str, int] = {}  # one quantity per item and call: the newest version wins
        for i, update in enumerate(updates):
            item = update.listing.remote_id
            if item in latest and updates[latest[item]].version > update.version:
                outcomes[i] = PushOutcome(update, PushStatus.ACCEPTED, "superseded in this batch")
                continue
            if item in latest:
                older = latest[item]
                outcomes[older] = PushOutcome(
                    updates[older], PushStatus.ACCEPTED, "superseded in this batch"
                )
            latest[item] = i
        pending = list(latest.values())
        unread = [
            updates[i].listing.remote_id
            for i in pending
            if updates[i].listing.remote_id not in self._known
        ]
        if unread:
            self.read(unread)
        targets: dict[int, int] = {}
        for i in list(pending):
            if updates[i].listing.remote_id not in self._known:
                outcomes[i] = _rejected(updates[i], "the storefront does not stock this item here")
                pending.remove(i)
            else:
                targets[i] = updates[i].quantity
        for attempt in (1, 2):
            if not pending:
                break
            errors = self._set(updates, pending, targets)
            if not errors:
                for i in pending:
                    self._known[updates[i].listing.remote_id] = targets[i]
                    lowered = updates[i].quantity - targets[i]
                    note = (
                        f"lowered by {lowered} for units the storefront sold" if lowered else None
                    )
                    outcomes[i] = PushOutcome(updates[i], PushStatus.ACCEPTED, note)
                pending = []
                break
            stale = [i for i, (code, _) in errors.items() if code == STALE]
            for i, (code, message) in errors.items():
                if code != STALE:
                    outcomes[i] = _rejected(updates[i], f"{code}: {message}")
                    pending.remove(i)
            if attempt == 1 and stale:
                self._rebase(updates, stale, targets)
            elif attempt == 2:
                for i in pending:
                    why = "changed on the storefront meanwhile" if i in stale else "not applied"
                    outcomes[i] = PushOutcome(updates[i], PushStatus.RETRY, why)
        return [outcomes[i] for i in range(len(updates))]

    def _rebase(
        self, updates: Sequence[QuantityUpdate], stale: list[int], targets: dict[int, int]
    ) -> None:
        """Re-read the stale items; lower each target by what left the storefront since."""
        told = {i: self._known.get(updates[i].listing.remote_id) for i in stale}
        self.read([updates[i].listing.remote_id for i in stale])
        for i in stale:
            now = self._known.get(updates[i].listing.remote_id)
            before = told[i]
            if now is not None and before is not None and now < before:
                targets[i] = max(0, targets[i] - (before - now))

    def _set(
        self, updates: Sequence[QuantityUpdate], pending: list[int], targets: dict[int, int]
    ) -> dict[int, tuple[str, str]]:
        """Send one call; the userErrors by update index (empty: every quantity applied)."""
        quantities = [
            {
                "inventoryItemId": updates[i].listing.remote_id,
                "locationId": self._location,
                "quantity": targets[i],
                "changeFromQuantity": self._known.get(updates[i].listing.remote_id),
            }
            for i in pending
        ]
        versions = [updates[i].version for i in pending]
        key = uuid.uuid5(KEY_NAMESPACE, json.dumps([quantities, versions], sort_keys=True))
        variables = {
            "input": {
                "name": "available",
                "reason": self._reason,
                "referenceDocumentUri": f"gid://oms/ChannelPush/{key}",
                "quantities": quantities,
            }
        }
        data = self._graphql.call(
            "SetStock", SET_QUANTITIES % key, variables, estimate=MUTATION_COST
        )
        payload = data.get("inventorySetQuantities")
        if not isinstance(payload, dict):
            raise ChannelRejected(CHANNEL, "SetStock: no inventorySetQuantities in the answer")
        found: dict[int, tuple[str, str]] = {}
        for error in payload.get("userErrors") or []:
            index = _quantity_index(error)
            code = str(error.get("code") or "ERROR")
            message = str(error.get("message") or "")
            if index is None or not 0 <= index < len(pending):
                # an error about the call, not one SKU: nothing was applied, nothing to blame
                raise ChannelRejected(CHANNEL, f"SetStock: {code}: {message}")
            found[pending[index]] = (code, message)
        return found


def is_inventory_item(remote_id: str) -> bool:
    return re.fullmatch(r"gid://shopify/InventoryItem/\d+", remote_id) is not None


def _quantity_index(error: Any) -> int | None:
    field = error.get("field") if isinstance(error, dict) else None
    if isinstance(field, list) and len(field) >= 3 and field[:2] == ["input", "quantities"]:
        try:
            return int(field[2])
        except (TypeError, ValueError):
            return None
    return None


def _available(node: Any) -> int | None:
    if not isinstance(node, dict):
        return None
    level = node.get("inventoryLevel")
    if not isinstance(level, dict):
        return None
    for quantity in level.get("quantities") or []:
        if isinstance(quantity, dict) and quantity.get("name") == "available":
            value = quantity.get("quantity")
            return value if isinstance(value, int) else None
    return None


def _rejected(update: QuantityUpdate, message: str) -> PushOutcome:
    return PushOutcome(update, PushStatus.REJECTED, message)
