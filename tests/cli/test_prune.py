"""`oms prune` runs the pruning once with the configured retentions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from oms.idempotency import idempotency_records
from oms.inventory.services import InventoryService
from oms.outbox import outbox
from oms.shared.clock import utcnow
from tests.builders import a_location, a_sku, receive
from tests.cli.conftest import Oms


def _rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
        records = conn.execute(select(func.count()).select_from(idempotency_records)).scalar_one()
    return int(events), int(records)


def test_prune_deletes_old_handled_events_and_idempotency_records(
    oms: Oms, inventory: InventoryService, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_location(inventory)
    a_sku(inventory)
    receive(inventory, "TEE-BLK-M", "DC-CHIBA", 5)
    receive(inventory, "TEE-BLK-M", "DC-CHIBA", 1)
    then = utcnow() - timedelta(days=9)
    with engine.begin() as conn:
        conn.execute(update(outbox).values(created_at=then, published_at=then))
        conn.execute(update(idempotency_records).values(created_at=then))
    events, records = _rows(engine)
    monkeypatch.setenv("OMS_IDEMPOTENCY_RETENTION", "P8D")
    monkeypatch.setenv("OMS_PRUNE_BATCH_SIZE", "1")

    result = oms("prune")

    assert result.exit_code == 0, result.output
    assert f"pruned {events} outbox events" in result.stdout
    assert f"and {records} idempotency records" in result.stdout
    assert _rows(engine) == (0, 0)
    assert oms("prune").stdout.count("pruned 0 outbox events") == 1  # nothing left: a no-op


def test_prune_refuses_a_retention_shorter_than_the_resend_window(
    oms: Oms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_IDEMPOTENCY_RETENTION", "P1D")
    result = oms("prune")
    assert result.exit_code == 2
    assert "OMS_IDEMPOTENCY_RETENTION" in result.output
