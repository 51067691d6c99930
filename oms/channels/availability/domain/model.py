"""Channel availability: the number each channel is told for one SKU or bundle, and why.

Pure and versioned (`PIPELINE_VERSION`): the same stock and rules always give the same numbers
and the same trace. A change to the precedence below is a new version, so a published number
can always be explained by the rules that produced it.

Precedence, applied per channel:

1. **Physical**: available (`on_hand - reserved - quarantined`) at each location feeding the
   channel; a negative figure counts as 0. A channel only ever sees its feeding locations.
2. **Safety stock** per location (resolved per (SKU, location), else the location's default),
   floor 0 per location: stores keep units for walk-in customers.
3. **Exclusions**: SKU excluded, an attribute value excluded (e.g. category ``outlet``), or the
   location excluded from the channel -> 0 from there.
4. **Ring-fenced pools**: channels are served in code order; each pool takes units from its
   channel's eligible locations, those seen by the fewest other channels first, then by code.
   Taken units leave the shared stock, so no other channel sees them. A pool larger than what
   is left shrinks to what is left (later channels shrink first) and the trace says so.
   A pool's quantity here is what it holds now: its channel's reservations draw it down.
   The same allocation says where stock may be taken (`ring_fenced_units`): a reservation
   for one channel leaves what the other channels' pools hold.
5. **Buffer** (units, plus ceil(velocity x push latency) when ``auto_buffer``) off the channel's
   *shared* part, floor 0; then an optional **share**: floor(shared x percent / 100).
   The channel's own pool is exempt from both: it is already reserved for that channel.
6. **Cap**: at most N (pool included).
7. **Publish**: floor at 0, whole units.

The pool order depends on configuration only, never on quantities: ordering by "most sellable
first" would let a receipt at one location move a pool onto another channel's location and
lower that channel's number. With this order, adding stock never lowers any number.

Bundles have no stock: per location, bundle units = min over components of
floor(component sellable there / quantity), where a component's sellable for a channel is what
steps 1-4 leave it (its own pool units plus the shared remainder). With ``ship_together`` the
bundle total is the sum of those per-location figures; without it, components may ship from
different locations: min over components of floor(total sellable / quantity). A bundle is
excluded where the bundle itself or any of its component SKUs is excluded. Then the channel's
buffer, share and cap (steps 5-7) apply to the bundle itself.

Worked example (``tests/unit/test_channel_availability.py`` checks it). SKU ``TEE-001``:
DC has 10 available, STORE-1 has 4 with safety stock 3, FBA has 6.

- ``amazon`` feeds DC and FBA, buffer 2.
- ``rakuten`` feeds DC, buffer 1, share 50 %, pool of 4.
- ``storefront`` feeds DC and STORE-1, auto buffer at 0.2 units/min x 10 min, cap 4.

Sellable after safety stock: DC 10, STORE-1 1, FBA 6. Rakuten's pool takes 4 from DC (its only
location), leaving DC 6 shared. amazon: 6 + 6 = 12, less buffer 2 -> **10**. rakuten: pool 4
+ floor((6 - 1) x 50 / 100) = 4 + 2 -> **6**. storefront: 6 + 1 = 7, less the auto buffer
ceil(0.2 x 10) = 2 -> 5, capped -> **4**.

Modules, each pure (the stdlib and `oms.shared` only); import from here, not from them:
`oms.channels.availability.domain.policy` (inputs and their validation),
`oms.channels.availability.domain.allocation` (the numbers),
`oms.channels.availability.domain.explain` (the trace), `oms.channels.availability.domain.pipeline`
(one SKU) and
`oms.channels.availability.domain.bundles` (bundles).
"""

from __future__ import annotations

from oms.channels.availability.domain.bundles import compute_bundle_availability
from oms.channels.availability.domain.explain import LocationTrace, TraceStep
from oms.channels.availability.domain.pipeline import (
    PIPELINE_VERSION,
    ChannelAvailability,
    compute_availability,
    ring_fenced_units,
)
from oms.channels.availability.domain.policy import (
    ChannelPolicy,
    LocationStock,
    Pool,
    resolve_buffer_units,
    resolve_safety_stock,
    validate_cap,
    validate_non_negative,
    validate_rate,
    validate_share_percent,
)

__all__ = [
    "PIPELINE_VERSION",
    "ChannelAvailability",
    "ChannelPolicy",
    "LocationStock",
    "LocationTrace",
    "Pool",
    "TraceStep",
    "compute_availability",
    "compute_bundle_availability",
    "resolve_buffer_units",
    "resolve_safety_stock",
    "ring_fenced_units",
    "validate_cap",
    "validate_non_negative",
    "validate_rate",
    "validate_share_percent",
]
