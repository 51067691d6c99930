"""Repairs over HTTP, on both databases: a whole repair by customer service and the warehouse,
the request replayed by its Idempotency-Key, parts short as a 409 naming the part, roles, and
bad input as problems naming the field with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select

from oms.repairs.orm import repair_parts, repair_states, repairs
from tests.api.http_builders import Client, a_key, assert_problem, ok
from tests.repair_builders import CENTRE, HEATER, KETTLE, PARTNER, RepairShop, a_contact

KeyFor = Callable[[str], dict[str, str]]


def a_request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requested_by": "wholesale",
        "symptom": "does not heat\nsince last week",
        "contact": a_contact(),
        "purchase_date": "2025-10-01",
        "channel": "wholesale",
        "partner": PARTNER,
        "sku": KETTLE,
        "serial": "KT-1",
    }
    body.update(overrides)
    return body


def open_one(client: Client, body: dict[str, Any] | None = None, **headers: str) -> Any:
    response = client.post(
        "/v1/repairs", json=body or a_request(), headers={"Idempotency-Key": a_key(), **headers}
    )
    return ok(response, 201)


def act(client: Client, repair_id: int, action: str, body: Any = None, **kw: Any) -> Any:
    return client.post(f"/v1/repairs/{repair_id}/{action}", json=body, **kw)


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (repairs, repair_states, repair_parts)
        )


def test_a_repair_from_request_to_completion(
    client: Client, engine: Engine, key_for: KeyFor
) -> None:
    rs = RepairShop(engine)
    rs.shop.stock((HEATER, CENTRE, 4))
    cs, wh = key_for("customer_service"), key_for("warehouse")
    key = a_key()

    created = client.post("/v1/repairs", json=a_request(), headers={"Idempotency-Key": key, **cs})
    again = client.post("/v1/repairs", json=a_request(), headers={"Idempotency-Key": key, **cs})

    repair = ok(created, 201)
    assert ok(again)["id"] == repair["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert repair["status"] == "requested"
    assert repair["warranty"]["term_months"] == 30  # the kettle's 24 + the partner's 6
    assert repair["warranty"]["product_term_source"] == "sku"
    assert repair["contact"] is None  # personal data: shown by GET, each read audited
    rid = repair["id"]
    shown = ok(client.get(f"/v1/repairs/{rid}", headers=cs))
    assert shown["contact"]["kana"] == "ヤマダ ハナコ"
    [read] = ok(client.get("/v1/audit/personal-data"))["items"]
    assert (read["subject"], read["subject_id"]) == ("repair", rid)
    ok(act(client, rid, "await_item", headers=cs))
    ok(act(client, rid, "receive", {"location": CENTRE}, headers=wh))
    ok(act(client, rid, "diagnose", {"note": "heater open"}, headers=wh))
    ok(act(client, rid, "approve", headers=cs))  # in warranty: no quote
    ok(act(client, rid, "in_repair", {}, headers=wh))
    scan = {"Idempotency-Key": a_key(), **wh}
    used = ok(act(client, rid, "parts", {"lines": [{"sku": HEATER, "quantity": 1}]}, headers=scan))
    resent = act(client, rid, "parts", {"lines": [{"sku": HEATER, "quantity": 1}]}, headers=scan)
    assert used["parts"][0]["sku"] == HEATER
    assert ok(resent)["parts"] == used["parts"]
    assert resent.headers["Idempotent-Replayed"] == "true"
    ok(act(client, rid, "testing", {}, headers=wh))
    ok(act(client, rid, "test_result", {"passed": True, "note": "boils"}, headers=wh))
    ok(act(client, rid, "returning", {"note": "yamato 1234"}, headers=wh))
    done = ok(act(client, rid, "complete", headers=cs))

    assert done["status"] == "completed"
    assert [s["status"] for s in done["states"]][-3:] == ["repaired", "returning", "completed"]
    assert done["sla"]["stopped"] is True
    assert "awaiting_item" in done["sla"]["seconds_in_states"]
    read = ok(client.get(f"/v1/repairs/{rid}", headers=wh))
    assert read["parts"] == used["parts"]
    assert rs.shop.level(HEATER, CENTRE).on_hand == 3
    assert_problem(act(client, rid, "cancel", {"reason": "late"}, headers=cs), 409, "status")


def test_parts_short_are_a_409_naming_the_part_and_nothing_is_booked(
    client: Client, engine: Engine
) -> None:
    rs = RepairShop(engine)
    rs.shop.stock((HEATER, CENTRE, 1))
    rid = open_one(client)["id"]
    for action, body in (
        ("await_item", None),
        ("receive", {"location": CENTRE}),
        ("diagnose", {}),
        ("approve", None),
        ("in_repair", {}),
    ):
        ok(act(client, rid, action, body))
    before = counts(engine)

    short = act(client, rid, "parts", {"lines": [{"sku": HEATER, "quantity": 2}]})

    problem = assert_problem(short, 409, "lines[0].sku")
    assert HEATER in problem["detail"]
    assert counts(engine) == before
    assert rs.shop.level(HEATER, CENTRE).on_hand == 1


def test_roles_channel_sync_nothing_warehouse_only_the_physical_steps(
    client: Client, engine: Engine, key_for: KeyFor
) -> None:
    RepairShop(engine)
    sync, wh = key_for("channel_sync"), key_for("warehouse")
    rid = open_one(client)["id"]

    assert_problem(client.get(f"/v1/repairs/{rid}", headers=sync), 403)
    assert_problem(client.get("/v1/repairs", headers=sync), 403)
    assert_problem(
        client.post("/v1/repairs", json=a_request(), headers={"Idempotency-Key": "k", **sync}),
        403,
    )
    assert_problem(
        client.post("/v1/repairs", json=a_request(), headers={"Idempotency-Key": "k", **wh}), 403
    )
    for action, body in (
        ("await_item", None),
        ("cancel", {"reason": "x"}),
        ("quote", {"amount": 1}),
        ("override_warranty", {"in_warranty": True, "reason": "x"}),
    ):
        assert_problem(act(client, rid, action, body, headers=wh), 403)
        assert_problem(act(client, rid, action, body, headers=sync), 403)
    assert_problem(act(client, rid, "receive", {"location": CENTRE}, headers=sync), 403)
    ok(act(client, rid, "await_item"))
    assert ok(act(client, rid, "receive", {"location": CENTRE}, headers=wh))["status"] == (
        "received"
    )


# One app for every case: building one per case is most of what such a test costs.
BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({"requested_by": "robot"}, "requested_by"),
    ({"requested_by": None}, "requested_by"),
    ({"symptom": "x" * 2001}, "symptom"),
    ({"symptom": ""}, "symptom"),
    ({"contact": None}, "contact"),
    ({"contact": {"kana": "ヤマダ"}}, "contact.name"),
    ({"contact": a_contact(email=5)}, "contact.email"),
    ({"contact": a_contact(prefecture="99")}, "contact.prefecture"),
    ({"contact": a_contact(postal_code="1-2")}, "contact.postal_code"),
    ({"contact": a_contact(fax="03")}, "contact.fax"),
    ({"order_id": "7"}, "order_id"),
    ({"order_id": 2**63}, "order_id"),
    ({"purchase_date": 1_700_000_000}, "purchase_date"),
    ({"purchase_date": "2099-01-01"}, "purchase_date"),
    ({"purchase_date": "yesterday"}, "purchase_date"),
    ({"partner": "NOBODY"}, "partner"),
    ({"sku": "NOPE"}, "sku"),
    ({"sku": "bad sku"}, "sku"),
    ({"serial": "S\u0000"}, "serial"),
    ({"colour": "red"}, "colour"),
    ({"order_id": 999_999, "line_id": "1", "purchase_date": None}, "order_id"),
]


def test_a_bad_request_is_a_422_naming_the_field_and_writes_nothing(
    client: Client, engine: Engine
) -> None:
    RepairShop(engine)
    for change, field in BAD_REQUESTS:
        body = a_request(**change)
        if change.get("purchase_date", "") is None:
            for name in ("purchase_date", "channel", "sku"):
                body.pop(name)

        response = client.post("/v1/repairs", json=body, headers={"Idempotency-Key": a_key()})

        assert_problem(response, 422, field)
        assert counts(engine) == (0, 0, 0), change


def test_bad_actions_name_the_field_or_the_state_and_change_nothing(
    client: Client, engine: Engine
) -> None:
    RepairShop(engine)
    assert_problem(client.post("/v1/repairs", json=a_request()), 422, "Idempotency-Key")
    rid = open_one(client)["id"]
    before = counts(engine)

    assert_problem(act(client, rid, "receive", {"location": CENTRE}), 409, "status")
    assert_problem(act(client, rid, "receive", {}), 422, "location")
    assert_problem(act(client, rid, "quote", {"amount": "5"}), 422, "amount")
    assert_problem(act(client, rid, "quote", {"amount": 5, "currency": "USD"}), 422, "currency")
    assert_problem(
        act(client, rid, "unrepairable", {"outcome": "lost", "reason": "x"}), 422, "outcome"
    )
    assert_problem(act(client, rid, "cancel", {}), 422, "reason")
    assert_problem(act(client, rid, "cancel", {"reason": "x" * 1001}), 422, "reason")
    assert_problem(
        act(client, rid, "parts", {"lines": [{"sku": HEATER, "quantity": 0}]}),
        422,
        "lines[0].quantity",
    )
    assert_problem(act(client, rid, "test_result", {"passed": "yes"}), 422, "passed")
    assert_problem(
        act(client, rid, "override_warranty", {"in_warranty": 1, "reason": "x"}), 422, "in_warranty"
    )
    assert_problem(act(client, 999_999, "await_item"), 404)
    assert_problem(act(client, rid, "teleport", {}), 404)
    assert_problem(client.get(f"/v1/repairs/{2**63}"), 422)
    assert_problem(client.get("/v1/repairs?status=lost"), 422, "status")
    assert_problem(client.get("/v1/repairs?cursor=abc"), 422, "cursor")
    assert counts(engine) == before
    assert ok(client.get(f"/v1/repairs/{rid}"))["status"] == "requested"


def test_repairs_are_listed_by_status_and_order_in_pages(client: Client, engine: Engine) -> None:
    rs = RepairShop(engine)
    order_id, line_id = rs.sold(KETTLE)
    from_order = a_request(requested_by="consumer", order_id=order_id, line_id=line_id)
    for name in ("purchase_date", "channel", "sku", "partner"):
        from_order.pop(name)
    ids = [open_one(client, from_order)["id"] for _ in range(3)]
    open_one(client)
    ok(act(client, ids[0], "cancel", {"reason": "duplicate"}))

    first = ok(client.get(f"/v1/repairs?order={order_id}&limit=2"))
    rest = ok(client.get(f"/v1/repairs?order={order_id}&limit=2&cursor={first['next_cursor']}"))
    cancelled = ok(client.get("/v1/repairs?status=cancelled"))

    assert [r["id"] for r in first["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None
    assert [r["id"] for r in cancelled["items"]] == [ids[0]]
    assert first["items"][0]["channel"] == "web"
    assert first["items"][0]["parts"] is None


def test_partner_terms_are_set_by_customer_service_and_read_back(
    client: Client, engine: Engine, key_for: KeyFor
) -> None:
    RepairShop(engine)
    cs = key_for("customer_service")

    ok(client.put("/v1/repair-partners/LOFT", json={"term_months": 6}, headers=cs))

    terms = ok(client.get("/v1/repair-partners", headers=cs))
    assert {"partner": "LOFT", "extra_months": 0, "term_months": 6} in terms
    assert_problem(
        client.put("/v1/repair-partners/LOFT", json={"extra_months": -1}), 422, "extra_months"
    )
    assert_problem(
        client.put("/v1/repair-partners/LOFT", json={}, headers=key_for("warehouse")), 403
    )
