"""Login with Amazon and Restricted Data Tokens.

The refresh token (with the application's client id and secret) buys an access token for
`expires_in` seconds; it is kept until `token_margin` before that, so a call never goes out with
a token about to lapse, and the endpoint is asked once an hour rather than per call. An RDT
(Tokens API) opens the buyer's address on v0 getOrders; it is kept the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import httpx

from oms.channels.adapters.amazon.http import (
    CHANNEL,
    SpApi,
    failure,
    json_of,
    transport_failure,
)
from oms.channels.sync.domain.connections import AmazonConnection
from oms.channels.sync.domain.errors import AuthenticationFailed, ChannelUnavailable
from oms.channels.sync.ports import RateLimiter


class LoginWithAmazon:
    def __init__(
        self,
        connection: AmazonConnection,
        client: httpx.Client,
        limiter: RateLimiter,
        clock: Callable[[], datetime],
        margin: timedelta,
        user_agent: str,
    ) -> None:
        self._connection = connection
        self._client = client
        self._limiter = limiter
        self._clock = clock
        self._margin = margin
        self._user_agent = user_agent
        self._token: str | None = None
        self._until = datetime.min.replace(tzinfo=UTC)

    def access_token(self) -> str:
        if self._token is None or self._clock() >= self._until:
            self._refresh()
        assert self._token is not None  # noqa: S101 - _refresh sets it or raises
        return self._token

    def forget(self) -> None:
        self._token = None

    def _refresh(self) -> None:
        operation = "lwaToken"
        self._limiter.acquire(operation)
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._connection.refresh_token,
            "client_id": self._connection.client_id,
            "client_secret": self._connection.client_secret,
        }
        try:
            response = self._client.post(
                self._connection.token_url,
                data=form,
                headers={
                    "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
                    "user-agent": self._user_agent,
                },
            )
        except httpx.HTTPError as exc:
            raise transport_failure(operation, exc) from None
        if response.status_code == 400:
            # OAuth2 answers a refused grant (invalid_grant: the seller revoked us, or the
            # refresh token is wrong) with 400: no retry will change that.
            raise AuthenticationFailed(CHANNEL, f"{operation}: {_oauth_error(response)}")
        if not response.is_success:
            raise failure(operation, response)
        body = json_of(operation, response)
        token, seconds = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(seconds, int):
            raise ChannelUnavailable(CHANNEL, f"{operation}: no access token in the answer")
        self._token = token
        self._until = self._clock() + timedelta(seconds=seconds) - self._margin


def _oauth_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    return str(error) if error else f"HTTP {response.status_code}"


class RestrictedTokens:
    """RDTs by restricted resource path, each kept until shortly before it expires."""

    def __init__(self, api: SpApi, clock: Callable[[], datetime], margin: timedelta) -> None:
        self._api = api
        self._clock = clock
        self._margin = margin
        self._held: dict[str, tuple[str, datetime]] = {}

    def token_for(self, path: str, data_elements: Sequence[str]) -> str:
        held = self._held.get(path)
        if held is not None and self._clock() < held[1]:
            return held[0]
        operation = "createRestrictedDataToken"
        body = {
            "restrictedResources": [
                {"method": "GET", "path": path, "dataElements": list(data_elements)}
            ]
        }
        answer = json_of(
            operation,
            self._api.send(
                operation, "POST", path="/tokens/2021-03-01/restrictedDataToken", json=body
            ),
        )
        token, seconds = answer.get("restrictedDataToken"), answer.get("expiresIn")
        if not isinstance(token, str) or not isinstance(seconds, int):
            raise ChannelUnavailable(CHANNEL, f"{operation}: no token in the answer")
        self._held[path] = (token, self._clock() + timedelta(seconds=seconds) - self._margin)
        return token
