"""Pure rules of returns: the RMA's state machine, grading, dispositions.

The stdlib and `oms.shared` only. States and codes follow the reference research
(`shared/reference/returns-resale-repairs-pii.md` §3-4).
"""

from oms.returns.domain.disposition import Disposition, allowed_dispositions
from oms.returns.domain.grading import (
    Completeness,
    Defect,
    Functional,
    Grade,
    GradeRecord,
    ReceiptException,
)
from oms.returns.domain.rma import (
    TERMINAL,
    Resolution,
    ReturnAction,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    returnable,
)

__all__ = [
    "TERMINAL",
    "Completeness",
    "Defect",
    "Disposition",
    "Functional",
    "Grade",
    "GradeRecord",
    "ReceiptException",
    "Resolution",
    "ReturnAction",
    "ReturnLine",
    "ReturnRequest",
    "ReturnStatus",
    "allowed_dispositions",
    "returnable",
]
