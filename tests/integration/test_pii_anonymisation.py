"""The anonymisation job on both databases: each channel's deadline at its edges, holds, what
is kept, a second run, and returns on an anonymised order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from oms.bootstrap import bootstrap
from oms.privacy.domain import PLACEHOLDER
from oms.privacy.tasks import AnonymiseLoop
from oms.returns.domain import Resolution, ReturnStatus
from oms.returns.domain.rma import ReturnAction
from oms.returns.services.rma import LineResolution, NewReturnLine, OpenReturn
from oms.returns.services.units import GradeUnit
from oms.shared.errors import Conflict, InvalidInput, NotFound
from tests.order_builders import CHANNEL, DC, ORDERED_AT, Shop, open_shipments
from tests.privacy_builders import (
    AMAZON,
    AMAZON_ADDRESS,
    amazon_shop,
    an_amazon_order,
    cancelled,
    reason_texts,
    services,
    shipped,
    stored_order,
)

DAY = timedelta(days=1)


def test_a_shipped_amazon_order_is_anonymised_30_days_after_its_parcel_left(
    engine: Engine,
) -> None:
    shop = amazon_shop(engine)
    order, left = shipped(shop)
    job = services(engine).anonymisation

    day_before = job.anonymise(now=left + 29 * DAY)
    assert day_before.anonymised == 0
    assert stored_order(engine, order.id or 0)["ship_to"] == AMAZON_ADDRESS
    just_before = job.anonymise(now=left + 30 * DAY - timedelta(seconds=1))
    assert just_before.anonymised == 0

    on_the_day = job.anonymise(now=left + 30 * DAY)

    assert on_the_day.anonymised == 1
    row = stored_order(engine, order.id or 0)
    assert row["ship_to"] == {
        "name": PLACEHOLDER,
        "postal_code": AMAZON_ADDRESS["postal_code"],
        "prefecture": AMAZON_ADDRESS["prefecture"],
        "city": AMAZON_ADDRESS["city"],  # kept by Amazon's default: the postal code says more
        "address1": PLACEHOLDER,
        "address2": None,
        "phone": None,
    }
    assert row["gift_note"] == PLACEHOLDER
    assert (row["id"], row["external_id"], row["channel"]) == (
        order.id,
        order.external_id,
        AMAZON,
    )
    again = shop.order(order.id)
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in again.lines] == [
        (ln.sku, ln.quantity, ln.unit_price) for ln in order.lines
    ]
    assert services(engine).legal_holds.order_privacy(order.id or 0).anonymised_at == (
        left + 30 * DAY
    )


def test_a_cancelled_order_counts_from_its_order_date(engine: Engine) -> None:
    shop = amazon_shop(engine)
    order = cancelled(shop)
    job = services(engine).anonymisation

    assert job.anonymise(now=ORDERED_AT + 29 * DAY).anonymised == 0
    assert job.anonymise(now=ORDERED_AT + 31 * DAY).anonymised == 1
    assert stored_order(engine, order.id or 0)["ship_to"]["name"] == PLACEHOLDER


def test_an_order_with_units_still_to_send_is_never_due(engine: Engine) -> None:
    shop = amazon_shop(engine)
    placed = shop.place_again(an_amazon_order())
    job = services(engine).anonymisation

    report = job.anonymise(now=ORDERED_AT + 3650 * DAY)

    assert report.anonymised == 0
    assert stored_order(engine, placed.order.id or 0)["ship_to"] == AMAZON_ADDRESS


def test_a_second_run_changes_nothing(engine: Engine) -> None:
    shop = amazon_shop(engine)
    order, left = shipped(shop)
    job = services(engine).anonymisation
    first = job.anonymise(now=left + 31 * DAY)
    after_first = stored_order(engine, order.id or 0)

    second = job.anonymise(now=left + 32 * DAY)

    assert (first.anonymised, second.anonymised, second.due) == (1, 0, 0)
    assert stored_order(engine, order.id or 0) == after_first


def test_other_kinds_are_off_until_a_policy_is_set(engine: Engine) -> None:
    shop = Shop(engine).build().stock(("TEE", "DC-CHIBA", 5))
    web_order, left = shipped(shop, an_amazon_order(channel="web"))
    svc = services(engine)

    assert svc.anonymisation.anonymise(now=left + 400 * DAY).anonymised == 0
    assert not svc.pii_policies.policy("web").enabled

    svc.pii_policies.set_policy(
        "web",
        enabled=True,
        fields=["name", "phone", "city"],
        days_after_delivery=90,
        days_after_cancellation=30,
        actor="admin",
    )
    assert svc.anonymisation.anonymise(now=left + 89 * DAY).anonymised == 0
    assert svc.anonymisation.anonymise(now=left + 91 * DAY).anonymised == 1
    ship_to = stored_order(engine, web_order.id or 0)["ship_to"]
    assert (ship_to["name"], ship_to["city"], ship_to["phone"]) == (PLACEHOLDER, PLACEHOLDER, None)
    assert ship_to["address1"] == AMAZON_ADDRESS["address1"]  # not in this policy
    assert stored_order(engine, web_order.id or 0)["gift_note"] is not None


def test_a_hold_blocks_and_its_release_unblocks(engine: Engine) -> None:
    shop = amazon_shop(engine)
    order, left = shipped(shop)
    svc = services(engine)
    hold = svc.legal_holds.place_hold(order.id or 0, "tax audit 2026", "cs:hanako")

    held = svc.anonymisation.anonymise(now=left + 40 * DAY)

    assert (held.anonymised, held.held) == (0, 1)
    assert stored_order(engine, order.id or 0)["ship_to"] == AMAZON_ADDRESS
    with pytest.raises(Conflict, match="on hold"):
        svc.legal_holds.place_hold(order.id or 0, "again", "cs:hanako")

    released = svc.legal_holds.release_hold(order.id or 0, "audit closed", "admin:taro")
    assert (released.id, released.active, released.release_reason) == (
        hold.id,
        False,
        "audit closed",
    )
    assert svc.anonymisation.anonymise(now=left + 41 * DAY).anonymised == 1
    state = svc.legal_holds.order_privacy(order.id or 0)
    assert [(h.reason, h.placed_by, h.released_by) for h in state.holds] == [
        ("tax audit 2026", "cs:hanako", "admin:taro")
    ]
    with pytest.raises(Conflict, match="anonymised"):
        svc.legal_holds.place_hold(order.id or 0, "too late", "cs:hanako")


def test_holds_refuse_unknown_orders_and_empty_reasons(engine: Engine) -> None:
    shop = amazon_shop(engine)
    order, _ = shipped(shop)
    holds = services(engine).legal_holds
    with pytest.raises(NotFound):
        holds.place_hold(999_999, "why", "cs")
    with pytest.raises(InvalidInput) as empty:
        holds.place_hold(order.id or 0, "  ", "cs")
    assert empty.value.field == "reason"
    with pytest.raises(Conflict, match="not on hold"):
        holds.release_hold(order.id or 0, "nothing to release", "admin")
    assert holds.order_privacy(order.id or 0).holds == []


def test_a_dry_run_counts_and_changes_nothing(engine: Engine) -> None:
    shop = amazon_shop(engine)
    first, left = shipped(shop)
    second, _ = shipped(shop)
    svc = services(engine)
    svc.legal_holds.place_hold(second.id or 0, "dispute", "cs")

    report = svc.anonymisation.anonymise(now=left + 60 * DAY, dry_run=True)

    assert (report.due, report.held, report.anonymised) == (1, 1, 0)
    assert stored_order(engine, first.id or 0)["ship_to"] == AMAZON_ADDRESS
    assert svc.anonymisation.daily_due()  # a dry run is no run


def test_an_open_return_keeps_working_on_an_anonymised_order(engine: Engine) -> None:
    shop = amazon_shop(engine)
    order, left = shipped(shop, an_amazon_order(quantity=2))
    svc = services(engine)
    line_id = order.lines[0].line_id
    rma = svc.returns.open_return(
        OpenReturn(order.id or 0, [NewReturnLine(line_id, 2, "size_fit", "電話 090-1111-2222")]),
        "cs:hanako",
    )
    svc.returns.act(rma.id or 0, ReturnAction.SHIP, "cs")

    assert svc.anonymisation.anonymise(now=left + 30 * DAY).anonymised == 1

    assert reason_texts(engine, rma.id or 0) == [PLACEHOLDER]
    received = svc.returns.receive(rma.id or 0, DC, {line_id: 2}, "wh")
    for unit in received.units:
        svc.units.grade(unit.id or 0, GradeUnit("A", "full"), "wh")
    svc.returns.resolve(
        rma.id or 0, [LineResolution(line_id, Resolution.REFUND, 6000, "original_payment")], "cs"
    )
    done = svc.returns.act(rma.id or 0, ReturnAction.CLOSE, "cs")
    assert done.status is ReturnStatus.CLOSED
    assert shop.order(order.id).ship_to.name == PLACEHOLDER


def test_an_exchange_on_another_channel_goes_at_the_marketplaces_deadline(engine: Engine) -> None:
    shop = amazon_shop(engine)
    order, _ = shipped(shop)
    svc = services(engine)
    svc.return_policies.put(AMAZON, 30, ["size_fit"], "admin", exchange_channel=CHANNEL)
    line_id = order.lines[0].line_id
    rma = svc.returns.open_return(
        OpenReturn(order.id or 0, [NewReturnLine(line_id, 1, "size_fit")]), "cs"
    )
    received = svc.returns.receive(rma.id or 0, DC, {line_id: 1}, "wh")
    svc.units.grade(received.units[0].id or 0, GradeUnit("A", "full"), "wh")
    resolved = svc.returns.resolve(
        rma.id or 0, [LineResolution(line_id, Resolution.EXCHANGE)], "cs"
    )
    exchange_id = resolved.lines[0].resolution_order_id or 0
    exchange = shop.order(exchange_id)
    assert exchange.channel == CHANNEL  # a storefront order: its own policy is off
    [parcel] = open_shipments(exchange)
    sent = shop.ship(parcel.id or 0).shipped_at
    assert sent is not None

    assert svc.anonymisation.anonymise(now=sent + 29 * DAY).anonymised == 0
    assert stored_order(engine, exchange_id)["ship_to"]["name"] == AMAZON_ADDRESS["name"]

    # Both: the original, and the storefront order that copied its buyer's address.
    assert svc.anonymisation.anonymise(now=sent + 30 * DAY).anonymised == 2
    assert stored_order(engine, exchange_id)["ship_to"]["name"] == PLACEHOLDER
    assert stored_order(engine, exchange_id)["channel"] == CHANNEL


def test_one_channel_only_and_an_unknown_channel(engine: Engine) -> None:
    shop = amazon_shop(engine)
    _, left = shipped(shop)
    job = services(engine).anonymisation
    assert job.anonymise(now=left + 31 * DAY, channel="web").anonymised == 0
    with pytest.raises(NotFound):
        job.anonymise(channel="NOPE")
    assert job.anonymise(now=left + 31 * DAY, channel=AMAZON).anonymised == 1


def test_batches_cover_every_due_order(engine: Engine) -> None:
    shop = amazon_shop(engine)
    left = [shipped(shop)[1] for _ in range(5)]
    job = services(engine).anonymisation
    job.batch_size = 2

    report = job.anonymise(now=max(left) + 31 * DAY)

    assert (report.due, report.anonymised) == (5, 5)
    assert job.anonymise(now=max(left) + 32 * DAY).anonymised == 0


def test_the_daily_loop_runs_when_the_last_daily_run_is_a_day_old(engine: Engine) -> None:
    shop = amazon_shop(engine)
    first = cancelled(shop)  # ordered 2025-04-01: long due
    now = [ORDERED_AT + 400 * DAY]
    svc = bootstrap(engine=engine, clock=lambda: now[0])
    loop = AnonymiseLoop(svc.anonymisation, check_seconds=3600)

    assert loop.step()
    assert stored_order(engine, first.id or 0)["ship_to"]["name"] == PLACEHOLDER
    second = cancelled(shop)
    now[0] += timedelta(hours=23)
    assert not loop.step()
    assert stored_order(engine, second.id or 0)["ship_to"] == AMAZON_ADDRESS

    now[0] += timedelta(hours=1)
    assert loop.step()
    assert stored_order(engine, second.id or 0)["ship_to"]["name"] == PLACEHOLDER
