"""What push, pull and confirm share: whether a channel may be spoken to now, and recording a
channel's error on its sync state (throttled calls counted)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from oms.channels.sync.domain.errors import ChannelError, Throttled
from oms.channels.sync.ports import ChannelGateway, SyncUnitOfWork
from oms.channels.sync.services.gateways import GatewayPool
from oms.shared.errors import NotFound


def ready_gateway(
    uow: Callable[[], SyncUnitOfWork], gateways: GatewayPool, channel: str, *, pushing: bool
) -> tuple[ChannelGateway | None, str | None]:
    """The channel's adapter, or None and why nothing may be done (an unknown channel is a
    404). `pushing`: the connection must also have pushes on. The adapter is looked up after
    the read's transaction ended: the pool opens one of its own (on SQLite a transaction held
    meanwhile would wait for itself)."""
    with uow() as reading:
        found = reading.channels.channel_by_code(channel)
        if found is None:
            raise NotFound(f"no channel {channel!r}", field="channel")
        stored = reading.sync.connection(channel)
    if stored is None:
        return None, "the channel has no connection"
    if pushing and not stored.push:
        return None, "pushing is off for this channel"
    if not found.active:
        return None, "the channel is inactive"
    gateway = gateways.gateway(channel)
    return gateway, None if gateway is not None else "the channel has no connection"


def note_channel_error(
    uow: SyncUnitOfWork, channel: str, error: ChannelError, now: datetime
) -> None:
    """The channel's last error (for the status), a throttled call counted; the caller
    commits."""
    state = uow.sync.sync_state(channel, lock=True)
    state.last_error = str(error)[:2000]
    uow.sync.save_sync_state(state, now)
    if isinstance(error, Throttled):
        uow.sync.count_throttled(channel, 1)
