"""repairs: repair orders, their state periods, parts used, wholesale partners' warranty terms

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REPAIR_STATES = (
    "'requested', 'awaiting_item', 'received', 'diagnosing', 'quote_pending', 'approved', "
    "'awaiting_parts', 'in_repair', 'testing', 'repaired', 'returning', 'completed', "
    "'unrepairable', 'cancelled'"
)
REQUESTERS = "'consumer', 'wholesale', 'customer_service'"
OUTCOMES = "'replacement', 'refund', 'return', 'disposal', 'resale'"


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "repairs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("order_id", BIG_ID, sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("line_id", sa.String(64), nullable=True),
        sa.Column("partner", sa.String(64), nullable=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(100), nullable=True),
        sa.Column("symptom", sa.String(2000), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=False),
        sa.Column("purchase_date", sa.Date(), nullable=False),
        sa.Column("in_warranty", sa.Boolean(), nullable=False),
        sa.Column("warranty", sa.JSON(), nullable=False),
        sa.Column("location", sa.String(64), nullable=True),
        sa.Column("diagnosis", sa.String(1000), nullable=True),
        sa.Column("quote_amount", sa.Integer(), nullable=True),
        sa.Column("quote_currency", sa.String(3), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_reason", sa.String(1000), nullable=True),
        sa.Column("parts_batches", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint(f"status IN ({REPAIR_STATES})", name=op.f("ck_repairs_status_known")),
        sa.CheckConstraint(
            f"requested_by IN ({REQUESTERS})", name=op.f("ck_repairs_requested_by_known")
        ),
        sa.CheckConstraint(f"outcome IN ({OUTCOMES})", name=op.f("ck_repairs_outcome_known")),
        sa.CheckConstraint("quote_amount >= 0", name=op.f("ck_repairs_quote_not_negative")),
        sa.CheckConstraint(
            "parts_batches >= 0", name=op.f("ck_repairs_parts_batches_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repairs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_repairs_idempotency_key")),
    )
    op.create_index("ix_repairs_status_id", "repairs", ["status", "id"])
    op.create_index("ix_repairs_order_id", "repairs", ["order_id"])
    op.create_index("ix_repairs_channel", "repairs", ["channel"])
    op.create_table(
        "repair_states",
        sa.Column("repair_id", BIG_ID, sa.ForeignKey("repairs.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _at("entered_at"),
        _at("left_at", nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.CheckConstraint(
            f"status IN ({REPAIR_STATES})", name=op.f("ck_repair_states_status_known")
        ),
        sa.PrimaryKeyConstraint("repair_id", "seq", name=op.f("pk_repair_states")),
    )
    op.create_table(
        "repair_parts",
        sa.Column("repair_id", BIG_ID, sa.ForeignKey("repairs.id"), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("used_by", sa.String(100), nullable=False),
        _at("used_at"),
        sa.Column("request_key", sa.String(200), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_repair_parts_quantity_positive")),
        sa.PrimaryKeyConstraint("repair_id", "batch", "sku", name=op.f("pk_repair_parts")),
    )
    op.create_table(
        "repair_partner_terms",
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("extra_months", sa.Integer(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=True),
        _at("updated_at"),
        sa.CheckConstraint(
            "extra_months BETWEEN 0 AND 120",
            name=op.f("ck_repair_partner_terms_extra_months_range"),
        ),
        sa.CheckConstraint(
            "term_months BETWEEN 0 AND 120",
            name=op.f("ck_repair_partner_terms_term_months_range"),
        ),
        sa.PrimaryKeyConstraint("partner", name=op.f("pk_repair_partner_terms")),
    )


def downgrade() -> None:
    op.drop_table("repair_partner_terms")
    op.drop_table("repair_parts")
    op.drop_table("repair_states")
    op.drop_index("ix_repairs_channel", table_name="repairs")
    op.drop_index("ix_repairs_order_id", table_name="repairs")
    op.drop_index("ix_repairs_status_id", table_name="repairs")
    op.drop_table("repairs")
