"""All SQL of the orders context, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

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
from oms.orders.ports import Decision, DuplicateOrder, LocationShipping
from oms.outbox import write_events
from oms.shared.events import DomainEvent


class SqlOrders:
    """Orders, their lines and shipments, bound to one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def savepoint(self) -> AbstractContextManager[Any]:
        return self.session.begin_nested()

    # ------------------------------------------------------------------ orders

    def add_order(self, order: Order, status: str, now: datetime) -> int:
        try:
            with self.session.begin_nested():
                order_id = int(
                    self.session.execute(
                        insert(orders)
                        .values(
                            channel=order.channel,
                            external_id=order.external_id,
                            ordered_at=order.ordered_at,
                            currency=order.currency,
                            ship_to=order.ship_to.as_json(),
                            shipping_method=order.shipping_method,
                            promised_by=order.promised_by,
                            gift_note=order.gift_note,
                            fingerprint=order.fingerprint,
                            status=status,
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(orders.c.id)
                    ).scalar_one()
                )
        except IntegrityError:
            raise DuplicateOrder(
                f"order {order.external_id} of {order.channel} was just taken",
                field="external_id",
            ) from None
        ids = self.session.execute(
            insert(order_lines).returning(order_lines.c.id, sort_by_parameter_order=True),
            [
                {
                    "order_id": order_id,
                    "line_id": line.line_id,
                    "position": i,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "components": line.components,
                    "ship_together": line.ship_together,
                    "cancelled": line.cancelled,
                    "backordered": line.quantity - line.cancelled,
                }
                for i, line in enumerate(order.lines)
            ],
        ).scalars()
        for line, line_pk in zip(order.lines, ids, strict=True):
            line.id = line_pk
        return order_id

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
        row = self.session.execute(
            select(orders).where(orders.c.channel == channel, orders.c.external_id == external_id)
        ).first()
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
        for ln in self.session.execute(
            select(order_lines)
            .where(order_lines.c.order_id.in_(ids))
            .order_by(order_lines.c.order_id, order_lines.c.position)
        ):
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
        self.session.execute(
            update(orders).where(orders.c.id == order.id).values(status=status, updated_at=now)
        )
        waiting = order.backorders()
        self.session.execute(
            update(order_lines)
            .where(order_lines.c.id == bindparam("line_pk"))
            .values(cancelled=bindparam("new_cancelled"), backordered=bindparam("new_waiting"))
            .execution_options(synchronize_session=False),
            [
                {
                    "line_pk": line.id,
                    "new_cancelled": line.cancelled,
                    "new_waiting": waiting.get(line.line_id, 0),
                }
                for line in order.lines
            ],
        )

    # ------------------------------------------------------------------ shipments

    def add_shipment(self, shipment: Shipment, now: datetime) -> int:
        shipment_id = int(
            self.session.execute(
                insert(shipments)
                .values(
                    order_id=shipment.order_id,
                    location=shipment.location,
                    status=shipment.status.value,
                    reservation_id=shipment.reservation_id,
                    created_at=now,
                    updated_at=now,
                )
                .returning(shipments.c.id)
            ).scalar_one()
        )
        self._write_lines(shipment_id, shipment.lines, new=True)
        shipment.id = shipment_id
        shipment.created_at = now
        return shipment_id

    def _write_lines(
        self, shipment_id: int, lines: Sequence[ShipmentLine], *, new: bool = False
    ) -> None:
        if not new:
            self.session.execute(
                shipment_lines.delete().where(shipment_lines.c.shipment_id == shipment_id)
            )
        if lines:
            self.session.execute(
                insert(shipment_lines),
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
        self.session.execute(
            insert(sourcing_decisions).values(
                order_id=order_id,
                trigger=trigger,
                engine_version=version,
                decision=decision,
                decided_at=now,
            )
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
        value = self.session.execute(
            select(sourcing_profiles.c.settings).where(sourcing_profiles.c.channel == channel)
        ).scalar_one_or_none()
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

    def location_shipping(self) -> dict[str, LocationShipping]:
        rows = self.session.execute(select(location_shipping))
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
