"""Legal holds: placed and released by a person with a reason; a held order is never
anonymised (the job re-checks holds after locking each batch's rows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from oms.privacy.domain import LegalHold, hold_reason
from oms.privacy.ports import PrivacyUnitOfWork
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, NotFound


@dataclass(frozen=True, slots=True)
class OrderPrivacy:
    """How an order's personal data stands: anonymised when, and every hold."""

    order_id: int
    anonymised_at: datetime | None
    holds: list[LegalHold]

    @property
    def held(self) -> bool:
        return any(h.active for h in self.holds)


class LegalHoldService:
    def __init__(
        self,
        uow: Callable[[], PrivacyUnitOfWork],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._clock = clock

    def order_privacy(self, order_id: int) -> OrderPrivacy:
        with self._uow() as uow:
            if not uow.privacy.order_exists(order_id):
                raise NotFound(f"no order {order_id}", field="order_id")
            return OrderPrivacy(
                order_id, uow.privacy.anonymised_at(order_id), uow.privacy.holds(order_id)
            )

    def place_hold(self, order_id: int, reason: str, actor: str) -> LegalHold:
        why = hold_reason(reason)
        with self._uow() as uow:
            # The order's row lock orders this against a running anonymisation batch: the
            # batch either sees the hold or has finished (then the hold comes too late).
            if not uow.privacy.lock_order(order_id):
                raise NotFound(f"no order {order_id}", field="order_id")
            done = uow.privacy.anonymised_at(order_id)
            if done is not None:
                raise Conflict(
                    f"order {order_id}'s personal data was anonymised at {done.isoformat()}: "
                    "there is nothing left to hold",
                    field="order_id",
                )
            standing = uow.privacy.standing_hold(order_id)
            if standing is not None:
                raise Conflict(
                    f"order {order_id} is on hold since {standing.placed_at.isoformat()} "
                    f"(hold {standing.id}); release it first",
                    field="order_id",
                )
            hold = uow.privacy.add_hold(order_id, why, actor, self._clock())
            uow.commit()
        return hold

    def release_hold(self, order_id: int, reason: str, actor: str) -> LegalHold:
        why = hold_reason(reason)
        with self._uow() as uow:
            if not uow.privacy.lock_order(order_id):
                raise NotFound(f"no order {order_id}", field="order_id")
            standing = uow.privacy.standing_hold(order_id)
            if standing is None:
                raise Conflict(f"order {order_id} is not on hold", field="order_id")
            now = self._clock()
            uow.privacy.release_hold(standing.id, why, actor, now)
            uow.commit()
        return LegalHold(
            standing.id,
            order_id,
            standing.reason,
            standing.placed_by,
            standing.placed_at,
            released_by=actor,
            released_at=now,
            release_reason=why,
        )
