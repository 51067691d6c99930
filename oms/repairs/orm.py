"""Repairs tables (migration 0012). Orders are referred to by id with a foreign key by table
name; SKUs and locations by code: the repairs context never imports another's tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from oms.db import BigId, UtcDateTime, metadata

REPAIR_STATES = (
    "'requested', 'awaiting_item', 'received', 'diagnosing', 'quote_pending', 'approved', "
    "'awaiting_parts', 'in_repair', 'testing', 'repaired', 'returning', 'completed', "
    "'unrepairable', 'cancelled'"
)
REQUESTERS = "'consumer', 'wholesale', 'customer_service'"
OUTCOMES = "'replacement', 'refund', 'return', 'disposal', 'resale'"

repairs = Table(
    "repairs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(16), nullable=False),
    # `channel` and `order_id` are columns of their own: the PII deadline is per channel and
    # per order, and the anonymiser finds the repairs to clean by them.
    Column("channel", String(64), nullable=False),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=True),
    Column("line_id", String(64), nullable=True),
    Column("partner", String(64), nullable=True),
    Column("sku", String(64), nullable=False),
    Column("serial", String(100), nullable=True),
    Column("symptom", String(2000), nullable=False),
    Column("contact", JSON, nullable=False),  # personal data, one document
    Column("purchase_date", Date, nullable=False),
    Column("in_warranty", Boolean, nullable=False),  # the decision in force (override first)
    Column("warranty", JSON, nullable=False),  # the decision with its inputs and override
    Column("location", String(64), nullable=True),
    Column("diagnosis", String(1000), nullable=True),
    Column("quote_amount", Integer, nullable=True),  # yen
    Column("quote_currency", String(3), nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("outcome_reason", String(1000), nullable=True),
    Column("parts_batches", Integer, nullable=False),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("request_fingerprint", String(64), nullable=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(f"status IN ({REPAIR_STATES})", name="status_known"),
    CheckConstraint(f"requested_by IN ({REQUESTERS})", name="requested_by_known"),
    CheckConstraint(f"outcome IN ({OUTCOMES})", name="outcome_known"),
    CheckConstraint("quote_amount >= 0", name="quote_not_negative"),
    CheckConstraint("parts_batches >= 0", name="parts_batches_not_negative"),
)
Index("ix_repairs_status_id", repairs.c.status, repairs.c.id)
Index("ix_repairs_order_id", repairs.c.order_id)
Index("ix_repairs_channel", repairs.c.channel)

# Every state a repair entered, when, and when it left: the SLA clock is computed from these.
repair_states = Table(
    "repair_states",
    metadata,
    Column("repair_id", BigId, ForeignKey("repairs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("entered_at", UtcDateTime, nullable=False),
    Column("left_at", UtcDateTime, nullable=True),
    Column("actor", String(100), nullable=False),
    Column("note", String(1000), nullable=True),
    CheckConstraint(f"status IN ({REPAIR_STATES})", name="status_known"),
)

# Parts used, one row per SKU of each `parts` action (batch); the ledger rows carry the key
# repair:{id}:parts:{batch}.
repair_parts = Table(
    "repair_parts",
    metadata,
    Column("repair_id", BigId, ForeignKey("repairs.id"), primary_key=True),
    Column("batch", Integer, primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("location", String(64), nullable=False),
    Column("used_by", String(100), nullable=False),
    Column("used_at", UtcDateTime, nullable=False),
    Column("request_key", String(200), nullable=True),  # the Idempotency-Key of the action
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

# Wholesale partners' warranty terms: extra months on the product's term, or a term of their own.
repair_partner_terms = Table(
    "repair_partner_terms",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("extra_months", Integer, nullable=False),
    Column("term_months", Integer, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("extra_months BETWEEN 0 AND 120", name="extra_months_range"),
    CheckConstraint("term_months BETWEEN 0 AND 120", name="term_months_range"),
)
