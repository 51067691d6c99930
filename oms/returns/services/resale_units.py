"""The RESALE disposition's other half: the returned unit becomes a resale unit of its own
(`oms.resale`), in the disposition's transaction, with its lineage (the return, the original
order and channel) and its latest grade, defects and photos."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from oms.resale.ports import ResaleUnitOfWork
from oms.resale.services import ResaleService, ResaleSource
from oms.returns.domain.units import ReturnedUnit
from oms.returns.ports import ReturnsUnitOfWork


class ResaleUnitsFromReturns:
    """`oms.returns.services.units.ResaleMaker` over the resale service."""

    def __init__(self, resale: ResaleService) -> None:
        self._resale = resale

    def __call__(
        self,
        uow: ReturnsUnitOfWork,
        unit: ReturnedUnit,
        grades: list[dict[str, Any]],
        actor: str,
        now: datetime,
    ) -> str:
        latest = grades[-1] if grades else {}
        rma = uow.returns.return_by_id(unit.return_id) if unit.return_id is not None else None
        grade = latest.get("grade") or (unit.grade.value if unit.grade is not None else "")
        source = ResaleSource(
            unit_id=unit.id or 0,
            barcode=unit.barcode,
            parent_sku=unit.sku,
            location=unit.location,
            grade=str(grade),
            functional=str(latest.get("functional") or "n/a"),
            defects=list(latest.get("defects") or []),
            photos=list(latest.get("photos") or []),
            order_id=rma.order_id if rma is not None else None,
            channel=rma.channel or None if rma is not None else None,
            return_id=unit.return_id,
        )
        # The one unit of work of every context (oms.uow) holds the resale store as well.
        made = self._resale.create_unit_within(cast(ResaleUnitOfWork, uow), source, actor, now)
        return made.code
