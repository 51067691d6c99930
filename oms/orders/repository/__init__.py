"""All SQL of the orders context, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from oms.inventory.domain import SkuKind, StockLevel
from oms.inventory.orm import locations, skus, stock_levels
from oms.orders.domain.order import (
    Carrier,
    Order,
    OrderLine,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    ShipTo,
)
from oms.orders.orm import (
    location_shipping,
    order_lines,
    orders,
    shipment_lines,
    shipments,
    sourcing_decisions,
    sourcing_profiles,
)
from oms.orders.ports import CandidateLocation, Decision, LocationShipping, SourcingFacts
from oms.outbox import write_events
from oms.shared.events import DomainEvent

# The statements of placing an order, built once: building a Core statement costs more client
# CPU than PostgreSQL spends running it, and a prebuilt one also keeps its cache key. Their
# values come as parameters at execution.
_CLAIM_ORDER = {
    # The (channel, external_id) key taken without an error (no savepoint): a twin's order
    # already there, or committed meanwhile, returns no row.
    name: module.insert(orders)
    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    .returning(orders.c.id)
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}
_ORDER_BY_EXTERNAL_ID = select(orders).where(
    orders.c.channel == bindparam("channel"), orders.c.external_id == bindparam("external_id")
)
_LINES_OF = (
    select(order_lines)
    .where(order_lines.c.order_id.in_(bindparam("order_ids", expanding=True)))
    .order_by(order_lines.c.order_id, order_lines.c.position)
)
_SET_STATUS = (
    update(orders)
    .where(orders.c.id == bindparam("order_pk"))
    .values(status=bindparam("new_status"), updated_at=bindparam("now"))
)
_ADD_LINES = insert(order_lines).returning(order_lines.c.id, sort_by_parameter_order=True)
_SET_LINES = (
    update(order_lines)
    .where(order_lines.c.id == bindparam("line_pk"))
    .values(cancelled=bindparam("new_cancelled"), backordered=bindparam("new_waiting"))
)
_ADD_SHIPMENTS = insert(shipments).returning(shipments.c.id, sort_by_parameter_order=True)
_ADD_SHIPMENT_LINES = insert(shipment_lines)
_ADD_DECISION = insert(sourcing_decisions)
_PROFILE = select(sourcing_profiles.c.settings).where(
    sourcing_profiles.c.channel == bindparam("channel")
)
_LOCATION_SHIPPING = select(location_shipping)
# Everything sourcing reads of the SKUs and the channel's locations: each SKU (its id and kind)
# with each of those locations (its facts and shipping settings) and the level there, and the
# channel's profile. A SKU is found even when no location is (LEFT JOIN).
_SOURCING_FACTS = (
    select(
        skus.c.code.label("sku"),
        skus.c.id.label("sku_id"),
        skus.c.kind.label("sku_kind"),
        locations.c.code.label("location"),
        locations.c.kind.label("location_kind"),
        locations.c.prefecture,
        locations.c.active,
        locations.c.ships_to_customers,
        stock_levels.c.on_hand,
        stock_levels.c.reserved,
        stock_levels.c.quarantined,
        stock_levels.c.in_transit,
        stock_levels.c.version,
        location_shipping.c.priority,
        location_shipping.c.daily_capacity,
        select(sourcing_profiles.c.settings)
        .where(sourcing_profiles.c.channel == bindparam("channel"))
        .scalar_subquery()
        .label("profile"),
    )
    .select_from(
        skus.outerjoin(locations, locations.c.code.in_(bindparam("locations", expanding=True)))
        .outerjoin(
            stock_levels,
            and_(stock_levels.c.sku_id == skus.c.id, stock_levels.c.location_id == locations.c.id),
        )
        .outerjoin(location_shipping, location_shipping.c.location == locations.c.code)
    )
    .where(skus.c.code.in_(bindparam("skus", expanding=True)))
)


class SqlOrders:
    """Orders, their lines and shipments, bound to one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def savepoint(self) -> AbstractContextManager[Any]:
        return self.session.begin_nested()

    def _conn(self) -> Connection:
        # Core statements straight on the transaction's connection: the ORM session's
        # execution layer adds nothing to them but client CPU.
        return self.session.connection()

    # ------------------------------------------------------------------ orders

    def add_order(self, order: Order, status: str, now: datetime) -> int | None:
        """The order's row, if no order of its channel has its external_id yet (None if one
        has: read it). Its lines are written by `save_order_state`, once sourced."""
        found = (
            self._conn()
            .execute(
                _CLAIM_ORDER[self.dialect],
                {
                    "channel": order.channel,
                    "external_id": order.external_id,
                    "ordered_at": order.ordered_at,
                    "currency": order.currency,
                    "ship_to": order.ship_to.as_json(),
                    "shipping_method": order.shipping_method,
                    "promised_by": order.promised_by,
                    "gift_note": order.gift_note,
                    "fingerprint": order.fingerprint,
                    "status": status,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            .scalar_one_or_none()
        )
        return None if found is None else int(found)

    def order(self, order_id: int, *, lock: bool = False) -> Order | None:
        query = select(orders).where(orders.c.id == order_id)
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return None if row is None else self._load([row])[0]

    def lock_order_nowait(self, order_id: int) -> bool:
        if self.dialect != "postgresql":
            return True  # SQLite: this transaction is the only writer
        try:
            with self.session.begin_nested():  # NOWAIT's refusal aborts only the savepoint
                self.session.execute(
                    select(orders.c.id).where(orders.c.id == order_id).with_for_update(nowait=True)
                ).all()
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            return False
        return True

    def orders_by_id(self, order_ids: Iterable[int]) -> dict[int, Order]:
        """Several orders with their lines and shipments, in four queries in all."""
        wanted = sorted(set(order_ids))
        if not wanted:
            return {}
        rows = self.session.execute(select(orders).where(orders.c.id.in_(wanted))).all()
        return {order.id or 0: order for order in self._load(rows)}

    def order_by_external_id(self, channel: str, external_id: str) -> Order | None:
        row = (
            self._conn()
            .execute(_ORDER_BY_EXTERNAL_ID, {"channel": channel, "external_id": external_id})
            .first()
        )
        return None if row is None else self._load([row])[0]

    def list_orders(
        self, *, channel: str | None, status: str | None, after_id: int, limit: int
    ) -> list[Order]:
        query = select(orders).where(orders.c.id > after_id)
        if channel is not None:
            query = query.where(orders.c.channel == channel)
        if status is not None:
            query = query.where(orders.c.status == status)
        rows = self.session.execute(query.order_by(orders.c.id).limit(limit)).all()
        return self._load(rows)

    def _load(self, rows: Sequence[Any]) -> list[Order]:
        ids = [r.id for r in rows]
        lines: dict[int, list[OrderLine]] = {i: [] for i in ids}
        for ln in self._conn().execute(_LINES_OF, {"order_ids": ids}):
            lines[ln.order_id].append(
                OrderLine(
                    line_id=ln.line_id,
                    sku=ln.sku,
                    quantity=ln.quantity,
                    unit_price=int(ln.unit_price),
                    components={k: int(v) for k, v in dict(ln.components).items()},
                    ship_together=bool(ln.ship_together),
                    cancelled=ln.cancelled,
                    id=ln.id,
                )
            )
        by_order: dict[int, list[Shipment]] = {i: [] for i in ids}
        for shipment in self._shipments(shipments.c.order_id.in_(ids)):
            by_order[shipment.order_id].append(shipment)
        return [
            Order(
                channel=r.channel,
                external_id=r.external_id,
                ordered_at=r.ordered_at,
                currency=r.currency,
                lines=lines[r.id],
                ship_to=ShipTo(**dict(r.ship_to)),
                shipping_method=r.shipping_method,
                promised_by=r.promised_by,
                gift_note=r.gift_note,
                fingerprint=r.fingerprint,
                shipments=by_order[r.id],
                created_at=r.created_at,
                id=r.id,
            )
            for r in rows
        ]

    def save_order_state(self, order: Order, status: str, now: datetime) -> None:
        """The order's status and each line's waiting units; a new order's lines are written
        here, once sourced, with what waits (no insert then update)."""
        conn = self._conn()
        conn.execute(_SET_STATUS, {"order_pk": order.id, "new_status": status, "now": now})
        waiting = order.backorders()
        stored = [line for line in order.lines if line.id is not None]
        new = [(i, line) for i, line in enumerate(order.lines) if line.id is None]
        if stored:
            conn.execute(
                _SET_LINES,
                [
                    {
                        "line_pk": line.id,
                        "new_cancelled": line.cancelled,
                        "new_waiting": waiting.get(line.line_id, 0),
                    }
                    for line in stored
                ],
            )
        if new:
            ids = conn.execute(
                _ADD_LINES,
                [
                    {
                        "order_id": order.id,
                        "line_id": line.line_id,
                        "position": i,
                        "sku": line.sku,
                        "quantity": line.quantity,
                        "unit_price": line.unit_price,
                        "components": line.components,
                        "ship_together": line.ship_together,
                        "cancelled": line.cancelled,
                        "backordered": waiting.get(line.line_id, 0),
                    }
                    for i, line in new
                ],
            ).scalars()
            for (_, line), line_pk in zip(new, ids, strict=True):
                line.id = line_pk

    # ------------------------------------------------------------------ shipments

    def add_shipment(self, shipment: Shipment, now: datetime) -> int:
        self.add_shipments([shipment], now)
        return shipment.id or 0

    def add_shipments(self, added: Sequence[Shipment], now: datetime) -> None:
        """New shipments and their lines, in two statements however many there are."""
        if not added:
            return
        conn = self._conn()
        ids = conn.execute(
            _ADD_SHIPMENTS,
            [
                {
                    "order_id": s.order_id,
                    "location": s.location,
                    "status": s.status.value,
                    "reservation_id": s.reservation_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for s in added
            ],
        ).scalars()
        for shipment, shipment_id in zip(added, ids, strict=True):
            shipment.id = int(shipment_id)
            shipment.created_at = now
        lines = [
            {"shipment_id": s.id, "line_id": ln.line_id, "sku": ln.sku, "quantity": ln.quantity}
            for s in added
            for ln in s.lines
        ]
        if lines:
            conn.execute(_ADD_SHIPMENT_LINES, lines)

    def _write_lines(self, shipment_id: int, lines: Sequence[ShipmentLine]) -> None:
        conn = self._conn()
        conn.execute(shipment_lines.delete().where(shipment_lines.c.shipment_id == shipment_id))
        if lines:
            conn.execute(
                _ADD_SHIPMENT_LINES,
                [
                    {
                        "shipment_id": shipment_id,
                        "line_id": ln.line_id,
                        "sku": ln.sku,
                        "quantity": ln.quantity,
                    }
                    for ln in lines
                ],
            )

    def save_shipment(self, shipment: Shipment, now: datetime) -> None:
        self.session.execute(
            update(shipments)
            .where(shipments.c.id == shipment.id)
            .values(
                status=shipment.status.value,
                reservation_id=shipment.reservation_id,
                carrier=shipment.carrier.value if shipment.carrier else None,
                tracking_number=shipment.tracking_number,
                shipped_at=shipment.shipped_at,
                updated_at=now,
            )
        )
        if shipment.id is not None:
            self._write_lines(shipment.id, shipment.lines)

    def shipment(self, shipment_id: int, *, lock: bool = False) -> Shipment | None:
        found = self._shipments(shipments.c.id == shipment_id, lock=lock)
        return found[0] if found else None

    def shipments_at(
        self, location: str, statuses: Sequence[ShipmentStatus], after_id: int, limit: int
    ) -> list[Shipment]:
        return self._shipments(
            shipments.c.location == location,
            shipments.c.status.in_([s.value for s in statuses]),
            shipments.c.id > after_id,
            limit=limit,
        )

    def _shipments(
        self, *where: Any, lock: bool = False, limit: int | None = None
    ) -> list[Shipment]:
        query = select(shipments).where(*where).order_by(shipments.c.id)
        if limit is not None:
            query = query.limit(limit)
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        rows = self.session.execute(query).all()
        lines: dict[int, list[ShipmentLine]] = {r.id: [] for r in rows}
        if rows:
            for ln in self.session.execute(
                select(shipment_lines)
                .where(shipment_lines.c.shipment_id.in_(list(lines)))
                .order_by(shipment_lines.c.line_id, shipment_lines.c.sku)
            ):
                lines[ln.shipment_id].append(ShipmentLine(ln.line_id, ln.sku, ln.quantity))
        return [
            Shipment(
                order_id=r.order_id,
                location=r.location,
                lines=lines[r.id],
                status=ShipmentStatus(r.status),
                reservation_id=r.reservation_id,
                carrier=Carrier(r.carrier) if r.carrier else None,
                tracking_number=r.tracking_number,
                shipped_at=r.shipped_at,
                created_at=r.created_at,
                id=r.id,
            )
            for r in rows
        ]

    def shipments_created_since(self, locations: Sequence[str], since: datetime) -> dict[str, int]:
        rows = self.session.execute(
            select(shipments.c.location, func.count())
            .where(shipments.c.location.in_(list(locations)), shipments.c.created_at >= since)
            .group_by(shipments.c.location)
        )
        return {r[0]: int(r[1]) for r in rows}

    # ------------------------------------------------------------------ sourcing

    def add_decision(
        self, order_id: int, trigger: str, version: int, decision: dict[str, Any], now: datetime
    ) -> None:
        self._conn().execute(
            _ADD_DECISION,
            {
                "order_id": order_id,
                "trigger": trigger,
                "engine_version": version,
                "decision": decision,
                "decided_at": now,
            },
        )

    def decisions(self, order_id: int) -> list[Decision]:
        rows = self.session.execute(
            select(sourcing_decisions)
            .where(sourcing_decisions.c.order_id == order_id)
            .order_by(sourcing_decisions.c.id)
        )
        return [
            Decision(r.id, r.order_id, r.trigger, r.engine_version, dict(r.decision), r.decided_at)
            for r in rows
        ]

    def sourcing_profile(self, channel: str) -> dict[str, Any] | None:
        value = self._conn().execute(_PROFILE, {"channel": channel}).scalar_one_or_none()
        return None if value is None else dict(value)

    def set_sourcing_profile(self, channel: str, settings: dict[str, Any], now: datetime) -> None:
        module = postgresql if self.dialect == "postgresql" else sqlite
        statement = module.insert(sourcing_profiles).values(
            channel=channel, settings=settings, updated_at=now
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["channel"],
                set_={"settings": statement.excluded.settings, "updated_at": now},
            )
        )

    def sourcing_facts(
        self, channel: str, sku_codes: Sequence[str], location_codes: Sequence[str]
    ) -> SourcingFacts:
        found_skus: dict[str, tuple[int, SkuKind]] = {}
        found_locations: dict[str, CandidateLocation] = {}
        levels: list[StockLevel] = []
        profile: dict[str, Any] | None = None
        rows = self._conn().execute(
            _SOURCING_FACTS,
            {"channel": channel, "skus": sorted(set(sku_codes)), "locations": list(location_codes)},
        )
        for r in rows:
            found_skus[r.sku] = (r.sku_id, SkuKind(r.sku_kind))
            profile = None if r.profile is None else dict(r.profile)
            if r.location is None:
                continue
            if r.location not in found_locations:
                found_locations[r.location] = CandidateLocation(
                    r.location,
                    r.location_kind,
                    r.prefecture,
                    bool(r.active),
                    bool(r.ships_to_customers),
                    None
                    if r.priority is None
                    else LocationShipping(r.location, r.priority, r.daily_capacity),
                )
            if r.on_hand is not None:
                levels.append(
                    StockLevel(
                        r.sku,
                        r.location,
                        r.on_hand,
                        r.reserved,
                        r.quarantined,
                        r.in_transit,
                        r.version,
                    )
                )
        return SourcingFacts(found_skus, found_locations, levels, profile)

    def location_shipping(self) -> dict[str, LocationShipping]:
        rows = self._conn().execute(_LOCATION_SHIPPING)
        return {
            r.location: LocationShipping(r.location, r.priority, r.daily_capacity) for r in rows
        }

    def set_location_shipping(self, value: LocationShipping) -> None:
        module = postgresql if self.dialect == "postgresql" else sqlite
        statement = module.insert(location_shipping).values(
            location=value.location, priority=value.priority, daily_capacity=value.daily_capacity
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["location"],
                set_={
                    "priority": statement.excluded.priority,
                    "daily_capacity": statement.excluded.daily_capacity,
                },
            )
        )

    def order_ids_by_reservation(self, reservation_ids: Iterable[int]) -> dict[int, int]:
        """reservation id -> the order whose parcel holds it; standalone ones are absent."""
        wanted = sorted(set(reservation_ids))
        if not wanted:
            return {}
        rows = self.session.execute(
            select(shipments.c.reservation_id, shipments.c.order_id).where(
                shipments.c.reservation_id.in_(wanted)
            )
        )
        return {int(r.reservation_id): int(r.order_id) for r in rows}

    def backordered_order_ids(self, skus: Iterable[str] | None, limit: int) -> list[int]:
        """Orders with units waiting for stock, oldest first (of these SKUs, if given)."""
        query = (
            select(order_lines.c.order_id)
            .where(order_lines.c.backordered > 0)
            .group_by(order_lines.c.order_id)
            .order_by(order_lines.c.order_id)
            .limit(limit)
        )
        if skus is not None:
            wanted = sorted(set(skus))
            if not wanted:
                return []
            query = query.where(order_lines.c.sku.in_(wanted))
        return [int(r[0]) for r in self.session.execute(query)]

    def add_events(self, events: Sequence[DomainEvent], now: datetime) -> None:
        write_events(self.session, [(e, 0) for e in events], now)
