"""Resale use cases, shared by the HTTP API, the CLI, the workers and the returns context's
RESALE disposition (`create_unit_within`, in its transaction)."""

from __future__ import annotations

from oms.resale.services.intake import IntakeUseCases, ResaleSource, unit_code
from oms.resale.services.lifecycle import LifecycleUseCases
from oms.resale.services.pricing import PricingUseCases, SetPricing
from oms.resale.services.reads import MAX_PAGE, ReadUseCases, UnitPage, UnitView


class ResaleService(IntakeUseCases, LifecycleUseCases, PricingUseCases, ReadUseCases):
    """Resale units from intake to sale. One instance per process."""


__all__ = [
    "MAX_PAGE",
    "ResaleService",
    "ResaleSource",
    "SetPricing",
    "UnitPage",
    "UnitView",
    "unit_code",
]
