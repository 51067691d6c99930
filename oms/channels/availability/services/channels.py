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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oms.channels.availability.domain.rules import (
    Channel,
    DefaultSafetyStock,
    RuleKind,
    SafetyStock,
    parse_channel_kind,
    validate_code,
    validate_name,
    validate_push_latency,
    validate_units,
)
from oms.channels.availability.services.channel_core import id_cursor, page_limit
from oms.channels.availability.services.channel_rules import ChannelRuleUseCases
from oms.inventory.services import Page
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


class ChannelService(ChannelRuleUseCases):
    """Channels, their safety stock and rules (see ChannelRuleUseCases). One per process."""

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
        limit = page_limit(limit)
        with self._uow() as uow:
            items = uow.channels.list_channels(id_cursor(cursor) or 0, limit + 1)
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
        limit = page_limit(limit)
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
