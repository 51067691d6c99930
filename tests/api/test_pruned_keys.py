"""A key whose idempotency record was pruned (past `idempotency_retention`) and is sent again is
refused with a 409 naming it, never a 500, and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update

from oms.db import make_session_factory
from oms.idempotency import idempotency_records
from oms.retention import prune
from oms.shared.clock import utcnow
from tests.api.http_builders import Client, a_key, a_location, a_sku, assert_problem, ok


def _movement(client: Client, key: str) -> Any:
    body = {"type": "receipt", "sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 3}
    return client.post("/v1/stock/movements", json=body, headers={"Idempotency-Key": key})


def _reservation(client: Client, key: str) -> Any:
    body = {"lines": [{"sku": "TEE-BLK-M", "location": "DC-CHIBA", "quantity": 1}]}
    return client.post("/v1/reservations", json=body, headers={"Idempotency-Key": key})


@pytest.mark.parametrize("send", [_movement, _reservation])
def test_a_key_sent_again_after_its_record_was_pruned_is_a_409(
    client: Client, engine: Engine, send: Any
) -> None:
    a_location(client, "DC-CHIBA")
    a_sku(client, "TEE-BLK-M")
    ok(_movement(client, a_key()), 201)
    key = a_key()
    ok(send(client, key), 201)
    with engine.begin() as conn:
        conn.execute(update(idempotency_records).values(created_at=utcnow() - timedelta(days=60)))
    prune(
        make_session_factory(engine),
        outbox_retention=timedelta(days=7),
        idempotency_retention=timedelta(days=30),
        batch_size=100,
    )
    before = ok(client.get("/v1/stock"))
    assert_problem(send(client, key), 409, "Idempotency-Key")
    assert ok(client.get("/v1/stock")) == before
