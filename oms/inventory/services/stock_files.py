"""Stock files: CSV in and out of the inventory (stock-takes, receipts, exports).

Parsing is pure and reports every bad row at once, numbered as a spreadsheet shows it (the
header is row 1). `check_catalogue`, `import_stock` and `export_stock` are thin calls to
`InventoryService`. Files come from spreadsheets and Japanese back-office tools, which write
UTF-8 (often with a BOM) or Shift_JIS.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TextIO

from oms.inventory.domain import AdjustmentReason, SkuKind, validate_code
from oms.inventory.services import InventoryService, RecordMovement
from oms.shared.errors import DomainError, IdempotencyKeyReused, InvalidInput, NotFound
from oms.sqlite import reading

IMPORT_TYPES = ("count", "receipt", "adjustment", "quarantine", "quarantine_release")
DEFAULT_TYPE = "count"  # a stock-take: set on_hand to the counted quantity
EXPORT_COLUMNS = (
    "sku",
    "location",
    "on_hand",
    "reserved",
    "quarantined",
    "in_transit",
    "available",
)
MAX_QUANTITY = 2**31 - 1  # the ledger and the stock levels store 32-bit integers
MAX_REASON = 64
MAX_REFERENCE = 200
_PAGE = 500
_LOOKUP_ONE_BY_ONE = 200  # fewer distinct SKUs than this: look each up, else page the catalogue
# Japanese input methods often type full-width digits (U+FF10-FF19); int() reads them.
_INTEGER = re.compile("[+-]?[0-9\uff10-\uff19]+")
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape kept undecoded


class FileEncoding(StrEnum):
    UTF8 = "utf-8"
    SHIFT_JIS = "shift_jis"
    CP932 = "cp932"

    @property
    def codec(self) -> str:
        # What Windows writes as "Shift_JIS" is cp932: Shift_JIS plus NEC and IBM extensions
        # (circled digits, the full-width tilde U+FF5E), which the shift_jis codec refuses.
        return "utf-8" if self is FileEncoding.UTF8 else "cp932"

    @property
    def label(self) -> str:
        return "UTF-8" if self is FileEncoding.UTF8 else "Shift_JIS (cp932)"


# --------------------------------------------------------------------------- parsed file


@dataclass(frozen=True, slots=True)
class StockRow:
    """One valid line of a stock file. `row` is the spreadsheet row (the header is row 1)."""

    row: int
    type: str
    sku: str
    location: str
    quantity: int
    reason: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class StockFile:
    """A parsed stock file: the rows that can be applied and the errors of the others."""

    digest: str  # SHA-256 of the file's bytes: the same file always yields the same keys
    rows: list[StockRow]
    errors: list[RowError]

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def key(self, row: StockRow) -> str:
        return f"import:{self.digest}:{row.row}"

    def command(self, row: StockRow, actor: str | None = None) -> RecordMovement:
        return RecordMovement(
            type=row.type,
            sku=row.sku,
            location=row.location,
            quantity=row.quantity,
            idempotency_key=self.key(row),
            reason=row.reason,
            reference=row.reference,
            actor=actor,
        )


# --------------------------------------------------------------------------- parsing


def parse_stock_file(data: bytes, encoding: FileEncoding = FileEncoding.UTF8) -> StockFile:
    """Parse `sku,location,quantity[,type,reason,reference]`; other columns are ignored.

    `on_hand` stands in for `quantity` when there is none, so an export can be edited and
    imported back as a stock-take.
    """
    digest = hashlib.sha256(data).hexdigest()
    text, problem = _decode(data, encoding)
    if problem is not None:
        return StockFile(digest, [], [RowError(1, None, problem)])
    hint = _encoding_hint(data, encoding)
    records = _Records(text)
    header: list[str] | None = None
    rows: list[StockRow] = []
    errors: list[RowError] = []
    columns: dict[str, int] = {}
    counted: dict[tuple[str, str], int] = {}
    try:
        for number, record in records:
            if header is None:
                if _blank(record):
                    continue
                header = record
                columns, header_errors = _columns(record, number, hint)
                if header_errors:
                    return StockFile(digest, [], header_errors)
                continue
            if _blank(record):
                continue
            row, row_errors = _parse_row(number, record, header, columns, hint)
            if row is not None and row.type == "count":
                first = counted.setdefault((row.sku, row.location), number)
                if first != number:
                    row_errors.append(
                        RowError(
                            number,
                            "sku",
                            f"{row.sku} at {row.location} is counted again (first on row "
                            f"{first}): a count sets on_hand, so put the total in one row",
                        )
                    )
            if row_errors:
                errors.extend(row_errors)
            elif row is not None:
                rows.append(row)
    except csv.Error as error:
        # The reader failed inside the record after the last one it returned.
        errors.append(RowError(records.row + 1, None, f"not readable as CSV: {error}"))
        return StockFile(digest, [], errors)
    if header is None:
        message = "the file is empty: the first row must be a header like sku,location,quantity"
        return StockFile(digest, [], [RowError(1, None, message)])
    return StockFile(digest, rows, errors)


class _Records:
    """csv records numbered as a spreadsheet numbers them (a quoted line break stays in its row)."""

    def __init__(self, text: str) -> None:
        self._reader = csv.reader(io.StringIO(text, newline=""))
        self.row = 0

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        for record in self._reader:
            self.row += 1
            yield self.row, record


def _blank(record: list[str]) -> bool:
    return not any(value.strip() for value in record)


def _decode(data: bytes, encoding: FileEncoding) -> tuple[str, str | None]:
    """Decode, keeping undecodable bytes as surrogates so that each bad row can be named."""
    if data.startswith(codecs.BOM_UTF8):
        if encoding is not FileEncoding.UTF8:
            return "", "the file starts with a UTF-8 byte order mark: use --encoding utf-8"
        data = data[len(codecs.BOM_UTF8) :]
    if encoding is not FileEncoding.UTF8 and not data.isascii() and _decodes(data, "utf-8"):
        # Japanese text in Shift_JIS is almost never valid UTF-8, but UTF-8 read as cp932
        # decodes "successfully" into mojibake that would be written to the ledger for good.
        return "", "the file is UTF-8, not Shift_JIS: use --encoding utf-8"
    return data.decode(encoding.codec, errors="surrogateescape"), None


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _encoding_hint(data: bytes, encoding: FileEncoding) -> str:
    """What to tell the user when a row has bytes that the chosen encoding cannot read."""
    if encoding is FileEncoding.UTF8:
        if _decodes(data, "cp932"):
            return "the file is not UTF-8; it reads as Shift_JIS: try --encoding cp932"
        return "the file is neither UTF-8 nor Shift_JIS (cp932): save it as UTF-8 and retry"
    if _decodes(data.removeprefix(codecs.BOM_UTF8), "utf-8"):
        return "the file is not Shift_JIS; it reads as UTF-8: try --encoding utf-8"
    return "the file is neither Shift_JIS (cp932) nor UTF-8: save it as UTF-8 and retry"


def _columns(record: list[str], number: int, hint: str) -> tuple[dict[str, int], list[RowError]]:
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    for index, raw in enumerate(record):
        if _UNDECODED.search(raw):
            errors.append(RowError(number, None, f"header has unreadable bytes: {hint}"))
            return columns, errors
        name = raw.strip().lstrip("\ufeff").lower()
        if not name:
            continue
        if name in columns:
            errors.append(RowError(number, name, f"column {name} appears twice in the header"))
        columns.setdefault(name, index)
    if "quantity" not in columns and "on_hand" in columns:
        columns["quantity"] = columns["on_hand"]
    for name in ("sku", "location", "quantity"):
        if name not in columns:
            errors.append(
                RowError(
                    number,
                    name,
                    f"missing column {name}: the header must name sku, location and quantity "
                    f"(optional: type, reason, reference)",
                )
            )
    return columns, errors


def _parse_row(
    number: int, record: list[str], header: list[str], columns: dict[str, int], hint: str
) -> tuple[StockRow | None, list[RowError]]:
    for index, text in enumerate(record):
        if _UNDECODED.search(text):
            column = header[index].strip().lower() if index < len(header) else ""
            return None, [RowError(number, column or None, f"unreadable bytes: {hint}")]
    if len(record) > len(header) and any(v.strip() for v in record[len(header) :]):
        message = f"has {len(record)} values but the header has {len(header)} columns"
        return None, [RowError(number, None, message)]

    def value(name: str) -> str:
        index = columns.get(name)
        return record[index].strip() if index is not None and index < len(record) else ""

    errors: list[RowError] = []
    quantity_column = "quantity" if columns["quantity"] != columns.get("on_hand") else "on_hand"

    movement_type = value("type").lower() or DEFAULT_TYPE
    type_ok = movement_type in IMPORT_TYPES
    if not type_ok:
        errors.append(
            RowError(
                number,
                "type",
                f"type must be one of {', '.join(IMPORT_TYPES)}, got {value('type')!r}",
            )
        )
    sku = _code(number, "sku", value("sku"), errors)
    location = _code(number, "location", value("location"), errors)
    quantity = _quantity(
        number, quantity_column, value("quantity"), movement_type if type_ok else None, errors
    )
    reason = _reason(number, value("reason"), movement_type, errors)
    reference = value("reference") or None
    if reference is not None and len(reference) > MAX_REFERENCE:
        errors.append(RowError(number, "reference", f"must be at most {MAX_REFERENCE} characters"))
    if errors or sku is None or location is None or quantity is None:
        return None, errors
    return StockRow(number, movement_type, sku, location, quantity, reason, reference), []


def _code(number: int, column: str, text: str, errors: list[RowError]) -> str | None:
    if not text:
        errors.append(RowError(number, column, "missing value"))
        return None
    try:
        return validate_code(text, field_name=column)
    except InvalidInput as error:
        errors.append(RowError(number, column, error.detail))
        return None


def _quantity(
    number: int, column: str, text: str, movement_type: str | None, errors: list[RowError]
) -> int | None:
    def bad(message: str) -> None:
        errors.append(RowError(number, column, message))

    if not text:
        bad("missing value")
        return None
    if not _INTEGER.fullmatch(text):
        bad(f"must be a whole number, got {text!r}")
        return None
    quantity = int(text)
    if abs(quantity) > MAX_QUANTITY:
        bad(f"{quantity} is too large")
        return None
    if movement_type == "adjustment":
        if quantity == 0:
            bad("an adjustment must change the quantity (negative to remove units)")
            return None
    elif movement_type is not None and quantity < 0:
        bad(f"must not be negative, got {quantity} (to remove units use type adjustment)")
        return None
    elif movement_type not in (None, "count") and quantity == 0:
        bad(f"a {movement_type} needs a quantity of at least 1")
        return None
    return quantity


def _reason(number: int, text: str, movement_type: str, errors: list[RowError]) -> str | None:
    reasons = ", ".join(r.value for r in AdjustmentReason)
    if movement_type == "adjustment":
        if not text:
            errors.append(RowError(number, "reason", f"an adjustment needs a reason: {reasons}"))
            return None
        try:
            return AdjustmentReason(text.lower()).value
        except ValueError:
            errors.append(
                RowError(number, "reason", f"reason must be one of {reasons}, got {text!r}")
            )
            return None
    if len(text) > MAX_REASON:
        errors.append(RowError(number, "reason", f"must be at most {MAX_REASON} characters"))
        return None
    return text or None


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
