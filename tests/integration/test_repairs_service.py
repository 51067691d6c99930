"""Repairs through the service, on both databases: the warranty stored with its inputs and
overridden with a reason, parts booked in the ledger (and refused when short, with nothing
written), a request taken once per Idempotency-Key, and SLA clocks read back from storage."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from oms.inventory.domain import MovementType
from oms.outbox import outbox
from oms.repairs.domain import Outcome, PartLine, PartnerTerms, RepairAction, RepairStatus
from oms.repairs.orm import repair_parts, repair_states, repairs
from oms.repairs.services import ActOnRepair
from oms.shared.errors import Conflict, IdempotencyKeyReused, InvalidInput
from oms.shared.events import EventName
from tests.repair_builders import CENTRE, HEATER, KETTLE, MUG, PARTNER, RepairShop

A = RepairAction


def into_repair(rs: RepairShop, repair_id: int) -> None:
    for cmd in (
        ActOnRepair(A.AWAIT_ITEM),
        ActOnRepair(A.RECEIVE, location=CENTRE),
        ActOnRepair(A.DIAGNOSE, note="heater open circuit"),
        ActOnRepair(A.APPROVE),
        ActOnRepair(A.IN_REPAIR),
    ):
        rs.repairs.act(repair_id, cmd, "wh:taro")


def test_a_repair_of_an_order_line_keeps_its_warranty_inputs(engine: Engine) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(KETTLE)

    opened = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs:hanako")

    stored = rs.repairs.get_repair(opened.repair.id or 0).repair
    assert (stored.sku, stored.channel, stored.order_id) == (KETTLE, "web", order_id)
    w = stored.warranty
    assert w.purchase_date == date(2025, 4, 1)  # the order's day in Japan
    assert (w.product_term_months, w.product_term_source, w.term_months) == (24, "sku", 24)
    assert (w.expires_on, w.requested_on, w.in_warranty) == (
        date(2027, 4, 1),
        date(2026, 5, 11),
        True,
    )
    assert stored.contact["kana"] == "ヤマダ ハナコ"
    assert stored.status is RepairStatus.REQUESTED


def test_a_product_without_a_term_has_twelve_months_and_a_partner_adds_its_own(
    engine: Engine,
) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(MUG)

    mug = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair
    via_partner = rs.repairs.open_repair(rs.with_proof(), "partner:tokyu").repair

    assert (mug.warranty.product_term_source, mug.warranty.in_warranty) == ("default", False)
    stored = rs.repairs.get_repair(via_partner.id or 0).repair
    assert (stored.partner, stored.warranty.partner_extra_months) == (PARTNER, 6)
    assert (stored.warranty.term_months, stored.warranty.expires_on) == (30, date(2027, 4, 1))
    assert stored.serial == "KT-000123"


def test_warranty_override_is_kept_with_its_reason_and_the_computed_decision(
    engine: Engine,
) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(MUG)
    repair_id = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id or 0

    rs.repairs.act(
        repair_id,
        ActOnRepair(A.OVERRIDE_WARRANTY, in_warranty=True, reason="initial defect, goodwill"),
        "cs:hanako",
    )

    w = rs.repairs.get_repair(repair_id).repair.warranty
    assert w.in_warranty
    assert not w.computed_in_warranty
    assert w.override is not None
    assert (w.override.reason, w.override.by) == ("initial defect, goodwill", "cs:hanako")
    with engine.connect() as conn:
        assert conn.execute(select(repairs.c.in_warranty)).scalar_one() is True
    with pytest.raises(InvalidInput) as no_reason:
        rs.repairs.act(repair_id, ActOnRepair(A.OVERRIDE_WARRANTY, in_warranty=False), "cs")
    assert no_reason.value.field == "reason"


def test_parts_used_are_ledger_movements_out_of_the_repair_location(engine: Engine) -> None:
    rs = RepairShop(engine)
    rs.shop.stock((HEATER, CENTRE, 5))
    order_id, line_id = rs.sold(KETTLE)
    repair_id = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id or 0
    into_repair(rs, repair_id)

    rs.repairs.act(repair_id, ActOnRepair(A.PARTS, parts=[PartLine(HEATER, 2)]), "wh:taro")
    detail = rs.repairs.act(repair_id, ActOnRepair(A.PARTS, parts=[PartLine(HEATER, 1)]), "wh:taro")

    assert rs.shop.level(HEATER, CENTRE).on_hand == 2
    assert [(p.batch, p.sku, p.quantity) for p in detail.parts] == [(1, HEATER, 2), (2, HEATER, 1)]
    moves = rs.shop.inventory.ledger(sku=HEATER, location=CENTRE).items
    used = [m for m in moves if m.type is MovementType.PART_USED]
    assert sorted(m.idempotency_key for m in used) == [
        f"repair:{repair_id}:parts:1",
        f"repair:{repair_id}:parts:2",
    ]
    assert rs.shop.inventory.verify().clean


def test_parts_short_are_a_409_naming_the_part_and_nothing_is_written(engine: Engine) -> None:
    rs = RepairShop(engine)
    rs.shop.stock((HEATER, CENTRE, 1))
    order_id, line_id = rs.sold(KETTLE)
    repair_id = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id or 0
    into_repair(rs, repair_id)

    with pytest.raises(Conflict) as short:
        rs.repairs.act(
            repair_id,
            ActOnRepair(A.PARTS, parts=[PartLine(KETTLE, 0 + 1), PartLine(HEATER, 2)]),
            "wh",
        )

    assert short.value.field in ("lines[0].sku", "lines[1].sku")
    assert "part" in short.value.detail
    assert rs.shop.level(HEATER, CENTRE).on_hand == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(repair_parts)).scalar_one() == 0
        assert conn.execute(select(repairs.c.parts_batches)).scalar_one() == 0
    assert rs.shop.inventory.verify().clean
    with pytest.raises(InvalidInput) as unknown:
        rs.repairs.act(repair_id, ActOnRepair(A.PARTS, parts=[PartLine("NOPE", 1)]), "wh")
    assert unknown.value.field == "lines[0].sku"


def test_a_refused_action_is_a_409_naming_the_state_and_changes_nothing(engine: Engine) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(MUG)  # out of warranty
    repair_id = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id or 0

    with pytest.raises(Conflict) as refused:
        rs.repairs.act(repair_id, ActOnRepair(A.RECEIVE, location=CENTRE), "wh")
    assert refused.value.extra["status"] == "requested"
    with pytest.raises(InvalidInput) as unknown:
        rs.repairs.act(repair_id, ActOnRepair(A.UNREPAIRABLE, outcome="lost", reason="x"), "wh")
    assert unknown.value.field == "outcome"
    rs.repairs.act(repair_id, ActOnRepair(A.AWAIT_ITEM), "cs")
    with pytest.raises(InvalidInput) as nowhere:
        rs.repairs.act(repair_id, ActOnRepair(A.RECEIVE, location="NOWHERE"), "wh")
    assert nowhere.value.field == "location"
    assert rs.repairs.get_repair(repair_id).repair.status is RepairStatus.AWAITING_ITEM


def test_unrepairable_with_an_outcome_and_a_declined_quote_goes_back(engine: Engine) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(MUG)
    repair_id = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id or 0
    for cmd in (
        ActOnRepair(A.AWAIT_ITEM),
        ActOnRepair(A.RECEIVE, location=CENTRE),
        ActOnRepair(A.DIAGNOSE),
        ActOnRepair(A.QUOTE, amount=5_500),
        ActOnRepair(A.DECLINE, reason="too expensive"),
    ):
        detail = rs.repairs.act(repair_id, cmd, "cs")
    repair = detail.repair
    assert (repair.status, repair.outcome, repair.quote) == (
        RepairStatus.RETURNING,
        Outcome.RETURN,
        repair.quote,
    )
    assert repair.quote is not None
    assert repair.quote.amount == 5_500
    done = rs.repairs.act(repair_id, ActOnRepair(A.COMPLETE), "cs").repair
    assert done.status is RepairStatus.COMPLETED


def test_the_sla_clock_read_back_from_storage_skips_the_wait_for_the_item(
    engine: Engine,
) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(KETTLE)
    repair_id = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id or 0
    rs.clock.advance(hours=2)  # requested: ours
    rs.repairs.act(repair_id, ActOnRepair(A.AWAIT_ITEM), "cs")
    rs.clock.advance(days=3)  # waiting for the parcel: paused
    rs.repairs.act(repair_id, ActOnRepair(A.RECEIVE, location=CENTRE), "wh")
    rs.clock.advance(hours=5)  # received: ours

    detail = rs.repairs.get_repair(repair_id)

    assert detail.repair.sla_seconds(detail.as_of) == 7 * 3600
    assert detail.repair.paused_seconds(detail.as_of) == 3 * 86400
    spent = detail.repair.seconds_in_states(detail.as_of)
    assert spent[RepairStatus.AWAITING_ITEM] == 3 * 86400
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(repair_states)).scalar_one() == 3


def test_the_same_idempotency_key_is_one_repair_and_another_request_under_it_a_409(
    engine: Engine,
) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(KETTLE)
    cmd = rs.from_order(order_id, line_id)

    first = rs.repairs.open_repair(cmd, "cs", idempotency_key="rep-1")
    again = rs.repairs.open_repair(cmd, "cs", idempotency_key="rep-1")

    assert first.created
    assert not again.created
    assert again.repair.id == first.repair.id
    with pytest.raises(IdempotencyKeyReused):
        rs.repairs.open_repair(
            rs.from_order(order_id, line_id, symptom="other"), "cs", idempotency_key="rep-1"
        )
    assert [r.id for r in rs.repairs.list_repairs(order_id=order_id).items] == [first.repair.id]


def test_bad_requests_name_the_field_and_write_nothing(engine: Engine) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(KETTLE)
    for cmd, where in (
        (rs.from_order(order_id, "nope"), "line_id"),
        (rs.from_order(999_999, line_id), "order_id"),
        (rs.from_order(order_id, line_id, sku=KETTLE), "sku"),
        (rs.from_order(order_id, None), "line_id"),
        (rs.from_order(order_id, line_id, requested_by="robot"), "requested_by"),
        (rs.from_order(order_id, line_id, symptom="  "), "symptom"),
        (rs.with_proof(partner=None), "partner"),
        (rs.with_proof(partner="NOBODY"), "partner"),
        (rs.with_proof(sku="NOPE"), "sku"),
        (rs.with_proof(purchase_date=date(2099, 1, 1)), "purchase_date"),
        (rs.with_proof(purchase_date=None), "purchase_date"),
        (rs.with_proof(contact={"name": ""}), "contact.name"),
        (rs.with_proof(channel="web store"), "channel"),
    ):
        with pytest.raises(InvalidInput) as bad:
            rs.repairs.open_repair(cmd, "cs")
        assert bad.value.field == where, cmd
    with pytest.raises(InvalidInput) as bad_partner:
        rs.repairs.set_partner_terms(PartnerTerms("TOKYU HANDS", extra_months=1))
    assert bad_partner.value.field == "partner"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(repairs)).scalar_one() == 0


def test_repairs_are_listed_by_status_and_order_in_pages(engine: Engine) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(KETTLE)
    ids = [
        rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id for _ in range(3)
    ]
    rs.repairs.open_repair(rs.with_proof(), "partner")
    rs.repairs.act(ids[1] or 0, ActOnRepair(A.CANCEL, reason="duplicate"), "cs")

    first = rs.repairs.list_repairs(order_id=order_id, limit=2)
    rest = rs.repairs.list_repairs(order_id=order_id, cursor=first.next_cursor, limit=2)
    assert [r.id for r in first.items + rest.items] == ids
    assert rest.next_cursor is None
    assert [r.id for r in rs.repairs.list_repairs(status="cancelled").items] == [ids[1]]
    with pytest.raises(InvalidInput) as bad:
        rs.repairs.list_repairs(status="lost")
    assert bad.value.field == "status"


def test_each_step_writes_an_event_without_personal_data(engine: Engine) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(KETTLE)
    repair_id = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id or 0
    rs.repairs.act(repair_id, ActOnRepair(A.AWAIT_ITEM), "cs")
    rs.repairs.act(repair_id, ActOnRepair(A.RECEIVE, location=CENTRE), "wh")
    with pytest.raises(Conflict):
        rs.repairs.act(repair_id, ActOnRepair(A.COMPLETE), "cs")

    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.sequence, outbox.c.payload)
            .where(outbox.c.event == EventName.REPAIR_CHANGED.value)
            .order_by(outbox.c.id)
        ).all()
    assert [(seq, p["before"], p["status"]) for seq, p in rows] == [
        (1, None, "requested"),
        (2, "requested", "awaiting_item"),
        (3, "awaiting_item", "received"),
    ]
    assert rows[0][1]["order_id"] == order_id
    text = str([p for _, p in rows])
    assert "山田" not in text
    assert "hanako@" not in text


def test_parts_sent_again_with_their_key_are_booked_once(engine: Engine) -> None:
    rs = RepairShop(engine)
    rs.shop.stock((HEATER, CENTRE, 5))
    order_id, line_id = rs.sold(KETTLE)
    repair_id = rs.repairs.open_repair(rs.from_order(order_id, line_id), "cs").repair.id or 0
    into_repair(rs, repair_id)
    two = ActOnRepair(A.PARTS, parts=[PartLine(HEATER, 2)], idempotency_key="scan-1")

    first = rs.repairs.act(repair_id, two, "wh")
    rs.repairs.act(repair_id, ActOnRepair(A.TESTING), "wh")  # the repair moved on meanwhile
    again = rs.repairs.act(repair_id, two, "wh")

    assert not first.replayed
    assert again.replayed
    assert [(p.batch, p.quantity) for p in again.parts] == [(1, 2)]
    assert rs.shop.level(HEATER, CENTRE).on_hand == 3
    with pytest.raises(IdempotencyKeyReused):
        rs.repairs.act(
            repair_id,
            ActOnRepair(A.PARTS, parts=[PartLine(HEATER, 1)], idempotency_key="scan-1"),
            "wh",
        )
    assert rs.shop.inventory.verify().clean
