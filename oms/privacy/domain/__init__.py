"""Pure rules of the privacy context."""

from oms.privacy.domain.audit import AuditEntry
from oms.privacy.domain.hold import LegalHold, hold_reason
from oms.privacy.domain.policy import (
    ANONYMISABLE,
    DEFAULT_FIELDS,
    OrderEnd,
    PiiPolicy,
    default_policy,
)
from oms.privacy.domain.scrub import PLACEHOLDER, anonymised_address, anonymised_text

__all__ = [
    "ANONYMISABLE",
    "DEFAULT_FIELDS",
    "PLACEHOLDER",
    "AuditEntry",
    "LegalHold",
    "OrderEnd",
    "PiiPolicy",
    "anonymised_address",
    "anonymised_text",
    "default_policy",
    "hold_reason",
]
