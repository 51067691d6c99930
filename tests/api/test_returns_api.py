"""Returns through HTTP, on both databases: the whole path as customer service and the warehouse
walk it, roles, retries with an Idempotency-Key, and bad input as problems naming the field
with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from oms.bootstrap import bootstrap
from tests.api.http_builders import ok
from tests.api.order_builders import (
    BOTTOM,
    DC,
    SET,
    STOREFRONT,
    TOP,
    a_line,
    a_world,
    advance,
    an_order,
    send,
    ship_body,
    shipment_from,
)

Client = TestClient[Litestar]
Keys = Callable[[str], dict[str, str]]


def shipped(client: Client, units: int = 2) -> dict[str, Any]:
    a_world(client, {(TOP, DC): 10})
    order = an_order(client, lines=[a_line(quantity=units)])
    parcel = shipment_from(order, DC)
    for step in ("pick", "pack"):
        ok(advance(client, parcel["id"], step))
    ok(advance(client, parcel["id"], "ship", json=ship_body()))
    return order


def top_at_dc(client: Client) -> dict[str, Any]:
    [level] = ok(client.get("/v1/stock", params={"sku": TOP, "location": DC}))["items"]
    return level  # type: ignore[no-any-return]


def a_return(client: Client, order: dict[str, Any], quantity: int = 2, **extra: Any) -> Any:
    body = {
        "order_id": order["id"],
        "lines": [{"line_id": "L1", "quantity": quantity, "reason_code": "defective"}],
        **extra,
    }
    return client.post("/v1/returns", json=body)


def test_the_whole_path_from_request_to_restock(
    client: Client, key_for: Keys, engine: Engine
) -> None:
    order = shipped(client)
    cs, warehouse = key_for("customer_service"), key_for("warehouse")
    before = top_at_dc(client)

    rma = ok(a_return(client, order), 201)
    assert rma["status"] == "authorized"
    received = ok(
        client.post(
            f"/v1/returns/{rma['id']}/receive",
            json={"location": DC, "lines": [{"line_id": "L1", "quantity": 2}]},
            headers={**warehouse, "Idempotency-Key": "rcv-1"},
        )
    )
    again = client.post(
        f"/v1/returns/{rma['id']}/receive",
        json={"location": DC, "lines": [{"line_id": "L1", "quantity": 2}]},
        headers={**warehouse, "Idempotency-Key": "rcv-1"},
    )
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [u["id"] for u in again.json()["units"]] == [u["id"] for u in received["units"]]
    assert received["status"] == "received"
    level = top_at_dc(client)
    assert level["quarantined"] == 2
    assert level["available"] == before["available"]

    first, second = received["units"]
    label = client.get(f"/v1/units/{first['id']}/label")
    assert label.status_code == 200
    assert first["barcode"] in label.text
    assert ok(client.get(f"/v1/units/by-label/{first['barcode']}"))["id"] == first["id"]
    # A label typed by hand, in lower case: the same unit (Crockford base 32 ignores case).
    typed = first["barcode"].lower()
    assert ok(client.get(f"/v1/units/by-label/{typed}"))["id"] == first["id"]
    for unit in (first, second):
        graded = ok(
            client.post(
                f"/v1/units/{unit['id']}/grade",
                json={"grade": "N", "functional": "full", "completeness": {"box": True}},
                headers=warehouse,
            ),
            201,
        )
        assert graded["grade_label"] == "新品"
    assert ok(client.get(f"/v1/returns/{rma['id']}"))["status"] == "inspected"

    ok(
        client.post(
            f"/v1/units/{first['id']}/disposition",
            json={"disposition": "RESTOCK", "reason": "sealed", "execute": True},
            headers=warehouse,
        )
    )
    decided = ok(
        client.post(
            f"/v1/units/{second['id']}/disposition",
            json={"disposition": "DESTROY", "reason": "crushed"},
            headers=cs,
        )
    )
    assert decided["status"] == "dispositioned"
    assert not decided["executed"]
    # Customer service decides; only the warehouse carries out, whichever route it tries.
    for path, body in [
        (f"/v1/units/{second['id']}/disposition", {"disposition": "DESTROY", "execute": True}),
        (f"/v1/units/{second['id']}/execute", None),
    ]:
        refused = client.post(path, json=body, headers=cs)
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "urn:oms:problem:forbidden"
    assert ok(client.post(f"/v1/units/{second['id']}/execute", headers=warehouse))["executed"]
    after = top_at_dc(client)
    assert (after["quarantined"], after["available"]) == (0, before["available"] + 1)

    resolved = ok(
        client.post(
            f"/v1/returns/{rma['id']}/resolve",
            json={
                "lines": [
                    {
                        "line_id": "L1",
                        "resolution": "refund",
                        "amount": 7800,
                        "method": "original_payment",
                    }
                ]
            },
            headers=cs,
        )
    )
    assert resolved["lines"][0]["refund_amount"] == 7800
    assert ok(client.post(f"/v1/returns/{rma['id']}/close", headers=cs))["status"] == "closed"
    assert bootstrap(engine=engine).inventory.verify().clean


def test_a_channel_request_starts_requested_and_waits_for_a_person(
    client: Client, key_for: Keys
) -> None:
    order = shipped(client)
    channel = key_for("channel_sync")

    refused = client.post(
        "/v1/returns",
        json={
            "order_id": order["id"],
            "lines": [{"line_id": "L1", "quantity": 1, "reason_code": "defective"}],
        },
        headers=channel,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "channel_return_id"
    body = {
        "order_id": order["id"],
        "channel_return_id": "RK-1",
        "lines": [
            {"line_id": "L1", "quantity": 1, "reason_code": "size_fit", "channel_reason": "SZ"}
        ],
    }
    first = ok(client.post("/v1/returns", json=body, headers=channel), 201)
    assert first["status"] == "requested"
    assert client.post(f"/v1/returns/{first['id']}/approve", headers=channel).status_code == 403
    assert ok(client.post(f"/v1/returns/{first['id']}/approve"))["status"] == "authorized"
    conflict = client.post(f"/v1/returns/{first['id']}/approve")
    assert conflict.status_code == 409
    assert conflict.json()["field"] == "status"


def test_a_request_sent_again_is_a_replay_and_another_under_its_id_a_conflict(
    client: Client, key_for: Keys
) -> None:
    order = shipped(client)
    channel = key_for("channel_sync")
    body = {
        "order_id": order["id"],
        "channel_return_id": "RK-7",
        "lines": [{"line_id": "L1", "quantity": 1, "reason_code": "defective"}],
    }
    first = ok(client.post("/v1/returns", json=body, headers=channel), 201)

    again = client.post("/v1/returns", json=body, headers=channel)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first["id"]
    other = {**body, "lines": [{"line_id": "L1", "quantity": 2, "reason_code": "damaged"}]}
    taken = client.post("/v1/returns", json=other, headers=channel)
    assert taken.status_code == 409, taken.text
    assert taken.json()["field"] == "channel_return_id"
    [stored] = ok(client.get("/v1/returns"))["items"]
    assert stored["lines"][0]["quantity"] == 1

    # Customer service's retry under an Idempotency-Key answers alike.
    cs = {**key_for("customer_service"), "Idempotency-Key": "open-1"}
    by_cs = {
        "order_id": order["id"],
        "lines": [{"line_id": "L1", "quantity": 1, "reason_code": "other"}],
    }
    opened = ok(client.post("/v1/returns", json=by_cs, headers=cs), 201)
    retried = client.post("/v1/returns", json=by_cs, headers=cs)
    assert retried.status_code == 200, retried.text
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["id"] == opened["id"]


def test_a_policy_approves_a_channel_request_unattended(client: Client, key_for: Keys) -> None:
    order = shipped(client)
    ok(
        client.put(
            f"/v1/channels/{STOREFRONT}/return-policy",
            json={"window_days": 14, "reasons": ["defective", "size_fit"]},
        )
    )
    rma = ok(
        client.post(
            "/v1/returns",
            json={
                "order_id": order["id"],
                "channel_return_id": "SF-R-1",
                "lines": [{"line_id": "L1", "quantity": 1, "reason_code": "defective"}],
            },
            headers=key_for("channel_sync"),
        ),
        201,
    )
    assert (rma["status"], rma["approved_by"]) == ("authorized", "policy")
    policy = ok(client.get(f"/v1/channels/{STOREFRONT}/return-policy"))
    assert policy["reasons"] == ["defective", "size_fit"]
    assert client.get("/v1/channels/NOPE/return-policy").status_code == 404


def test_an_unexpected_parcel_goes_to_quarantine(client: Client, key_for: Keys) -> None:
    order = shipped(client, units=1)
    received = ok(
        client.post(
            "/v1/returns/unexpected",
            json={
                "order_id": order["id"],
                "location": DC,
                "lines": [{"line_id": "L1", "quantity": 1}],
            },
            headers=key_for("warehouse"),
        ),
        201,
    )
    assert received["unexpected"]
    assert received["status"] == "received"
    assert len(received["units"]) == 1
    assert top_at_dc(client)["quarantined"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"line_id": "L1", "quantity": 1, "reason_code": "defective"}]}, "order_id"),
        ({"order_id": 1, "lines": []}, "lines"),
        (
            {"order_id": "x", "lines": [{"line_id": "L1", "quantity": 1, "reason_code": "x"}]},
            "order_id",
        ),
        (
            {"order_id": 1, "lines": [{"line_id": "L1", "quantity": 0, "reason_code": "other"}]},
            "lines[0].quantity",
        ),
        (
            {"order_id": 1, "lines": [{"line_id": "L1", "quantity": 1, "reason_code": "meh"}]},
            "lines[0].reason_code",
        ),
        (
            {
                "order_id": 1,
                "lines": [{"line_id": "L1", "quantity": 1, "reason_code": "other"}],
                "surprise": 1,
            },
            "surprise",
        ),
    ],
)
def test_a_bad_return_is_a_problem_naming_the_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    shipped(client)
    response = client.post("/v1/returns", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    named = [problem.get("field")] + [e.get("field") for e in problem.get("errors", [])]
    assert field in named, problem
    assert ok(client.get("/v1/returns"))["items"] == []


def test_a_returned_set_is_received_as_its_items(client: Client) -> None:
    a_world(client, {(TOP, DC): 5, (BOTTOM, DC): 5})
    order = an_order(client, lines=[a_line(sku=SET, quantity=2)])
    for parcel in order["shipments"]:
        send(client, parcel["id"])
    rma = ok(a_return(client, order, 1), 201)

    received = ok(
        client.post(
            f"/v1/returns/{rma['id']}/receive",
            json={"location": DC, "lines": [{"line_id": "L1", "quantity": 1}]},
        )
    )

    # One set back: a top and a bottom, each a unit with its own label, in quarantine.
    assert received["status"] == "received"
    assert sorted(u["sku"] for u in received["units"]) == [BOTTOM, TOP]
    levels = {lv["sku"]: lv for lv in ok(client.get("/v1/stock", params={"location": DC}))["items"]}
    assert (levels[TOP]["quarantined"], levels[BOTTOM]["quarantined"]) == (1, 1)
    [top] = [u for u in received["units"] if u["sku"] == TOP]
    graded = client.post(
        f"/v1/units/{top['id']}/grade",
        json={"grade": "N", "functional": "full", "disposition": "RESTOCK", "execute": True},
    )
    assert ok(graded, 201)["status"] == "done"
    assert top_at_dc(client)["quarantined"] == 0


@pytest.mark.parametrize("order_id", [2**63, 10**30])
def test_an_order_id_the_database_cannot_hold_is_a_problem_naming_it(
    client: Client, order_id: int
) -> None:
    shipped(client)
    line = {"line_id": "L1", "quantity": 1}
    for path, body in [
        ("/v1/returns", {"order_id": order_id, "lines": [{**line, "reason_code": "other"}]}),
        ("/v1/returns/unexpected", {"order_id": order_id, "location": DC, "lines": [line]}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == "order_id", (path, response.text)
    assert ok(client.get("/v1/returns"))["items"] == []
    assert top_at_dc(client)["quarantined"] == 0


def test_bad_unit_input_changes_nothing(client: Client) -> None:
    order = shipped(client, units=1)
    rma = ok(a_return(client, order, 1), 201)
    [unit] = ok(
        client.post(
            f"/v1/returns/{rma['id']}/receive",
            json={"location": DC, "lines": [{"line_id": "L1", "quantity": 1}]},
        )
    )["units"]

    cases = [
        ({"grade": "Z", "functional": "full"}, "grade"),
        ({"grade": "A", "functional": "partial"}, "grade"),
        ({"grade": "A", "functional": "full", "defects": [{"code": "x"}]}, "defects[0].zone"),
        ({"grade": "A", "functional": "full", "completeness": {"box": "yes"}}, "completeness.box"),
    ]
    for body, field in cases:
        response = client.post(f"/v1/units/{unit['id']}/grade", json=body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        named = [problem.get("field")] + [e.get("field") for e in problem.get("errors", [])]
        assert field in named, (body, problem)
    assert ok(client.get(f"/v1/units/{unit['id']}"))["grades"] == []
    assert client.post(f"/v1/units/{unit['id']}/execute").status_code == 409
    assert client.get("/v1/units/999999").status_code == 404
    assert client.post(f"/v1/returns/{rma['id']}/fly").status_code == 422
    too_many = client.post(
        f"/v1/returns/{rma['id']}/receive",
        json={"location": DC, "lines": [{"line_id": "L1", "quantity": 1}]},
    )
    assert too_many.status_code == 409
    assert top_at_dc(client)["quarantined"] == 1


def test_the_buyers_words_are_shown_to_people_audited_and_hidden_from_channel_sync(
    client: Client, key_for: Keys
) -> None:
    order = shipped(client, units=1)
    cs, channel = key_for("customer_service"), key_for("channel_sync")
    rma = ok(
        client.post(
            "/v1/returns",
            json={
                "order_id": order["id"],
                "lines": [
                    {
                        "line_id": "L1",
                        "quantity": 1,
                        "reason_code": "other",
                        "reason_text": "my husband hated it",
                    }
                ],
            },
            headers=cs,
        ),
        201,
    )
    assert rma["lines"][0]["reason_text"] is None  # an action's answer shows no personal data

    assert (
        ok(client.get(f"/v1/returns/{rma['id']}", headers=channel))["lines"][0]["reason_text"]
        is None
    )
    assert returns_read(client) == []
    shown = ok(client.get(f"/v1/returns/{rma['id']}", headers=cs))
    assert shown["lines"][0]["reason_text"] == "my husband hated it"
    [read] = returns_read(client)
    assert (read["subject"], read["subject_id"], read["order_id"]) == (
        "return",
        rma["id"],
        order["id"],
    )


def returns_read(client: Client) -> list[dict[str, Any]]:
    items = ok(client.get("/v1/audit/personal-data", params={"limit": 200}))["items"]
    return [i for i in items if i["subject"] == "return"]
