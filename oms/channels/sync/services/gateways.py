"""The adapter of each connected channel, built once and rebuilt when its connection changes."""

from __future__ import annotations

import threading

from oms.channels.sync.domain.connections import Connection
from oms.channels.sync.ports import ChannelGateway, Connections, GatewayFactory


class GatewayPool:
    """`gateway(channel)`: the channel's adapter, or None when it has no connection. An adapter
    keeps its tokens (LWA access token) and its HTTP connections between jobs."""

    def __init__(self, connections: Connections, factory: GatewayFactory) -> None:
        self._connections = connections
        self._factory = factory
        self._built: dict[str, tuple[Connection, ChannelGateway]] = {}
        self._lock = threading.Lock()

    def gateway(self, channel: str) -> ChannelGateway | None:
        connection = self._connections.connection(channel)
        with self._lock:
            if connection is None:
                self._drop(channel)
                return None
            built = self._built.get(channel)
            if built is not None and built[0] == connection:
                return built[1]
            self._drop(channel)
            gateway = self._factory(channel, connection)
            self._built[channel] = (connection, gateway)
            return gateway

    def _drop(self, channel: str) -> None:
        gone = self._built.pop(channel, None)
        if gone is not None:
            close = getattr(gone[1], "close", None)
            if callable(close):
                close()

    def close(self) -> None:
        with self._lock:
            for channel in list(self._built):
                self._drop(channel)
