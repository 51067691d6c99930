"""The one suite every channel adapter passes against its emulator.

A subclass per adapter provides two fixtures: `gateway` (the adapter, connected to a running
emulator over real HTTP on loopback, with an in-memory rate limiter built from the adapter's own
`limits`) and `emulator` (an `EmulatorControl` over the same emulator's control endpoints, to seed
orders and listings, inject faults and read what the channel now holds). Nothing here knows a
channel's protocol: what passes here is what the sync may rely on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import pytest

from oms.channels.sync.domain.errors import (
    AuthenticationFailed,
    ChannelUnavailable,
    Throttled,
)
from oms.channels.sync.domain.model import (
    Carrier,
    ListingRef,
    PushStatus,
    QuantityUpdate,
    RemoteOrder,
    RemoteOrderStatus,
    ShipmentConfirmation,
    ShippedLine,
)
from oms.channels.sync.ports import ChannelGateway


class EmulatorControl(Protocol):
    """Test-side control of one running emulator (its `/_emulator/...` endpoints)."""

    def listing(self, sku: str) -> ListingRef:
        """A listing the channel knows, for an oms SKU (created on first use, quantity 0)."""
        ...

    def seed_order(self, lines: list[tuple[ListingRef, int, int]]) -> str:
        """An open order of (listing, quantity, unit price) lines; its external id."""
        ...

    def cancel_order(self, external_id: str) -> None: ...

    def quantity_of(self, listing: ListingRef) -> int | None: ...

    def shipments_of(self, external_id: str) -> list[dict[str, object]]:
        """What the channel recorded for the order's shipments (tracking numbers included)."""
        ...

    def inject(self, fault: str, count: int = 1) -> None:
        """The next `count` calls answer with `fault`: "throttle", "5xx" or "auth"."""
        ...

    def throttled_calls(self) -> int:
        """How many calls the emulator refused for its rate limits so far."""
        ...


def _pull_all(gateway: ChannelGateway, cursor: str | None = None) -> tuple[list[RemoteOrder], str]:
    orders: list[RemoteOrder] = []
    now = datetime.now(UTC)
    for _ in range(100):  # bounded: a gateway that always says `more` fails the test
        pulled = gateway.pull_orders(cursor, now)
        orders.extend(pulled.orders)
        cursor = pulled.cursor
        if not pulled.more:
            return orders, cursor
    raise AssertionError("pull_orders never stopped saying `more`")


class ChannelGatewayContract:
    """Subclasses: `class TestAmazonGateway(ChannelGatewayContract)` with the two fixtures."""

    def test_pulled_orders_are_canonical(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        tee, cap = emulator.listing("TEE-1"), emulator.listing("CAP-1")
        placed = {emulator.seed_order([(tee, 2, 1980), (cap, 1, 2980)]) for _ in range(3)}
        orders, _ = _pull_all(gateway)
        by_id = {o.external_id: o for o in orders}
        assert placed <= set(by_id)
        for external_id in placed:
            order = by_id[external_id]
            assert order.status is RemoteOrderStatus.OPEN
            assert order.ordered_at.tzinfo is not None
            assert sorted((line.remote_sku, line.quantity) for line in order.lines) == sorted(
                [(tee.remote_id, 2), (cap.remote_id, 1)]
            )
            assert all(line.item_id and line.unit_price > 0 for line in order.lines)
            assert order.ship_to is not None
            assert order.ship_to.postal_code

    def test_pulling_from_the_returned_cursor_gives_no_order_twice(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        tee = emulator.listing("TEE-1")
        first = emulator.seed_order([(tee, 1, 1980)])
        orders, cursor = _pull_all(gateway)
        assert first in {o.external_id for o in orders}
        second = emulator.seed_order([(tee, 1, 1980)])
        again, _ = _pull_all(gateway, cursor)
        assert [o.external_id for o in again] == [second]

    def test_an_order_cancelled_on_the_channel_comes_back_cancelled(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        tee = emulator.listing("TEE-1")
        external_id = emulator.seed_order([(tee, 1, 1980)])
        _, cursor = _pull_all(gateway)
        emulator.cancel_order(external_id)
        again, _ = _pull_all(gateway, cursor)
        assert [(o.external_id, o.status) for o in again] == [
            (external_id, RemoteOrderStatus.CANCELLED)
        ]

    def test_pushed_quantities_reach_the_channel_and_read_back(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        listings = [emulator.listing(f"SKU-{i}") for i in range(3)]
        outcomes = gateway.push_quantities(
            [QuantityUpdate(listing, 5 + i, version=1) for i, listing in enumerate(listings)]
        )
        assert [o.status for o in outcomes] == [PushStatus.ACCEPTED] * 3
        assert [emulator.quantity_of(listing) for listing in listings] == [5, 6, 7]
        read = gateway.remote_quantities(listings)
        assert [(r.listing, r.quantity) for r in read] == [
            (x, 5 + i) for i, x in enumerate(listings)
        ]

    def test_a_listing_the_channel_does_not_know_is_rejected_for_that_sku_alone(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        known = emulator.listing("KNOWN")
        unknown = ListingRef("UNKNOWN", "NO-SUCH-LISTING-9", "NO-SUCH-VARIANT-9")
        outcomes = gateway.push_quantities(
            [QuantityUpdate(known, 3, version=1), QuantityUpdate(unknown, 3, version=1)]
        )
        assert [o.status for o in outcomes] == [PushStatus.ACCEPTED, PushStatus.REJECTED]
        assert outcomes[1].message
        assert emulator.quantity_of(known) == 3

    def test_a_shipment_confirmed_twice_is_recorded_once(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        tee = emulator.listing("TEE-1")
        external_id = emulator.seed_order([(tee, 2, 1980)])
        orders, _ = _pull_all(gateway)
        order = next(o for o in orders if o.external_id == external_id)
        confirmation = ShipmentConfirmation(
            external_order_id=external_id,
            package_ref="1",
            carrier=Carrier.YAMATO,
            tracking_number="123456789012",
            shipped_at=datetime.now(UTC),
            lines=[ShippedLine(line.item_id, line.quantity) for line in order.lines],
        )
        gateway.confirm_shipment(confirmation)
        gateway.confirm_shipment(confirmation)
        shipments = emulator.shipments_of(external_id)
        assert len(shipments) == 1
        assert "123456789012" in str(shipments[0])

    def test_the_channels_throttling_answer_is_raised_as_throttled(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        listing = emulator.listing("TEE-1")
        emulator.inject("throttle")
        with pytest.raises(Throttled):
            gateway.remote_quantities([listing])

    def test_a_server_error_is_raised_as_unavailable(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        listing = emulator.listing("TEE-1")
        emulator.inject("5xx")
        with pytest.raises(ChannelUnavailable):
            gateway.remote_quantities([listing])

    def test_refused_credentials_are_raised_as_authentication_failed(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        listing = emulator.listing("TEE-1")
        emulator.inject("auth")
        with pytest.raises(AuthenticationFailed):
            gateway.remote_quantities([listing])

    def test_a_burst_of_pushes_through_the_limiter_is_never_throttled(
        self, gateway: ChannelGateway, emulator: EmulatorControl
    ) -> None:
        listings = [emulator.listing(f"BURST-{i}") for i in range(12)]
        batch = gateway.limits.max_push_batch
        updates = [QuantityUpdate(listing, 1, version=1) for listing in listings]
        for start in range(0, len(updates), batch):
            gateway.push_quantities(updates[start : start + batch])
        assert emulator.throttled_calls() == 0
        assert all(emulator.quantity_of(listing) == 1 for listing in listings)
