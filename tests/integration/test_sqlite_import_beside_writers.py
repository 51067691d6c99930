"""A long `oms stock import` beside HTTP writers on SQLite: real processes, real server.

Before, the import held SQLite's one write lock for its whole run: reservations waited up to
the busy timeout and some got a 500 "database is locked". Now it writes in short batches.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from oms.access import create_api_key
from oms.db import make_session_factory
from oms.inventory.services import InventoryService
from tests.builders import a_location, a_sku, level_of, receive

IMPORT_SKUS = [f"IMP-{n:04d}" for n in range(100)]
IMPORT_ROWS_PER_SKU = 10  # 1,000 rows: 5 batches
SOLD_SKUS = [f"SOLD-{n}" for n in range(4)]
CLIENTS = 6
_STARTUP_AT_MOST = 60.0  # a guard against a hung test


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _oms(*args: str) -> list[str]:
    return [sys.executable, "-m", "oms.cli", *args]


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    env = {**os.environ, "OMS_DATABASE_URL": database_url, "OMS_REDIS_URL": ""}
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(  # noqa: S603
        _oms("serve", "--port", str(port)), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _STARTUP_AT_MOST
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server never became ready"
            try:
                if httpx.get(f"{base}/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield base, env
    finally:
        process.terminate()
        process.wait()
        log.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_http_writers_are_all_answered_while_a_long_import_runs(
    engine: Engine,
    inventory: InventoryService,
    server: tuple[str, dict[str, str]],
    tmp_path: Path,
) -> None:
    base, env = server
    a_location(inventory, "DC-CHIBA")
    for code in SOLD_SKUS:
        a_sku(inventory, code)
        receive(inventory, code, "DC-CHIBA", 100_000)
    for code in IMPORT_SKUS:
        a_sku(inventory, code)
    stock_csv = tmp_path / "stock.csv"
    stock_csv.write_text(
        "sku,location,quantity,type\n"
        + "".join(
            f"{code},DC-CHIBA,{n + 1},receipt\n"
            for n in range(IMPORT_ROWS_PER_SKU)
            for code in IMPORT_SKUS
        )
    )
    key = create_api_key(make_session_factory(engine), "storefront-sync", "warehouse").key
    headers = {"Authorization": f"Bearer {key}"}

    importing = subprocess.Popen(  # noqa: S603
        _oms("stock", "import", str(stock_csv)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    answers: list[tuple[str, int, bool]] = []  # (what, status, sent while importing)
    lock = threading.Lock()

    def client(n: int) -> None:
        sku = SOLD_SKUS[n % len(SOLD_SKUS)]
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            while True:
                during = importing.poll() is None
                reserved = http.post(
                    "/v1/reservations",
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                    json={
                        "reference": f"client-{n}",
                        "lines": [{"sku": sku, "location": "DC-CHIBA", "quantity": 1}],
                    },
                )
                read = http.get(f"/v1/stock/{sku}")
                with lock:
                    answers.append(("reserve", reserved.status_code, during))
                    answers.append(("read", read.status_code, during))
                if not during:
                    return

    clients = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    out, err = importing.communicate()

    rows = len(IMPORT_SKUS) * IMPORT_ROWS_PER_SKU
    assert importing.returncode == 0, err.decode()
    assert f"{rows} rows applied, 0 already applied, 0 skipped" in out.decode()
    assert all(status < 500 for _, status, _ in answers), answers
    assert {status for _, status, _ in answers} == {200, 201}
    assert sum(1 for what, _, during in answers if what == "reserve" and during) >= CLIENTS
    made = sum(1 for what, status, _ in answers if what == "reserve" and status == 201)
    reserved_units = sum(level_of(inventory, sku, "DC-CHIBA").reserved for sku in SOLD_SKUS)
    assert reserved_units == made
    expected_on_hand = sum(range(1, IMPORT_ROWS_PER_SKU + 1))
    for code in IMPORT_SKUS[:: len(IMPORT_SKUS) // 10]:
        assert level_of(inventory, code, "DC-CHIBA").on_hand == expected_on_hand
    assert inventory.verify().clean
    # The import no longer holds the lock from start to end: writers got in between its rows.
    with engine.connect() as connection:
        first, last = connection.execute(
            text(
                "SELECT min(id), max(id) FROM movements"
                " WHERE sku_id IN (SELECT id FROM skus WHERE code LIKE 'IMP-%')"
            )
        ).one()
        interleaved = connection.execute(
            text("SELECT count(*) FROM movements WHERE type = 'reserve' AND id BETWEEN :a AND :b"),
            {"a": first, "b": last},
        ).scalar_one()
    assert interleaved > 0
