"""Imports every table module so the shared metadata is complete (Alembic, tests)."""

from oms import access, idempotency, outbox
from oms.channels.availability import orm as channels_orm
from oms.channels.sync import orm as sync_orm
from oms.db import metadata
from oms.inventory import orm as inventory_orm
from oms.orders import orm as orders_orm
from oms.privacy import orm as privacy_orm
from oms.repairs import orm as repairs_orm
from oms.resale import orm as resale_orm
from oms.returns import orm as returns_orm

__all__ = [
    "access",
    "channels_orm",
    "idempotency",
    "inventory_orm",
    "metadata",
    "orders_orm",
    "outbox",
    "privacy_orm",
    "repairs_orm",
    "resale_orm",
    "returns_orm",
    "sync_orm",
]
