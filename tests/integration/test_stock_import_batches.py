"""A stock file is applied in short transactions, yet a bad file changes nothing and an
interrupted import completes when run again, without applying any row twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from oms.inventory.services import InventoryService
from oms.inventory.services.stock_file_format import (
    StockFile,
    parse_stock_file,
)
from oms.inventory.services.stock_files import (
    ImportRefused,
    check_catalogue,
    import_stock,
)
from tests.builders import a_location, a_sku, database_state, level_of, receive

SKUS = [f"TS-{n:03d}" for n in range(12)]


class Interrupted(Exception):
    """The process stopped here (a kill, a power cut)."""


@pytest.fixture
def shop(inventory: InventoryService) -> InventoryService:
    a_location(inventory, "DC-CHIBA")
    for code in SKUS:
        a_sku(inventory, code)
    return inventory


def _file(service: InventoryService, lines: list[str]) -> StockFile:
    text = "sku,location,quantity,type,reason\n" + "".join(line + "\n" for line in lines)
    parsed = parse_stock_file(text.encode())
    assert not parsed.errors
    return check_catalogue(service, parsed)


def _receipts_of_two_each(service: InventoryService) -> StockFile:
    """24 rows: each SKU is received twice, 1 unit and then 2."""
    return _file(
        service,
        [f"{sku},DC-CHIBA,{units},receipt," for units in (1, 2) for sku in SKUS],
    )


def _interrupt_after(batches: int) -> Callable[[], None]:
    done = 0

    def between_batches() -> None:
        nonlocal done
        done += 1
        if done == batches:
            raise Interrupted

    return between_batches


def test_an_interrupted_import_completes_when_run_again_without_doubling_anything(
    shop: InventoryService,
) -> None:
    stock_file = _receipts_of_two_each(shop)

    with pytest.raises(Interrupted):
        import_stock(
            shop, stock_file, batch_rows=5, batch_seconds=None, between_batches=_interrupt_after(2)
        )
    halfway = {sku: level_of(shop, sku, "DC-CHIBA").on_hand for sku in SKUS}
    again = import_stock(shop, stock_file, batch_rows=5, batch_seconds=None)

    assert sum(halfway.values()) == 10  # 2 batches of 5 rows of 1 unit: then it stopped
    assert (again.applied, again.already_applied) == (14, 10)
    for sku in SKUS:
        assert level_of(shop, sku, "DC-CHIBA").on_hand == 3  # 1 + 2, once each
    assert shop.verify().clean
    assert import_stock(shop, stock_file, batch_rows=5).applied == 0


def test_a_row_the_stock_refuses_late_in_the_file_changes_nothing(
    shop: InventoryService, engine: Engine
) -> None:
    receive(shop, SKUS[0], "DC-CHIBA", 3)
    lines = [f"{sku},DC-CHIBA,5,receipt," for sku in SKUS[1:]]
    lines.append(f"{SKUS[0]},DC-CHIBA,-4,adjustment,lost")  # 3 on hand: refused
    stock_file = _file(shop, lines)
    before = database_state(engine)

    with pytest.raises(ImportRefused) as refused:
        import_stock(shop, stock_file, batch_rows=2)

    assert refused.value.error.row == 13
    assert refused.value.applied == 0
    assert database_state(engine) == before


def test_rows_are_tried_in_file_order_with_the_effect_of_the_rows_before_them(
    shop: InventoryService, engine: Engine
) -> None:
    stock_file = _file(
        shop,
        [
            f"{SKUS[0]},DC-CHIBA,4,receipt,",
            f"{SKUS[0]},DC-CHIBA,3,quarantine,",
            f"{SKUS[0]},DC-CHIBA,-2,adjustment,lost",  # only 1 left to lose after row 3
        ],
    )
    before = database_state(engine)

    with pytest.raises(ImportRefused) as refused:
        import_stock(shop, stock_file, batch_rows=1)

    assert refused.value.error.row == 4
    assert database_state(engine) == before


def test_skipping_refused_rows_applies_the_others_in_batches(shop: InventoryService) -> None:
    receive(shop, SKUS[0], "DC-CHIBA", 3)
    lines = [f"{SKUS[0]},DC-CHIBA,4,quarantine,"]  # 3 available: refused
    lines += [f"{sku},DC-CHIBA,5,receipt," for sku in SKUS[1:]]
    stock_file = _file(shop, lines)

    outcome = import_stock(shop, stock_file, skip_refused=True, batch_rows=4)

    assert [e.row for e in outcome.refused] == [2]
    assert outcome.applied == 11
    assert level_of(shop, SKUS[0], "DC-CHIBA").quarantined == 0
    assert all(level_of(shop, sku, "DC-CHIBA").on_hand == 5 for sku in SKUS[1:])
