"""All SQL of the inventory context, for SQLite and PostgreSQL alike.

`SqlInventory` combines the parts here, each over the same session: `catalogue` (locations,
SKUs), `levels` (the projection), `ledger`, `reservations`, `transfers`, `idempotency` and
`events` (the outbox rows), `bulk` (whole-catalogue reads) and `publication` (what keeping
channel numbers current reads and locks).
"""

from __future__ import annotations

from oms.inventory.repository.bulk import SqlBulkReads
from oms.inventory.repository.catalogue import SqlCatalogue
from oms.inventory.repository.events import SqlEvents
from oms.inventory.repository.idempotency import SqlIdempotency
from oms.inventory.repository.ledger import SqlLedger
from oms.inventory.repository.levels import SqlStockLevels
from oms.inventory.repository.publication import SqlPublicationReads
from oms.inventory.repository.reservations import SqlReservations
from oms.inventory.repository.transfers import SqlTransfers

__all__ = ["SqlInventory"]


class SqlInventory(
    SqlIdempotency,
    SqlCatalogue,
    SqlStockLevels,
    SqlEvents,
    SqlLedger,
    SqlReservations,
    SqlTransfers,
    SqlBulkReads,
    SqlPublicationReads,
):
    """The inventory's storage, bound to one session (one transaction)."""
