"""Pure rules of repairs: the repair order's state machine and SLA clock, the warranty
decision, the contact. The stdlib and `oms.shared` only (reference §4.4)."""

from oms.repairs.domain.contact import parse_contact
from oms.repairs.domain.repair import (
    PAUSED,
    STOPPED,
    TERMINAL,
    TRANSITIONS,
    Outcome,
    PartLine,
    Quote,
    Repair,
    RepairAction,
    RepairStatus,
    RequestedBy,
    StatePeriod,
)
from oms.repairs.domain.warranty import (
    DEFAULT_TERM_MONTHS,
    PartnerTerms,
    Warranty,
    WarrantyOverride,
    add_months,
    compute_warranty,
)

__all__ = [
    "DEFAULT_TERM_MONTHS",
    "PAUSED",
    "STOPPED",
    "TERMINAL",
    "TRANSITIONS",
    "Outcome",
    "PartLine",
    "PartnerTerms",
    "Quote",
    "Repair",
    "RepairAction",
    "RepairStatus",
    "RequestedBy",
    "StatePeriod",
    "Warranty",
    "WarrantyOverride",
    "add_months",
    "compute_warranty",
    "parse_contact",
]
