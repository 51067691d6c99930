"""ring-fenced pools are drawn down by their own channel's reservations

`channel_pools.drawn`: units the pool's channel has taken from it since the pool was set; the
pool holds `quantity - drawn`. `channel_pool_draws`: which reservation drew how many, so that
releasing the reservation (a cancelled order, a re-sourced parcel) gives them back.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("drawn", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.create_check_constraint(op.f("ck_channel_pools_drawn_not_negative"), "drawn >= 0")
    op.create_table(
        "channel_pool_draws",
        sa.Column(
            "reservation_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.CheckConstraint("units > 0", name=op.f("ck_channel_pool_draws_units_positive")),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_channel_pool_draws_reservation_id_reservations"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_pool_draws_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["skus.code"], name=op.f("fk_channel_pool_draws_sku_skus")
        ),
        sa.PrimaryKeyConstraint("reservation_id", "sku", name=op.f("pk_channel_pool_draws")),
    )


def downgrade() -> None:
    op.drop_table("channel_pool_draws")
    with op.batch_alter_table("channel_pools", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_channel_pools_drawn_not_negative"), type_="check")
        batch_op.drop_column("drawn")
