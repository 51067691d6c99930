"""A trial run of person-entered movements: what `record_movements` would refuse, row by row.

A stock file is applied in short transactions (so that it never holds SQLite's one write lock
for long), yet a bad file must change nothing. So the whole file is first tried on the stock
as it is now, in memory and in one read transaction that takes no lock: the same checks as
the real run (input, idempotency key, the stock rules of the domain), in file order. Only
rows of the same SKU and location affect each other, so file order gives the same answer as
the real run's lock order.
"""

from __future__ import annotations

from collections.abc import Sequence

from oms.idempotency import fingerprint
from oms.inventory.domain import MovementType, StockLevel, count_shortfall, delta_for
from oms.inventory.services.commands import RecordMovement
from oms.inventory.services.movements import MOVEMENT_OPERATION, MovementUseCases
from oms.shared.errors import DomainError, IdempotencyKeyReused

_CHUNK = 500  # codes per IN (...) list: SQLite limits the variables of a statement


class MovementTrialUseCases(MovementUseCases):
    """Check a batch of movements without writing anything."""

    def try_movements(
        self, cmds: Sequence[RecordMovement]
    ) -> tuple[list[tuple[int, DomainError]], set[int]]:
        """The commands `record_movements(cmds)` would refuse now, as (index, error), and the
        indexes of those whose key was applied before (a replay changes nothing).

        A refused command is left out of what follows, as `--skip-invalid` would leave it
        out. A count is never refused for what is reserved: as in the real run, the shortfall
        comes off the reservations and then the quarantine (`count_shortfall`).
        """
        refused: list[tuple[int, DomainError]] = []
        replays: set[int] = set()
        with self._uow() as uow:
            store = uow.inventory
            keys = sorted({(c.idempotency_key or "").strip() for c in cmds})
            prints: dict[str, str] = {}
            for start in range(0, len(keys), _CHUNK):
                prints.update(store.fingerprints(keys[start : start + _CHUNK]))
            codes = sorted({c.sku for c in cmds})
            levels: dict[tuple[str, str], StockLevel] = {}
            for start in range(0, len(codes), _CHUNK):
                for level in store.levels(sku_codes=codes[start : start + _CHUNK]):
                    levels[(level.sku, level.location)] = level
        for index, cmd in enumerate(cmds):
            try:
                movement_type, _, key, _, body = self._movement_body(cmd)
                applied = fingerprint(MOVEMENT_OPERATION, body)
                prior = prints.get(key)
                if prior is not None:
                    if prior != applied:
                        raise IdempotencyKeyReused(key)
                    replays.add(index)
                    continue  # applied before: a replay changes nothing
                level = levels.setdefault(
                    (cmd.sku, cmd.location), StockLevel(cmd.sku, cmd.location)
                )
                if movement_type is MovementType.COUNT:
                    holds = [(0, level.reserved)] if level.reserved else []
                    cut = count_shortfall(level, cmd.quantity, holds)
                    level.reserved -= cut.reserved
                    level.quarantined -= cut.quarantine
                    level.apply(delta_for(movement_type, cmd.quantity, level=level))
                else:
                    level.apply(delta_for(movement_type, cmd.quantity))
                prints[key] = applied
            except DomainError as error:
                refused.append((index, error))
        return refused, replays
