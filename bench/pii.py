"""The PII anonymisation job over 100,000 marketplace orders on PostgreSQL (issue 10).

Seeds, by bulk SQL after `alembic upgrade head`: an Amazon channel, 100,000 of its orders past
the deadline (90 % shipped 60 days ago, 10 % cancelled, ordered 90 days ago), each with an
address, a phone number, a gift note on every fifth, a line, a shipped parcel, a return with the
buyer's words on every twentieth, and a legal hold on every thousandth. Then runs the job
through `AnonymisationService` (what `oms pii anonymise` and the daily loop run), checks what
it changed, and runs it again: the second run must change no row (compared by a digest of every
scrubbed column, not only by the job's own count).

Targets: the first run <= 60 s; the second changes 0 orders and 0 rows.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, text

from bench.database import migrate, require_postgresql, server_version, settle, truncate_all
from bench.harness import BenchConfig, BenchReport
from oms.bootstrap import bootstrap
from oms.db import make_engine
from oms.privacy.domain import PLACEHOLDER
from oms.shared.clock import utcnow

ORDERS = 100_000
TARGET_SECONDS = 60.0
CHANNEL = "AMZ"
HOLD_EVERY = 1_000
SEEDED_TABLES = ["channels", "orders", "order_lines", "shipments", "returns", "return_lines"]


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        truncate_all(conn)
        conn.execute(
            text(
                "INSERT INTO channels (code, name, kind, active, auto_buffer,"
                " push_latency_seconds, settings, created_at, updated_at)"
                " VALUES (:code, 'Amazon', 'amazon', true, false, 0, '{}', now(), now())"
            ),
            {"code": CHANNEL},
        )
        conn.execute(
            text(
                "INSERT INTO orders (channel, external_id, ordered_at, currency, ship_to,"
                " shipping_method, promised_by, gift_note, fingerprint, status, created_at,"
                " updated_at)"
                " SELECT :channel, '503-' || lpad(i::text, 7, '0'), now() - interval '90 days',"
                " 'JPY', json_build_object('name', '山田 花子 ' || i, 'postal_code', '150-0041',"
                " 'prefecture', '13', 'city', '渋谷区', 'address1', '神南1-2-' || i,"
                " 'address2', CASE WHEN i % 3 = 0 THEN 'ハイツ' || i END,"
                " 'phone', '03-1234-' || lpad((i % 10000)::text, 4, '0')),"
                " NULL, NULL, CASE WHEN i % 5 = 0 THEN 'お誕生日おめでとう ' || i END,"
                " md5(i::text), CASE WHEN i % 10 = 0 THEN 'cancelled' ELSE 'shipped' END,"
                " now() - interval '90 days', now() - interval '60 days'"
                " FROM generate_series(1, :count) AS i"
            ),
            {"channel": CHANNEL, "count": ORDERS},
        )
        conn.execute(
            text(
                "INSERT INTO order_lines (order_id, line_id, position, sku, quantity, unit_price,"
                " components, ship_together, cancelled, backordered)"
                " SELECT id, '1', 1, 'SKU-1', 1, 3900, '{\"SKU-1\": 1}', true,"
                " CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END, 0 FROM orders"
            )
        )
        conn.execute(
            text(
                "INSERT INTO shipments (order_id, location, status, carrier, tracking_number,"
                " shipped_at, created_at, updated_at)"
                " SELECT id, 'BENCH-DC', 'shipped', 'yamato', 'TRK-' || id,"
                " now() - interval '60 days', now() - interval '89 days',"
                " now() - interval '60 days' FROM orders WHERE status = 'shipped'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO returns (order_id, channel, status, unexpected, created_by,"
                " created_at, updated_at)"
                " SELECT id, channel, 'authorized', false, 'bench', now(), now()"
                " FROM orders WHERE status = 'shipped' AND id % 20 = 1"
            )
        )
        conn.execute(
            text(
                "INSERT INTO return_lines (return_id, line_id, sku, quantity, reason_code,"
                " reason_text, received, written_off)"
                " SELECT id, '1', 'SKU-1', 1, 'size', '090-1111-' || id, 0, 0 FROM returns"
            )
        )
        conn.execute(
            text(
                "INSERT INTO legal_holds (order_id, reason, placed_by, placed_at)"
                " SELECT id, 'bench hold', 'bench', now() FROM orders WHERE id % :every = 0"
            ),
            {"every": HOLD_EVERY},
        )
    settle(engine, [*SEEDED_TABLES, "legal_holds"])


def _digest(engine: Engine) -> str:
    """A digest of every scrubbed column: two runs that changed nothing give the same."""
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM ("
                    " SELECT id || ':' || ship_to::text || ':' || coalesce(gift_note, '') AS x"
                    " FROM orders UNION ALL"
                    " SELECT return_id || ':' || coalesce(reason_text, '') FROM return_lines) t"
                )
            ).scalar_one()
        )


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT"
                " count(*) FILTER (WHERE ship_to->>'name' = :p),"
                " count(*) FILTER (WHERE ship_to->>'postal_code' = '150-0041'),"
                " (SELECT count(*) FROM pii_anonymised_orders),"
                " (SELECT count(*) FROM return_lines WHERE reason_text = :p)"
                " FROM orders"
            ),
            {"p": PLACEHOLDER},
        ).one()
    return {
        "names_replaced": int(row[0]),
        "postal_codes_kept": int(row[1]),
        "recorded": int(row[2]),
        "return_reasons_replaced": int(row[3]),
    }


def _target(figure: float, target: float, met: bool, baseline: Any = None) -> dict[str, Any]:
    ratio = (target / figure if figure else None) if baseline is None else None
    return {
        "figure": round(figure, 3),
        "baseline": baseline,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target": target,
        "met": met,
    }


def run(config: BenchConfig) -> BenchReport:
    require_postgresql(config.database_url)
    migrate(config.database_url)
    engine = make_engine(config.database_url, pool_size=2)
    try:
        started = time.perf_counter()
        _seed(engine)
        seed_seconds = time.perf_counter() - started
        services = bootstrap(engine=engine)
        job = services.anonymisation
        now = utcnow()

        dry = job.anonymise(now=now, dry_run=True)
        started = time.perf_counter()
        first = job.anonymise(now=now)
        first_seconds = time.perf_counter() - started
        after_first = _digest(engine)
        counts = _counts(engine)

        started = time.perf_counter()
        second = job.anonymise(now=now)
        second_seconds = time.perf_counter() - started
        unchanged = _digest(engine) == after_first
        version = server_version(engine)
    finally:
        engine.dispose()

    held = ORDERS // HOLD_EVERY
    expected = ORDERS - held
    failures = []
    if first.anonymised != expected or dry.due != expected or dry.held != held:
        failures.append(
            f"first run anonymised {first.anonymised:,} (dry run: {dry.due:,} due, "
            f"{dry.held:,} held); expected {expected:,} and {held:,} held"
        )
    if counts["names_replaced"] != expected or counts["recorded"] != expected:
        failures.append(f"after the first run: {counts}; expected {expected:,} replaced")
    if counts["postal_codes_kept"] != ORDERS:
        failures.append(f"postal codes kept: {counts['postal_codes_kept']:,} of {ORDERS:,}")
    if second.anonymised != 0 or not unchanged:
        failures.append(f"second run anonymised {second.anonymised:,}; rows unchanged: {unchanged}")
    first_met = first_seconds <= TARGET_SECONDS
    second_met = second.anonymised == 0 and unchanged
    return BenchReport(
        name="pii",
        columns=["run", "orders changed", "seconds", "target", "met"],
        rows=[
            [
                "first",
                first.anonymised,
                round(first_seconds, 2),
                f"<= {TARGET_SECONDS:.0f} s",
                first_met,
            ],
            ["second", second.anonymised, round(second_seconds, 2), "0 orders, 0 rows", second_met],
        ],
        document={
            "orders": ORDERS,
            "held": held,
            "batch_size": job.batch_size,
            "postgresql": version,
            "seed_seconds": round(seed_seconds, 1),
            "after_first_run": counts,
            "targets": {
                "anonymise_100k_seconds": _target(first_seconds, TARGET_SECONDS, first_met),
                "second_run_orders_changed": {
                    "figure": second.anonymised,
                    "baseline": first.anonymised,
                    "ratio": 0.0 if first.anonymised else None,
                    "target": 0,
                    "met": second.anonymised == 0,
                },
                "second_run_rows_unchanged": {
                    "figure": unchanged,
                    "baseline": None,
                    "ratio": None,
                    "target": True,
                    "met": unchanged,
                },
                "second_run_seconds": {
                    "figure": round(second_seconds, 3),
                    "baseline": round(first_seconds, 3),
                    "ratio": round(second_seconds / first_seconds, 4) if first_seconds else None,
                    "target": None,
                    "met": None,
                },
            },
        },
        notes=[
            f"seeded {ORDERS:,} orders in {seed_seconds:.1f} s; "
            f"{held:,} held; batches of {job.batch_size:,}"
        ],
        failures=failures,
    )
