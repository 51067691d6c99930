"""orders: lines, shipments (one per location, each one reservation), sourcing decisions

Orders refer to channels, SKUs and locations by code. Sourcing profiles per channel and
shipping settings per location (priority, daily capacity) live with them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 15:25:56.187210
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "location_shipping",
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "daily_capacity IS NULL OR daily_capacity >= 0",
            name=op.f("ck_location_shipping_capacity_not_negative"),
        ),
        sa.PrimaryKeyConstraint("location", name=op.f("pk_location_shipping")),
    )
    op.create_table(
        "orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ship_to", sa.JSON(), nullable=False),
        sa.Column("shipping_method", sa.String(length=64), nullable=True),
        sa.Column("promised_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gift_note", sa.String(length=500), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("channel", "external_id", name="uq_orders_channel_external_id"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_status_id", ["status", "id"], unique=False)

    op.create_table(
        "sourcing_profiles",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_sourcing_profiles")),
    )
    op.create_table(
        "order_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "unit_price", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("ship_together", sa.Boolean(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("backordered", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "backordered >= 0", name=op.f("ck_order_lines_backordered_not_negative")
        ),
        sa.CheckConstraint(
            "cancelled >= 0 AND cancelled <= quantity",
            name=op.f("ck_order_lines_cancelled_in_range"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint("order_id", "line_id", name="uq_order_lines_order_line"),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_lines_backordered",
            ["sku", "order_id"],
            unique=False,
            postgresql_where=sa.text("backordered > 0"),
            sqlite_where=sa.text("backordered > 0"),
        )

    op.create_table(
        "shipments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "reservation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("carrier", sa.String(length=20), nullable=True),
        sa.Column("tracking_number", sa.String(length=40), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'picking', 'packed', 'shipped', 'cancelled')",
            name=op.f("ck_shipments_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_shipments_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shipments_location_status", ["location", "status", "id"], unique=False
        )
        batch_op.create_index("ix_shipments_order_id", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_shipments_location_created_at", ["location", "created_at"], unique=False
        )

    op.create_table(
        "sourcing_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("engine_version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_sourcing_decisions_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sourcing_decisions")),
    )
    with op.batch_alter_table("sourcing_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_sourcing_decisions_order_id", ["order_id", "id"], unique=False)

    op.create_table(
        "shipment_lines",
        sa.Column(
            "shipment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shipment_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_lines_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("shipment_id", "line_id", "sku", name=op.f("pk_shipment_lines")),
    )


def downgrade() -> None:
    op.drop_table("shipment_lines")
    with op.batch_alter_table("sourcing_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_sourcing_decisions_order_id")

    op.drop_table("sourcing_decisions")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_location_created_at")
        batch_op.drop_index("ix_shipments_order_id")
        batch_op.drop_index("ix_shipments_location_status")

    op.drop_table("shipments")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_order_lines_backordered",
            postgresql_where=sa.text("backordered > 0"),
            sqlite_where=sa.text("backordered > 0"),
        )

    op.drop_table("order_lines")
    op.drop_table("sourcing_profiles")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status_id")

    op.drop_table("orders")
    op.drop_table("location_shipping")
