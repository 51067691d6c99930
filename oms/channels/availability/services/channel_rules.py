"""Channel rules as use cases: exclusions, ring-fenced pools, buffers, shares, caps, and their
audit trail."""

from __future__ import annotations

from oms.channels.availability.domain.rules import (
    Buffer,
    BufferScope,
    Cap,
    ChannelRules,
    Exclusion,
    ExclusionKind,
    Pool,
    RuleChange,
    RuleKind,
    Share,
    sku_rule_key,
    validate_percent,
    validate_units,
)
from oms.channels.availability.services.channel_core import (
    ChannelServiceCore,
    id_cursor,
    page_limit,
)
from oms.inventory.services import Page
from oms.shared.bounds import MAX_ID
from oms.shared.errors import InvalidInput, NotFound


class ChannelRuleUseCases(ChannelServiceCore):
    """Setting each channel's rules, audited."""

    # ------------------------------------------------------------------ channel rules

    def channel_rules(self, code: str) -> ChannelRules:
        with self._uow() as uow:
            store = uow.channels
            channel = store.channel_by_code(code)
            if channel is None or channel.id is None:
                raise NotFound(f"no channel {code!r}", field="code")
            return ChannelRules(
                channel=channel.code,
                exclusions=store.exclusions(channel.id),
                pools=store.pools(channel.id),
                buffers=store.buffers(channel.id),
                shares=store.shares(channel.id),
                caps=store.caps(channel.id),
            )

    def add_exclusion(self, code: str, exclusion: Exclusion, actor: str) -> Exclusion:
        """Adding an exclusion the channel already has changes nothing and returns it."""
        self._channel(code)
        if exclusion.kind is ExclusionKind.SKU and exclusion.sku is not None:
            self._check_sku(exclusion.sku, "sku")
        if exclusion.kind is ExclusionKind.LOCATION and exclusion.location is not None:
            self._check_location(exclusion.location, "location")
        with self._uow() as uow:
            store = uow.channels
            channel_id = self._locked_id(store, code)
            existing = store.exclusion_by_key(channel_id, exclusion.key)
            if existing is not None:
                return existing
            new_id = store.add_exclusion(channel_id, exclusion)
            self._record(
                uow,
                RuleKind.EXCLUSION,
                code,
                exclusion.key,
                None,
                exclusion.as_json(),
                actor,
                _excluded_skus(exclusion),
            )
            uow.publish_changes()
            uow.commit()
        return Exclusion(
            exclusion.kind,
            sku=exclusion.sku,
            attribute=exclusion.attribute,
            value=exclusion.value,
            location=exclusion.location,
            id=new_id,
        )

    def remove_exclusion(self, code: str, exclusion_id: int, actor: str) -> Exclusion:
        with self._uow() as uow:
            store = uow.channels
            channel_id = self._locked_id(store, code)
            exclusion = store.exclusion(channel_id, exclusion_id)
            if exclusion is None:
                raise NotFound(f"channel {code} has no exclusion {exclusion_id}", field="id")
            store.remove_exclusion(channel_id, exclusion_id)
            self._record(
                uow,
                RuleKind.EXCLUSION,
                code,
                exclusion.key,
                exclusion.as_json(),
                None,
                actor,
                _excluded_skus(exclusion),
            )
            uow.publish_changes()
            uow.commit()
        return exclusion

    def set_pool(self, code: str, sku: str, quantity: int | None, actor: str) -> Pool | None:
        """Ring-fence `quantity` of `sku` for the channel; None removes the pool.

        The pool holds `quantity` from now on; the channel's own orders draw it down
        (`oms.channels.availability.services.pool_fence`). The change is recorded with what
        the pool held before, so setting a drawn pool to its quantity again is a change.

        A pool may not exceed the SKU's physical available at the channel's feeding locations
        now; a later stock loss shrinks it in the pipeline instead.
        """
        if quantity is not None:
            validate_units(quantity, field_name="quantity")
        channel = self._channel(code)
        self._check_sku(sku, "sku")
        if quantity is not None:
            feeding = set(channel.locations)
            stock = self._inventory.sku_stock(sku)
            available = sum(ls.available for ls in stock.locations if ls.location in feeding)
            if quantity > available:
                raise InvalidInput(
                    f"a pool of {quantity} {sku} is more than the {available} available at "
                    f"the locations feeding {code}",
                    field="quantity",
                    extra={"available": available},
                )
        with self._uow() as uow:
            store = uow.channels
            channel_id = self._locked_id(store, code)
            # The SKU's row before the pool's: a reservation drawing from the pool holds the
            # SKU's rows (stock, then SKU) when it updates the pool row; the other order would
            # deadlock with it.
            uow.inventory.lock_skus(uow.inventory.sku_ids_by_code([sku]).values())
            old = store.pool(channel_id, sku)
            if old is not None:
                # What the pool held: its channel's orders draw it down, and setting it (even
                # to the same quantity) starts it afresh, which moves the numbers.
                old -= store.drawn_from_pools([sku]).get((channel_id, sku), 0)
            store.set_pool(channel_id, sku, quantity)
            self._record(uow, RuleKind.POOL, code, sku, old, quantity, actor, [sku])
            uow.publish_changes()
            uow.commit()
        return None if quantity is None else Pool(sku, quantity)

    def set_buffer(
        self, code: str, scope: str, key: str | None, units: int | None, actor: str
    ) -> Buffer | None:
        """Units held back per SKU, per category or by default; `units` None removes it."""
        parsed, key = Buffer.check_scope(scope, key)
        if units is not None:
            validate_units(units, field_name="units")
        self._channel(code)
        if key is not None and parsed.value == "sku":
            self._check_sku(key, "key")
        with self._uow() as uow:
            store = uow.channels
            channel_id = self._locked_id(store, code)
            old = store.buffer(channel_id, parsed, key)
            store.set_buffer(channel_id, parsed, key, units)
            rule_key = Buffer(parsed, key, 0).rule_key
            affects = [key] if parsed is BufferScope.SKU and key is not None else None
            self._record(uow, RuleKind.BUFFER, code, rule_key, old, units, actor, affects)
            uow.publish_changes()
            uow.commit()
        return None if units is None else Buffer(parsed, key, units)

    def set_share(
        self, code: str, sku: str | None, percent: float | None, actor: str
    ) -> Share | None:
        """A percentage (0-100) of the shared remainder; `sku` None: the channel default."""
        if percent is not None:
            percent = validate_percent(percent)
        self._channel(code)
        if sku is not None:
            self._check_sku(sku, "sku")
        with self._uow() as uow:
            store = uow.channels
            channel_id = self._locked_id(store, code)
            old = store.share(channel_id, sku)
            store.set_share(channel_id, sku, percent)
            self._record(
                uow, RuleKind.SHARE, code, sku_rule_key(sku), old, percent, actor, _one(sku)
            )
            uow.publish_changes()
            uow.commit()
        return None if percent is None else Share(sku, percent)

    def set_cap(self, code: str, sku: str | None, cap: int | None, actor: str) -> Cap | None:
        """At most `cap` units published; `sku` None: the channel default."""
        if cap is not None:
            validate_units(cap, field_name="cap")
        self._channel(code)
        if sku is not None:
            self._check_sku(sku, "sku")
        with self._uow() as uow:
            store = uow.channels
            channel_id = self._locked_id(store, code)
            old = store.cap(channel_id, sku)
            store.set_cap(channel_id, sku, cap)
            self._record(uow, RuleKind.CAP, code, sku_rule_key(sku), old, cap, actor, _one(sku))
            uow.publish_changes()
            uow.commit()
        return None if cap is None else Cap(sku, cap)

    def rule_changes(
        self, channel: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page[RuleChange]:
        """Newest first; `cursor` is the id of the last change of the previous page."""
        limit = page_limit(limit)
        before_id = id_cursor(cursor, MAX_ID)  # rule changes have BIGINT ids
        if channel is not None:
            self._channel(channel, "channel")
        with self._uow() as uow:
            items = uow.channels.rule_changes(channel=channel, before_id=before_id, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more and items else None)


def _one(sku: str | None) -> list[str] | None:
    """A rule of one SKU moves that SKU's numbers; a channel default moves every SKU's."""
    return None if sku is None else [sku]


def _excluded_skus(exclusion: Exclusion) -> list[str] | None:
    if exclusion.kind is ExclusionKind.SKU and exclusion.sku is not None:
        return [exclusion.sku]
    return None  # an attribute or a location: any SKU may be concerned
