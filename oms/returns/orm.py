"""Returns tables (migration 0010). Orders, SKUs and locations are referred to by id or code
with foreign keys by table name: the returns context never imports another's tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from oms.db import BigId, UtcDateTime, metadata

RETURN_STATES = (
    "'requested', 'authorized', 'in_transit', 'receiving', 'received', 'inspected', "
    "'resolved', 'closed', 'declined', 'cancelled', 'expired'"
)

returns = Table(
    "returns",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("channel_return_id", String(100), nullable=True),
    Column("hold_reason", String(1000), nullable=True),
    Column("unexpected", Boolean, nullable=False),
    Column("note", String(1000), nullable=True),
    Column("approved_by", String(100), nullable=True),  # a person, or "policy"
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(f"status IN ({RETURN_STATES})", name="status_known"),
    UniqueConstraint("channel", "channel_return_id", name="uq_returns_channel_return_id"),
)
Index("ix_returns_order_id", returns.c.order_id)
Index("ix_returns_status_id", returns.c.status, returns.c.id)

return_lines = Table(
    "return_lines",
    metadata,
    Column("return_id", BigId, ForeignKey("returns.id"), primary_key=True),
    Column("line_id", String(64), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("reason_text", String(1000), nullable=True),
    Column("channel_reason", String(200), nullable=True),
    Column("received", Integer, nullable=False),
    Column("written_off", Integer, nullable=False),
    Column("resolution", String(16), nullable=True),
    Column("refund_amount", Integer, nullable=True),  # minor units, recorded, not moved
    Column("refund_method", String(32), nullable=True),
    # The exchange's or replacement's order, placed through the ordinary ingest.
    Column("resolution_order_id", BigId, ForeignKey("orders.id"), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint(
        "received >= 0 AND written_off >= 0 AND received + written_off <= quantity",
        name="settled_within_quantity",
    ),
)

# One row per physical item received: its own id and printable barcode.
units = Table(
    "units",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("barcode", String(32), nullable=False, unique=True),
    Column("return_id", BigId, ForeignKey("returns.id"), nullable=True),
    Column("line_id", String(64), nullable=True),
    Column("sku", String(64), nullable=False),
    Column("location", String(64), nullable=False),
    Column("status", String(24), nullable=False),
    Column("grade", String(1), nullable=True),  # the latest of unit_grades, for listing
    Column("resale_code", String(64), nullable=True),  # the resale unit it became
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(
        "status IN ('awaiting_inspection', 'graded', 'dispositioned', 'done', 'escalated')",
        name="status_known",
    ),
)
Index("ix_units_return_id", units.c.return_id)
Index("ix_units_status_id", units.c.status, units.c.id)

# Append-only: a regrade is a new row; the unit's grade is its latest.
unit_grades = Table(
    "unit_grades",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("unit_id", BigId, ForeignKey("units.id"), nullable=False),
    Column("grade", String(1), nullable=False),
    Column("functional", String(8), nullable=False),
    Column("defects", JSON, nullable=False),
    Column("completeness", JSON, nullable=False),
    Column("photos", JSON, nullable=False),
    Column("note", Text, nullable=True),
    Column("rubric_version", String(32), nullable=False),
    Column("grader", String(100), nullable=False),
    Column("graded_at", UtcDateTime, nullable=False),
    CheckConstraint("grade IN ('N', 'U', 'A', 'B', 'C', 'D', 'J')", name="grade_known"),
)
Index("ix_unit_grades_unit_id", unit_grades.c.unit_id, unit_grades.c.id)

unit_exceptions = Table(
    "unit_exceptions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("unit_id", BigId, ForeignKey("units.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("actual_sku", String(64), nullable=True),  # a wrong item: what came instead
    Column("note", Text, nullable=True),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
Index("ix_unit_exceptions_unit_id", unit_exceptions.c.unit_id)

# A decision (changeable until executed), then its execution: the ledger movement out of
# quarantine.
unit_dispositions = Table(
    "unit_dispositions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("unit_id", BigId, ForeignKey("units.id"), nullable=False),
    Column("disposition", String(24), nullable=False),
    Column("reason", String(1000), nullable=True),
    Column("decided_by", String(100), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("executed_at", UtcDateTime, nullable=True),
)
Index("ix_unit_dispositions_unit_id", unit_dispositions.c.unit_id, unit_dispositions.c.id)

# A channel's return policy: what a channel's request needs to be approved without a person.
return_policies = Table(
    "return_policies",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("window_days", Integer, nullable=False),
    Column("reasons", JSON, nullable=False),  # normalised reason codes approved by policy
    Column("auto_approve", Boolean, nullable=False),
    Column("exchange_channel", String(64), nullable=True),
    Column("updated_by", String(100), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("window_days >= 0", name="window_not_negative"),
)
