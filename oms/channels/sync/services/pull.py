"""Pull: every order a channel has, taken once; a channel's cancellation cancels it in oms.

A pull reads the channel's orders new or changed since the stored cursor, page by page. Each
order goes through the same ingest as `POST /v1/orders` (idempotent on channel + external id),
its lines keeping the channel's item ids (confirming a shipment needs them). The cursor is
stored only after every order of its page was taken, so a crash pulls them again and the ingest
keeps one order each. An order that cannot be taken (a SKU not listed, an address oms cannot
read) becomes a failure a person can see and retry; it never blocks the orders after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms.channels.sync.domain.errors import ChannelError
from oms.channels.sync.domain.model import (
    RemoteOrder,
    RemoteOrderStatus,
    order_from_json,
    order_to_json,
)
from oms.channels.sync.ports import Leases, SyncUnitOfWork
from oms.channels.sync.services.channel_state import note_channel_error, ready_gateway
from oms.channels.sync.services.gateways import GatewayPool
from oms.orders.domain.geography import prefecture_code
from oms.orders.domain.order import NewOrderLine, OrderStatus
from oms.orders.services.placement import OrderService, PlaceOrder
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict, DomainError

LEASE_SECONDS = 300.0
MAX_PAGES = 1000  # one pull's bound: the rest comes on the next one
ACTOR = "oms sync (order pull)"


@dataclass(slots=True)
class PullReport:
    channel: str
    taken: int = 0  # new orders in oms
    seen: int = 0  # orders already taken (a replay, a change oms does not act on)
    cancelled: int = 0  # cancelled in oms because the channel cancelled them
    waiting: int = 0  # not yet to be taken (Amazon Pending)
    failed: int = 0  # parked as failures
    skipped: str | None = None


class PullService:
    def __init__(
        self,
        uow: Callable[[], SyncUnitOfWork],
        orders: OrderService,
        gateways: GatewayPool,
        leases: Leases,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._orders = orders
        self._gateways = gateways
        self._leases = leases
        self._clock = clock

    def pull(self, channel: str, progress: Callable[[int], None] | None = None) -> PullReport:
        report = PullReport(channel)
        gateway, why = ready_gateway(self._uow, self._gateways, channel, pushing=False)
        if gateway is None:
            report.skipped = why
            return report
        with self._leases.hold(f"pull:{channel}", LEASE_SECONDS) as lease:
            if lease is None:
                report.skipped = "another pull of this channel is running"
                return report
            with self._uow() as uow:
                cursor = uow.sync.sync_state(channel).order_cursor
                uow.commit()
            for _ in range(MAX_PAGES):
                try:
                    page = gateway.pull_orders(cursor, self._clock())
                except ChannelError as error:
                    self._note_error(channel, error)
                    raise
                for remote in page.orders:
                    self._take(channel, remote, report)
                cursor = page.cursor
                self._save(channel, cursor, len(page.orders))
                lease.renew()
                if progress is not None:
                    progress(report.taken + report.seen + report.cancelled + report.failed)
                if not page.more:
                    break
        return report

    def retry(self, channel: str, external_id: str, payload: dict[str, Any] | None) -> PullReport:
        """A parked order, taken again from what the channel sent (kept with the failure: the
        adapters read orders by window, not by id); without it, a pull from the cursor."""
        if payload is not None:
            report = PullReport(channel)
            self._take(channel, order_from_json(payload), report)
        else:
            report = self.pull(channel)
        taken = self._orders.find_order(channel, external_id) is not None
        with self._uow() as uow:
            if taken:
                uow.sync.resolve_failures(channel, "pull", [external_id], self._clock())
            uow.commit()
        return report

    # ------------------------------------------------------------------ one order

    def take(self, channel: str, remote: RemoteOrder) -> PullReport:
        """One order the channel sent otherwise (a webhook), taken as a pulled one."""
        report = PullReport(channel)
        self._take(channel, remote, report)
        return report

    def _take(self, channel: str, remote: RemoteOrder, report: PullReport) -> None:
        existing = self._orders.find_order(channel, remote.external_id)
        if remote.status is RemoteOrderStatus.CANCELLED:
            if existing is not None and existing.id is not None:
                if existing.status is not OrderStatus.CANCELLED:
                    self._cancel(channel, existing.id, remote, report)
                else:
                    report.seen += 1
            return
        if existing is not None:
            report.seen += 1
            return
        if remote.status is RemoteOrderStatus.PENDING:
            report.waiting += 1  # taken when the channel releases it
            return
        if remote.status is RemoteOrderStatus.SHIPPED:
            report.seen += 1  # shipped by the channel itself (FBA): nothing of oms's to do
            return
        try:
            command = self._command(channel, remote)
            placed = self._orders.place_order(command, actor=ACTOR)
        except DomainError as refused:
            self._fail(channel, remote.external_id, _why(refused), report, remote)
            return
        if placed.created:
            report.taken += 1
        else:
            report.seen += 1
        with self._uow() as uow:
            uow.sync.resolve_failures(channel, "pull", [remote.external_id], self._clock())
            uow.commit()

    def _cancel(self, channel: str, order_id: int, remote: RemoteOrder, report: PullReport) -> None:
        try:
            self._orders.cancel(order_id, actor=ACTOR)
        except Conflict as refused:  # shipped already: a person must sort it out
            self._fail(
                channel,
                remote.external_id,
                f"the channel cancelled it, but oms could not: {refused.detail}",
                report,
            )
            return
        report.cancelled += 1

    def _command(self, channel: str, remote: RemoteOrder) -> PlaceOrder:
        with self._uow() as uow:
            skus = uow.sync.skus_for_remote(
                channel, [(ln.remote_sku, ln.remote_variant) for ln in remote.lines]
            )
        lines = []
        for line in remote.lines:
            sku = skus.get((line.remote_sku, line.remote_variant))
            if sku is None:
                named = line.remote_sku + (
                    f" / {line.remote_variant}" if line.remote_variant else ""
                )
                raise _Unlisted(f"no SKU is listed on {channel} as {named}")
            lines.append(NewOrderLine(line.item_id, sku, line.quantity, line.unit_price))
        if remote.ship_to is None:
            raise _Unlisted("the channel has not released the address yet")
        address = remote.ship_to
        code = prefecture_code(address.prefecture)
        ship_to: dict[str, Any] = {
            "name": address.name or "(not disclosed)",
            "postal_code": address.postal_code,
            "prefecture": code if code is not None else address.prefecture,
            "city": address.city,
            "address1": address.address1 or "(not disclosed)",
            "address2": address.address2,
            "phone": address.phone,
        }
        return PlaceOrder(
            channel=channel,
            external_id=remote.external_id,
            ordered_at=remote.ordered_at,
            currency=remote.currency,
            lines=lines,
            ship_to=ship_to,
            shipping_method=remote.shipping_method,
            promised_by=remote.promised_by,
            gift_note=remote.gift_note,
        )

    # ------------------------------------------------------------------ bookkeeping

    def _fail(
        self,
        channel: str,
        external_id: str,
        why: str,
        report: PullReport,
        remote: RemoteOrder | None = None,
    ) -> None:
        payload = order_to_json(remote) if remote is not None else None
        with self._uow() as uow:
            uow.sync.record_failure(channel, "pull", external_id, why, self._clock(), payload)
            uow.commit()
        report.failed += 1

    def _save(self, channel: str, cursor: str, orders: int) -> None:
        now = self._clock()
        with self._uow() as uow:
            state = uow.sync.sync_state(channel, lock=True)
            state.order_cursor = cursor
            state.last_pull_at = now
            state.pulled += orders
            state.last_error = None
            uow.sync.save_sync_state(state, now)
            uow.commit()

    def _note_error(self, channel: str, error: ChannelError) -> None:
        with self._uow() as uow:
            note_channel_error(uow, channel, error, self._clock())
            uow.commit()


class _Unlisted(DomainError):
    title = "Order cannot be taken"


def _why(refused: DomainError) -> str:
    where = f" ({refused.field})" if refused.field else ""
    return f"{refused.detail}{where}"
