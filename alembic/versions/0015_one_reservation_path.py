"""one reservation path: the PL/pgSQL oms_reserve goes

Reservations are written by one SQLAlchemy path on both databases (concurrent reservations of
a process taken into one transaction: see oms.inventory.services.reservations); the function
of migrations 0002 and 0004 was its twin on PostgreSQL.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 01:00:00.000000
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "text, text, text, text, timestamptz, text, text[], text[], integer[], text, boolean"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS oms_reserve({SIGNATURE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function_of_0004())


def _function_of_0004() -> str:
    """0004's oms_reserve, read from that migration rather than copied here."""
    path = Path(__file__).with_name("0004_publish_channel_numbers.py")
    spec = importlib.util.spec_from_file_location("oms_migration_0004", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.OMS_RESERVE)
