"""Reconcile: read what each channel shows, compare it with what oms last told it, report the
drift per SKU, and on request fix it by pushing the current number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from oms.channels.sync.domain.errors import ChannelError
from oms.channels.sync.ports import SyncUnitOfWork
from oms.channels.sync.services.gateways import GatewayPool
from oms.channels.sync.services.push import PAGE, PushReport, PushService
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, NotFound


@dataclass(frozen=True, slots=True)
class Drift:
    sku: str
    remote: int | None  # None: the channel does not know the listing
    told: int | None  # None: oms never told it anything
    current: int  # oms's number now


@dataclass(slots=True)
class ReconcileReport:
    channel: str
    checked: int = 0
    drift: list[Drift] = field(default_factory=list)
    fixed: PushReport | None = None


class ReconcileService:
    def __init__(
        self,
        uow: Callable[[], SyncUnitOfWork],
        gateways: GatewayPool,
        push: PushService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._gateways = gateways
        self._push = push
        self._clock = clock

    def reconcile(
        self, channel: str, *, fix: bool = False, progress: Callable[[int, int], None] | None = None
    ) -> ReconcileReport:
        report = ReconcileReport(channel)
        with self._uow() as uow:
            if uow.channels.channel_by_code(channel) is None:
                raise NotFound(f"no channel {channel!r}", field="channel")
            total = uow.sync.listed_count(channel)
        gateway = self._gateways.gateway(channel)
        if gateway is None:
            raise Conflict(f"channel {channel} has no connection", field="channel")
        after = ""
        while True:
            with self._uow() as uow:
                listings = uow.sync.listing_page(channel, after, PAGE)
                skus = [x.sku for x in listings]
                told = uow.sync.told(channel, skus)
                current = {
                    n.sku: n.quantity for n in self._push.current_numbers(uow, channel, skus)
                }
            if not listings:
                break
            after = listings[-1].sku
            refs = [x.ref for x in listings]
            size = max(1, gateway.limits.max_push_batch)
            for start in range(0, len(refs), size):
                chunk = refs[start : start + size]
                try:
                    remote = gateway.remote_quantities(chunk)
                except ChannelError as error:
                    raise Conflict(
                        f"could not read {channel}'s quantities: {error.message}", field="channel"
                    ) from error
                for shown in remote:
                    sku = shown.listing.sku
                    last = told.get(sku)
                    said = last.quantity if last is not None else None
                    now = current.get(sku, 0)
                    if shown.quantity != said or shown.quantity != now:
                        report.drift.append(Drift(sku, shown.quantity, said, now))
                report.checked += len(chunk)
                if progress is not None:
                    progress(report.checked, total)
        if fix and report.drift:
            report.fixed = self._push.push_skus(channel, [d.sku for d in report.drift])
        with self._uow() as uow:
            state = uow.sync.sync_state(channel, lock=True)
            state.last_reconcile_at = self._clock()
            uow.sync.save_sync_state(state, self._clock())
            uow.commit()
        return report
