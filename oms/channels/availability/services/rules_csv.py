"""Channel rules in bulk: a CSV file of rule rows, checked whole, applied through ChannelService.

One row per rule, so that a merchandiser can keep the rules in a spreadsheet. A header names
the columns (any order, any case; only `rule` and `value` are required, a missing column reads
as empty); lines are numbered as the spreadsheet shows them, the header is line 1.

    rule       safety_stock, default_safety_stock, exclusion, pool, buffer, share or cap
    channel    the channel's code; every rule but the safety stocks (they belong to locations)
    sku        the SKU: safety_stock and pool need one; buffer, share and cap are for one SKU
               with it, the channel's default without; exclusion: exclude this SKU
    location   safety_stock and default_safety_stock need one; exclusion: exclude this location
    category   buffer for the SKUs of this category; exclusion: exclude them
    attribute  exclusion by another SKU attribute, as name=value (season=2023AW)
    value      units (safety stock, pool, buffer, cap), a percent from 0 to 100 (share; 80 or
               80%), or add / remove (exclusion). Empty removes the rule.
    note       free text, ignored

A column that the row's rule does not use must be empty: a value in the wrong column is an
error, not something silently ignored. Files are UTF-8 (with or without BOM) or Shift_JIS as
Japanese spreadsheet tools save it (cp932); `RulesEncoding.AUTO` tells them apart.

Every row is checked, first on its own and then against the database (channels, SKUs,
locations, pool sizes), before any row is applied; one bad row applies nothing unless
`skip_invalid`. Rows set values, so a file imported again changes nothing: a row whose rule
already has its value is `unchanged` and not written (adding an exclusion the channel has, or
removing one it has not, included). The same rule twice in a file is refused, so the order of
the rows never matters.

ChannelService writes each rule in its own transaction, with its audit row: a row that passed
the checks but is refused while applying (stock lost under a new pool meanwhile) stops the
import with the rows before it applied. Importing the file again, fixed, finishes the job.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TextIO, TypeVar

from oms.channels.availability.domain.rules import (
    MAX_ATTRIBUTE_TEXT,
    MAX_RULE_QUANTITY,
    Buffer,
    BufferScope,
    Channel,
    ChannelRules,
    Exclusion,
    ExclusionKind,
    sku_rule_key,
    validate_code,
)
from oms.channels.availability.services.channels import ChannelService
from oms.inventory.services import MAX_PAGE, InventoryService, Page
from oms.shared.errors import Conflict, DomainError, InvalidInput, NotFound

COLUMNS = ("rule", "channel", "sku", "location", "category", "attribute", "value")
IGNORED_COLUMNS = ("note",)
ADD, REMOVE = "add", "remove"
CATEGORY = "category"  # the SKU attribute that category buffers and the category column read
_TARGETS = ("channel", "sku", "location", "category", "attribute")
_LOOKUP_ONE_BY_ONE = 200  # fewer distinct SKUs than this: look each up, else page the catalogue
# Japanese input methods often type full-width digits (U+FF10-FF19); int() and float() read them.
_DIGIT = "[0-9\uff10-\uff19]"
_INTEGER = re.compile(f"[+-]?{_DIGIT}+")
_NUMBER = re.compile(f"[+-]?(?:{_DIGIT}+(?:\\.{_DIGIT}*)?|\\.{_DIGIT}+)")
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape kept undecoded

T = TypeVar("T")
_Bad = Callable[[str | None, str], None]  # records an error of the row: bad(column, message)


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


# --------------------------------------------------------------------------- rows


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


# --------------------------------------------------------------------------- parsing


def parse_rules_file(data: bytes, encoding: RulesEncoding = RulesEncoding.AUTO) -> RulesFile:
    """Parse and check each row on its own (no database); every bad row is reported."""
    text, problem, hint = _decode(data, encoding)
    if problem is not None:
        return RulesFile([], [LineError(1, None, problem)])
    header: dict[str, int] | None = None
    width = 0
    rows: list[RuleRow] = []
    errors: list[LineError] = []
    first_line: dict[tuple[str | None, ...], int] = {}
    line = 0
    try:
        for line, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if not any(cell.strip() for cell in record):
                continue
            if any(_UNDECODED.search(cell) for cell in record):
                errors.append(LineError(line, None, f"unreadable bytes: {hint}"))
                if header is None:
                    return RulesFile([], errors)
                continue
            if header is None:
                header, header_errors = _header(record, line)
                if header_errors:
                    return RulesFile([], header_errors)
                width = len(record)
                continue
            if len(record) > width and any(v.strip() for v in record[width:]):
                message = f"has {len(record)} values but the header has {width} columns"
                errors.append(LineError(line, None, message))
                continue
            cells = {
                name: record[i].strip() if i < len(record) else "" for name, i in header.items()
            }
            row, row_errors = _parse_row(line, cells)
            if row is not None:
                first = first_line.setdefault(_identity(row), line)
                if first != line:
                    message = f"the same rule as line {first}: keep one line per rule"
                    row_errors.append(LineError(line, None, message))
            if row_errors:
                errors.extend(row_errors)
            elif row is not None:
                rows.append(row)
    except csv.Error as error:
        errors.append(LineError(line + 1, None, f"not readable as CSV: {error}"))
        return RulesFile([], errors)
    if header is None:
        message = f"the file is empty: the first line must be a header like {','.join(COLUMNS)}"
        return RulesFile([], [LineError(1, None, message)])
    return RulesFile(rows, errors)


def _decode(data: bytes, encoding: RulesEncoding) -> tuple[str, str | None, str]:
    """The text, a problem with the file as a whole (or None), and a hint for unreadable rows.

    Undecodable bytes are kept as surrogates so that each row that has them can be named.
    Japanese text in Shift_JIS is almost never valid UTF-8, which is what AUTO relies on.
    """
    bom = data.startswith(codecs.BOM_UTF8)
    body = data.removeprefix(codecs.BOM_UTF8)
    neither = "the file is neither UTF-8 nor Shift_JIS (cp932): save it as UTF-8 and retry"
    if encoding is RulesEncoding.AUTO:
        if bom or _decodes(body, "utf-8") or not _decodes(body, "cp932"):
            return body.decode("utf-8", errors="surrogateescape"), None, neither
        return body.decode("cp932"), None, neither
    if encoding is RulesEncoding.UTF8:
        hint = neither
        if _decodes(body, "cp932"):
            hint = "the file is not UTF-8; it reads as Shift_JIS (cp932)"
        return body.decode("utf-8", errors="surrogateescape"), None, hint
    if bom:
        return "", "the file starts with a UTF-8 byte order mark: it is UTF-8, not Shift_JIS", ""
    if not body.isascii() and _decodes(body, "utf-8"):
        # UTF-8 read as cp932 "decodes" into mojibake that would be stored for good.
        return "", "the file is UTF-8, not Shift_JIS", ""
    # What Windows writes as Shift_JIS is cp932 (NEC and IBM extensions, full-width tilde).
    return body.decode("cp932", errors="surrogateescape"), None, neither


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _header(record: list[str], line: int) -> tuple[dict[str, int], list[LineError]]:
    columns: dict[str, int] = {}
    errors: list[LineError] = []
    for index, raw in enumerate(record):
        name = raw.strip().lstrip("\ufeff").lower()
        if not name:
            continue
        if name not in COLUMNS and name not in IGNORED_COLUMNS:
            known = ", ".join(COLUMNS + IGNORED_COLUMNS)
            errors.append(
                LineError(line, name, f"unknown column {name!r}: the columns are {known}")
            )
        elif name in columns:
            errors.append(LineError(line, name, f"column {name} appears twice in the header"))
        columns.setdefault(name, index)
    for name in ("rule", "value"):
        if name not in columns:
            message = f"missing column {name}: the header must name rule and value"
            errors.append(LineError(line, name, message))
    return {name: columns[name] for name in COLUMNS if name in columns}, errors


def _parse_row(line: int, given: dict[str, str]) -> tuple[RuleRow | None, list[LineError]]:
    cells = {name: given.get(name, "") for name in COLUMNS}
    errors: list[LineError] = []

    def bad(column: str | None, message: str) -> None:
        errors.append(LineError(line, column, message))

    names = ", ".join(r.value for r in RuleName)
    raw_rule = cells["rule"]
    try:
        rule = RuleName(raw_rule.lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        bad("rule", f"must be one of {names}, got {raw_rule!r}" if raw_rule else "missing")
        return None, errors
    needs, may = _NEEDS[rule]
    for column in _TARGETS:
        if cells[column] and column not in needs | may:
            bad(column, f"must be empty: a {rule} rule has no {column}")
        elif not cells[column] and column in needs:
            bad(column, f"missing: a {rule} rule needs a {column}")
    given_targets = [c for c in _TARGETS[1:] if cells[c] and c in may]
    if rule is RuleName.EXCLUSION and len(given_targets) != 1:
        bad(None, "an exclusion names exactly one of sku, location, category or attribute")
    if rule is RuleName.BUFFER and len(given_targets) > 1:
        bad(None, "a buffer is for a sku, a category, or (neither) the channel's default")

    channel = _code(cells["channel"], "channel", bad)
    sku = _code(cells["sku"], "sku", bad)
    location = _code(cells["location"], "location", bad)
    category = _text(cells["category"], "category", bad)
    attribute = _attribute(cells["attribute"], bad)
    parsed = _value(rule, cells["value"], bad)
    if errors:
        return None, errors
    units = parsed if isinstance(parsed, int) and not isinstance(parsed, bool) else None
    match rule:
        case RuleName.SAFETY_STOCK:
            return SafetyStockRow(line, sku or "", location or "", units), []
        case RuleName.DEFAULT_SAFETY_STOCK:
            return DefaultSafetyStockRow(line, location or "", units), []
        case RuleName.POOL:
            return PoolRow(line, channel or "", sku or "", units), []
        case RuleName.CAP:
            return CapRow(line, channel or "", sku, units), []
        case RuleName.SHARE:
            percent = float(parsed) if isinstance(parsed, float) else None
            return ShareRow(line, channel or "", sku, percent), []
        case RuleName.BUFFER:
            if sku is not None:
                return BufferRow(line, channel or "", BufferScope.SKU, sku, units), []
            if category is not None:
                return BufferRow(line, channel or "", BufferScope.CATEGORY, category, units), []
            return BufferRow(line, channel or "", BufferScope.DEFAULT, None, units), []
    # An exclusion: exactly one of its targets was given.
    if sku is not None:
        exclusion = Exclusion.of(ExclusionKind.SKU, sku=sku)
    elif location is not None:
        exclusion = Exclusion.of(ExclusionKind.LOCATION, location=location)
    else:
        name, text = (CATEGORY, category) if category is not None else attribute or ("", "")
        exclusion = Exclusion.of(ExclusionKind.ATTRIBUTE, attribute=name, value=text)
    return ExclusionRow(line, channel or "", exclusion, parsed is True), []


def _code(text: str, column: str, bad: _Bad) -> str | None:
    if not text:
        return None
    try:
        return validate_code(text, field_name=column)
    except InvalidInput as error:
        bad(column, error.detail.removeprefix(f"{column} "))  # the field names the column
        return None


def _text(text: str, column: str, bad: _Bad) -> str | None:
    if len(text) > MAX_ATTRIBUTE_TEXT:
        bad(column, f"must be at most {MAX_ATTRIBUTE_TEXT} characters")
        return None
    return text or None


def _attribute(text: str, bad: _Bad) -> tuple[str, str] | None:
    if not text:
        return None
    name, sep, value = (part.strip() for part in text.partition("="))
    if not sep or not name or not value:
        bad("attribute", f"must be name=value, e.g. season=2023AW, got {text!r}")
        return None
    if _text(name, "attribute", bad) is None or _text(value, "attribute", bad) is None:
        return None
    return name, value


def _value(rule: RuleName, text: str, bad: _Bad) -> int | float | bool | None:
    """Units, a percent, or add (True) / remove (False); None (empty) removes the rule."""
    if rule is RuleName.EXCLUSION:
        word = text.lower()
        if word not in (ADD, REMOVE):
            bad("value", f"an exclusion's value is {ADD} or {REMOVE}, got {text!r}")
            return None
        return word == ADD
    if not text:
        return None
    if rule is RuleName.SHARE:
        number = text.removesuffix("%").removesuffix("\uff05").strip()  # 80% as spreadsheets show
        percent = float(number) if _NUMBER.fullmatch(number) else math.nan
        if math.isnan(percent):
            bad("value", f"a share is a percent from 0 to 100, got {text!r}")
        elif not 0 <= percent <= 100:
            bad("value", f"a share must be from 0 to 100 percent, got {text}")
        else:
            return percent
        return None
    what = "safety stock" if rule is RuleName.DEFAULT_SAFETY_STOCK else str(rule).replace("_", " ")
    if not _INTEGER.fullmatch(text):
        bad("value", f"a {what} is a whole number of units, got {text!r}")
        return None
    units = int(text)
    if units < 0:
        bad("value", f"a {what} must be zero or more, got {units}")
    elif units > MAX_RULE_QUANTITY:
        bad("value", f"a {what} must be at most {MAX_RULE_QUANTITY:,}, got {units}")
    else:
        return units
    return None


def _identity(row: RuleRow) -> tuple[str | None, ...]:
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


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True, slots=True)
class RulesPlan:
    """What importing a parsed file would do, judged against the database now."""

    changes: list[RuleRow]  # rows that change their rule
    unchanged: list[RuleRow]  # rows whose rule already has their value
    errors: list[LineError]  # the file's errors and the database's, by line
    lines: int  # lines with a row, good or bad
    removals: dict[int, int] = field(default_factory=dict)  # line -> id of the exclusion


def plan_rules(
    channels: ChannelService, inventory: InventoryService, parsed: RulesFile
) -> RulesPlan:
    """Check every row against channels, SKUs, locations and stock; none is applied."""
    rows = parsed.rows
    known = {channel.code: channel for channel in _all_channels(channels)}
    wanted = {
        kind: {code for r in rows for _, k, code in _references(r) if k == kind}
        for kind in ("sku", "location")
    }
    locations = _location_codes(inventory) if wanted["location"] else set()
    missing_skus = _missing_skus(inventory, wanted["sku"])
    current = _Current(channels)
    changes: list[RuleRow] = []
    unchanged: list[RuleRow] = []
    errors = list(parsed.errors)
    removals: dict[int, int] = {}
    for row in rows:
        row_errors = []
        for column, kind, code in _references(row):
            if kind == "channel" and code not in known:
                row_errors.append(LineError(row.line, column, f"channel {code!r} does not exist"))
            elif kind == "location" and code not in locations:
                row_errors.append(LineError(row.line, column, f"location {code!r} does not exist"))
            elif kind == "sku" and code in missing_skus:
                row_errors.append(LineError(row.line, column, f"SKU {code!r} does not exist"))
        if row_errors:
            errors.extend(row_errors)
            continue
        if current.value(row) == _new_value(row):
            unchanged.append(row)
            continue
        if isinstance(row, ExclusionRow) and not row.add:
            removals[row.line] = current.exclusion_id(row)
        if isinstance(row, PoolRow) and row.quantity is not None:
            # Checked only for pools that change: an unchanged pool is not written again.
            feeding = set(known[row.channel].locations)
            stock = inventory.sku_stock(row.sku)
            available = sum(ls.available for ls in stock.locations if ls.location in feeding)
            if row.quantity > available:
                message = (
                    f"a pool of {row.quantity} {row.sku} is more than the {available} available "
                    f"at the locations feeding {row.channel}"
                )
                errors.append(LineError(row.line, "value", message))
                continue
        changes.append(row)
    errors.sort(key=lambda e: e.line)
    return RulesPlan(changes, unchanged, errors, len(rows) + parsed.bad_lines, removals)


def _references(row: RuleRow) -> list[tuple[str, str, str]]:
    """(column, kind, code) of every channel, SKU and location the row names."""
    found: list[tuple[str, str, str]] = []
    if not isinstance(row, SafetyStockRow | DefaultSafetyStockRow):
        found.append(("channel", "channel", row.channel))
    match row:
        case SafetyStockRow():
            found += [("sku", "sku", row.sku), ("location", "location", row.location)]
        case DefaultSafetyStockRow():
            found.append(("location", "location", row.location))
        case ExclusionRow(exclusion=Exclusion(kind=ExclusionKind.SKU, sku=str(sku))):
            found.append(("sku", "sku", sku))
        case ExclusionRow(exclusion=Exclusion(kind=ExclusionKind.LOCATION, location=str(code))):
            found.append(("location", "location", code))
        case PoolRow() | ShareRow(sku=str()) | CapRow(sku=str()):
            found.append(("sku", "sku", row.sku or ""))
        case BufferRow(scope=BufferScope.SKU):
            found.append(("sku", "sku", row.key or ""))
    return found


def _new_value(row: RuleRow) -> object:
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


class _Current:
    """The rules as they are, read once per channel (and per SKU for safety stock)."""

    def __init__(self, channels: ChannelService) -> None:
        self._channels = channels
        self._rules: dict[str, ChannelRules] = {}
        self._safety: dict[str, dict[str, int]] = {}
        self._defaults: dict[str, int] | None = None

    def value(self, row: RuleRow) -> object:
        match row:
            case SafetyStockRow():
                return self._safety_stock(row.sku).get(row.location)
            case DefaultSafetyStockRow():
                if self._defaults is None:
                    found = self._channels.default_safety_stocks()
                    self._defaults = {d.location: d.quantity for d in found}
                return self._defaults.get(row.location)
            case ExclusionRow():
                return any(x.key == row.exclusion.key for x in self._of(row.channel).exclusions)
            case PoolRow():
                pools = self._of(row.channel).pools
                return next((p.quantity for p in pools if p.sku == row.sku), None)
            case BufferRow():
                buffers = self._of(row.channel).buffers
                scoped = (row.scope, row.key)
                return next((b.units for b in buffers if (b.scope, b.key) == scoped), None)
            case ShareRow():
                shares = self._of(row.channel).shares
                return next((s.percent for s in shares if s.sku == row.sku), None)
            case CapRow():
                return next((c.cap for c in self._of(row.channel).caps if c.sku == row.sku), None)

    def exclusion_id(self, row: ExclusionRow) -> int:
        exclusions = self._of(row.channel).exclusions
        return next(x.id or 0 for x in exclusions if x.key == row.exclusion.key)

    def _of(self, channel: str) -> ChannelRules:
        if channel not in self._rules:
            self._rules[channel] = self._channels.channel_rules(channel)
        return self._rules[channel]

    def _safety_stock(self, sku: str) -> dict[str, int]:
        if sku not in self._safety:
            found = _paged(
                lambda c: self._channels.safety_stocks(sku=sku, cursor=c, limit=MAX_PAGE)
            )
            self._safety[sku] = {s.location: s.quantity for s in found}
        return self._safety[sku]


def _missing_skus(inventory: InventoryService, codes: set[str]) -> set[str]:
    if len(codes) < _LOOKUP_ONE_BY_ONE:
        missing: set[str] = set()
        for code in codes:
            try:
                inventory.get_sku(code)
            except NotFound:
                missing.add(code)
        return missing
    known = {s.code for s in _paged(lambda c: inventory.list_skus(cursor=c, limit=MAX_PAGE))}
    return codes - known


def _location_codes(inventory: InventoryService) -> set[str]:
    return {x.code for x in _paged(lambda c: inventory.list_locations(cursor=c, limit=MAX_PAGE))}


def _all_channels(channels: ChannelService) -> list[Channel]:
    return list(_paged(lambda c: channels.list_channels(cursor=c, limit=MAX_PAGE)))


def _paged(read: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of a cursor-paginated read, page by page (a transaction each)."""
    cursor: str | None = None
    while True:
        page = read(cursor)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


# --------------------------------------------------------------------------- importing


@dataclass(frozen=True, slots=True)
class RulesImport:
    applied: int  # rows that changed their rule (in a dry run: would change it)
    unchanged: int  # rows whose rule already had their value: nothing written or recorded
    errors: list[LineError]  # rows skipped, with `skip_invalid` only
    dry_run: bool = False


def import_rules(
    channels: ChannelService,
    inventory: InventoryService,
    parsed: RulesFile,
    *,
    actor: str,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> RulesImport:
    """Check the whole file, then apply the rows that change a rule, in file order.

    Raises `RulesFileInvalid` when a row is bad (nothing applied), unless `skip_invalid`;
    `RulesImportStopped` when a row is refused while applying (the rows before it stay).
    """
    plan = plan_rules(channels, inventory, parsed)
    if plan.errors and not skip_invalid:
        raise RulesFileInvalid(plan.errors, plan.lines)
    if dry_run:
        return RulesImport(len(plan.changes), len(plan.unchanged), plan.errors, dry_run=True)
    applied = 0
    errors = list(plan.errors)
    for row in plan.changes:
        try:
            _apply(channels, row, actor, plan.removals.get(row.line))
        except DomainError as error:
            refused = LineError(row.line, _column(row, error.field), error.detail)
            if not skip_invalid:
                raise RulesImportStopped(refused, applied) from error
            errors.append(refused)
            continue
        applied += 1
    errors.sort(key=lambda e: e.line)
    return RulesImport(applied, len(plan.unchanged), errors)


def _apply(channels: ChannelService, row: RuleRow, actor: str, removal: int | None) -> None:
    match row:
        case SafetyStockRow():
            channels.set_safety_stock(row.sku, row.location, row.quantity, actor)
        case DefaultSafetyStockRow():
            channels.set_default_safety_stock(row.location, row.quantity, actor)
        case ExclusionRow(add=True):
            channels.add_exclusion(row.channel, row.exclusion, actor)
        case ExclusionRow():
            channels.remove_exclusion(row.channel, removal or 0, actor)
        case PoolRow():
            channels.set_pool(row.channel, row.sku, row.quantity, actor)
        case BufferRow():
            channels.set_buffer(row.channel, row.scope.value, row.key, row.units, actor)
        case ShareRow():
            channels.set_share(row.channel, row.sku, row.percent, actor)
        case CapRow():
            channels.set_cap(row.channel, row.sku, row.cap, actor)


def _column(row: RuleRow, service_field: str | None) -> str | None:
    """The file's column for a field the service named."""
    if service_field in ("quantity", "units", "percent", "cap"):
        return "value"
    if service_field == "key":
        return "sku" if isinstance(row, BufferRow) and row.scope is BufferScope.SKU else CATEGORY
    if service_field in ("code", "channel"):
        return "channel"
    return service_field if service_field in COLUMNS else None


# --------------------------------------------------------------------------- exporting


def current_rules(channels: ChannelService) -> Iterator[RuleRow]:
    """Every rule there is, as rows (line 0): safety stock, then each channel's rules."""
    for default in channels.default_safety_stocks():
        yield DefaultSafetyStockRow(0, default.location, default.quantity)
    for rule in _paged(lambda c: channels.safety_stocks(cursor=c, limit=MAX_PAGE)):
        yield SafetyStockRow(0, rule.sku, rule.location, rule.quantity)
    for channel in _all_channels(channels):
        code = channel.code
        rules = channels.channel_rules(code)
        yield from (ExclusionRow(0, code, x, add=True) for x in rules.exclusions)
        yield from (PoolRow(0, code, p.sku, p.quantity) for p in rules.pools)
        yield from (BufferRow(0, code, b.scope, b.key, b.units) for b in rules.buffers)
        yield from (ShareRow(0, code, s.sku, s.percent) for s in rules.shares)
        yield from (CapRow(0, code, c.sku, c.cap) for c in rules.caps)


def export_rules(channels: ChannelService, out: TextIO) -> int:
    """Write every rule in the import format; returns the number of rows.

    Imported back, an export changes nothing. Each channel's rules are read in one transaction;
    under concurrent writes the export is a sequence of consistent reads, not one snapshot.
    """
    return write_rules(current_rules(channels), out)


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
    value = _new_value(row)
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
