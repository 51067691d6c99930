"""How orders are sourced: each channel's sourcing profile, each location's priority and
daily capacity. Admin settings, read by every sourcing decision."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from oms.orders.domain.sourcing_policy import RankingFactor, SourcingProfile
from oms.orders.ports import LocationShipping, OrderUnitOfWork
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound

PROFILE_FIELDS = ("max_shipments", "min_shipment_value", "ranking", "allow_backorder")
MAX_PRIORITY = 1_000_000
MAX_DAILY_CAPACITY = 1_000_000  # shipments a day: columns are 32-bit


def profile_from(settings: Mapping[str, Any] | None) -> SourcingProfile:
    """A stored profile (only the fields set) over the defaults."""
    values = dict(settings or {})
    if "ranking" in values:
        values["ranking"] = tuple(values["ranking"])
    return SourcingProfile(
        **{k: v for k, v in values.items() if k in PROFILE_FIELDS or k == "version"}
    )


def profile_json(profile: SourcingProfile) -> dict[str, Any]:
    data = asdict(profile)
    data["ranking"] = [f.value for f in profile.ranking]
    return data


class OrderSettingsService:
    def __init__(
        self, uow: Callable[[], OrderUnitOfWork], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._uow = uow
        self._clock = clock

    def sourcing_profile(self, channel: str) -> dict[str, Any]:
        with self._uow() as uow:
            if uow.directory.channel(channel) is None:
                raise NotFound(f"no channel {channel!r}", field="code")
            stored = uow.orders.sourcing_profile(channel)
        return {"channel": channel, **profile_json(profile_from(stored))}

    def set_sourcing_profile(self, channel: str, data: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(data) - set(PROFILE_FIELDS))
        if unknown:
            raise InvalidInput(
                f"unknown field {unknown[0]!r}; a profile has {', '.join(PROFILE_FIELDS)}",
                field=unknown[0],
            )
        if "allow_backorder" in data and not isinstance(data["allow_backorder"], bool):
            raise InvalidInput("allow_backorder must be true or false", field="allow_backorder")
        if "ranking" in data:
            ranking = data["ranking"]
            known = {f.value for f in RankingFactor}
            if not isinstance(ranking, list) or any(f not in known for f in ranking):
                raise InvalidInput(
                    f"ranking must be a list of {', '.join(sorted(known))}", field="ranking"
                )
        with self._uow() as uow:
            if uow.directory.channel(channel) is None:
                raise NotFound(f"no channel {channel!r}", field="code")
            stored = dict(uow.orders.sourcing_profile(channel) or {})
            stored.update(data)
            stored["version"] = int(stored.get("version", 0)) + 1
            profile = profile_from(stored)  # raises InvalidInput naming the field
            uow.orders.set_sourcing_profile(channel, stored, self._clock())
            uow.publish_changes()
            uow.commit()
        return {"channel": channel, **profile_json(profile)}

    def set_location_shipping(
        self, location: str, priority: int, daily_capacity: int | None
    ) -> LocationShipping:
        if daily_capacity is not None and not 0 <= daily_capacity <= MAX_DAILY_CAPACITY:
            raise InvalidInput(
                f"daily_capacity must be from 0 to {MAX_DAILY_CAPACITY:,}", field="daily_capacity"
            )
        if abs(priority) > MAX_PRIORITY:
            raise InvalidInput(
                f"priority must be between -{MAX_PRIORITY} and {MAX_PRIORITY}", field="priority"
            )
        with self._uow() as uow:
            if uow.inventory.location_by_code(location) is None:
                raise NotFound(f"no location {location!r}", field="code")
            value = LocationShipping(location, priority, daily_capacity)
            uow.orders.set_location_shipping(value)
            uow.publish_changes()
            uow.commit()
        return value
