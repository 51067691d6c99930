"""publication queue: the SKUs whose channel numbers a committed change may have moved, for the
publisher to recompute off the writer's path

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Insert-only for writers (no row two writers share), consumed by the publisher with
    # DELETE ... RETURNING. No foreign key: a writer's insert should not check the SKU row again.
    op.create_table(
        "publication_queue",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_queue")),
    )


def downgrade() -> None:
    op.drop_table("publication_queue")
