"""Imports every table module so the shared metadata is complete (Alembic, tests)."""

from oms import access, idempotency, outbox
from oms.db import metadata
from oms.inventory import orm as inventory_orm

__all__ = ["access", "idempotency", "inventory_orm", "metadata", "outbox"]
