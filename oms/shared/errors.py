"""Errors that name the broken rule; the HTTP edge maps them to RFC 9457 problems."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A business rule refused a command. Nothing was changed."""

    kind: ClassVar[str] = "invalid"  # invalid | not_found | conflict | forbidden
    title: ClassVar[str] = "Invalid request"

    def __init__(
        self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}

    @property
    def type_slug(self) -> str:
        name = type(self).__name__
        return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


class InvalidInput(DomainError):
    kind = "invalid"
    title = "Invalid input"


class NotFound(DomainError):
    kind = "not_found"
    title = "Not found"


class Conflict(DomainError):
    kind = "conflict"
    title = "Conflict"


class GaveWay(Conflict):
    """The database chose this transaction to give way to a concurrent one (a deadlock or a
    serialization failure on PostgreSQL): it was rolled back, nothing was changed, and the same
    request again is expected to succeed. Services that retry their transaction catch it."""

    title = "Gave way to a concurrent change"


class IdempotencyKeyExpired(Conflict):
    title = "Idempotency key used before"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was used before, longer ago than requests are remembered "
            "(idempotency_retention); nothing was changed. A new request needs a new key",
            field="Idempotency-Key",
        )


class IdempotencyKeyReused(Conflict):
    title = "Idempotency key reused with a different request"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used for a different request, or by another "
            "client (API key)",
            field="Idempotency-Key",
        )
