"""Use cases of repairs, shared by the API, the CLI and workers."""

from oms.repairs.services.repairs import (
    MAX_PAGE,
    ActOnRepair,
    OpenedRepair,
    OpenRepair,
    RepairDetail,
    RepairPage,
    RepairService,
)

__all__ = [
    "MAX_PAGE",
    "ActOnRepair",
    "OpenRepair",
    "OpenedRepair",
    "RepairDetail",
    "RepairPage",
    "RepairService",
]
