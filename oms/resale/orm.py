"""Resale tables (migration 0011). Lineage (the returns unit, the return, the order) is kept by
id without foreign keys: a unit may later come from a trade-in or a repair instead, and the
resale context never imports another context's tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from oms.db import BigId, UtcDateTime, metadata

RESALE_STATES = (
    "'intake', 'preparing', 'ready', 'listed', 'reserved', 'sold', 'withdrawn', 'disposed'"
)
GRADES = "'N', 'U', 'A', 'B', 'C', 'D', 'J'"

resale_units = Table(
    "resale_units",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),  # the unit's own SKU code
    Column("returns_unit_id", BigId, nullable=False, unique=True),
    Column("barcode", String(32), nullable=False),
    Column("parent_sku", String(64), nullable=False),
    Column("category", String(100), nullable=True),
    Column("location", String(64), nullable=False),
    Column("grade", String(1), nullable=False),
    Column("functional", String(8), nullable=False),
    Column("defects", JSON, nullable=False),
    Column("photos", JSON, nullable=False),
    Column("order_id", BigId, nullable=True),
    Column("channel", String(64), nullable=True),
    Column("return_id", BigId, nullable=True),
    Column("status", String(16), nullable=False),
    Column("stage", String(8), nullable=False),
    Column("public_from", UtcDateTime, nullable=True),
    Column("listed_at", UtcDateTime, nullable=True),
    # When the due work must look again (stage flip, markdown step); None: nothing pending.
    Column("due_at", UtcDateTime, nullable=True),
    Column("base_price", Integer, nullable=True),  # yen; never shown as a reference price
    Column("base_source", String(16), nullable=True),
    Column("factor", Integer, nullable=False),
    Column("start_price", Integer, nullable=True),
    Column("pricing_mode", String(16), nullable=False),
    Column("schedule", JSON, nullable=True),
    Column("price", Integer, nullable=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(f"status IN ({RESALE_STATES})", name="status_known"),
    CheckConstraint(f"grade IN ({GRADES})", name="grade_known"),
    CheckConstraint("stage IN ('hidden', 'early', 'public')", name="stage_known"),
    CheckConstraint("pricing_mode IN ('schedule', 'manual')", name="pricing_mode_known"),
    CheckConstraint("factor >= 0 AND factor <= 100", name="factor_percent"),
    CheckConstraint("price IS NULL OR price > 0", name="price_positive"),
)
Index("ix_resale_units_status_id", resale_units.c.status, resale_units.c.id)
Index("ix_resale_units_parent_sku_id", resale_units.c.parent_sku, resale_units.c.id)
Index("ix_resale_units_due_at", resale_units.c.due_at)

# Who sees a listed unit before its public time.
resale_early_access = Table(
    "resale_early_access",
    metadata,
    Column("unit_id", BigId, ForeignKey("resale_units.id"), primary_key=True),
    Column("segment", String(64), primary_key=True),
    Column("visible_from", UtcDateTime, nullable=False),
)

# Every price a unit ever had (景品表示法: reference prices must be substantiated). Append-only.
resale_prices = Table(
    "resale_prices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("unit_id", BigId, ForeignKey("resale_units.id"), nullable=False),
    Column("price", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    CheckConstraint("price > 0", name="price_positive"),
)
Index("ix_resale_prices_unit_id", resale_prices.c.unit_id, resale_prices.c.id)

# Percent of the base price per grade, per category; '*' is every category's default.
resale_grade_factors = Table(
    "resale_grade_factors",
    metadata,
    Column("category", String(100), primary_key=True),
    Column("grade", String(1), primary_key=True),
    Column("percent", Integer, nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(f"grade IN ({GRADES})", name="grade_known"),
    CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
)
