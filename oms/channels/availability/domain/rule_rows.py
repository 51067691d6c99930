"""Rows of a rules file: one per rule, with the columns each rule uses, their errors, and writing
them back as the file's cells.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TextIO

from oms.channels.availability.domain.rules import (
    Buffer,
    BufferScope,
    Exclusion,
    ExclusionKind,
    sku_rule_key,
)
from oms.shared.errors import Conflict, InvalidInput

ADD, REMOVE = "add", "remove"


COLUMNS = ("rule", "channel", "sku", "location", "category", "attribute", "value")


IGNORED_COLUMNS = ("note",)


CATEGORY = "category"  # the SKU attribute that category buffers and the category column read


_TARGETS = ("channel", "sku", "location", "category", "attribute")


class RuleName(StrEnum):
    SAFETY_STOCK = "safety_stock"
    DEFAULT_SAFETY_STOCK = "default_safety_stock"
    EXCLUSION = "exclusion"
    POOL = "pool"
    BUFFER = "buffer"
    SHARE = "share"
    CAP = "cap"


# Per rule, the columns besides `rule` and `value` that it needs, and those it may have.
_NEEDS: dict[RuleName, tuple[frozenset[str], frozenset[str]]] = {
    RuleName.SAFETY_STOCK: (frozenset({"sku", "location"}), frozenset()),
    RuleName.DEFAULT_SAFETY_STOCK: (frozenset({"location"}), frozenset()),
    RuleName.EXCLUSION: (frozenset({"channel"}), frozenset(_TARGETS[1:])),  # exactly one
    RuleName.POOL: (frozenset({"channel", "sku"}), frozenset()),
    RuleName.BUFFER: (frozenset({"channel"}), frozenset({"sku", "category"})),  # one at most
    RuleName.SHARE: (frozenset({"channel"}), frozenset({"sku"})),
    RuleName.CAP: (frozenset({"channel"}), frozenset({"sku"})),
}


class RulesEncoding(StrEnum):
    AUTO = "auto"  # UTF-8 when the bytes are valid UTF-8 (or start with a BOM), else cp932
    UTF8 = "utf-8"
    SHIFT_JIS = "shift_jis"
    CP932 = "cp932"


@dataclass(frozen=True, slots=True)
class SafetyStockRow:
    line: int
    sku: str
    location: str
    quantity: int | None


@dataclass(frozen=True, slots=True)
class DefaultSafetyStockRow:
    line: int
    location: str
    quantity: int | None


@dataclass(frozen=True, slots=True)
class ExclusionRow:
    line: int
    channel: str
    exclusion: Exclusion
    add: bool


@dataclass(frozen=True, slots=True)
class PoolRow:
    line: int
    channel: str
    sku: str
    quantity: int | None


@dataclass(frozen=True, slots=True)
class BufferRow:
    line: int
    channel: str
    scope: BufferScope
    key: str | None  # the SKU or the category; None for the channel's default
    units: int | None


@dataclass(frozen=True, slots=True)
class ShareRow:
    line: int
    channel: str
    sku: str | None  # None: the channel's default
    percent: float | None


@dataclass(frozen=True, slots=True)
class CapRow:
    line: int
    channel: str
    sku: str | None  # None: the channel's default
    cap: int | None


RuleRow = (
    SafetyStockRow | DefaultSafetyStockRow | ExclusionRow | PoolRow | BufferRow | ShareRow | CapRow
)


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    column: str | None
    message: str

    @property
    def field(self) -> str:
        """`line 3: value`, the way the API names the field at fault."""
        return f"line {self.line}: {self.column}" if self.column else f"line {self.line}"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class RulesFile:
    """A parsed rules file: the rows that can be applied and the errors of the others."""

    rows: list[RuleRow]
    errors: list[LineError]

    @property
    def bad_lines(self) -> int:
        return len({e.line for e in self.errors})


class RulesFileInvalid(InvalidInput):
    """Some rows are bad; nothing was applied. `errors` names each line and column."""

    def __init__(self, errors: list[LineError], lines: int) -> None:
        bad = len({e.line for e in errors})
        super().__init__(
            f"{bad} of {_lines(lines)} of the rules file have errors; nothing was changed",
            field=errors[0].field,
        )
        self.errors = errors


class RulesImportStopped(Conflict):
    """A row that passed the checks was refused while applying; the rows before it stay."""

    def __init__(self, error: LineError, applied: int) -> None:
        changes = "1 rule change" if applied == 1 else f"{applied} rule changes"
        super().__init__(
            f"{error}. The import stopped there: the {changes} before it stay applied, nothing "
            f"after it was. Fix that line and import the file again (what was applied is then "
            f"unchanged).",
            field=error.field,
            extra={"applied": applied},
        )
        self.error = error


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def row_identity(row: RuleRow) -> tuple[str | None, ...]:
    """What a row sets: two rows with the same identity set the same rule."""
    match row:
        case SafetyStockRow():
            return ("safety_stock", row.sku, row.location)
        case DefaultSafetyStockRow():
            return ("default_safety_stock", row.location)
        case ExclusionRow():
            return ("exclusion", row.channel, row.exclusion.key)
        case PoolRow():
            return ("pool", row.channel, row.sku)
        case BufferRow():
            return ("buffer", row.channel, Buffer(row.scope, row.key, 0).rule_key)
        case ShareRow():
            return ("share", row.channel, sku_rule_key(row.sku))
        case CapRow():
            return ("cap", row.channel, sku_rule_key(row.sku))


def row_value(row: RuleRow) -> object:
    match row:
        case SafetyStockRow() | DefaultSafetyStockRow() | PoolRow():
            return row.quantity
        case ExclusionRow():
            return row.add
        case BufferRow():
            return row.units
        case ShareRow():
            return row.percent
        case CapRow():
            return row.cap


def write_rules(rows: Iterable[RuleRow], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\r\n")  # what spreadsheet tools write
    writer.writerow(COLUMNS)
    written = 0
    for row in rows:
        writer.writerow(row_cells(row))
        written += 1
    return written


def row_cells(row: RuleRow) -> list[str]:
    """The row as the file's cells, in `COLUMNS` order."""
    cells = dict.fromkeys(COLUMNS, "")
    cells["rule"] = _rule_of(row).value
    if not isinstance(row, SafetyStockRow | DefaultSafetyStockRow):
        cells["channel"] = row.channel
    value = row_value(row)
    cells["value"] = "" if value is None else str(value)
    match row:
        case SafetyStockRow():
            cells.update(sku=row.sku, location=row.location)
        case DefaultSafetyStockRow():
            cells["location"] = row.location
        case ExclusionRow(exclusion=x):
            cells["value"] = ADD if row.add else REMOVE
            if x.kind is ExclusionKind.ATTRIBUTE and x.attribute == CATEGORY:
                cells[CATEGORY] = x.value or ""
            elif x.kind is ExclusionKind.ATTRIBUTE:
                cells["attribute"] = f"{x.attribute}={x.value}"
            else:
                cells.update(sku=x.sku or "", location=x.location or "")
        case PoolRow() | ShareRow() | CapRow():
            cells["sku"] = row.sku or ""
        case BufferRow(scope=BufferScope.SKU):
            cells["sku"] = row.key or ""
        case BufferRow(scope=BufferScope.CATEGORY):
            cells[CATEGORY] = row.key or ""
    if isinstance(row, ShareRow) and row.percent is not None:
        cells["value"] = _percent_text(row.percent)
    return [cells[name] for name in COLUMNS]


def _rule_of(row: RuleRow) -> RuleName:
    return {
        SafetyStockRow: RuleName.SAFETY_STOCK,
        DefaultSafetyStockRow: RuleName.DEFAULT_SAFETY_STOCK,
        ExclusionRow: RuleName.EXCLUSION,
        PoolRow: RuleName.POOL,
        BufferRow: RuleName.BUFFER,
        ShareRow: RuleName.SHARE,
        CapRow: RuleName.CAP,
    }[type(row)]


def _percent_text(percent: float) -> str:
    """12.5 -> "12.5", 50.0 -> "50", 1e-05 -> "0.00001": plain digits that read back exactly."""
    text = format(Decimal(repr(percent)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
