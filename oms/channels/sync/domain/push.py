"""What to tell a channel: the latest number of each listed SKU that it was not told yet.

Coalescing is the changes feed's own: it holds one row per (channel, SKU), the latest, so k
changes between two passes are one update. A number the channel already shows (told the same
quantity under an older version) costs no call: only its version is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from oms.channels.sync.domain.model import ListingRef, QuantityUpdate


@dataclass(frozen=True, slots=True)
class Number:
    """A channel's number for a SKU as oms computed it, and when it changed."""

    sku: str
    quantity: int
    version: int
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class LastTold:
    quantity: int
    version: int


@dataclass(frozen=True, slots=True)
class PushPlan:
    updates: list[QuantityUpdate]  # to send, in SKU order
    unchanged: list[Number]  # newer versions of what the channel already shows: no call
    unlisted: int  # numbers of SKUs not listed on the channel: never pushed


def plan_push(
    numbers: Iterable[Number],
    listed: Mapping[str, ListingRef],
    told: Mapping[str, LastTold],
    *,
    full: bool = False,
) -> PushPlan:
    """`full`: every listed number is sent, whatever the channel was told (a full push, or a
    reconciliation's fix)."""
    updates: list[QuantityUpdate] = []
    unchanged: list[Number] = []
    unlisted = 0
    for number in sorted(numbers, key=lambda n: n.sku):
        ref = listed.get(number.sku)
        if ref is None:
            unlisted += 1
            continue
        last = told.get(number.sku)
        if not full and last is not None:
            if last.version >= number.version:
                continue  # told already (a pass that crashed before moving its cursor)
            if last.quantity == number.quantity:
                unchanged.append(number)
                continue
        updates.append(QuantityUpdate(ref, number.quantity, number.version))
    return PushPlan(updates, unchanged, unlisted)


def batches(updates: Sequence[QuantityUpdate], size: int) -> list[Sequence[QuantityUpdate]]:
    if size < 1:
        raise ValueError("a push batch holds at least one update")
    return [updates[i : i + size] for i in range(0, len(updates), size)]


def p95(samples: Sequence[float]) -> float | None:
    """The 95th percentile (nearest rank) of `samples`, None when there are none."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
