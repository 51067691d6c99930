"""Listings: which oms SKU is which item on a channel, by the channel's own identifiers.

A SKU is pushed to a channel only when it is listed there. The identifiers follow each
channel's rules (see ../shared/contracts/README.md):
- Amazon: the seller SKU, at most 40 characters; no variant.
- Rakuten: the manage number (商品管理番号), at most 32 bytes of `[a-zA-Z0-9_-]`, which Rakuten
  lower-cases itself (so oms stores it lower-cased: `TSHIRT-001` and `tshirt-001` are one
  item), and the variant id (SKU管理番号), at most 32 bytes, case-sensitive, required.
- Storefront: the inventory item id, `gid://shopify/InventoryItem/<digits>` or its digits
  (stored as the gid); no variant.

The listings file is CSV with the columns `sku,remote_id,remote_variant` (a header first, any
order, any case), UTF-8 with or without a BOM, or Shift_JIS as Japanese spreadsheet tools save
it (cp932). Lines are numbered as a spreadsheet shows them, the header is line 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO

from oms.channels.sync.domain.model import ChannelKind, ListingRef
from oms.shared.bounds import control_character
from oms.shared.errors import InvalidInput

COLUMNS = ("sku", "remote_id", "remote_variant")
MAX_REMOTE_ID = 200
MAX_SKU = 64  # skus.code
MAX_AMAZON_SELLER_SKU = 40
MAX_RAKUTEN_BYTES = 32
_RAKUTEN_MANAGE_NUMBER = re.compile(r"[a-zA-Z0-9_-]+")
_STOREFRONT_ITEM = re.compile(r"(?:gid://shopify/InventoryItem/)?([0-9]{1,20})")
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape kept undecoded


class ListingsEncoding(StrEnum):
    AUTO = "auto"  # UTF-8 when the bytes are valid UTF-8 (or start with a BOM), else cp932
    UTF8 = "utf-8"
    SHIFT_JIS = "shift_jis"  # read and written as cp932, what Windows calls Shift_JIS
    CP932 = "cp932"

    @property
    def codec(self) -> str:
        return "utf-8" if self in (ListingsEncoding.UTF8, ListingsEncoding.AUTO) else "cp932"

    @property
    def label(self) -> str:
        return "UTF-8" if self.codec == "utf-8" else "Shift_JIS (cp932)"


def check_listing(
    kind: ChannelKind, sku: str, remote_id: object, remote_variant: object = None
) -> ListingRef:
    """The listing, its identifiers checked and normalised for the channel's kind.
    Raises InvalidInput naming `sku`, `remote_id` or `remote_variant`."""
    sku = _text(sku, "sku", MAX_SKU)
    rid = _text(remote_id, "remote_id", MAX_REMOTE_ID)
    variant = None if remote_variant in (None, "") else _text(remote_variant, "remote_variant", 200)
    match kind:
        case ChannelKind.AMAZON:
            if len(rid) > MAX_AMAZON_SELLER_SKU:
                raise InvalidInput(
                    f"remote_id is the Amazon seller SKU: at most {MAX_AMAZON_SELLER_SKU} "
                    f"characters, got {len(rid)}",
                    field="remote_id",
                )
            _no_variant(kind, variant)
        case ChannelKind.RAKUTEN:
            if not _RAKUTEN_MANAGE_NUMBER.fullmatch(rid) or len(rid) > MAX_RAKUTEN_BYTES:
                raise InvalidInput(
                    "remote_id is the Rakuten manage number (商品管理番号): at most "
                    f"{MAX_RAKUTEN_BYTES} of a-z, A-Z, 0-9, _ and -, got {rid!r}",
                    field="remote_id",
                )
            rid = rid.lower()  # Rakuten lowers it itself: store it as Rakuten knows it
            if variant is None:
                raise InvalidInput(
                    "remote_variant is required on Rakuten: the variant id (SKU管理番号)",
                    field="remote_variant",
                )
            if len(variant.encode()) > MAX_RAKUTEN_BYTES:
                raise InvalidInput(
                    f"remote_variant is the Rakuten variant id: at most {MAX_RAKUTEN_BYTES} bytes "
                    f"(UTF-8), got {len(variant.encode())}",
                    field="remote_variant",
                )
        case ChannelKind.STOREFRONT:
            found = _STOREFRONT_ITEM.fullmatch(rid)
            if found is None or int(found.group(1)) == 0:
                raise InvalidInput(
                    "remote_id is the storefront inventory item id: "
                    f"gid://shopify/InventoryItem/<digits> or its digits, got {rid!r}",
                    field="remote_id",
                )
            rid = f"gid://shopify/InventoryItem/{int(found.group(1))}"
            _no_variant(kind, variant)
    return ListingRef(sku, rid, variant)


def _no_variant(kind: ChannelKind, variant: str | None) -> None:
    if variant is not None:
        raise InvalidInput(
            f"remote_variant must be empty: a {kind} listing has no variant id",
            field="remote_variant",
        )


def _text(value: object, field: str, longest: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    if not value:
        raise InvalidInput(f"{field} is required", field=field)
    bad = control_character(value)
    if bad is not None or not value.isprintable():
        found = bad or next(f"U+{ord(c):04X}" for c in value if not c.isprintable())
        raise InvalidInput(
            f"{field} must hold printable characters only, found {found}", field=field
        )
    if value != value.strip():
        raise InvalidInput(f"{field} must not start or end with a space", field=field)
    if len(value) > longest:
        raise InvalidInput(f"{field} must be at most {longest} characters", field=field)
    return value


# ---------------------------------------------------------------------------- the file


@dataclass(frozen=True, slots=True)
class ListingLineError:
    line: int
    column: str | None
    message: str

    @property
    def field(self) -> str:
        """`line 3: remote_id`, the way the API names the field at fault."""
        return f"line {self.line}: {self.column}" if self.column else f"line {self.line}"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class ListingRow:
    line: int
    ref: ListingRef


@dataclass(frozen=True, slots=True)
class ListingsFile:
    rows: list[ListingRow]
    errors: list[ListingLineError]


class ListingsFileInvalid(InvalidInput):
    """Some lines are bad; nothing was changed. `errors` names each line and column."""

    title = "Invalid listings file"

    def __init__(self, errors: list[ListingLineError], lines: int) -> None:
        bad = len({e.line for e in errors})
        of = f"{lines} line" if lines == 1 else f"{lines} lines"
        super().__init__(
            f"{bad} of {of} of the listings file have errors; nothing was changed",
            field=errors[0].field,
        )
        self.errors = errors


def parse_listings_file(
    data: bytes, kind: ChannelKind, encoding: ListingsEncoding = ListingsEncoding.AUTO
) -> ListingsFile:
    """Every row checked on its own and against the others (no database)."""
    text, problem, hint = _decode(data, encoding)
    if problem is not None:
        return ListingsFile([], [ListingLineError(1, None, problem)])
    header: dict[str, int] | None = None
    width = 0
    rows: list[ListingRow] = []
    errors: list[ListingLineError] = []
    first_sku: dict[str, int] = {}
    first_remote: dict[tuple[str, str | None], int] = {}
    line = 0
    try:
        for line, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if not any(cell.strip() for cell in record):
                continue
            if any(_UNDECODED.search(cell) for cell in record):
                errors.append(ListingLineError(line, None, f"unreadable bytes: {hint}"))
                if header is None:
                    return ListingsFile([], errors)
                continue
            if header is None:
                header, header_errors = _header(record, line)
                if header_errors:
                    return ListingsFile([], header_errors)
                width = len(record)
                continue
            if len(record) > width and any(v.strip() for v in record[width:]):
                message = f"has {len(record)} values but the header has {width} columns"
                errors.append(ListingLineError(line, None, message))
                continue
            cells = {n: record[i].strip() if i < len(record) else "" for n, i in header.items()}
            try:
                ref = check_listing(
                    kind, cells["sku"], cells["remote_id"], cells.get("remote_variant") or None
                )
            except InvalidInput as error:
                detail = error.detail.removeprefix(f"{error.field} ")
                errors.append(ListingLineError(line, error.field, detail))
                continue
            seen = first_sku.setdefault(ref.sku, line)
            if seen != line:
                errors.append(ListingLineError(line, "sku", f"{ref.sku} is listed on line {seen}"))
                continue
            remote = (ref.remote_id, ref.remote_variant)
            seen = first_remote.setdefault(remote, line)
            if seen != line:
                message = f"line {seen} lists another SKU as this channel item"
                errors.append(ListingLineError(line, "remote_id", message))
                continue
            rows.append(ListingRow(line, ref))
    except csv.Error as error:
        errors.append(ListingLineError(line + 1, None, f"not readable as CSV: {error}"))
        return ListingsFile([], errors)
    if header is None:
        message = f"the file is empty: the first line must be the header {','.join(COLUMNS)}"
        return ListingsFile([], [ListingLineError(1, None, message)])
    return ListingsFile(rows, errors)


def _decode(data: bytes, encoding: ListingsEncoding) -> tuple[str, str | None, str]:
    """The text, a problem with the file as a whole (or None), and a hint for unreadable rows.

    Undecodable bytes are kept as surrogates so that each row that has them can be named.
    Japanese text in Shift_JIS is almost never valid UTF-8, which is what AUTO relies on.
    """
    bom = data.startswith(codecs.BOM_UTF8)
    body = data.removeprefix(codecs.BOM_UTF8)
    neither = "the file is neither UTF-8 nor Shift_JIS (cp932): save it as UTF-8 and retry"
    if encoding is ListingsEncoding.AUTO:
        if bom or _decodes(body, "utf-8") or not _decodes(body, "cp932"):
            return body.decode("utf-8", errors="surrogateescape"), None, neither
        return body.decode("cp932"), None, neither
    if encoding is ListingsEncoding.UTF8:
        hint = neither
        if _decodes(body, "cp932"):
            hint = "the file is not UTF-8; it reads as Shift_JIS (cp932)"
        return body.decode("utf-8", errors="surrogateescape"), None, hint
    if bom:
        return "", "the file starts with a UTF-8 byte order mark: it is UTF-8, not Shift_JIS", ""
    if not body.isascii() and _decodes(body, "utf-8"):
        # UTF-8 read as cp932 "decodes" into mojibake that would be stored for good.
        return "", "the file is UTF-8, not Shift_JIS", ""
    return body.decode("cp932", errors="surrogateescape"), None, neither


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _header(record: list[str], line: int) -> tuple[dict[str, int], list[ListingLineError]]:
    columns: dict[str, int] = {}
    errors: list[ListingLineError] = []
    for index, raw in enumerate(record):
        name = raw.strip().lstrip("\ufeff").lower()
        if not name:
            continue
        if name not in COLUMNS:
            shown = repr(name[:50]) if control_character(name) else name[:50]
            message = f"unknown column {shown}: the columns are {', '.join(COLUMNS)}"
            errors.append(ListingLineError(line, shown, message))
        elif name in columns:
            errors.append(ListingLineError(line, name, f"column {name} appears twice"))
        columns.setdefault(name, index)
    for name in ("sku", "remote_id"):
        if name not in columns:
            message = f"missing column {name}: the header is {','.join(COLUMNS)}"
            errors.append(ListingLineError(line, name, message))
    return {name: columns[name] for name in COLUMNS if name in columns}, errors


def write_listings(refs: Iterable[ListingRef], out: TextIO) -> int:
    """The listings in the import format; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\r\n")  # what spreadsheet tools write
    writer.writerow(COLUMNS)
    written = 0
    for ref in refs:
        writer.writerow([ref.sku, ref.remote_id, ref.remote_variant or ""])
        written += 1
    return written
