"""Channel tables. The schema is made by Alembic migrations only; these mirror them.

Rules refer to SKUs and locations by code (codes never change), with foreign keys by table
name: the channels context never imports the inventory's tables. A rule that applies to every
SKU of a channel (default share or cap) is stored with the SKU `''`, because a primary key
column cannot be NULL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from oms.db import BigId, UtcDateTime, metadata

ALL_SKUS = ""  # the `sku` of a channel-wide share or cap

channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("auto_buffer", Boolean, nullable=False),
    Column("push_latency_seconds", Float, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('amazon', 'rakuten', 'storefront')", name="kind_known"),
    CheckConstraint("push_latency_seconds >= 0", name="latency_not_negative"),
)

channel_locations = Table(
    "channel_locations",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id"), primary_key=True),
    Column("location", String(64), ForeignKey("locations.code"), primary_key=True),
    Column("position", Integer, nullable=False),
)

safety_stock = Table(
    "safety_stock",
    metadata,
    Column("sku", String(64), ForeignKey("skus.code"), primary_key=True),
    Column("location", String(64), ForeignKey("locations.code"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)
Index("ix_safety_stock_location", safety_stock.c.location)

safety_stock_defaults = Table(
    "safety_stock_defaults",
    metadata,
    Column("location", String(64), ForeignKey("locations.code"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)

channel_exclusions = Table(
    "channel_exclusions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    # `sku:TEE`, `location:DC`, `attribute:category=outer`: one row per thing excluded.
    Column("key", String(300), nullable=False),
    Column("sku", String(64), ForeignKey("skus.code"), nullable=True),
    Column("attribute", String(100), nullable=True),
    Column("value", String(100), nullable=True),
    Column("location", String(64), ForeignKey("locations.code"), nullable=True),
    CheckConstraint("kind IN ('sku', 'attribute', 'location')", name="kind_known"),
    UniqueConstraint("channel_id", "key", name="uq_channel_exclusions_channel_key"),
)

channel_pools = Table(
    "channel_pools",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id"), primary_key=True),
    Column("sku", String(64), ForeignKey("skus.code"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    # Units the pool's own channel took from it since it was set: it holds quantity - drawn.
    Column("drawn", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    CheckConstraint("drawn >= 0", name="drawn_not_negative"),
)

# Which reservation drew how many units from its channel's pool: a release gives them back.
channel_pool_draws = Table(
    "channel_pool_draws",
    metadata,
    Column("reservation_id", BigId, ForeignKey("reservations.id"), primary_key=True),
    Column("sku", String(64), ForeignKey("skus.code"), primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("units", Integer, nullable=False),
    CheckConstraint("units > 0", name="units_positive"),
)

channel_buffers = Table(
    "channel_buffers",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id"), primary_key=True),
    Column("scope", String(16), primary_key=True),
    Column("key", String(100), primary_key=True),  # '' for the channel default
    Column("units", Integer, nullable=False),
    CheckConstraint("scope IN ('default', 'sku', 'category')", name="scope_known"),
    CheckConstraint("units >= 0", name="units_not_negative"),
)

channel_shares = Table(
    "channel_shares",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id"), primary_key=True),
    Column("sku", String(64), primary_key=True),  # ALL_SKUS for the channel default
    Column("percent", Float, nullable=False),
    CheckConstraint("percent >= 0 AND percent <= 100", name="percent_in_range"),
)

channel_caps = Table(
    "channel_caps",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id"), primary_key=True),
    Column("sku", String(64), primary_key=True),  # ALL_SKUS for the channel default
    Column("cap", Integer, nullable=False),
    CheckConstraint("cap >= 0", name="cap_not_negative"),
)

rule_changes = Table(
    "rule_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("channel", String(64), nullable=True),  # None: a location's rule (safety stock)
    Column("key", String(300), nullable=False),
    Column("old_value", JSON(none_as_null=True), nullable=True),
    Column("new_value", JSON(none_as_null=True), nullable=True),
    Column("actor", String(100), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_rule_changes_channel_id", rule_changes.c.channel, rule_changes.c.id)

# What each channel was last told per SKU: the published numbers, kept current in the same
# transaction as every change that moves them. `change_seq` orders changes for the
# `changed_since` cursor: the writing transaction's id on PostgreSQL (xid8), a counter on SQLite.
channel_availability = Table(
    "channel_availability",
    metadata,
    # SKU first in the key: a transaction reads and writes every channel's number of its SKUs.
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), primary_key=True),
    Column("available", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("change_seq", BigInteger, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    CheckConstraint("available >= 0", name="available_not_negative"),
)
Index(
    "ix_channel_availability_changes",
    channel_availability.c.channel_id,
    channel_availability.c.change_seq,
    channel_availability.c.sku_id,
)

# One row (id 1): `token` changes with every rule or catalogue change, so each process knows
# when its cached rules are stale; `change_seq` is SQLite's change counter.
availability_state = Table(
    "availability_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("token", String(40), nullable=False),
    Column("change_seq", BigInteger, nullable=False),
)

# SKUs whose numbers a committed change may have moved, waiting for the publisher
# (oms.channels.availability.services.publisher). Writers only insert, one row per SKU they
# touched (`sku_id` NULL: every SKU, after a change of rules for all); the publisher takes rows
# with DELETE ... RETURNING (FOR UPDATE SKIP LOCKED on PostgreSQL) and recomputes them.
publication_queue = Table(
    "publication_queue",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sku_id", Integer, nullable=True),
    Column("queued_at", UtcDateTime, nullable=False),
)
