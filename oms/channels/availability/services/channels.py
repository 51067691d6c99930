"""Channel use cases: channels and their rules, shared by the HTTP API, the CLI and the workers.

Every rule write runs in one transaction with its `rule_changes` row (who, when, old and new
value); a write that changes nothing records nothing. A rule is removed by setting it to
None (the API: `PUT` with `null`); exclusions, which have no value, are added and removed.

SKUs, locations and stock are read through `InventoryService`, in their own transactions and
before the channel transaction begins: on SQLite every transaction takes the write lock, so a
nested one would wait for its parent. The foreign keys make a code that vanished in between
fail the write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms.channels.availability.domain.rules import (
    Buffer,
    BufferScope,
    Cap,
    Channel,
    ChannelRules,
    DefaultSafetyStock,
    Exclusion,
    ExclusionKind,
    Pool,
    RuleChange,
    RuleKind,
    SafetyStock,
    Share,
    parse_channel_kind,
    sku_rule_key,
    validate_code,
    validate_feeding_locations,
    validate_name,
    validate_percent,
    validate_push_latency,
    validate_units,
)
from oms.channels.availability.ports import ChannelStore, ChannelUnitOfWork
from oms.inventory.services import MAX_PAGE, InventoryService, Page
from oms.shared.bounds import MAX_ID, MAX_SMALL_ID, parse_id
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class CreateChannel:
    code: str
    name: str
    kind: str
    active: bool = True
    locations: Sequence[str] = ()
    auto_buffer: bool = False
    push_latency_seconds: float = 300.0
    settings: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class UpdateChannel:
    """Only the fields that are not None change."""

    code: str
    name: str | None = None
    kind: str | None = None
    active: bool | None = None
    locations: Sequence[str] | None = None
    auto_buffer: bool | None = None
    push_latency_seconds: float | None = None
    settings: dict[str, Any] | None = None


def _limit(limit: int) -> int:
    if limit < 1 or limit > MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


def _id_cursor(cursor: str | None, upper: int = MAX_SMALL_ID) -> int | None:
    return parse_id(cursor, "cursor", upper=upper)


class ChannelService:
    """Use cases of the channels context. One instance per process; each call one transaction."""

    def __init__(
        self,
        uow: Callable[[], ChannelUnitOfWork],
        inventory: InventoryService,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._clock = clock

    # ------------------------------------------------------------------ channels

    def create_channel(self, cmd: CreateChannel) -> Channel:
        now = self._clock()
        channel = Channel(
            code=validate_code(cmd.code),
            name=validate_name(cmd.name),
            kind=parse_channel_kind(cmd.kind),
            active=cmd.active,
            locations=self._feeding_locations(cmd.locations),
            auto_buffer=cmd.auto_buffer,
            push_latency_seconds=validate_push_latency(cmd.push_latency_seconds),
            settings=dict(cmd.settings or {}),
            created_at=now,
            updated_at=now,
        )
        with self._uow() as uow:
            if uow.channels.channel_by_code(channel.code) is not None:
                raise Conflict(f"channel {channel.code} already exists", field="code")
            channel.id = uow.channels.add_channel(channel)
            uow.rules_changed(None)  # its first numbers, for every SKU
            uow.publish_changes()
            uow.commit()
        return channel

    def update_channel(self, cmd: UpdateChannel) -> Channel:
        self.get_channel(cmd.code)  # 404 before the body is looked at
        name = validate_name(cmd.name) if cmd.name is not None else None
        kind = parse_channel_kind(cmd.kind) if cmd.kind is not None else None
        latency = cmd.push_latency_seconds
        latency = validate_push_latency(latency) if latency is not None else None
        feeding = self._feeding_locations(cmd.locations) if cmd.locations is not None else None
        with self._uow() as uow:
            channel = self._locked(uow.channels, cmd.code)
            channel.name = name if name is not None else channel.name
            channel.kind = kind if kind is not None else channel.kind
            channel.active = cmd.active if cmd.active is not None else channel.active
            channel.locations = feeding if feeding is not None else channel.locations
            if cmd.auto_buffer is not None:
                channel.auto_buffer = cmd.auto_buffer
            if latency is not None:
                channel.push_latency_seconds = latency
            if cmd.settings is not None:
                channel.settings = dict(cmd.settings)
            channel.updated_at = self._clock()
            uow.channels.update_channel(channel)
            uow.rules_changed(None)
            uow.publish_changes()
            uow.commit()
        return channel

    def get_channel(self, code: str) -> Channel:
        with self._uow() as uow:
            channel = uow.channels.channel_by_code(code)
        if channel is None:
            raise NotFound(f"no channel {code!r}", field="code")
        return channel

    def list_channels(self, cursor: str | None = None, limit: int = 100) -> Page[Channel]:
        limit = _limit(limit)
        with self._uow() as uow:
            items = uow.channels.list_channels(_id_cursor(cursor) or 0, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more and items else None)

    # ------------------------------------------------------------------ safety stock

    def set_safety_stock(
        self, sku: str, location: str, quantity: int | None, actor: str
    ) -> SafetyStock | None:
        """Units of `sku` kept back at `location`; None removes it (the default applies)."""
        if quantity is not None:
            validate_units(quantity, field_name="quantity")
        self._check_sku(sku, "sku")
        self._check_location(location, "location")
        with self._uow() as uow:
            store = uow.channels
            old = store.safety_stock(sku, location)
            store.set_safety_stock(sku, location, quantity)
            self._record(
                uow, RuleKind.SAFETY_STOCK, None, f"{sku}@{location}", old, quantity, actor, [sku]
            )
            uow.publish_changes()
            uow.commit()
        return None if quantity is None else SafetyStock(sku, location, quantity)

    def set_default_safety_stock(
        self, location: str, quantity: int | None, actor: str
    ) -> DefaultSafetyStock | None:
        """Safety stock of every SKU at `location` without its own; None removes it."""
        if quantity is not None:
            validate_units(quantity, field_name="quantity")
        self._check_location(location, "location")
        with self._uow() as uow:
            store = uow.channels
            old = store.default_safety_stock(location)
            store.set_default_safety_stock(location, quantity)
            self._record(
                uow, RuleKind.SAFETY_STOCK_DEFAULT, None, location, old, quantity, actor, None
            )
            uow.publish_changes()
            uow.commit()
        return None if quantity is None else DefaultSafetyStock(location, quantity)

    def safety_stocks(
        self,
        sku: str | None = None,
        location: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[SafetyStock]:
        limit = _limit(limit)
        after: tuple[str, str] | None = None
        if cursor:
            sku_part, sep, location_part = cursor.partition("|")
            if not sep:
                raise InvalidInput("cursor is not one this API returned", field="cursor")
            after = (sku_part, location_part)
        with self._uow() as uow:
            items = uow.channels.safety_stocks(
                sku=sku, location=location, after=after, limit=limit + 1
            )
        more = len(items) > limit
        items = items[:limit]
        next_cursor = f"{items[-1].sku}|{items[-1].location}" if more and items else None
        return Page(items, next_cursor)

    def default_safety_stocks(self) -> list[DefaultSafetyStock]:
        with self._uow() as uow:
            return uow.channels.default_safety_stocks()

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
        limit = _limit(limit)
        before_id = _id_cursor(cursor, MAX_ID)  # rule changes have BIGINT ids
        if channel is not None:
            self._channel(channel, "channel")
        with self._uow() as uow:
            items = uow.channels.rule_changes(channel=channel, before_id=before_id, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more and items else None)

    # ------------------------------------------------------------------ helpers

    def _channel(self, code: str, field_name: str = "code") -> Channel:
        with self._uow() as uow:
            channel = uow.channels.channel_by_code(code)
        if channel is None:
            raise NotFound(f"no channel {code!r}", field=field_name)
        return channel

    @staticmethod
    def _locked(store: ChannelStore, code: str) -> Channel:
        # Rule writes of one channel queue behind this row lock, so each audit row's old
        # value is the one it replaced.
        channel = store.channel_by_code(code, lock=True)
        if channel is None or channel.id is None:
            raise NotFound(f"no channel {code!r}", field="code")
        return channel

    @staticmethod
    def _locked_id(store: ChannelStore, code: str) -> int:
        channel = store.channel_by_code(code, lock=True)
        if channel is None or channel.id is None:
            raise NotFound(f"no channel {code!r}", field="code")
        return channel.id

    def _feeding_locations(self, codes: Sequence[str]) -> list[str]:
        cleaned = validate_feeding_locations(list(codes))
        for i, code in enumerate(cleaned):
            self._check_location(code, f"locations[{i}]")
        return cleaned

    def _check_location(self, code: str, field_name: str) -> None:
        try:
            self._inventory.get_location(code)
        except NotFound:
            raise InvalidInput(f"location {code!r} does not exist", field=field_name) from None

    def _check_sku(self, code: str, field_name: str) -> None:
        try:
            self._inventory.get_sku(code)
        except NotFound:
            raise InvalidInput(f"SKU {code!r} does not exist", field=field_name) from None

    def _record(
        self,
        uow: ChannelUnitOfWork,
        kind: RuleKind,
        channel: str | None,
        key: str,
        old: Any,
        new: Any,
        actor: str,
        affects: Sequence[str] | None,
    ) -> None:
        """Audit the change and have the numbers it moves (of `affects`, None: every SKU's)
        republished in this transaction."""
        if old == new:
            return  # nothing changed: nothing to record, nothing moves
        uow.channels.add_rule_change(RuleChange(kind, channel, key, old, new, actor, self._clock()))
        uow.rules_changed(affects)


def _one(sku: str | None) -> list[str] | None:
    """A rule of one SKU moves that SKU's numbers; a channel default moves every SKU's."""
    return None if sku is None else [sku]


def _excluded_skus(exclusion: Exclusion) -> list[str] | None:
    if exclusion.kind is ExclusionKind.SKU and exclusion.sku is not None:
        return [exclusion.sku]
    return None  # an attribute or a location: any SKU may be concerned
