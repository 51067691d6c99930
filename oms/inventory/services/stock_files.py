"""Stock files: CSV in and out of the inventory (stock-takes, receipts, exports).

Parsing is pure and reports every bad row at once, numbered as a spreadsheet shows it (the
header is row 1). `check_catalogue`, `import_stock` and `export_stock` are thin calls to
`InventoryService`. Files come from spreadsheets and Japanese back-office tools, which write
UTF-8 (often with a BOM) or Shift_JIS.
"""

from __future__ import annotations

import contextlib
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TextIO

from oms.inventory.domain import SkuKind
from oms.inventory.services import InventoryService
from oms.inventory.services.stock_file_format import (
    EXPORT_COLUMNS,
    RowError,
    StockFile,
    StockRow,
)
from oms.shared.errors import DomainError, IdempotencyKeyReused, NotFound
from oms.sqlite import reading

_PAGE = 500
_LOOKUP_ONE_BY_ONE = 200  # fewer distinct SKUs than this: look each up, else page the catalogue


# --------------------------------------------------------------------------- parsed file


# --------------------------------------------------------------------------- parsing


# --------------------------------------------------------------------------- the catalogue


def check_catalogue(service: InventoryService, stock_file: StockFile) -> StockFile:
    """Move rows whose SKU or location does not exist (or is a bundle) to the errors.

    Done before anything is applied, so that one report names every bad row.
    """
    sku_problems = _sku_problems(service, {r.sku for r in stock_file.rows})
    known_locations = _location_codes(service)
    rows: list[StockRow] = []
    errors = list(stock_file.errors)
    for row in stock_file.rows:
        row_errors: list[RowError] = []
        if row.sku in sku_problems:
            row_errors.append(RowError(row.row, "sku", sku_problems[row.sku]))
        if row.location not in known_locations:
            message = f"location {row.location!r} does not exist"
            row_errors.append(RowError(row.row, "location", message))
        if row_errors:
            errors.extend(row_errors)
        else:
            rows.append(row)
    errors.sort(key=lambda e: e.row)
    return replace(stock_file, rows=rows, errors=errors)


def _sku_problems(service: InventoryService, codes: set[str]) -> dict[str, str]:
    kinds: dict[str, SkuKind] = {}
    if len(codes) < _LOOKUP_ONE_BY_ONE:
        for code in codes:
            with contextlib.suppress(NotFound):
                kinds[code] = service.get_sku(code).kind
    else:
        cursor: str | None = None
        while True:
            page = service.list_skus(cursor=cursor, limit=_PAGE)
            kinds.update((s.code, s.kind) for s in page.items if s.code in codes)
            cursor = page.next_cursor
            if cursor is None:
                break
    problems: dict[str, str] = {}
    for code in codes:
        if code not in kinds:
            problems[code] = f"SKU {code!r} does not exist"
        elif kinds[code] is SkuKind.BUNDLE:
            problems[code] = f"{code} is a set (bundle): it holds no stock, import its components"
    return problems


def _location_codes(service: InventoryService) -> set[str]:
    codes: set[str] = set()
    cursor: str | None = None
    while True:
        page = service.list_locations(cursor=cursor, limit=_PAGE)
        codes.update(location.code for location in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return codes


# --------------------------------------------------------------------------- importing

RowTracker = Callable[[int], Callable[[], None]]
"""Given the number of rows about to be applied, returns "one more row done"."""


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    applied: int = 0  # rows that changed the ledger now
    already_applied: int = 0  # rows an earlier import of the same file applied
    refused: list[RowError] = field(default_factory=list)  # rows the service refused

    @property
    def changed_nothing(self) -> bool:
        return self.applied == 0


class ImportRefused(Exception):
    """The service refused a row. `applied` rows before it were applied (0 when the trial run
    refused it: then nothing was)."""

    def __init__(self, error: RowError, applied: int = 0) -> None:
        super().__init__(str(error))
        self.error = error
        self.applied = applied


BATCH_ROWS = 500
"""The most rows in one transaction."""
BATCH_SECONDS = 0.05
"""How long a batch should take. On SQLite a transaction holds the one write lock, so batches
are sized to take about this long (a row costs more with channels to keep current, and on a
busy machine): writers beside an import never wait long for it."""
_FIRST_BATCH_ROWS = 20


def import_stock(
    service: InventoryService,
    stock_file: StockFile,
    *,
    skip_refused: bool = False,
    actor: str | None = None,
    track: RowTracker | None = None,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
    batch_seconds: float | None = BATCH_SECONDS,
    between_batches: Callable[[], None] | None = None,
) -> ImportOutcome:
    """Check the whole file, then apply it in batches, each its own transaction.

    A batch has at most `batch_rows` rows, and as many as take about `batch_seconds`
    (measured on the batches before; None: always `batch_rows`).

    The check is a trial run of every row on the stock as it is now, without writing (see
    `InventoryService.try_movements`): a row it refuses raises `ImportRefused` and nothing is
    applied; with `skip_refused` the row is set aside. Each row's idempotency key comes from
    the file's hash and its row number, so a run that was interrupted completes when the same
    file is imported again, and no row is applied twice. Should the stock change between the
    check and a batch so that a row is refused there (a race), the batches before it stay
    applied and `ImportRefused.applied` says how many rows they held.
    `between_batches` runs after each committed batch (the CLI lets other processes write).
    `dry_run` stops after the check: the same answer as the real run (which refuses a file
    by that same check), nothing written.
    """
    rows = list(stock_file.rows)
    commands = [stock_file.command(r, actor) for r in rows]
    refused: list[RowError] = []
    with reading():  # waits for no writer, takes no lock
        trial, replays = service.try_movements(commands)
    if trial:
        if not skip_refused:
            index, error = trial[0]
            raise ImportRefused(_refusal(rows[index], error))
        dropped = {index for index, _ in trial}
        refused = [_refusal(rows[index], error) for index, error in trial]
        rows = [r for i, r in enumerate(rows) if i not in dropped]
        commands = [c for i, c in enumerate(commands) if i not in dropped]
    if dry_run:
        replayed = len(replays - {index for index, _ in trial})
        return ImportOutcome(len(commands) - replayed, replayed, refused)
    done = track(len(commands)) if track else None
    applied = already_applied = 0
    size = batch_rows if batch_seconds is None else min(batch_rows, _FIRST_BATCH_ROWS)
    start = 0
    while start < len(commands):
        batch_rows_ = rows[start : start + size]
        batch = commands[start : start + size]
        start += size
        began = time.monotonic()
        while batch:
            try:
                results = service.record_movements(batch)
            except DomainError as error:
                at = error.extra.get("index")
                if not isinstance(at, int) or not 0 <= at < len(batch):
                    raise
                row_error = _refusal(batch_rows_[at], error)
                if not skip_refused:
                    raise ImportRefused(row_error, applied + already_applied) from error
                refused.append(row_error)
                del batch[at], batch_rows_[at]
                continue
            replayed = sum(1 for r in results if r.replayed)
            applied += len(results) - replayed
            already_applied += replayed
            if done:
                for _ in results:
                    done()
            break
        if batch_seconds is not None:
            took = max(time.monotonic() - began, 1e-3)
            size = max(1, min(batch_rows, int(size * batch_seconds / took)))
        if between_batches is not None and start < len(commands):
            between_batches()
    refused.sort(key=lambda e: e.row)
    return ImportOutcome(applied, already_applied, refused)


def _refusal(row: StockRow, error: DomainError) -> RowError:
    if isinstance(error, IdempotencyKeyReused):
        message = (
            "this row of this file was imported before with different values "
            "(was the file read with another --encoding?)"
        )
        return RowError(row.row, None, message)
    column = {"lines": "quantity", None: None}.get(error.field, error.field)
    if column not in ("sku", "location", "quantity", "type", "reason", "reference"):
        column = None
    return RowError(row.row, column, error.detail)


# --------------------------------------------------------------------------- exporting


def export_stock(service: InventoryService, out: TextIO, *, location: str | None = None) -> int:
    """Write every stock level as CSV (`EXPORT_COLUMNS`); returns the number of rows.

    Pages are read one transaction each: under concurrent movements an export is a sequence of
    consistent pages, not one snapshot.
    """
    page = service.stock_levels(location=location, limit=_PAGE)  # an unknown location raises
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    written = 0
    while True:
        for level in page.items:
            writer.writerow(
                [
                    level.sku,
                    level.location,
                    level.on_hand,
                    level.reserved,
                    level.quarantined,
                    level.in_transit,
                    level.available,
                ]
            )
        written += len(page.items)
        if page.next_cursor is None:
            return written
        page = service.stock_levels(location=location, cursor=page.next_cursor, limit=_PAGE)
