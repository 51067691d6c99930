"""Ring-fenced pools held where stock is taken, not only where numbers are published.

A pool holds units of a SKU for one channel, and no other channel sees them. The published
numbers have always obeyed that; this module makes reservations obey it too, because a number
is always a little stale when an order arrives (that is why buffers exist):

- **Others' pools are left alone.** A reservation for a channel (or for no channel) may take
  at each location only `available - ring_fenced`, where `ring_fenced` is what the other
  channels' pools hold there, as step 4 of the availability pipeline allocates them
  (`oms.channels.availability.domain.allocation.ring_fenced`): one allocation for the numbers
  told and for the stock taken, never a twin. Sourcing plans on the same figure
  (`held_back`), and the reservation checks it again under its row locks (`claim`).
- **Own orders draw from their pool first.** The units a channel reserves come out of its own
  pool as far as it holds any (`pool_draw`); only the rest is shared stock. The pool is drawn
  down (`channel_pools.drawn`) and each draw is recorded against its reservation, so a release
  (a cancelled order, a re-sourced parcel) holds the units for the channel again. Setting a
  pool starts it afresh. A pool is a quantity promised to the channel, wherever its units are
  taken from; the pipeline places it at locations only to hide it from the others.

Why a computed fence rather than a standing reservation in the pool's name: the stock levels,
the ledger, `verify`, the explain trace and every other channel's number stay what they are,
a pool that a stock loss makes too large keeps shrinking as the pipeline says, and rule
changes write no stock movements.

Concurrency: the inventory locks every stock row of a fenced SKU (all locations, in the
writers' one order) before it asks, so the check reads the stock as it will be at commit, and
two reservations of a fenced SKU run one after the other. Unfenced SKUs pay one query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from oms.channels.availability.domain.allocation import pool_draw
from oms.channels.availability.ports import ChannelStore
from oms.channels.availability.services.publication import AvailabilityPublisher
from oms.inventory.domain import InsufficientStock, ReservationLine
from oms.inventory.ports import InventoryStore


class PoolFence:
    """The inventory's `RingFence`: the channels' pools, for one transaction."""

    def __init__(
        self,
        channels: ChannelStore,
        inventory: InventoryStore,
        publisher: AvailabilityPublisher,
    ) -> None:
        self._channels = channels
        self._inventory = inventory
        self._publisher = publisher

    def knows(self, channel: str) -> bool:
        return self._channels.channel_by_code(channel) is not None

    def fenced_skus(self, skus: Iterable[str]) -> set[str]:
        return self._channels.pooled_skus(sorted(set(skus)))

    def held_back(self, channel: str | None, skus: Iterable[str]) -> dict[str, dict[str, int]]:
        return self._publisher.ring_fenced(self._channels, self._inventory, skus, channel)

    def claim(
        self, channel: str | None, reservation_id: int, lines: Sequence[ReservationLine]
    ) -> None:
        skus = sorted({ln.sku for ln in lines})
        fenced = self.held_back(channel, skus)
        if fenced:
            available = {
                (level.sku, level.location): level.available
                for level in self._inventory.levels(sku_codes=sorted(fenced))
            }
            shortages = []
            for line in lines:
                held = fenced.get(line.sku, {}).get(line.location, 0)
                if not held:
                    continue
                may_take = max(0, available.get((line.sku, line.location), 0) - held)
                if line.quantity > may_take:
                    shortages.append(
                        {
                            "sku": line.sku,
                            "location": line.location,
                            "requested": line.quantity,
                            "available": may_take,
                            "ring_fenced": held,
                        }
                    )
            if shortages:
                raise InsufficientStock(shortages)
        if channel is None:
            return
        wanted: dict[str, int] = {}
        for line in lines:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        for sku in skus:
            pool = self._channels.pool_left(channel, sku)
            if pool is None:
                continue
            channel_id, left = pool
            units = pool_draw(wanted[sku], left)
            if units:
                self._channels.draw_from_pool(channel_id, sku, reservation_id, units)

    def released(self, reservation_id: int) -> None:
        self._channels.return_pool_draws(reservation_id)

    def cut(self, reservation_id: int, sku: str, units: int) -> None:
        self._channels.return_pool_draws(reservation_id, sku=sku, units=units)
