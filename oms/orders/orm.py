"""Order tables. The schema is made by Alembic migrations only; these mirror them.

Orders refer to channels, SKUs and locations by code (codes never change): the orders context
sits below channels and never imports their tables. A shipment's stock is one reservation of
the inventory (`reservation_id`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from oms.db import BigId, UtcDateTime, metadata

orders = Table(
    "orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("external_id", String(100), nullable=False),
    Column("ordered_at", UtcDateTime, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("ship_to", JSON, nullable=False),  # personal data
    Column("shipping_method", String(64), nullable=True),
    Column("promised_by", UtcDateTime, nullable=True),
    Column("gift_note", String(500), nullable=True),
    Column("fingerprint", String(64), nullable=False),
    # Derived from lines and shipments, stored for listing by status.
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("channel", "external_id", name="uq_orders_channel_external_id"),
)
Index("ix_orders_status_id", orders.c.status, orders.c.id)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("line_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", BigId, nullable=False),
    Column("components", JSON, nullable=False),  # sku -> units per line unit
    Column("ship_together", Boolean, nullable=False),
    Column("cancelled", Integer, nullable=False),
    # Units waiting for stock, kept with every change: backorders are found by it, oldest first.
    Column("backordered", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("cancelled >= 0 AND cancelled <= quantity", name="cancelled_in_range"),
    CheckConstraint("backordered >= 0", name="backordered_not_negative"),
    UniqueConstraint("order_id", "line_id", name="uq_order_lines_order_line"),
)
Index(
    "ix_order_lines_backordered",
    order_lines.c.sku,
    order_lines.c.order_id,
    postgresql_where=order_lines.c.backordered > 0,
    sqlite_where=order_lines.c.backordered > 0,
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("location", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reservation_id", BigId, nullable=True),
    Column("carrier", String(20), nullable=True),
    Column("tracking_number", String(40), nullable=True),
    Column("shipped_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(
        "status IN ('pending', 'picking', 'packed', 'shipped', 'cancelled')", name="status_known"
    ),
)
Index("ix_shipments_location_status", shipments.c.location, shipments.c.status, shipments.c.id)
Index("ix_shipments_order_id", shipments.c.order_id)
Index("ix_shipments_reservation_id", shipments.c.reservation_id)
Index("ix_shipments_location_created_at", shipments.c.location, shipments.c.created_at)

shipment_lines = Table(
    "shipment_lines",
    metadata,
    Column("shipment_id", BigId, ForeignKey("shipments.id"), primary_key=True),
    Column("line_id", String(64), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

# Every sourcing decision, with the explanation of each line: why here, why not there.
sourcing_decisions = Table(
    "sourcing_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("trigger", String(32), nullable=False),  # placed | replanned | backorder | rejected
    Column("engine_version", Integer, nullable=False),
    Column("decision", JSON, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
)
Index("ix_sourcing_decisions_order_id", sourcing_decisions.c.order_id, sourcing_decisions.c.id)

# Per channel: how orders are sourced (guardrails, weights, backorder or reject).
sourcing_profiles = Table(
    "sourcing_profiles",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("settings", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Per location: how many shipments it can send a day, and how it ranks (lower first).
location_shipping = Table(
    "location_shipping",
    metadata,
    Column("location", String(64), primary_key=True),
    Column("priority", Integer, nullable=False),
    Column("daily_capacity", Integer, nullable=True),
    CheckConstraint("daily_capacity IS NULL OR daily_capacity >= 0", name="capacity_not_negative"),
)
