"""A connection's secrets never show: not in its repr (log lines, tracebacks), masked when shown."""

from __future__ import annotations

from oms.channels.sync.domain.connections import (
    AmazonConnection,
    Connection,
    RakutenConnection,
    StorefrontConnection,
    masked,
)

SECRET = "s3cr3t-value"  # noqa: S105 (a test value)


def test_no_secret_appears_in_a_connections_repr_or_its_shown_form() -> None:
    connections: list[Connection] = [
        AmazonConnection("https://a", "https://t", "cid", SECRET, SECRET, "seller", "mkt"),
        RakutenConnection("https://r", SECRET, SECRET),
        StorefrontConnection("https://s", SECRET, SECRET, "gid://shopify/Location/1"),
    ]
    for connection in connections:
        assert SECRET not in repr(connection)
        shown = masked(connection)
        assert SECRET not in str(shown)
        assert all(shown[name] == "********" for name in connection.SECRETS)
