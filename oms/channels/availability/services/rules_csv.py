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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO, TypeVar

from oms.channels.availability.domain.rule_rows import (
    CATEGORY,
    COLUMNS,
    BufferRow,
    CapRow,
    DefaultSafetyStockRow,
    ExclusionRow,
    LineError,
    PoolRow,
    RuleRow,
    RulesFile,
    RulesFileInvalid,
    RulesImportStopped,
    SafetyStockRow,
    ShareRow,
    row_value,
    write_rules,
)
from oms.channels.availability.domain.rules import (
    BufferScope,
    Channel,
    ChannelRules,
    Exclusion,
    ExclusionKind,
)
from oms.channels.availability.services.channels import ChannelService
from oms.inventory.services import MAX_PAGE, InventoryService, Page
from oms.shared.errors import DomainError, NotFound

_LOOKUP_ONE_BY_ONE = 200  # fewer distinct SKUs than this: look each up, else page the catalogue

T = TypeVar("T")


# --------------------------------------------------------------------------- rows


# --------------------------------------------------------------------------- parsing


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
        if current.value(row) == row_value(row):
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
