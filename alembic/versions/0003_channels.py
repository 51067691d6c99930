"""channels and their rules

Channels and the locations that feed them; safety stock per (SKU, location) with a default per
location; per channel exclusions, ring-fenced pools, buffers, shares and caps; and
`rule_changes`, the audit of every rule change (who, when, old and new value). Rules refer to
SKUs and locations by their (immutable) codes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:53:36.568024
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("auto_buffer", sa.Boolean(), nullable=False),
        sa.Column("push_latency_seconds", sa.Float(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('amazon', 'rakuten', 'storefront')", name=op.f("ck_channels_kind_known")
        ),
        sa.CheckConstraint(
            "push_latency_seconds >= 0", name=op.f("ck_channels_latency_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("code", name=op.f("uq_channels_code")),
    )
    op.create_table(
        "rule_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_changes")),
    )
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.create_index("ix_rule_changes_channel_id", ["channel", "id"], unique=False)

    op.create_table(
        "channel_buffers",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "scope IN ('default', 'sku', 'category')", name=op.f("ck_channel_buffers_scope_known")
        ),
        sa.CheckConstraint("units >= 0", name=op.f("ck_channel_buffers_units_not_negative")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_buffers_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("channel_id", "scope", "key", name=op.f("pk_channel_buffers")),
    )
    op.create_table(
        "channel_caps",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.CheckConstraint("cap >= 0", name=op.f("ck_channel_caps_cap_not_negative")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_caps_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("channel_id", "sku", name=op.f("pk_channel_caps")),
    )
    op.create_table(
        "channel_exclusions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("attribute", sa.String(length=100), nullable=True),
        sa.Column("value", sa.String(length=100), nullable=True),
        sa.Column("location", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "kind IN ('sku', 'attribute', 'location')",
            name=op.f("ck_channel_exclusions_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_exclusions_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name=op.f("fk_channel_exclusions_location_locations")
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["skus.code"], name=op.f("fk_channel_exclusions_sku_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_exclusions")),
        sa.UniqueConstraint("channel_id", "key", name="uq_channel_exclusions_channel_key"),
    )
    op.create_table(
        "channel_locations",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_locations_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name=op.f("fk_channel_locations_location_locations")
        ),
        sa.PrimaryKeyConstraint("channel_id", "location", name=op.f("pk_channel_locations")),
    )
    op.create_table(
        "channel_pools",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_channel_pools_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_pools_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(["sku"], ["skus.code"], name=op.f("fk_channel_pools_sku_skus")),
        sa.PrimaryKeyConstraint("channel_id", "sku", name=op.f("pk_channel_pools")),
    )
    op.create_table(
        "channel_shares",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "percent >= 0 AND percent <= 100", name=op.f("ck_channel_shares_percent_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_shares_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("channel_id", "sku", name=op.f("pk_channel_shares")),
    )
    op.create_table(
        "safety_stock",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_safety_stock_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name=op.f("fk_safety_stock_location_locations")
        ),
        sa.ForeignKeyConstraint(["sku"], ["skus.code"], name=op.f("fk_safety_stock_sku_skus")),
        sa.PrimaryKeyConstraint("sku", "location", name=op.f("pk_safety_stock")),
    )
    with op.batch_alter_table("safety_stock", schema=None) as batch_op:
        batch_op.create_index("ix_safety_stock_location", ["location"], unique=False)

    op.create_table(
        "safety_stock_defaults",
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quantity >= 0", name=op.f("ck_safety_stock_defaults_quantity_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["location"],
            ["locations.code"],
            name=op.f("fk_safety_stock_defaults_location_locations"),
        ),
        sa.PrimaryKeyConstraint("location", name=op.f("pk_safety_stock_defaults")),
    )


def downgrade() -> None:
    op.drop_table("safety_stock_defaults")
    with op.batch_alter_table("safety_stock", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_stock_location")

    op.drop_table("safety_stock")
    op.drop_table("channel_shares")
    op.drop_table("channel_pools")
    op.drop_table("channel_locations")
    op.drop_table("channel_exclusions")
    op.drop_table("channel_caps")
    op.drop_table("channel_buffers")
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_changes_channel_id")

    op.drop_table("rule_changes")
    op.drop_table("channels")
