"""Pruning: handled outbox events and idempotency records past their retention go, in small
batches; unhandled events, recent rows and the ledger stay. Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select, update

from oms.db import make_session_factory
from oms.idempotency import idempotency_records
from oms.inventory.orm import movements
from oms.outbox import outbox
from oms.retention import prune
from oms.settings import Settings
from oms.shared.clock import utcnow
from tests.builders import a_location, a_sku, receive
from tests.conftest import service_for

DAY = timedelta(days=1)


def _count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(conn.execute(query.where(*where)).scalar_one())  # type: ignore[arg-type]


def _history(engine: Engine, receipts: int) -> None:
    """`receipts` receipts, each with its idempotency record, ledger row and outbox event."""
    inventory = service_for(engine)
    a_location(inventory, "DC-CHIBA")
    a_sku(inventory, "TEE-BLK-M")
    for _ in range(receipts):
        receive(inventory, "TEE-BLK-M", "DC-CHIBA", 1)


def _age(engine: Engine, days: float) -> None:
    """Everything written so far happened `days` ago; the outbox events were all handled."""
    then = utcnow() - timedelta(days=days)
    with engine.begin() as conn:
        conn.execute(update(outbox).values(created_at=then, published_at=then))
        conn.execute(update(idempotency_records).values(created_at=then))


def test_pruning_deletes_what_is_past_its_retention_in_batches_and_keeps_the_rest(
    engine: Engine,
) -> None:
    _history(engine, 7)
    _age(engine, 40)
    old_events = _count(engine, outbox)
    old_records = _count(engine, idempotency_records)
    ledger = _count(engine, movements)
    receive(service_for(engine), "TEE-BLK-M", "DC-CHIBA", 1)  # recent, and not yet handled

    report = prune(
        make_session_factory(engine),
        outbox_retention=7 * DAY,
        idempotency_retention=30 * DAY,
        batch_size=3,  # several batches
    )

    assert (report.outbox_events, report.idempotency_records) == (old_events, old_records)
    assert _count(engine, outbox) == 1  # the recent event
    assert _count(engine, outbox, outbox.c.published_at.is_(None)) == 1
    assert _count(engine, idempotency_records) == 1
    assert _count(engine, movements) == ledger + 1  # the ledger is the record: it stays


def test_an_unhandled_event_is_never_pruned_however_old(engine: Engine) -> None:
    _history(engine, 2)
    with engine.begin() as conn:
        conn.execute(update(outbox).values(created_at=utcnow() - 400 * DAY, published_at=None))
    report = prune(
        make_session_factory(engine),
        outbox_retention=DAY,
        idempotency_retention=30 * DAY,
        batch_size=10,
    )
    assert report.outbox_events == 0
    assert _count(engine, outbox, outbox.c.published_at.is_(None)) == _count(engine, outbox) > 0


def test_records_younger_than_their_retention_stay(engine: Engine) -> None:
    _history(engine, 3)
    _age(engine, 10)
    report = prune(
        make_session_factory(engine),
        outbox_retention=30 * DAY,
        idempotency_retention=30 * DAY,
        batch_size=10,
    )
    assert (report.outbox_events, report.idempotency_records) == (0, 0)


@pytest.mark.parametrize("value", ["P1D", "P6D", "PT1H"])
def test_an_idempotency_retention_shorter_than_the_resend_window_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="idempotency_retention"):
        Settings(idempotency_retention=value)


def test_the_retentions_are_settings_with_documented_defaults() -> None:
    settings = Settings()
    assert (settings.outbox_retention, settings.idempotency_retention) == (7 * DAY, 30 * DAY)
