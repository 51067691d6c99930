"""shipments by reservation: a count that cuts reservations finds their parcels by index

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_shipments_reservation_id", "shipments", ["reservation_id"])


def downgrade() -> None:
    op.drop_index("ix_shipments_reservation_id", table_name="shipments")
