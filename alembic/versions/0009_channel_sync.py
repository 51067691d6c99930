"""channel sync: connections (secrets encrypted), listings, what each channel was told, the
push and pull cursors, failures a person can retry, confirmed shipments

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "channel_connections",
        sa.Column("channel", sa.String(64), sa.ForeignKey("channels.code"), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("push", sa.Boolean(), nullable=False),
        sa.Column("pull_orders", sa.Boolean(), nullable=False),
        sa.Column("pull_interval_seconds", sa.Integer(), nullable=False),
        _at("updated_at"),
        sa.CheckConstraint(
            "pull_interval_seconds >= 10",
            name=op.f("ck_channel_connections_pull_interval_at_least_10"),
        ),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_connections")),
    )
    op.create_table(
        "channel_listings",
        sa.Column("channel", sa.String(64), sa.ForeignKey("channels.code"), nullable=False),
        sa.Column("sku", sa.String(64), sa.ForeignKey("skus.code"), nullable=False),
        sa.Column("remote_id", sa.String(200), nullable=False),
        sa.Column("remote_variant", sa.String(200), nullable=False, server_default=sa.text("''")),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("channel", "sku", name=op.f("pk_channel_listings")),
        sa.UniqueConstraint(
            "channel", "remote_id", "remote_variant", name="uq_channel_listings_remote"
        ),
    )
    op.create_table(
        "channel_told",
        sa.Column("channel", sa.String(64), sa.ForeignKey("channels.code"), nullable=False),
        sa.Column("sku", sa.String(64), sa.ForeignKey("skus.code"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        _at("told_at"),
        sa.PrimaryKeyConstraint("channel", "sku", name=op.f("pk_channel_told")),
    )
    op.create_table(
        "channel_sync_state",
        sa.Column("channel", sa.String(64), sa.ForeignKey("channels.code"), nullable=False),
        sa.Column("push_cursor", sa.String(100), nullable=False, server_default=sa.text("'0'")),
        sa.Column("order_cursor", sa.Text(), nullable=True),
        _at("last_push_at", nullable=True),
        _at("last_pull_at", nullable=True),
        _at("last_reconcile_at", nullable=True),
        sa.Column("pushed", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("pulled", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("throttled", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("latency_p95_seconds", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_sync_state")),
    )
    op.create_table(
        "sync_failures",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(64), sa.ForeignKey("channels.code"), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _at("resolved_at", nullable=True),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=True),
        sa.CheckConstraint(
            "operation IN ('push', 'pull', 'confirm')",
            name=op.f("ck_sync_failures_operation_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_failures")),
    )
    op.create_index("ix_sync_failures_open", "sync_failures", ["channel", "resolved_at"])
    op.create_index(
        "ix_sync_failures_subject", "sync_failures", ["channel", "operation", "subject"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("channel", sa.String(64), sa.ForeignKey("channels.code"), nullable=False),
        sa.Column("delivery_id", sa.String(100), nullable=False),
        _at("received_at"),
        sa.PrimaryKeyConstraint("channel", "delivery_id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_table(
        "shipment_confirmations",
        sa.Column("shipment_id", BIG_ID, sa.ForeignKey("shipments.id"), nullable=False),
        sa.Column("channel", sa.String(64), sa.ForeignKey("channels.code"), nullable=False),
        _at("confirmed_at"),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_shipment_confirmations")),
    )


def downgrade() -> None:
    op.drop_table("shipment_confirmations")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_sync_failures_subject", table_name="sync_failures")
    op.drop_index("ix_sync_failures_open", table_name="sync_failures")
    op.drop_table("sync_failures")
    op.drop_table("channel_sync_state")
    op.drop_table("channel_told")
    op.drop_table("channel_listings")
    op.drop_table("channel_connections")
