"""Listings: which oms SKU is which item on a channel. Only listed SKUs are pushed, so
unlisting a SKU stops its pushes.

One listing at a time (API), or a whole CSV file (API and `oms channels listings import`):
every row is checked, on its own and against the database, before any is written, and the file
is applied in one transaction, all or nothing. Importing the same file again changes nothing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from oms.channels.sync.domain.listings import (
    MAX_SKU,
    ListingLineError,
    ListingRow,
    ListingsEncoding,
    ListingsFileInvalid,
    check_listing,
    parse_listings_file,
    write_listings,
)
from oms.channels.sync.domain.model import ChannelKind, ListingRef
from oms.channels.sync.ports import Listing, SyncStore, SyncUnitOfWork
from oms.inventory.services import MAX_PAGE, Page
from oms.shared.bounds import check_text, control_character
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)


class ListingTaken(Conflict):
    """The channel item is already the listing of another SKU."""

    title = "Channel item listed for another SKU"


@dataclass(frozen=True, slots=True)
class ListingsImport:
    created: int
    updated: int
    unchanged: int


class ListingService:
    def __init__(
        self, uow: Callable[[], SyncUnitOfWork], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._uow = uow
        self._clock = clock

    def put(
        self,
        channel: str,
        sku: str,
        remote_id: object,
        remote_variant: object,
        actor: str,
    ) -> tuple[Listing, bool]:
        """List `sku` on the channel as this item (or change the item it is listed as).
        Returns the listing and whether it is new."""
        with self._uow() as uow:
            kind = _kind(uow.sync, channel)
            ref = check_listing(kind, sku, remote_id, remote_variant)
            uow.sync.lock_listings(channel)  # before the checks: they hold until the commit
            if not uow.sync.existing_skus([ref.sku]):
                raise NotFound(f"no SKU {ref.sku!r}", field="sku")
            remote = (ref.remote_id, ref.remote_variant)
            holder = uow.sync.skus_for_remote(channel, [remote]).get(remote)
            if holder is not None and holder != ref.sku:
                raise ListingTaken(
                    f"{_item(ref)} is already listed for SKU {holder}: unlist it there first",
                    field="remote_id",
                )
            before = uow.sync.listings(channel, [ref.sku]).get(ref.sku)
            now = self._clock()
            created = before is None
            if before != ref:
                uow.sync.save_listing(channel, ref, now)
            listing = uow.sync.listing(channel, ref.sku)
            uow.commit()
        assert listing is not None  # noqa: S101 (written just above)
        if before != ref:
            log.info("listing of %s on %s set by %s", ref.sku, channel, actor)
        return listing, created

    def remove(self, channel: str, sku: str, actor: str) -> Listing:
        """Unlist `sku`: it is pushed to the channel no more. Returns what was removed."""
        check_text(sku, "sku")
        with self._uow() as uow:
            _kind(uow.sync, channel)
            uow.sync.lock_listings(channel)
            found = uow.sync.listing(channel, sku)
            if found is None:
                raise NotFound(f"SKU {sku!r} is not listed on {channel}", field="sku")
            uow.sync.remove_listing(channel, sku)
            uow.commit()
        log.info("listing of %s on %s removed by %s", sku, channel, actor)
        return found

    def page(self, channel: str, cursor: str | None = None, limit: int = 100) -> Page[Listing]:
        """The channel's listings by SKU; pass `next_cursor` back as `cursor`."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        after = cursor or ""
        if len(after) > MAX_SKU or control_character(after) is not None:
            raise InvalidInput("cursor is not one this API returned", field="cursor")
        with self._uow() as uow:
            _kind(uow.sync, channel)
            items = uow.sync.listing_page(channel, after, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, items[-1].sku if more and items else None)

    def import_file(
        self,
        channel: str,
        data: bytes,
        actor: str,
        encoding: ListingsEncoding = ListingsEncoding.AUTO,
    ) -> ListingsImport:
        """Set the listings a CSV file names (sku,remote_id,remote_variant); listings the file
        does not name stay. Raises ListingsFileInvalid naming every bad line and column."""
        with self._uow() as uow:
            kind = _kind(uow.sync, channel)
            parsed = parse_listings_file(data, kind, encoding)
            uow.sync.lock_listings(channel)  # before the checks: they hold until the commit
            lines = len(parsed.rows) + len({e.line for e in parsed.errors})
            errors = list(parsed.errors)
            rows = parsed.rows
            skus = [row.ref.sku for row in rows]
            current = uow.sync.listings(channel, skus)
            errors += _against_database(uow.sync, channel, rows, current)
            if errors:
                errors.sort(key=lambda e: e.line)
                raise ListingsFileInvalid(errors, lines)
            changed = [row.ref for row in rows if current.get(row.ref.sku) != row.ref]
            now = self._clock()
            # The changed listings go first, then come back with their new items: two rows
            # that swap items would otherwise meet on the channel's unique item for a moment.
            for ref in changed:
                if ref.sku in current:
                    uow.sync.remove_listing(channel, ref.sku)
            for ref in changed:
                uow.sync.save_listing(channel, ref, now)
            uow.commit()
        created = sum(1 for ref in changed if ref.sku not in current)
        outcome = ListingsImport(created, len(changed) - created, len(rows) - len(changed))
        log.info(
            "listings of %s imported by %s: %d new, %d changed, %d unchanged",
            channel,
            actor,
            outcome.created,
            outcome.updated,
            outcome.unchanged,
        )
        return outcome

    def export_file(
        self, channel: str, encoding: ListingsEncoding = ListingsEncoding.UTF8
    ) -> bytes:
        """Every listing of the channel, in the import format. Raises InvalidInput naming
        `encoding` when a listing cannot be written in Shift_JIS."""
        text = io.StringIO(newline="")
        write_listings(self._every(channel), text)
        try:
            return text.getvalue().encode(encoding.codec)
        except UnicodeEncodeError as error:
            what = error.object[error.start : error.end]
            raise InvalidInput(
                f"{what!r} cannot be written in {encoding.label}: export as utf-8",
                field="encoding",
            ) from None

    def _every(self, channel: str) -> list[ListingRef]:
        refs: list[ListingRef] = []
        cursor: str | None = None
        while True:
            page = self.page(channel, cursor, MAX_PAGE)
            refs.extend(listing.ref for listing in page.items)
            if page.next_cursor is None:
                return refs
            cursor = page.next_cursor


def _kind(store: SyncStore, channel: str) -> ChannelKind:
    check_text(channel, "code")  # the CLI passes codes straight from the command line
    kind = store.channel_kind(channel)
    if kind is None:
        raise NotFound(f"no channel {channel!r}", field="code")
    return kind


def _item(ref: ListingRef) -> str:
    if ref.remote_variant:
        return f"channel item {ref.remote_id} / {ref.remote_variant}"
    return f"channel item {ref.remote_id}"


def _against_database(
    store: SyncStore,
    channel: str,
    rows: Sequence[ListingRow],
    current: dict[str, ListingRef],
) -> list[ListingLineError]:
    errors: list[ListingLineError] = []
    known = store.existing_skus([row.ref.sku for row in rows])
    holders = store.skus_for_remote(
        channel, [(r.ref.remote_id, r.ref.remote_variant) for r in rows]
    )
    # An item held by a SKU that this file moves to another item is free once the file is in.
    moving = set(current)
    for row in rows:
        ref = row.ref
        if ref.sku not in known:
            errors.append(ListingLineError(row.line, "sku", f"no SKU {ref.sku!r}"))
            continue
        holder = holders.get((ref.remote_id, ref.remote_variant))
        if holder is not None and holder != ref.sku and holder not in moving:
            message = f"{_item(ref)} is already listed for SKU {holder}"
            errors.append(ListingLineError(row.line, "remote_id", message))
    return errors
