"""publish channel numbers: what each channel was told, change cursor, sales channel

`channel_availability` keeps each channel's published number per SKU, written in the same
transaction as the change that moves it (with an AvailabilityChanged outbox row);
`availability_state` holds the token that tells processes their cached rules are stale, and
SQLite's change counter. Reservations record the sales channel they were made for (sales
velocity), and oms_reserve takes it, returns the SKU ids it touched, and refuses to commit on
its own when a channel must be told (the caller then publishes in the same transaction).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SIGNATURE = "text, text, text, text, timestamptz, text, text[], text[], integer[]"
NEW_SIGNATURE = OLD_SIGNATURE + ", text, boolean"

OMS_RESERVE = r"""
CREATE OR REPLACE FUNCTION oms_reserve(
    p_key text,
    p_fingerprint text,
    p_reference text,
    p_actor text,
    p_now timestamptz,
    p_at text,
    p_skus text[],
    p_locations text[],
    p_quantities integer[],
    p_channel text,
    p_caller_publishes boolean
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_prior record;
    v_line record;
    v_after record;
    v_reservation_id bigint;
    v_movement_reference text;
    v_shortages jsonb := '[]'::jsonb;
    v_levels jsonb := '{}'::jsonb;
    v_level jsonb;
    v_sku record;
    v_seq bigint;
    v_location_id integer;
    v_seqs jsonb := '{}'::jsonb;
    v_sku_ids integer[] := '{}';
    v_location_ids integer[] := '{}';
BEGIN
    INSERT INTO idempotency_records (key, operation, fingerprint, created_at)
    VALUES (p_key, 'reservation.create', p_fingerprint, p_now)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT r.fingerprint, res.id AS reservation_id INTO v_prior
        FROM idempotency_records r LEFT JOIN reservations res ON res.idempotency_key = r.key
        WHERE r.key = p_key;
        RETURN jsonb_build_object(
            'status', 'replayed',
            'fingerprint', v_prior.fingerprint,
            'reservation_id', v_prior.reservation_id
        );
    END IF;

    FOR i IN 1 .. cardinality(p_skus) LOOP
        SELECT id, kind INTO v_sku FROM skus WHERE code = p_skus[i];
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown sku' USING DETAIL = jsonb_build_object(
                'kind', 'unknown_sku', 'index', i - 1, 'sku', p_skus[i])::text;
        END IF;
        IF v_sku.kind = 'bundle' THEN
            RAISE EXCEPTION 'bundle' USING DETAIL = jsonb_build_object(
                'kind', 'bundle', 'index', i - 1, 'sku', p_skus[i])::text;
        END IF;
        v_sku_ids[i] := v_sku.id;
        SELECT id INTO v_location_id FROM locations WHERE code = p_locations[i];
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown location' USING DETAIL = jsonb_build_object(
                'kind', 'unknown_location', 'index', i - 1, 'location', p_locations[i])::text;
        END IF;
        v_location_ids[i] := v_location_id;
    END LOOP;

    INSERT INTO reservations (reference, status, idempotency_key, actor, channel, created_at)
    VALUES (p_reference, 'active', p_key, p_actor, p_channel, p_now)
    RETURNING id INTO v_reservation_id;
    v_movement_reference := 'reservation:' || v_reservation_id
        || COALESCE(' ' || p_reference, '');

    INSERT INTO reservation_lines (reservation_id, sku_id, location_id, quantity)
    SELECT v_reservation_id, u.sku_id, u.location_id, u.quantity
    FROM unnest(v_sku_ids, v_location_ids, p_quantities) AS u(sku_id, location_id, quantity);

    INSERT INTO movements (
        type, sku_id, location_id, d_on_hand, d_reserved, d_quarantined, d_in_transit,
        quantity, counted, reason, reference, idempotency_key, seq, actor, recorded_at
    )
    SELECT 'reserve', u.sku_id, u.location_id, 0, u.quantity, 0, 0,
           u.quantity, NULL, NULL, v_movement_reference, p_key, u.idx - 1, p_actor, p_now
    FROM unnest(v_sku_ids, v_location_ids, p_quantities) WITH ORDINALITY
         AS u(sku_id, location_id, quantity, idx)
    ORDER BY u.idx;

    -- The one fixed lock order of every writer: stock rows by (sku_id, location_id).
    FOR v_line IN
        SELECT * FROM unnest(p_skus, p_locations, p_quantities, v_sku_ids, v_location_ids)
            AS u(sku, location, quantity, sku_id, location_id)
        ORDER BY u.sku_id, u.location_id
    LOOP
        UPDATE stock_levels
        SET reserved = reserved + v_line.quantity, version = version + 1, updated_at = p_now
        WHERE sku_id = v_line.sku_id AND location_id = v_line.location_id
          AND on_hand - reserved - quarantined >= v_line.quantity
        RETURNING on_hand, reserved, quarantined, in_transit, version INTO v_after;
        IF NOT FOUND THEN
            v_shortages := v_shortages || jsonb_build_object(
                'sku', v_line.sku,
                'location', v_line.location,
                'requested', v_line.quantity,
                'available', COALESCE((
                    SELECT on_hand - reserved - quarantined FROM stock_levels
                    WHERE sku_id = v_line.sku_id AND location_id = v_line.location_id
                ), 0)
            );
        ELSE
            v_level := jsonb_build_object(
                'location', v_line.location,
                'on_hand', v_after.on_hand,
                'reserved', v_after.reserved,
                'quarantined', v_after.quarantined,
                'in_transit', v_after.in_transit,
                'available', v_after.on_hand - v_after.reserved - v_after.quarantined,
                'version', v_after.version,
                'sku', v_line.sku
            );
            v_levels := jsonb_set(
                v_levels, ARRAY[v_line.sku],
                COALESCE(v_levels -> v_line.sku, '[]'::jsonb) || v_level
            );
        END IF;
    END LOOP;
    IF jsonb_array_length(v_shortages) > 0 THEN
        RAISE EXCEPTION 'insufficient stock' USING DETAIL = jsonb_build_object(
            'kind', 'short', 'shortages', v_shortages)::text;
    END IF;

    -- Then SKU rows by id: each SKU's events are numbered under its row lock.
    FOR v_sku IN
        SELECT DISTINCT u.sku_id, u.sku FROM unnest(v_sku_ids, p_skus) AS u(sku_id, sku)
        ORDER BY u.sku_id
    LOOP
        UPDATE skus SET event_seq = event_seq + 1 WHERE id = v_sku.sku_id
        RETURNING event_seq INTO v_seq;
        v_seqs := v_seqs || jsonb_build_object(v_sku.sku, v_seq);
    END LOOP;
    -- One StockChanged per SKU, written in SKU-code order like the Python path.
    INSERT INTO outbox (event, partition_key, sequence, payload, created_at, attempts)
    SELECT 'StockChanged', e.key, (e.value)::bigint,
           jsonb_build_object(
               'sku', e.key,
               'sequence', (e.value)::bigint,
               'levels', (
                   SELECT jsonb_agg(lv ORDER BY lv ->> 'location' COLLATE "C")
                   FROM jsonb_array_elements(v_levels -> e.key) AS lv
               ),
               'movement_types', jsonb_build_array('reserve'),
               'reference', v_movement_reference,
               'at', p_at
           )::json,
           p_now, 0
    FROM jsonb_each_text(v_seqs) AS e
    ORDER BY e.key COLLATE "C";

    -- Channel numbers are kept current in the same transaction, by the caller (Python runs
    -- the pipeline). Checked after the SKU row locks, so a channel created meanwhile (its
    -- first publication locks every SKU) is seen: the caller then retries in a transaction.
    IF NOT p_caller_publishes AND EXISTS (SELECT 1 FROM channels WHERE active) THEN
        RAISE EXCEPTION 'publish' USING DETAIL = jsonb_build_object('kind', 'publish')::text;
    END IF;

    RETURN jsonb_build_object(
        'status', 'reserved',
        'reservation_id', v_reservation_id,
        'sku_ids', to_jsonb(v_sku_ids)
    );
END;
$$;
"""


def upgrade() -> None:
    op.create_table(
        "channel_availability",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "available >= 0", name=op.f("ck_channel_availability_available_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_availability_channel_id_channels"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_channel_availability_sku_id_skus")
        ),
        # SKU first: a transaction reads and writes every channel's number of its SKUs.
        sa.PrimaryKeyConstraint("sku_id", "channel_id", name=op.f("pk_channel_availability")),
    )
    op.create_index(
        "ix_channel_availability_changes",
        "channel_availability",
        ["channel_id", "change_seq", "sku_id"],
    )
    op.create_table(
        "availability_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_state")),
    )
    with op.batch_alter_table("reservations") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=64), nullable=True))
    op.create_index("ix_reservations_channel_created_at", "reservations", ["channel", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS oms_reserve({OLD_SIGNATURE})")
        op.execute(OMS_RESERVE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS oms_reserve({NEW_SIGNATURE})")
        op.execute(_previous_function())
    op.drop_index("ix_reservations_channel_created_at", table_name="reservations")
    with op.batch_alter_table("reservations") as batch:
        batch.drop_column("channel")
    op.drop_table("availability_state")
    op.drop_index("ix_channel_availability_changes", table_name="channel_availability")
    op.drop_table("channel_availability")


def _previous_function() -> str:
    """0002's oms_reserve, read from that migration rather than copied here."""
    path = Path(__file__).with_name("0002_reserve_in_one_statement.py")
    spec = importlib.util.spec_from_file_location("oms_migration_0002", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.OMS_RESERVE)
