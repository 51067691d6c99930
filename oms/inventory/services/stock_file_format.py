"""A stock file's format: its columns, rows and encodings, parsed and checked row by row (no
database). Importing and exporting are in oms.inventory.services.stock_files.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from oms.inventory.domain import AdjustmentReason, validate_code
from oms.inventory.services import RecordMovement
from oms.shared.errors import InvalidInput

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
