"""resale: units of quantity 1 with lineage, early access, price history, grade factors

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
RESALE_STATES = (
    "'intake', 'preparing', 'ready', 'listed', 'reserved', 'sold', 'withdrawn', 'disposed'"
)
GRADES = "'N', 'U', 'A', 'B', 'C', 'D', 'J'"


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "resale_units",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("returns_unit_id", BIG_ID, nullable=False),
        sa.Column("barcode", sa.String(32), nullable=False),
        sa.Column("parent_sku", sa.String(64), nullable=False),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("grade", sa.String(1), nullable=False),
        sa.Column("functional", sa.String(8), nullable=False),
        sa.Column("defects", sa.JSON(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("return_id", BIG_ID, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        _at("public_from", nullable=True),
        _at("listed_at", nullable=True),
        _at("due_at", nullable=True),
        sa.Column("base_price", sa.Integer(), nullable=True),
        sa.Column("base_source", sa.String(16), nullable=True),
        sa.Column("factor", sa.Integer(), nullable=False),
        sa.Column("start_price", sa.Integer(), nullable=True),
        sa.Column("pricing_mode", sa.String(16), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.Column("price", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint(
            f"status IN ({RESALE_STATES})", name=op.f("ck_resale_units_status_known")
        ),
        sa.CheckConstraint(f"grade IN ({GRADES})", name=op.f("ck_resale_units_grade_known")),
        sa.CheckConstraint(
            "stage IN ('hidden', 'early', 'public')", name=op.f("ck_resale_units_stage_known")
        ),
        sa.CheckConstraint(
            "pricing_mode IN ('schedule', 'manual')",
            name=op.f("ck_resale_units_pricing_mode_known"),
        ),
        sa.CheckConstraint(
            "factor >= 0 AND factor <= 100", name=op.f("ck_resale_units_factor_percent")
        ),
        sa.CheckConstraint(
            "price IS NULL OR price > 0", name=op.f("ck_resale_units_price_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resale_units")),
        sa.UniqueConstraint("code", name=op.f("uq_resale_units_code")),
        sa.UniqueConstraint("returns_unit_id", name=op.f("uq_resale_units_returns_unit_id")),
    )
    op.create_index("ix_resale_units_status_id", "resale_units", ["status", "id"])
    op.create_index("ix_resale_units_parent_sku_id", "resale_units", ["parent_sku", "id"])
    op.create_index("ix_resale_units_due_at", "resale_units", ["due_at"])
    op.create_table(
        "resale_early_access",
        sa.Column("unit_id", BIG_ID, sa.ForeignKey("resale_units.id"), nullable=False),
        sa.Column("segment", sa.String(64), nullable=False),
        _at("visible_from"),
        sa.PrimaryKeyConstraint("unit_id", "segment", name=op.f("pk_resale_early_access")),
    )
    op.create_table(
        "resale_prices",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("unit_id", BIG_ID, sa.ForeignKey("resale_units.id"), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        _at("at"),
        sa.CheckConstraint("price > 0", name=op.f("ck_resale_prices_price_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resale_prices")),
    )
    op.create_index("ix_resale_prices_unit_id", "resale_prices", ["unit_id", "id"])
    op.create_table(
        "resale_grade_factors",
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("grade", sa.String(1), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        _at("updated_at"),
        sa.CheckConstraint(
            f"grade IN ({GRADES})", name=op.f("ck_resale_grade_factors_grade_known")
        ),
        sa.CheckConstraint(
            "percent >= 0 AND percent <= 100",
            name=op.f("ck_resale_grade_factors_percent_range"),
        ),
        sa.PrimaryKeyConstraint("category", "grade", name=op.f("pk_resale_grade_factors")),
    )


def downgrade() -> None:
    op.drop_table("resale_grade_factors")
    op.drop_index("ix_resale_prices_unit_id", table_name="resale_prices")
    op.drop_table("resale_prices")
    op.drop_table("resale_early_access")
    op.drop_index("ix_resale_units_due_at", table_name="resale_units")
    op.drop_index("ix_resale_units_parent_sku_id", table_name="resale_units")
    op.drop_index("ix_resale_units_status_id", table_name="resale_units")
    op.drop_table("resale_units")
