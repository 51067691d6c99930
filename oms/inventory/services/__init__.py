"""Inventory use cases, shared by the HTTP API, the CLI and the workers.

Every write runs in one transaction: idempotency claim, ledger rows, the conditional updates of
the projection and the outbox events commit together or not at all.

`InventoryService` combines the use cases of the modules here: `catalogue` (locations, SKUs),
`movements`, `stock` (reading it, the ledger, verify), `reservations`, `transfers` and `bulk`
(whole-catalogue reads), over the shared write path in `_base`. Commands are in `commands`,
results in `results`.
"""

from __future__ import annotations

from oms.inventory.services._base import MAX_PAGE, STOCK_CHANGED, retry_when_busy
from oms.inventory.services.bulk import BulkReadUseCases, CatalogueColumns, CatalogueSnapshot
from oms.inventory.services.catalogue import CatalogueUseCases
from oms.inventory.services.commands import (
    CreateLocation,
    CreateSku,
    CreateTransfer,
    ReceiveTransfer,
    RecordMovement,
    ReserveStock,
    UpdateSku,
)
from oms.inventory.services.movements import MovementUseCases
from oms.inventory.services.reservations import MAX_REFERENCE, ReservationUseCases
from oms.inventory.services.results import (
    LedgerDifference,
    LocationStock,
    MovementResult,
    Page,
    ReservationResult,
    SkuStock,
    TransferResult,
    VerifyReport,
)
from oms.inventory.services.stock import StockUseCases
from oms.inventory.services.transfers import TransferUseCases
from oms.inventory.services.trial import MovementTrialUseCases

__all__ = [
    "MAX_PAGE",
    "MAX_REFERENCE",
    "STOCK_CHANGED",
    "CatalogueColumns",
    "CatalogueSnapshot",
    "CreateLocation",
    "CreateSku",
    "CreateTransfer",
    "InventoryService",
    "LedgerDifference",
    "LocationStock",
    "MovementResult",
    "Page",
    "ReceiveTransfer",
    "RecordMovement",
    "ReservationResult",
    "ReserveStock",
    "SkuStock",
    "TransferResult",
    "UpdateSku",
    "VerifyReport",
    "retry_when_busy",
]


class InventoryService(
    CatalogueUseCases,
    MovementTrialUseCases,
    MovementUseCases,
    StockUseCases,
    ReservationUseCases,
    TransferUseCases,
    BulkReadUseCases,
):
    """Use cases of the inventory. One instance per process; each call is one transaction."""
