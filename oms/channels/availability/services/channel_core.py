"""What the channel services share: the unit of work, the inventory, the clock, and the checks
and audit every rule change goes through."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from oms.channels.availability.domain.rules import (
    Channel,
    RuleChange,
    RuleKind,
    validate_feeding_locations,
)
from oms.channels.availability.ports import ChannelStore, ChannelUnitOfWork
from oms.inventory.services import MAX_PAGE, InventoryService
from oms.shared.bounds import MAX_SMALL_ID, parse_id
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound


def page_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


def id_cursor(cursor: str | None, upper: int = MAX_SMALL_ID) -> int | None:
    return parse_id(cursor, "cursor", upper=upper)


class ChannelServiceCore:
    """The shared state and helpers of the channel use cases."""

    def __init__(
        self,
        uow: Callable[[], ChannelUnitOfWork],
        inventory: InventoryService,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._clock = clock

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
