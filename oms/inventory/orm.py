"""Inventory tables. The schema is made by Alembic migrations only; these mirror them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
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

locations = Table(
    "locations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("prefecture", String(2), nullable=False),
    Column("postal_code", String(8), nullable=False),
    Column("ships_to_customers", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(
        "kind IN ('store', 'warehouse', 'factory', 'marketplace_fc')", name="kind_known"
    ),
)

skus = Table(
    "skus",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("barcode", String(13), nullable=True, unique=True),
    Column("attributes", JSON, nullable=False),
    Column("ship_together", Boolean, nullable=False),
    # Bumped under the row lock by every transaction that emits an event for this SKU, so
    # outbox rows of one SKU are numbered in commit order.
    Column("event_seq", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('simple', 'bundle')", name="kind_known"),
)

bundle_components = Table(
    "bundle_components",
    metadata,
    Column("bundle_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("component_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("bundle_id <> component_id", name="not_itself"),
)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("location_id", Integer, ForeignKey("locations.id"), primary_key=True),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("quarantined", Integer, nullable=False, server_default="0"),
    Column("in_transit", Integer, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("quarantined >= 0", name="quarantined_not_negative"),
    CheckConstraint("in_transit >= 0", name="in_transit_not_negative"),
    CheckConstraint("on_hand - reserved - quarantined >= 0", name="available_not_negative"),
)
Index("ix_stock_levels_location", stock_levels.c.location_id)

movements = Table(
    "movements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("type", String(24), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("d_on_hand", Integer, nullable=False),
    Column("d_reserved", Integer, nullable=False),
    Column("d_quarantined", Integer, nullable=False),
    Column("d_in_transit", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("counted", Integer, nullable=True),
    Column("reason", String(64), nullable=True),
    Column("reference", String(200), nullable=True),
    Column("idempotency_key", String(255), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("actor", String(100), nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("idempotency_key", "seq", name="uq_movements_key_seq"),
)
Index("ix_movements_sku_location_id", movements.c.sku_id, movements.c.location_id, movements.c.id)
Index("ix_movements_recorded_at", movements.c.recorded_at)

reservations = Table(
    "reservations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("reference", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("actor", String(100), nullable=True),
    # The sales channel the units were reserved for (a code, for sales velocity); None if not
    # for a channel (a store's layaway, a manual hold).
    Column("channel", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
)
Index("ix_reservations_channel_created_at", reservations.c.channel, reservations.c.created_at)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column(
        "reservation_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("reservations.id"),
        primary_key=True,
    ),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("location_id", Integer, ForeignKey("locations.id"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("destination_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("status", String(24), nullable=False),
    Column("reference", String(200), nullable=True),
    Column("actor", String(100), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("shipped_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    CheckConstraint("source_id <> destination_id", name="two_locations"),
)

transfer_lines = Table(
    "transfer_lines",
    metadata,
    Column(
        "transfer_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("transfers.id"),
        primary_key=True,
    ),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("shipped", Integer, nullable=False),
    Column("received", Integer, nullable=False),
)

transfer_discrepancies = Table(
    "transfer_discrepancies",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "transfer_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("transfers.id"),
        nullable=False,
    ),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("expected", Integer, nullable=False),
    Column("received", Integer, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
Index("ix_transfer_discrepancies_transfer", transfer_discrepancies.c.transfer_id)
