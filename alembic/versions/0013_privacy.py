"""privacy: PII policies per channel, legal holds, anonymised orders, job runs, the audit log
of reads of personal data

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _order_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["order_id"], ["orders.id"], name=op.f(f"fk_{table}_order_id_orders")
    )


def upgrade() -> None:
    op.create_table(
        "pii_policies",
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("days_after_delivery", sa.Integer(), nullable=False),
        sa.Column("days_after_cancellation", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_pii_policies")),
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("placed_by", sa.String(100), nullable=False),
        _at("placed_at"),
        sa.Column("released_by", sa.String(100), nullable=True),
        _at("released_at", nullable=True),
        sa.Column("release_reason", sa.String(1000), nullable=True),
        _order_fk("legal_holds"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index("ix_legal_holds_order_id", "legal_holds", ["order_id", "id"])
    op.create_index(
        "uq_legal_holds_standing",
        "legal_holds",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("released_at IS NULL"),
        sqlite_where=sa.text("released_at IS NULL"),
    )
    op.create_table(
        "pii_anonymised_orders",
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        _at("anonymised_at"),
        sa.Column("fields", sa.JSON(), nullable=False),
        _order_fk("pii_anonymised_orders"),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_pii_anonymised_orders")),
    )
    op.create_table(
        "pii_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        _at("started_at"),
        _at("finished_at", nullable=True),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pii_runs")),
    )
    op.create_index("ix_pii_runs_trigger_started_at", "pii_runs", ["trigger", "started_at"])
    op.create_table(
        "personal_data_reads",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        _at("read_at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", BIG_ID, nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        _order_fk("personal_data_reads"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_reads")),
    )
    op.create_index("ix_personal_data_reads_order_id", "personal_data_reads", ["order_id", "id"])
    op.create_index("ix_personal_data_reads_actor", "personal_data_reads", ["actor", "id"])
    op.create_index("ix_personal_data_reads_read_at", "personal_data_reads", ["read_at"])


def downgrade() -> None:
    op.drop_table("personal_data_reads")
    op.drop_table("pii_runs")
    op.drop_table("pii_anonymised_orders")
    op.drop_index(
        "uq_legal_holds_standing",
        "legal_holds",
        postgresql_where=sa.text("released_at IS NULL"),
        sqlite_where=sa.text("released_at IS NULL"),
    )
    op.drop_table("legal_holds")
    op.drop_table("pii_policies")
