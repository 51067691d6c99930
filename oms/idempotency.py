"""Idempotency records: a key seen before returns its first result and changes nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Table

from oms.db import UtcDateTime, metadata

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("operation", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("result", JSON, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)
# Pruning finds old records by age.
Index("ix_idempotency_records_created_at", idempotency_records.c.created_at)


def fingerprint(operation: str, body: Any, caller: str | None = None) -> str:
    """Stable hash of what was asked, and by whom, to tell a retry from a different request.

    `caller` (the API key) is part of it: the same key sent by another client is not a retry
    of that client's request, and must never be answered with its result. None (the CLI, and
    records written before callers were recorded) hashes as before.
    """
    asked = [operation, body] if caller is None else [operation, body, caller]
    canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
