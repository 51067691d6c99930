"""A rules file: the CSV format of channel rules in bulk, parsed and checked row by row, and
written back.

Pure: the format, its rows and their errors. Checking against the database and applying go
through oms.channels.availability.services.rules_csv, which documents the file's columns."""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Callable

from oms.channels.availability.domain.rule_rows import (
    _NEEDS,
    _TARGETS,
    ADD,
    CATEGORY,
    COLUMNS,
    IGNORED_COLUMNS,
    REMOVE,
    BufferRow,
    CapRow,
    DefaultSafetyStockRow,
    ExclusionRow,
    LineError,
    PoolRow,
    RuleName,
    RuleRow,
    RulesEncoding,
    RulesFile,
    SafetyStockRow,
    ShareRow,
    row_identity,
)
from oms.channels.availability.domain.rules import (
    MAX_ATTRIBUTE_TEXT,
    MAX_RULE_QUANTITY,
    BufferScope,
    Exclusion,
    ExclusionKind,
    validate_code,
)
from oms.shared.errors import InvalidInput

# Japanese input methods often type full-width digits (U+FF10-FF19); int() and float() read them.
_DIGIT = "[0-9\uff10-\uff19]"


_INTEGER = re.compile(f"[+-]?{_DIGIT}+")


_NUMBER = re.compile(f"[+-]?(?:{_DIGIT}+(?:\\.{_DIGIT}*)?|\\.{_DIGIT}+)")


_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape kept undecoded


_Bad = Callable[[str | None, str], None]  # records an error of the row: bad(column, message)


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
                first = first_line.setdefault(row_identity(row), line)
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
