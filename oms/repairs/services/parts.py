"""Parts a repair uses: `part_used` movements out of the repair location's stock, booked in the
repair's transaction, and their record on the repair (one batch per `parts` action).

A scanner on a flaky network sends the same `parts` again: with an Idempotency-Key, the retry
finds the batch that key booked and books nothing (the same key with other parts is a 409).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from oms.inventory.domain import InsufficientStock, MovementType
from oms.inventory.services import InventoryService
from oms.inventory.services.commands import SystemMove
from oms.repairs.domain import PartLine, Repair
from oms.repairs.ports import RepairsUnitOfWork
from oms.repairs.services.checks import check_key, optional_text
from oms.shared.errors import Conflict, IdempotencyKeyReused, InvalidInput

MAX_PARTS = 50
PARTS_REASON = "repair"


def book_parts(
    inventory: InventoryService,
    uow: RepairsUnitOfWork,
    repair: Repair,
    lines: Sequence[PartLine],
    actor: str,
    now: datetime,
    request_key: str | None = None,
) -> bool:
    """Book the parts; False when `request_key` booked these very parts before (nothing
    done). Refused: not in repair (409 naming the state), a part short at the repair's location
    (409 naming the part), an unknown part (422 naming the line)."""
    if len(lines) > MAX_PARTS:
        raise InvalidInput(f"at most {MAX_PARTS} part lines", field="lines")
    merged: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for i, line in enumerate(lines):
        sku = optional_text(line.sku, f"lines[{i}].sku", 64)
        if sku is None:
            raise InvalidInput("which part: sku", field=f"lines[{i}].sku")
        merged[sku] = merged.get(sku, 0) + line.quantity
        first_line.setdefault(sku, i)
    if request_key is not None:
        check_key(request_key)
        earlier = uow.repairs.parts_by_key(repair.id or 0, request_key)
        if earlier:
            if sorted((p.sku, p.quantity) for p in earlier) != sorted(merged.items()):
                raise IdempotencyKeyReused(request_key)
            return False
    batch = repair.use_parts(list(lines))  # the state and the quantities
    for sku, i in first_line.items():
        if uow.inventory.sku_by_code(sku) is None:
            raise InvalidInput(f"SKU {sku!r} does not exist", field=f"lines[{i}].sku")
    location = repair.location or ""
    parts = [PartLine(sku, quantity) for sku, quantity in merged.items()]
    try:
        inventory.record_system_within(
            uow,
            [
                SystemMove(MovementType.PART_USED, p.sku, location, p.quantity, PARTS_REASON)
                for p in parts
            ],
            key=f"repair:{repair.id}:parts:{batch}",
            reference=f"repair:{repair.id}",
            actor=actor,
            now=now,
        )
    except InsufficientStock as short:
        first = short.shortages[0]
        raise Conflict(
            f"not enough of the part {first['sku']} at {location}: "
            f"{first['available']} available, {merged.get(first['sku'], 0)} needed",
            field=f"lines[{first_line.get(first['sku'], 0)}].sku",
            extra={"short_lines": short.shortages},
        ) from None
    uow.repairs.add_parts(repair.id or 0, batch, parts, location, actor, now, request_key)
    return True
