"""A connection as an operator writes it (a JSON object), checked by the channel's kind.

The object has the fields of the kind's connection (`oms.channels.sync.domain.connections`)
plus the sync settings `push`, `pull_orders` and `pull_interval_seconds`. The read-only fields
of the shown form (`channel`, `kind`, `updated_at`) may be sent back as they were shown, so that
GET -> edit -> PUT round trips; a secret sent as the mask `********`, or left out, keeps the
stored one. Anything else is refused, naming the field, and never repeating a secret's value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from oms.channels.sync.domain.connections import (
    AmazonConnection,
    Connection,
    RakutenConnection,
    StorefrontConnection,
)
from oms.channels.sync.domain.model import Carrier, ChannelKind
from oms.shared.bounds import control_character
from oms.shared.errors import InvalidInput

MASK = "********"
ORDERS_APIS = ("v0", "2026-01-01")
MIN_PULL_INTERVAL, MAX_PULL_INTERVAL = 10, 86_400
MAX_URL = 2_000
MAX_TEXT = 200
MAX_SECRET = 4_000  # LWA refresh tokens run to several hundred characters
MAX_CARRIER_CODE = 100

SYNC_FIELDS = ("push", "pull_orders", "pull_interval_seconds")
READ_ONLY_FIELDS = ("channel", "kind", "updated_at")
_URL_FIELDS = frozenset({"endpoint", "token_url"})
_STOREFRONT_LOCATION = re.compile(r"(?:gid://shopify/Location/)?([0-9]{1,20})")

CONNECTION_TYPES: dict[ChannelKind, type[Connection]] = {
    ChannelKind.AMAZON: AmazonConnection,
    ChannelKind.RAKUTEN: RakutenConnection,
    ChannelKind.STOREFRONT: StorefrontConnection,
}


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """What the sync does with a connected channel, and how often it pulls its orders."""

    push: bool = True
    pull_orders: bool = True
    pull_interval_seconds: int = 60


def field_names(kind: ChannelKind) -> list[str]:
    """The fields of a kind's connection, in the order they are shown."""
    return [f.name for f in fields(CONNECTION_TYPES[kind])]


def read_connection(
    channel: str,
    kind: ChannelKind,
    body: Mapping[str, Any],
    stored_secrets: Mapping[str, str],
) -> tuple[Connection, SyncSettings]:
    """The connection and sync settings that `body` asks for; `stored_secrets` are the secrets
    stored now (empty for a first PUT). Raises InvalidInput naming the first field at fault.

    No error repeats a value that was sent: a credential pasted into the wrong field would
    otherwise end up in a response, a log line or a terminal's scroll-back."""
    if not isinstance(body, Mapping):
        raise InvalidInput("a connection is a JSON object of fields", field="body")
    cls = CONNECTION_TYPES[kind]
    names = field_names(kind)
    _refuse_unknown(kind, body, names)
    _check_read_only(channel, kind, body)
    values: dict[str, Any] = {}
    defaults = {
        f.name for f in fields(cls) if f.default is not MISSING or f.default_factory is not MISSING
    }
    for name in names:
        if name in cls.SECRETS:
            values[name] = _secret(name, body.get(name), stored_secrets.get(name))
        elif name not in body or body[name] is None:
            if name not in defaults:
                raise InvalidInput(f"{name} is required for a {kind} connection", field=name)
        elif name == "carrier_codes":
            values[name] = _carrier_codes(kind, body[name])
        else:
            values[name] = _setting(kind, name, body[name])
    return cls(**values), _sync_settings(body)


def _refuse_unknown(kind: ChannelKind, body: Mapping[str, Any], names: list[str]) -> None:
    known = set(names) | set(SYNC_FIELDS) | set(READ_ONLY_FIELDS)
    for name in sorted(str(k) for k in body):
        if name in known:
            continue
        owners = [str(k) for k, cls in CONNECTION_TYPES.items() if name in field_names(k)]
        shown = _shown_name(name)
        if owners:
            detail = (
                f"{shown} is a field of an {' or '.join(owners)} connection, not of a {kind} one"
            )
        else:
            detail = f"unknown field {shown}: a {kind} connection has " + ", ".join(
                names + list(SYNC_FIELDS)
            )
        raise InvalidInput(detail, field=shown)


def _shown_name(name: str) -> str:
    """A field name as an error may repeat it: short, and without control characters."""
    if control_character(name) is not None or len(name) > 100:
        return repr(name[:100])
    return name


def _check_read_only(channel: str, kind: ChannelKind, body: Mapping[str, Any]) -> None:
    # Sent back as shown they are fine; anything else would be a request for what cannot be.
    if "channel" in body and body["channel"] != channel:
        raise InvalidInput(
            f"channel is the path's channel ({channel}); leave it out or send it as shown",
            field="channel",
        )
    if "kind" in body and body["kind"] != kind.value:
        raise InvalidInput(
            f"the channel {channel} is a {kind} channel: its connection has the {kind} fields "
            "(the channel's kind is changed on the channel itself)",
            field="kind",
        )
    # updated_at is the server's: whatever is sent is ignored.


def _secret(name: str, value: object, stored: str | None) -> str:
    if value is None or value == MASK:
        if stored:
            return stored
        raise InvalidInput(
            f"{name} is required: no {name} is stored yet for this channel", field=name
        )
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", field=name)
    # The value itself is never repeated: it may be a real credential pasted in the wrong place.
    if not value.strip():
        raise InvalidInput(f"{name} must not be empty", field=name)
    if value != value.strip():
        raise InvalidInput(f"{name} must not start or end with a space", field=name)
    if len(value) > MAX_SECRET:
        raise InvalidInput(f"{name} must be at most {MAX_SECRET} characters", field=name)
    if control_character(value) is not None:
        raise InvalidInput(f"{name} must not contain control characters", field=name)
    return value


def _setting(kind: ChannelKind, name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", field=name)
    if not value.strip():
        raise InvalidInput(f"{name} must not be empty", field=name)
    bad = control_character(value)
    if bad is not None:
        raise InvalidInput(f"{name} must not contain control characters, found {bad}", field=name)
    if value != value.strip():
        raise InvalidInput(f"{name} must not start or end with a space", field=name)
    if name in _URL_FIELDS:
        return _url(name, value)
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{name} must be at most {MAX_TEXT} characters", field=name)
    if name == "orders_api":
        if value not in ORDERS_APIS:
            raise InvalidInput(f"orders_api must be one of {', '.join(ORDERS_APIS)}", field=name)
        return value
    if kind is ChannelKind.STOREFRONT and name == "location_id":
        found = _STOREFRONT_LOCATION.fullmatch(value)
        if found is None or int(found.group(1)) == 0:
            raise InvalidInput(
                "location_id must be a storefront location: gid://shopify/Location/<digits> "
                "or its digits",
                field=name,
            )
        return f"gid://shopify/Location/{int(found.group(1))}"
    if any(c.isspace() for c in value):
        raise InvalidInput(f"{name} must not contain spaces", field=name)
    return value


def _url(name: str, value: str) -> str:
    if len(value) > MAX_URL:
        raise InvalidInput(f"{name} must be at most {MAX_URL} characters", field=name)
    if any(c.isspace() for c in value):
        raise InvalidInput(f"{name} must be a URL without spaces", field=name)
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        host = None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidInput(
            f"{name} must be an http(s) URL with a host, e.g. https://api.example.com",
            field=name,
        )
    if parts.username or parts.password:
        # Credentials in a URL end up in logs and error messages: they have fields of their own.
        raise InvalidInput(f"{name} must not carry a user or password", field=name)
    return value


def _carrier_codes(kind: ChannelKind, value: object) -> tuple[tuple[Carrier, str], ...]:
    name = "carrier_codes"
    if not isinstance(value, Mapping):
        carriers = ", ".join(c.value for c in Carrier)
        raise InvalidInput(
            f"{name} must be an object of carrier ({carriers}) -> the {kind} carrier code",
            field=name,
        )
    codes: list[tuple[Carrier, str]] = []
    for key, code in value.items():
        field = f"{name}.{_shown_name(str(key))}"
        try:
            carrier = Carrier(key)
        except ValueError:
            carriers = ", ".join(c.value for c in Carrier)
            raise InvalidInput(f"{field} is no carrier: they are {carriers}", field=field) from None
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput(f"{field} must be a non-empty string", field=field)
        if len(code) > MAX_CARRIER_CODE or control_character(code) is not None:
            raise InvalidInput(
                f"{field} must be at most {MAX_CARRIER_CODE} characters, without control "
                "characters",
                field=field,
            )
        codes.append((carrier, code.strip()))
    return tuple(sorted(codes, key=lambda pair: list(Carrier).index(pair[0])))


def _sync_settings(body: Mapping[str, Any]) -> SyncSettings:
    defaults = SyncSettings()
    flags: dict[str, bool] = {}
    for name in ("push", "pull_orders"):
        value = body.get(name)
        if value is None:
            flags[name] = getattr(defaults, name)
        elif isinstance(value, bool):
            flags[name] = value
        else:
            raise InvalidInput(f"{name} must be true or false", field=name)
    interval = body.get("pull_interval_seconds")
    if interval is None:
        interval = defaults.pull_interval_seconds
    elif isinstance(interval, bool) or not isinstance(interval, int):
        raise InvalidInput(
            "pull_interval_seconds must be a whole number", field="pull_interval_seconds"
        )
    if not MIN_PULL_INTERVAL <= interval <= MAX_PULL_INTERVAL:
        raise InvalidInput(
            f"pull_interval_seconds must be from {MIN_PULL_INTERVAL} to {MAX_PULL_INTERVAL:,}, "
            f"got {interval}",
            field="pull_interval_seconds",
        )
    return SyncSettings(flags["push"], flags["pull_orders"], interval)


# ---------------------------------------------------------------------------- storage


def stored_settings(connection: Connection) -> dict[str, object]:
    """The non-secret fields, as stored (JSON), with the kind they were written for."""
    stored: dict[str, object] = {"kind": connection.kind.value}
    for f in fields(connection):
        if f.name in connection.SECRETS:
            continue
        value = getattr(connection, f.name)
        stored[f.name] = (
            {c.value: code for c, code in value} if f.name == "carrier_codes" else value
        )
    return stored


def secrets_of(connection: Connection) -> dict[str, str]:
    return {name: str(getattr(connection, name)) for name in sorted(connection.SECRETS)}


def restore_connection(
    kind: ChannelKind, settings: Mapping[str, Any], secrets: Mapping[str, str]
) -> Connection | None:
    """The connection as stored; None when it was written for another kind of channel (the
    channel's kind changed since) or is incomplete. Settings stored without their kind are
    taken for the channel's."""
    if settings.get("kind", kind.value) != kind.value:
        return None
    cls = CONNECTION_TYPES[kind]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in cls.SECRETS:
            if f.name not in secrets:
                return None
            values[f.name] = secrets[f.name]
        elif f.name == "carrier_codes" and isinstance(settings.get(f.name), Mapping):
            try:
                codes = settings[f.name].items()
                values[f.name] = tuple((Carrier(c), str(code)) for c, code in codes)
            except ValueError:
                return None
        elif f.name in settings:
            values[f.name] = settings[f.name]
    try:
        return cls(**values)
    except (TypeError, ValueError):  # a required field missing, an unknown carrier
        return None


def shown(connection: Connection) -> dict[str, object]:
    """The connection's fields as they may be shown: every secret masked."""
    view: dict[str, object] = {}
    for f in fields(connection):
        value = getattr(connection, f.name)
        if f.name in connection.SECRETS:
            view[f.name] = MASK
        elif f.name == "carrier_codes":
            view[f.name] = {c.value: code for c, code in value}
        else:
            view[f.name] = value
    return view
