"""Channel sync tables. The schema is made by Alembic migrations only (0009); these mirror it.

Channels, SKUs and shipments are referred to by code or id with foreign keys by table name: the
sync never imports another context's tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
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
    text,
)

from oms.db import BigId, UtcDateTime, metadata

# How oms reaches a channel: the non-secret fields in `settings`, the secrets as one encrypted
# token (Fernet of their JSON; the key is the settings' `secret_key`).
channel_connections = Table(
    "channel_connections",
    metadata,
    Column("channel", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("settings", JSON, nullable=False),
    Column("secrets", Text, nullable=False),
    Column("push", Boolean, nullable=False),
    Column("pull_orders", Boolean, nullable=False),
    Column("pull_interval_seconds", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("pull_interval_seconds >= 10", name="pull_interval_at_least_10"),
)

# An oms SKU as one channel knows it; only listed SKUs are pushed. `remote_variant` is '' when
# the channel has none (a key column cannot be NULL).
channel_listings = Table(
    "channel_listings",
    metadata,
    Column("channel", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("sku", String(64), ForeignKey("skus.code"), primary_key=True),
    Column("remote_id", String(200), nullable=False),
    Column("remote_variant", String(200), nullable=False, server_default=text("''")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("channel", "remote_id", "remote_variant", name="uq_channel_listings_remote"),
)

# What each channel was last told per SKU, and when: the push skips what it already said, and
# reconciliation compares the channel's own numbers with these.
channel_told = Table(
    "channel_told",
    metadata,
    Column("channel", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("sku", String(64), ForeignKey("skus.code"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("told_at", UtcDateTime, nullable=False),
)

# One row per channel: where the push and the order pull stand, and their counters.
channel_sync_state = Table(
    "channel_sync_state",
    metadata,
    Column("channel", String(64), ForeignKey("channels.code"), primary_key=True),
    # The availability changes feed's cursor: every change up to it was pushed (or parked).
    Column("push_cursor", String(100), nullable=False, server_default=text("'0'")),
    Column("order_cursor", Text, nullable=True),  # the adapter's own, opaque
    Column("last_push_at", UtcDateTime, nullable=True),
    Column("last_pull_at", UtcDateTime, nullable=True),
    Column("last_reconcile_at", UtcDateTime, nullable=True),
    Column("pushed", BigInteger, nullable=False, server_default=text("0")),
    Column("pulled", BigInteger, nullable=False, server_default=text("0")),
    Column("throttled", BigInteger, nullable=False, server_default=text("0")),
    Column("latency_p95_seconds", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Work the sync could not do and a person should see: a SKU the channel refused, an order that
# could not be taken, a confirmation that failed every retry. Retried from the API or the CLI.
sync_failures = Table(
    "sync_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(64), ForeignKey("channels.code"), nullable=False),
    Column("operation", String(16), nullable=False),
    Column("subject", String(200), nullable=False),  # SKU, external order id, shipment id
    Column("message", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    # What a retry needs that the channel will not send again (a pulled order); personal data
    # in it is dropped when the failure is resolved.
    Column("payload", JSON(none_as_null=True), nullable=True),
    CheckConstraint("operation IN ('push', 'pull', 'confirm')", name="operation_known"),
)
Index("ix_sync_failures_open", sync_failures.c.channel, sync_failures.c.resolved_at)
Index(
    "ix_sync_failures_subject",
    sync_failures.c.channel,
    sync_failures.c.operation,
    sync_failures.c.subject,
)

# Webhook deliveries taken, by the channel's delivery id: a delivery sent again is answered
# and ignored (the order ingest is idempotent besides).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("channel", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("delivery_id", String(100), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
)

# Each parcel confirmed to its channel once.
shipment_confirmations = Table(
    "shipment_confirmations",
    metadata,
    Column("shipment_id", BigId, ForeignKey("shipments.id"), primary_key=True),
    Column("channel", String(64), ForeignKey("channels.code"), nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=False),
)
