"""Orders a channel sends by webhook (the storefront's `orders/create`), taken like pulled ones.

The delivery is verified by the adapter (HMAC of the raw body) before anything is read; a
delivery the channel sends again (same delivery id) is answered and ignored; the order goes
through the pull's ingest, idempotent on channel + external id, so a webhook and a later pull
of the same order make one order. Pulling stays on as the fallback for deliveries that never
came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from oms.channels.sync.domain.errors import WebhookRefused
from oms.channels.sync.ports import SyncUnitOfWork, WebhookReceiver
from oms.channels.sync.services.gateways import GatewayPool
from oms.channels.sync.services.pull import PullReport, PullService
from oms.shared.clock import utcnow
from oms.shared.errors import NotFound


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    delivery_id: str
    duplicate: bool
    report: PullReport | None


class WebhookService:
    def __init__(
        self,
        uow: Callable[[], SyncUnitOfWork],
        gateways: GatewayPool,
        pull: PullService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._gateways = gateways
        self._pull = pull
        self._clock = clock

    def receive_order(
        self, channel: str, raw_body: bytes, headers: Mapping[str, str]
    ) -> WebhookOutcome:
        with self._uow() as uow:
            if uow.channels.channel_by_code(channel) is None:
                raise NotFound(f"no channel {channel!r}", field="code")
        gateway = self._gateways.gateway(channel)
        if gateway is None or not hasattr(gateway, "receive_order_webhook"):
            # Not a webhook channel, or not connected: nothing can verify the signature.
            raise WebhookRefused(f"channel {channel} takes no webhooks", 404)
        receiver: WebhookReceiver = gateway  # type: ignore[assignment]
        delivery = receiver.receive_order_webhook(raw_body, headers)
        with self._uow() as uow:
            if uow.sync.delivery_taken(channel, delivery.delivery_id):
                return WebhookOutcome(delivery.delivery_id, True, None)
        # The delivery is recorded only once its order was taken, so a crash in between takes
        # it again when the channel delivers it again (two at once make one order: the
        # ingest is idempotent on channel + external id).
        report = self._pull.take(channel, delivery.order)
        with self._uow() as uow:
            uow.sync.take_delivery(channel, delivery.delivery_id, self._clock())
            uow.commit()
        return WebhookOutcome(delivery.delivery_id, False, report)
