"""What a channel can answer besides success, in terms the sync acts on.

Adapters raise these, never their HTTP library's errors: the sync retries what is retryable
(with backoff and jitter), parks what is not as a failure a person can see and retry, and never
logs a credential (the messages here must not carry any).
"""

from __future__ import annotations

from oms.shared.errors import Conflict


class ChannelError(Exception):
    """Base: `retryable` says whether the same call may succeed later."""

    retryable = False

    def __init__(self, channel: str, message: str) -> None:
        super().__init__(f"{channel}: {message}")
        self.channel = channel
        self.message = message


class Throttled(ChannelError):
    """The channel refused the call for its rate limit (Amazon 429 QuotaExceeded, Rakuten's
    throttling family, Shopify THROTTLED). `retry_after`: seconds, when the channel said."""

    retryable = True

    def __init__(self, channel: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(channel, message)
        self.retry_after = retry_after


class ChannelUnavailable(ChannelError):
    """5xx, a timeout, a refused connection: the channel may answer later."""

    retryable = True


class AuthenticationFailed(ChannelError):
    """The credentials were refused (expired refresh token, wrong license key): a person must
    fix the connection; retrying changes nothing."""


class ChannelRejected(ChannelError):
    """The channel refused the request itself (4xx other than throttling): not retryable."""


class WebhookRefused(Exception):
    """A delivery that is not the channel's (bad or missing signature: `status` 401) or that
    cannot be read (400). Answered with `status`; nothing changes."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# ---------------------------------------------------------------------------- configuration
# Errors of an operator's input or of the installation, not of a channel: they carry the field
# at fault so that the HTTP edge names it, and never a secret's value.


class SecretKeyUnusable(Conflict):
    """The key that seals channel credentials is missing, unreadable or not a Fernet key."""

    title = "Secret key unusable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="secret_key")


class ConnectionUnreadable(Conflict):
    """A stored connection's secrets do not open with this key: written with another one."""

    title = "Connection unreadable"

    def __init__(self, channel: str) -> None:
        super().__init__(
            f"the stored connection of channel {channel!r} cannot be read with this secret key: "
            "set OMS_SECRET_KEY (or var/secret.key) to the key it was written with, or PUT the "
            "connection again with every secret",
            field="secret_key",
        )
