"""The stored connections with their secrets opened, as the adapters need them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from oms.channels.sync.domain.connections import (
    AmazonConnection,
    Connection,
    RakutenConnection,
    StorefrontConnection,
)
from oms.channels.sync.domain.model import ChannelKind
from oms.channels.sync.ports import SecretBox, SyncUnitOfWork
from oms.shared.errors import Conflict

_KINDS: dict[ChannelKind, type[Connection]] = {
    ChannelKind.AMAZON: AmazonConnection,
    ChannelKind.RAKUTEN: RakutenConnection,
    ChannelKind.STOREFRONT: StorefrontConnection,
}


class OpenedConnections:
    def __init__(self, uow: Callable[[], SyncUnitOfWork], box: SecretBox) -> None:
        self._uow = uow
        self._box = box

    def connection(self, channel: str) -> Connection | None:
        with self._uow() as uow:
            stored = uow.sync.connection(channel)
        if stored is None:
            return None
        try:
            secrets = self._box.open(stored.secrets)
        except ValueError:
            raise Conflict(
                f"the connection of {channel} cannot be read with this secret key: set the key "
                "it was stored with (OMS_SECRET_KEY), or store the connection again",
                field="connection",
            ) from None
        kind = _KINDS[stored.kind]
        names = {f.name for f in fields(kind)}
        values = {k: v for k, v in {**stored.settings, **secrets}.items() if k in names}
        return kind(**values)  # type: ignore[arg-type]
