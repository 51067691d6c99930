"""Movements other contexts book in their own transactions: a return arriving into
quarantine, a write-off out of it, parts used by a repair. On both databases, the ledger stays
equal to the projection and quarantined units are never available."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.inventory.domain import InsufficientStock, MovementType, StockRuleBroken
from oms.inventory.services.commands import SystemMove
from oms.shared.clock import utcnow
from tests.order_builders import CAP, DC, TEE, Shop


def book(shop: Shop, key: str, *moves: SystemMove) -> None:
    with shop.uow() as uow:
        shop.inventory.record_system_within(
            uow, moves, key=key, reference="test", actor="tester", now=utcnow()
        )
        uow.publish_changes()
        uow.commit()


def level(shop: Shop, sku: str) -> tuple[int, int, int]:
    [found] = shop.inventory.stock_levels(sku=sku, location=DC).items
    return found.on_hand, found.quarantined, found.available


def test_a_return_arrives_in_quarantine_and_leaves_by_write_off(engine: Engine) -> None:
    shop = Shop(engine).build().stock((TEE, DC, 3))

    book(shop, "r1", SystemMove(MovementType.RETURN_RECEIPT, TEE, DC, 2, "return"))
    assert level(shop, TEE) == (5, 2, 3)  # quarantined: never available

    book(shop, "r2", SystemMove(MovementType.WRITE_OFF, TEE, DC, 1, "destroy"))
    book(shop, "r3", SystemMove(MovementType.QUARANTINE_RELEASE, TEE, DC, 1, "restock"))
    assert level(shop, TEE) == (4, 0, 4)
    assert shop.inventory.verify().clean

    with pytest.raises(StockRuleBroken):
        book(shop, "r4", SystemMove(MovementType.WRITE_OFF, TEE, DC, 1, "destroy"))
    assert level(shop, TEE) == (4, 0, 4)


def test_a_return_of_a_sku_never_stocked_there_makes_its_level(engine: Engine) -> None:
    shop = Shop(engine).build()

    book(shop, "r1", SystemMove(MovementType.RETURN_RECEIPT, CAP, DC, 1, "return"))

    assert level(shop, CAP) == (1, 1, 0)
    assert shop.inventory.verify().clean


def test_parts_used_come_out_of_available_stock_only(engine: Engine) -> None:
    shop = Shop(engine).build().stock((CAP, DC, 2))
    book(shop, "r0", SystemMove(MovementType.RETURN_RECEIPT, CAP, DC, 1, "return"))

    with pytest.raises(InsufficientStock):
        book(shop, "p1", SystemMove(MovementType.PART_USED, CAP, DC, 3, "repair"))
    book(shop, "p2", SystemMove(MovementType.PART_USED, CAP, DC, 2, "repair"))

    assert level(shop, CAP) == (1, 1, 0)
    assert shop.inventory.verify().clean
