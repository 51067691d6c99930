"""PostgreSQL: reserve stock in one round trip (oms_reserve)

A reservation writes an idempotency record, the reservation and its lines, ledger rows, the
conditional updates of the projection, and one outbox event per SKU. Issued one statement at a
time that is a dozen round trips, most of them while the stock row is locked; this function
does the same writes in one call, in the same lock order as the Python path (stock rows by
(sku_id, location_id), then SKU rows by id). SQLite keeps the Python path.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Errors leave through RAISE (SQLSTATE P0001) with a JSON DETAIL, so that everything the call
# wrote is undone and the caller can name the field at fault.
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
    p_quantities integer[]
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

    INSERT INTO reservations (reference, status, idempotency_key, actor, created_at)
    VALUES (p_reference, 'active', p_key, p_actor, p_now)
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

    RETURN jsonb_build_object('status', 'reserved', 'reservation_id', v_reservation_id);
END;
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(OMS_RESERVE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS oms_reserve("
            "text, text, text, text, timestamptz, text, text[], text[], integer[])"
        )
