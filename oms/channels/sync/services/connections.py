"""How oms reaches each channel: its connection (endpoint, credentials) and sync settings.

An operator PUTs a connection (HTTP or `oms channels connection set`); the sync services read it
back decrypted (`connection`, `settings_of`, `connected`). Secrets are sealed by the `SecretBox`
before they reach the database and are never returned: `get` shows them masked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms.channels.sync.domain.connection_input import (
    SyncSettings,
    read_connection,
    restore_connection,
    secrets_of,
    shown,
    stored_settings,
)
from oms.channels.sync.domain.connections import Connection
from oms.channels.sync.domain.errors import ConnectionUnreadable
from oms.channels.sync.domain.model import ChannelKind
from oms.channels.sync.ports import SecretBox, StoredConnection, SyncUnitOfWork
from oms.shared.bounds import check_text
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """A connection as it may be shown: `fields` has every secret masked."""

    channel: str
    kind: ChannelKind
    fields: dict[str, object]
    settings: SyncSettings
    updated_at: datetime

    def as_document(self) -> dict[str, object]:
        """One flat object, the shape a PUT takes back as it is."""
        return {
            "channel": self.channel,
            "kind": self.kind.value,
            **self.fields,
            "push": self.settings.push,
            "pull_orders": self.settings.pull_orders,
            "pull_interval_seconds": self.settings.pull_interval_seconds,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ConnectedChannel:
    """A channel the sync may talk to: its connection, decrypted, and its settings."""

    channel: str
    connection: Connection
    settings: SyncSettings


class ConnectionService:
    def __init__(
        self,
        uow: Callable[[], SyncUnitOfWork],
        box: SecretBox,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._box = box
        self._clock = clock

    def put(self, channel: str, body: Mapping[str, Any], actor: str) -> ConnectionView:
        """Store the channel's connection; a secret left out (or sent masked) stays as stored.
        Raises NotFound for an unknown channel, InvalidInput naming the field at fault."""
        check_text(channel, "code")
        with self._uow() as uow:
            kind = uow.sync.channel_kind(channel)
            if kind is None:
                raise NotFound(f"no channel {channel!r}", field="code")
            stored = uow.sync.connection(channel)
            current: dict[str, str] = {}
            if stored is not None and stored.settings.get("kind", kind.value) == kind.value:
                try:
                    current = self._open(stored)
                except ConnectionUnreadable:
                    # Sealed with another key: a PUT with every secret replaces it; one that
                    # leaves a secret out is refused for that secret, as a first PUT is.
                    current = {}
            connection, settings = read_connection(channel, kind, body, current)
            now = self._save(uow, channel, connection, settings)
            uow.commit()
        # Who changed it, never what the secrets are.
        log.info("connection of channel %s set by %s", channel, actor)
        return ConnectionView(channel, kind, shown(connection), settings, now)

    def store(
        self, channel: str, connection: Connection, settings: SyncSettings, actor: str
    ) -> None:
        """Store a connection already built (the demo, tests): sealed as `put` seals it."""
        with self._uow() as uow:
            kind = uow.sync.channel_kind(channel)
            if kind is None:
                raise NotFound(f"no channel {channel!r}", field="code")
            if kind is not connection.kind:
                raise InvalidInput(
                    f"channel {channel} is {kind.value}, not {connection.kind.value}",
                    field="kind",
                )
            self._save(uow, channel, connection, settings)
            uow.commit()
        log.info("connection of channel %s set by %s", channel, actor)

    def _save(
        self,
        uow: SyncUnitOfWork,
        channel: str,
        connection: Connection,
        settings: SyncSettings,
    ) -> datetime:
        now = self._clock()
        uow.sync.save_connection(
            StoredConnection(
                channel=channel,
                kind=connection.kind,
                settings=stored_settings(connection),
                secrets=self._box.seal(secrets_of(connection)),
                push=settings.push,
                pull_orders=settings.pull_orders,
                pull_interval_seconds=settings.pull_interval_seconds,
                updated_at=now,
            )
        )
        return now

    def get(self, channel: str) -> ConnectionView:
        """The connection with every secret masked. Raises NotFound when the channel has none."""
        stored, connection = self._read(channel)
        if stored is None or connection is None:
            raise NotFound(f"channel {channel!r} has no connection yet: PUT one", field="code")
        return ConnectionView(
            channel, stored.kind, shown(connection), _settings(stored), stored.updated_at
        )

    def connection(self, channel: str) -> Connection | None:
        """The channel's connection with its secrets, for the adapters; None when it has none
        (or one written for another kind of channel). Raises ConnectionUnreadable when the
        secrets were sealed with another key."""
        return self._read(channel)[1]

    def settings_of(self, channel: str) -> SyncSettings | None:
        with self._uow() as uow:
            stored = uow.sync.connection(channel)
        return None if stored is None else _settings(stored)

    def connected(self) -> list[ConnectedChannel]:
        """Every active channel with a usable connection. One whose secrets cannot be read
        (another key) is left out and logged: the others keep syncing."""
        with self._uow() as uow:
            stored = uow.sync.connected_channels()
        found: list[ConnectedChannel] = []
        for item in stored:
            try:
                connection = self._restore(item)
            except ConnectionUnreadable:
                log.error("channel %s: connection unreadable with this secret key", item.channel)
                continue
            if connection is not None:
                found.append(ConnectedChannel(item.channel, connection, _settings(item)))
        return found

    def _read(self, channel: str) -> tuple[StoredConnection | None, Connection | None]:
        check_text(channel, "code")
        with self._uow() as uow:
            if uow.sync.channel_kind(channel) is None:
                raise NotFound(f"no channel {channel!r}", field="code")
            stored = uow.sync.connection(channel)
        if stored is None:
            return None, None
        return stored, self._restore(stored)

    def _restore(self, stored: StoredConnection) -> Connection | None:
        if stored.settings.get("kind", stored.kind.value) != stored.kind.value:
            return None  # the channel's kind changed: its old connection does not apply
        return restore_connection(stored.kind, stored.settings, self._open(stored))

    def _open(self, stored: StoredConnection) -> dict[str, str]:
        try:
            return self._box.open(stored.secrets)
        except ValueError:
            raise ConnectionUnreadable(stored.channel) from None


def _settings(stored: StoredConnection) -> SyncSettings:
    return SyncSettings(stored.push, stored.pull_orders, stored.pull_interval_seconds)
