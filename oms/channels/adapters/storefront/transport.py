"""One GraphQL call to the Admin API: priced, paced, and its failures in the sync's terms.

Shopify prices a query by its requested (worst-case) cost and keeps a leaky bucket per app and
shop (contract 3.2). Before each call the adapter asks the shared limiter for that cost (the
published rate, shared by every worker), and it also honours what the last answer said in
`extensions.cost.throttleStatus`: when the bucket is lower than the next call's cost (another
process, a restart with a fresh limiter), it waits for the shortfall to be restored instead of
being THROTTLED. A THROTTLED answer is detected by `extensions.code`, whatever the HTTP status
([U] 200 or 429). Errors carry the channel's words, never a header or a credential.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from oms.channels.adapters.storefront.auth import CHANNEL, TokenSource
from oms.channels.sync.domain.errors import (
    AuthenticationFailed,
    ChannelRejected,
    ChannelUnavailable,
    Throttled,
)
from oms.channels.sync.ports import RateLimiter

OPERATION = "graphql"  # one bucket for every Admin GraphQL call, priced by cost


@dataclass(slots=True)
class BucketState:
    """The bucket as the last answer described it, and when."""

    available: float
    maximum: float
    restore_rate: float
    at: float

    def available_at(self, moment: float) -> float:
        return min(self.maximum, self.available + (moment - self.at) * self.restore_rate)


class AdminGraphQL:
    def __init__(
        self,
        endpoint: str,
        token: TokenSource,
        limiter: RateLimiter,
        client: httpx.Client,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._endpoint, self._token, self._limiter = endpoint, token, limiter
        self._client, self._sleep, self._monotonic = client, sleep, monotonic
        self._learned: dict[str, int] = {}  # operation -> the requested cost Shopify reported
        self.bucket: BucketState | None = None

    def cost_of(self, name: str, estimate: int) -> int:
        return max(estimate, self._learned.get(name, 0))

    def call(
        self, name: str, query: str, variables: Mapping[str, object], estimate: int
    ) -> dict[str, Any]:
        """`data` of the operation `name`; `estimate` is its requested cost by Shopify's rule
        (the cost Shopify reported for it last time, when higher, is used instead)."""
        cost = self.cost_of(name, estimate)
        answer = self._post(name, query, variables, cost)
        if answer.status_code == 401 and self._token.refused():
            answer = self._post(name, query, variables, cost)  # once, with a new token
        body = self._json(name, answer)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ChannelUnavailable(CHANNEL, f"{name}: an answer without data")
        return data

    def _post(
        self, name: str, query: str, variables: Mapping[str, object], cost: int
    ) -> httpx.Response:
        self._limiter.acquire(OPERATION, cost)
        self._wait_for_bucket(cost)
        try:
            return self._client.post(
                self._endpoint,
                json={"query": query, "variables": dict(variables)},
                headers=self._token.headers(),
            )
        except httpx.TimeoutException:
            raise ChannelUnavailable(CHANNEL, f"{name}: timed out") from None
        except httpx.HTTPError as error:
            raise ChannelUnavailable(CHANNEL, f"{name}: {type(error).__name__}") from None

    def _wait_for_bucket(self, cost: int) -> None:
        if self.bucket is None:
            return
        now = self._monotonic()
        shortfall = cost - self.bucket.available_at(now)
        if shortfall > 0 and self.bucket.restore_rate > 0:
            self._sleep(shortfall / self.bucket.restore_rate)

    def _json(self, name: str, answer: httpx.Response) -> dict[str, Any]:
        """The answer's body, or the sync error it means (HTTP status first, then GraphQL
        `errors`: THROTTLED is recognised by its code whatever the status)."""
        status = answer.status_code
        if status in (401, 403):
            raise AuthenticationFailed(CHANNEL, f"{name}: the access token was refused ({status})")
        if status >= 500:
            raise ChannelUnavailable(CHANNEL, f"{name}: HTTP {status}")
        try:
            body = answer.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            self._note_cost(name, body)
            errors = body.get("errors")
            if isinstance(errors, list) and errors:
                self._raise_for(name, errors)
        if status == 429:
            raise Throttled(CHANNEL, f"{name}: HTTP 429", _retry_after(answer))
        if status >= 400:
            detail = body.get("errors") if isinstance(body, dict) else None
            raise ChannelRejected(CHANNEL, f"{name}: HTTP {status} {_short(detail)}")
        if not isinstance(body, dict):
            raise ChannelUnavailable(CHANNEL, f"{name}: an answer that is not JSON")
        return body

    def _note_cost(self, name: str, body: Mapping[str, Any]) -> None:
        extensions = body.get("extensions")
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        if not isinstance(cost, dict):
            return
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self._learned[name] = max(int(requested), self._learned.get(name, 0))
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            # a partial throttleStatus: keep pacing on the limiter alone
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self.bucket = BucketState(
                    # whole points, perhaps rounded up: a point of margin
                    float(status["currentlyAvailable"]) - 1.0,
                    float(status["maximumAvailable"]),
                    float(status["restoreRate"]),
                    self._monotonic(),
                )

    def _raise_for(self, name: str, errors: list[Any]) -> None:
        codes = [
            e.get("extensions", {}).get("code")
            for e in errors
            if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
        ]
        messages = "; ".join(
            str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")
        )
        if "THROTTLED" in codes:
            raise Throttled(CHANNEL, f"{name}: THROTTLED", self._restore_wait(name))
        if "ACCESS_DENIED" in codes:
            raise AuthenticationFailed(CHANNEL, f"{name}: access denied ({_short(messages)})")
        if "INTERNAL_SERVER_ERROR" in codes:
            raise ChannelUnavailable(CHANNEL, f"{name}: {_short(messages)}")
        raise ChannelRejected(CHANNEL, f"{name}: {_short(messages) or 'errors'}")

    def _restore_wait(self, name: str) -> float | None:
        """Seconds until the bucket holds this operation's cost again."""
        if self.bucket is None or self.bucket.restore_rate <= 0:
            return None
        shortfall = self.cost_of(name, 0) - self.bucket.available
        return max(shortfall, 0) / self.bucket.restore_rate


def _retry_after(answer: httpx.Response) -> float | None:
    try:
        return float(answer.headers["retry-after"])
    except (KeyError, ValueError):
        return None


def _short(detail: object) -> str:
    text = "" if detail is None else str(detail)
    return text if len(text) <= 300 else text[:297] + "..."
