"""A hold placed while the job is about to anonymise the same order, on PostgreSQL with two
real sessions: whichever commits first wins, and a held order is never anonymised."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from oms.privacy.services.anonymise import AnonymisationReport
from oms.shared.clock import utcnow
from oms.shared.errors import Conflict
from tests.privacy_builders import AMAZON_ADDRESS, amazon_shop, services, shipped, stored_order

DAY = timedelta(days=1)


def _wait_for_a_lock_wait(engine: Engine) -> None:
    """Until another session of this database waits for a row lock; fail if none ever does."""
    for _ in range(200):
        with engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.05)
    pytest.fail("the other session never waited for the row lock")


def test_a_hold_committed_while_a_batch_waits_keeps_the_order(pg_engine: Engine) -> None:
    shop = amazon_shop(pg_engine)
    order, left = shipped(shop)
    svc = services(pg_engine)
    report: list[AnonymisationReport] = []
    job = threading.Thread(
        target=lambda: report.append(svc.anonymisation.anonymise(now=left + 31 * DAY))
    )

    with svc.uow() as uow:  # the hold's transaction, as LegalHoldService.place_hold runs it
        assert uow.privacy.lock_order(order.id or 0)
        uow.privacy.add_hold(order.id or 0, "dispute", "cs", utcnow())
        job.start()
        _wait_for_a_lock_wait(pg_engine)  # the batch selected the order and waits for its row
        uow.commit()
    job.join()

    assert report[0].anonymised == 0
    assert stored_order(pg_engine, order.id or 0)["ship_to"] == AMAZON_ADDRESS


def test_a_hold_asked_while_a_batch_holds_the_row_comes_too_late(pg_engine: Engine) -> None:
    shop = amazon_shop(pg_engine)
    order, left = shipped(shop)
    svc = services(pg_engine)
    outcome: list[BaseException | None] = []

    def place() -> None:
        try:
            svc.legal_holds.place_hold(order.id or 0, "dispute", "cs")
            outcome.append(None)
        except Conflict as refused:
            outcome.append(refused)

    hold = threading.Thread(target=place)
    with svc.uow() as uow:  # one batch of the job, as AnonymisationService runs it
        free = uow.privacy.lock_free([order.id or 0])
        hold.start()
        _wait_for_a_lock_wait(pg_engine)
        uow.privacy.anonymise(free, "AMZ", frozenset(svc.pii_policies.policy("AMZ").fields), left)
        uow.commit()
    hold.join()

    assert isinstance(outcome[0], Conflict)
    assert "anonymised" in str(outcome[0])
    assert svc.legal_holds.order_privacy(order.id or 0).holds == []
