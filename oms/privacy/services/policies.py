"""Each channel's PII policy: the stored one, else its kind's default."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from oms.privacy.domain import PiiPolicy, default_policy
from oms.privacy.ports import PrivacyUnitOfWork
from oms.shared.clock import utcnow
from oms.shared.errors import NotFound


class PolicyService:
    def __init__(
        self,
        uow: Callable[[], PrivacyUnitOfWork],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._clock = clock

    def policy(self, channel: str) -> PiiPolicy:
        with self._uow() as uow:
            kinds = uow.privacy.channel_kinds()
            if channel not in kinds:
                raise NotFound(f"no channel {channel!r}", field="code")
            return uow.privacy.policy(channel) or default_policy(channel, kinds[channel])

    def set_policy(
        self,
        channel: str,
        *,
        enabled: bool,
        fields: Iterable[str],
        days_after_delivery: int,
        days_after_cancellation: int,
        actor: str,
    ) -> PiiPolicy:
        policy = PiiPolicy.of(
            channel,
            enabled=enabled,
            fields=fields,
            days_after_delivery=days_after_delivery,
            days_after_cancellation=days_after_cancellation,
        )
        with self._uow() as uow:
            if channel not in uow.privacy.channel_kinds():
                raise NotFound(f"no channel {channel!r}", field="code")
            uow.privacy.put_policy(policy, actor, self._clock())
            uow.commit()
        return policy

    def every_policy(self) -> list[PiiPolicy]:
        """Every channel's policy in force, stored or default, by channel code."""
        with self._uow() as uow:
            kinds = uow.privacy.channel_kinds()
            stored = {p.channel: p for p in uow.privacy.policies()}
        return [stored.get(code) or default_policy(code, kinds[code]) for code in sorted(kinds)]
