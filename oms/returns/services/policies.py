"""Each channel's return policy: the window and reasons that approve its requests unattended,
and where exchanges and replacements for its orders are placed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from oms.returns.domain.policy import ReturnPolicy, parse_reason
from oms.returns.ports import ReturnsUnitOfWork
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput, NotFound


class ReturnPolicyService:
    def __init__(
        self,
        uow: Callable[[], ReturnsUnitOfWork],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._clock = clock

    def put(
        self,
        channel: str,
        window_days: int,
        reasons: Sequence[str],
        by: str,
        *,
        auto_approve: bool = True,
        exchange_channel: str | None = None,
    ) -> ReturnPolicy:
        policy = ReturnPolicy(
            channel=channel,
            window_days=window_days,
            reasons=frozenset(
                parse_reason(r, f"reasons[{i}]") if isinstance(r, str) else _not_text(i)
                for i, r in enumerate(reasons)
            ),
            auto_approve=auto_approve,
            exchange_channel=exchange_channel,
        )
        with self._uow() as uow:
            directory = uow.directory
            if directory.channel(channel) is None:
                raise NotFound(f"channel {channel!r} does not exist", field="code")
            if exchange_channel is not None and directory.channel(exchange_channel) is None:
                raise InvalidInput(
                    f"channel {exchange_channel!r} does not exist", field="exchange_channel"
                )
            uow.returns.put_policy(policy, by, self._clock())
            uow.commit()
        return policy

    def get(self, channel: str) -> ReturnPolicy:
        with self._uow() as uow:
            if uow.directory.channel(channel) is None:
                raise NotFound(f"channel {channel!r} does not exist", field="code")
            found = uow.returns.policy(channel)
        if found is None:
            # No policy: nothing is approved unattended; a person approves every request.
            return ReturnPolicy(channel, 0, frozenset(), auto_approve=False)
        return found


def _not_text(index: int) -> object:
    raise InvalidInput("a reason is text", field=f"reasons[{index}]")
