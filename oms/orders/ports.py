"""What the order services need from storage and from the channels.

`repository.SqlOrders` provides `OrderStore`; the unit of work provides `ChannelDirectory`
(orders sit below channels: they ask, through this port, which locations feed a channel).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from oms.inventory.domain import SkuKind, StockLevel
from oms.inventory.ports import InventoryStore
from oms.orders.domain.order import Order, Shipment, ShipmentStatus
from oms.shared.events import DomainEvent
from oms.shared.transaction import Transaction


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    code: str
    active: bool
    locations: tuple[str, ...]  # the locations that feed it, in its order


@dataclass(frozen=True, slots=True)
class LocationShipping:
    location: str
    priority: int = 100  # lower ships first
    daily_capacity: int | None = None  # shipments a day; None: no limit


@dataclass(frozen=True, slots=True)
class Decision:
    id: int
    order_id: int
    trigger: str
    engine_version: int
    decision: dict[str, Any]
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class CandidateLocation:
    code: str
    kind: str
    prefecture: str
    active: bool
    ships_to_customers: bool
    shipping: LocationShipping | None  # None: the defaults


@dataclass(frozen=True, slots=True)
class SourcingFacts:
    """What sourcing reads of the SKUs and the channel's locations, in one round trip."""

    skus: dict[str, tuple[int, SkuKind]]  # code -> (id, kind); unknown SKUs absent
    locations: dict[str, CandidateLocation]  # of the channel's, the ones that exist
    levels: list[StockLevel]  # of these SKUs at these locations, where one exists
    profile: dict[str, Any] | None  # the channel's sourcing profile, if it has one


class ChannelDirectory(Protocol):
    def channel(self, code: str) -> ChannelFacts | None: ...
    def walk_in_reserve(
        self, locations: Sequence[str], skus: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        """location -> SKU -> units a store keeps for walk-in customers (its safety stock)."""
        ...

    def ring_fenced(self, channel: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """SKU -> location -> units this channel's orders may not take there: other channels'
        ring-fenced pools hold them. The reservation checks the same figure again."""
        ...


class OrderStore(Protocol):
    def savepoint(self) -> AbstractContextManager[Any]: ...

    def add_order(self, order: Order, status: str, now: datetime) -> int | None:
        """The order's row, or None if its (channel, external_id) is taken: read that one.
        Its lines are written by `save_order_state`."""
        ...

    def order(self, order_id: int, *, lock: bool = False) -> Order | None: ...
    def lock_order_nowait(self, order_id: int) -> bool:
        """Lock the order's row if no other transaction holds it (False if one does); the
        transaction stays usable either way."""
        ...

    def orders_by_id(self, order_ids: Iterable[int]) -> dict[int, Order]: ...
    def order_by_external_id(self, channel: str, external_id: str) -> Order | None: ...
    def list_orders(
        self, *, channel: str | None, status: str | None, after_id: int, limit: int
    ) -> list[Order]: ...
    def save_order_state(self, order: Order, status: str, now: datetime) -> None: ...

    def add_shipment(self, shipment: Shipment, now: datetime) -> int: ...
    def add_shipments(self, added: Sequence[Shipment], now: datetime) -> None: ...
    def save_shipment(self, shipment: Shipment, now: datetime) -> None: ...
    def shipment(self, shipment_id: int, *, lock: bool = False) -> Shipment | None: ...
    def shipments_at(
        self, location: str, statuses: Sequence[ShipmentStatus], after_id: int, limit: int
    ) -> list[Shipment]: ...
    def shipments_created_since(
        self, locations: Sequence[str], since: datetime
    ) -> dict[str, int]: ...

    def add_decision(
        self, order_id: int, trigger: str, version: int, decision: dict[str, Any], now: datetime
    ) -> None: ...
    def decisions(self, order_id: int) -> list[Decision]: ...

    def sourcing_profile(self, channel: str) -> dict[str, Any] | None: ...
    def sourcing_facts(
        self, channel: str, skus: Sequence[str], locations: Sequence[str]
    ) -> SourcingFacts: ...
    def set_sourcing_profile(
        self, channel: str, settings: dict[str, Any], now: datetime
    ) -> None: ...
    def location_shipping(self) -> dict[str, LocationShipping]: ...
    def set_location_shipping(self, value: LocationShipping) -> None: ...

    def order_ids_by_reservation(self, reservation_ids: Iterable[int]) -> dict[int, int]: ...
    def backordered_order_ids(self, skus: Iterable[str] | None, limit: int) -> list[int]: ...
    def add_events(self, events: Sequence[DomainEvent], now: datetime) -> None: ...


@runtime_checkable
class OrderUnitOfWork(Transaction, Protocol):
    @property
    def orders(self) -> OrderStore: ...
    @property
    def inventory(self) -> InventoryStore: ...
    @property
    def directory(self) -> ChannelDirectory: ...
