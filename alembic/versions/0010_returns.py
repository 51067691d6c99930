"""returns: RMAs and their lines, received units, grades (append-only), receipt exceptions,
dispositions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
RETURN_STATES = (
    "'requested', 'authorized', 'in_transit', 'receiving', 'received', 'inspected', "
    "'resolved', 'closed', 'declined', 'cancelled', 'expired'"
)


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("order_id", BIG_ID, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("channel_return_id", sa.String(100), nullable=True),
        sa.Column("hold_reason", sa.String(1000), nullable=True),
        sa.Column("unexpected", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint(f"status IN ({RETURN_STATES})", name=op.f("ck_returns_status_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("channel", "channel_return_id", name="uq_returns_channel_return_id"),
    )
    op.create_index("ix_returns_order_id", "returns", ["order_id"])
    op.create_index("ix_returns_status_id", "returns", ["status", "id"])
    op.create_table(
        "return_lines",
        sa.Column("return_id", BIG_ID, sa.ForeignKey("returns.id"), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("reason_text", sa.String(1000), nullable=True),
        sa.Column("channel_reason", sa.String(200), nullable=True),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("written_off", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("refund_amount", sa.Integer(), nullable=True),
        sa.Column("refund_method", sa.String(32), nullable=True),
        sa.Column("resolution_order_id", BIG_ID, sa.ForeignKey("orders.id"), nullable=True),
        _at("resolved_at", nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_lines_quantity_positive")),
        sa.CheckConstraint(
            "received >= 0 AND written_off >= 0 AND received + written_off <= quantity",
            name=op.f("ck_return_lines_settled_within_quantity"),
        ),
        sa.PrimaryKeyConstraint("return_id", "line_id", name=op.f("pk_return_lines")),
    )
    op.create_table(
        "units",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("barcode", sa.String(32), nullable=False),
        sa.Column("return_id", BIG_ID, sa.ForeignKey("returns.id"), nullable=True),
        sa.Column("line_id", sa.String(64), nullable=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("grade", sa.String(1), nullable=True),
        sa.Column("resale_code", sa.String(64), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint(
            "status IN ('awaiting_inspection', 'graded', 'dispositioned', 'done', 'escalated')",
            name=op.f("ck_units_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("barcode", name=op.f("uq_units_barcode")),
    )
    op.create_index("ix_units_return_id", "units", ["return_id"])
    op.create_index("ix_units_status_id", "units", ["status", "id"])
    op.create_table(
        "unit_grades",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("unit_id", BIG_ID, sa.ForeignKey("units.id"), nullable=False),
        sa.Column("grade", sa.String(1), nullable=False),
        sa.Column("functional", sa.String(8), nullable=False),
        sa.Column("defects", sa.JSON(), nullable=False),
        sa.Column("completeness", sa.JSON(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rubric_version", sa.String(32), nullable=False),
        sa.Column("grader", sa.String(100), nullable=False),
        _at("graded_at"),
        sa.CheckConstraint(
            "grade IN ('N', 'U', 'A', 'B', 'C', 'D', 'J')", name=op.f("ck_unit_grades_grade_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_grades")),
    )
    op.create_index("ix_unit_grades_unit_id", "unit_grades", ["unit_id", "id"])
    op.create_table(
        "unit_exceptions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("unit_id", BIG_ID, sa.ForeignKey("units.id"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("actual_sku", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        _at("recorded_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_exceptions")),
    )
    op.create_index("ix_unit_exceptions_unit_id", "unit_exceptions", ["unit_id"])
    op.create_table(
        "unit_dispositions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("unit_id", BIG_ID, sa.ForeignKey("units.id"), nullable=False),
        sa.Column("disposition", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=False),
        _at("decided_at"),
        _at("executed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_dispositions")),
    )
    op.create_index("ix_unit_dispositions_unit_id", "unit_dispositions", ["unit_id", "id"])
    op.create_table(
        "return_policies",
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("auto_approve", sa.Boolean(), nullable=False),
        sa.Column("exchange_channel", sa.String(64), nullable=True),
        sa.Column("updated_by", sa.String(100), nullable=False),
        _at("updated_at"),
        sa.CheckConstraint("window_days >= 0", name=op.f("ck_return_policies_window_not_negative")),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_return_policies")),
    )


def downgrade() -> None:
    op.drop_table("return_policies")
    op.drop_index("ix_unit_dispositions_unit_id", table_name="unit_dispositions")
    op.drop_table("unit_dispositions")
    op.drop_index("ix_unit_exceptions_unit_id", table_name="unit_exceptions")
    op.drop_table("unit_exceptions")
    op.drop_index("ix_unit_grades_unit_id", table_name="unit_grades")
    op.drop_table("unit_grades")
    op.drop_index("ix_units_status_id", table_name="units")
    op.drop_index("ix_units_return_id", table_name="units")
    op.drop_table("units")
    op.drop_table("return_lines")
    op.drop_index("ix_returns_status_id", table_name="returns")
    op.drop_index("ix_returns_order_id", table_name="returns")
    op.drop_table("returns")
