"""What becomes of a graded unit (reference §3.2). A decision is a record (who, why, when),
changeable until executed; executing it is the ledger movement out of quarantine."""

from __future__ import annotations

from enum import StrEnum

from oms.returns.domain.grading import Grade


class Disposition(StrEnum):
    RESTOCK = "RESTOCK"  # back to the original SKU's sellable stock
    RESALE = "RESALE"  # a graded single resale unit
    REFURBISH = "REFURBISH"  # clean or repair, then regrade
    RETURN_TO_VENDOR = "RETURN_TO_VENDOR"
    LIQUIDATE = "LIQUIDATE"
    DONATE = "DONATE"
    RECYCLE = "RECYCLE"
    DESTROY = "DESTROY"
    RETURN_TO_CUSTOMER = "RETURN_TO_CUSTOMER"
    HOLD = "HOLD"  # undecided: stays quarantined


# Out of stock for good: the movement out of quarantine names the reason.
LEAVES_STOCK = frozenset(
    {
        Disposition.RETURN_TO_VENDOR,
        Disposition.LIQUIDATE,
        Disposition.DONATE,
        Disposition.RECYCLE,
        Disposition.DESTROY,
        Disposition.RETURN_TO_CUSTOMER,
    }
)


def allowed_dispositions(grade: Grade, *, restock_unused: bool = False) -> frozenset[Disposition]:
    """What a unit of `grade` may become. Only new units go back to new stock (unused ones too
    when the brand's policy says so); junk is never sold as a working item."""
    everything = frozenset(Disposition)
    if grade is Grade.NEW:
        return everything
    if grade is Grade.UNUSED and restock_unused:
        return everything
    if grade is Grade.JUNK:
        return everything - {Disposition.RESTOCK, Disposition.RESALE}
    return everything - {Disposition.RESTOCK}
