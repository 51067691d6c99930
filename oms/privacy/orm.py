"""Privacy tables (migration 0013). Orders are referred to by id with foreign keys by table
name: the privacy context never imports another's tables."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table

from oms.db import BigId, UtcDateTime, metadata

# A channel's stored policy; a channel with none follows its kind's default (domain.policy).
pii_policies = Table(
    "pii_policies",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("fields", JSON, nullable=False),  # PersonalField values
    Column("days_after_delivery", Integer, nullable=False),
    Column("days_after_cancellation", Integer, nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Every hold ever placed, released ones kept with who released them and why.
legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("placed_by", String(100), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("released_by", String(100), nullable=True),
    Column("released_at", UtcDateTime, nullable=True),
    Column("release_reason", String(1000), nullable=True),
)
Index("ix_legal_holds_order_id", legal_holds.c.order_id, legal_holds.c.id)
# At most one standing hold per order, also against two people placing one at once.
Index(
    "uq_legal_holds_standing",
    legal_holds.c.order_id,
    unique=True,
    postgresql_where=legal_holds.c.released_at.is_(None),
    sqlite_where=legal_holds.c.released_at.is_(None),
)

# When each order's personal data was anonymised, and which fields: the job skips these.
pii_anonymised_orders = Table(
    "pii_anonymised_orders",
    metadata,
    Column("order_id", BigId, ForeignKey("orders.id"), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("anonymised_at", UtcDateTime, nullable=False),
    Column("fields", JSON, nullable=False),
)

# Each run of the job: the daily loop runs when the last daily run is a day old.
pii_runs = Table(
    "pii_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("trigger", String(16), nullable=False),  # daily | command
    Column("dry_run", Boolean, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("orders", Integer, nullable=False),
)
Index("ix_pii_runs_trigger_started_at", pii_runs.c.trigger, pii_runs.c.started_at)

# Who read whose personal data: one row per record shown.
personal_data_reads = Table(
    "personal_data_reads",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("read_at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("purpose", String(200), nullable=False),
    # None: a record of no order of ours (a repair brought with a proof of purchase).
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=True),
    Column("subject", String(16), nullable=False),
    Column("subject_id", BigId, nullable=True),
    Column("fields", JSON, nullable=False),
)
Index("ix_personal_data_reads_order_id", personal_data_reads.c.order_id, personal_data_reads.c.id)
Index("ix_personal_data_reads_actor", personal_data_reads.c.actor, personal_data_reads.c.id)
Index("ix_personal_data_reads_read_at", personal_data_reads.c.read_at)
