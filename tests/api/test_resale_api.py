"""The resale API on both databases: a unit's lineage and price history (never a reference
new price), pricing by hand and by schedule, publishing with early access, grade factors,
roles, and bad input as a problem naming the field with nothing written. The worker (in
process) makes a unit follow the order that takes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.api.http_builders import Client, assert_problem, ok
from tests.order_builders import PRICES, TEE, an_order
from tests.resale_builders import AMAZON, WEB, ResaleShop


def _now() -> datetime:
    return datetime.now(UTC)


def unit_json(client: Client, code: str) -> dict[str, Any]:
    return ok(client.get(f"/v1/resale-units/{code}"))  # type: ignore[no-any-return]


def test_a_unit_shows_its_lineage_and_prices_but_never_the_new_price(
    client: Client, engine: Engine
) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("A")

    body = unit_json(client, unit.code)

    assert body["grade"] == "A"
    assert body["condition"] == "used_like_new"
    assert body["status"] == "intake"
    assert body["lineage"] == {
        "returns_unit_id": unit.returns_unit_id,
        "barcode": unit.barcode,
        "order_id": shop.order_id,
        "channel": WEB,
        "return_id": 7,
    }
    assert body["defects"][0]["code"] == "pilling"
    assert body["photos"] == ["photos/front.jpg"]
    assert [p["price"] for p in body["price_history"]] == [PRICES[TEE] * 70 // 100]
    text = str(body)
    assert str(PRICES[TEE]) not in text  # no "compare at" new price anywhere
    assert "base" not in body
    assert "factor" not in body
    assert "compare_at" not in body
    assert_problem(client.get("/v1/resale-units/NOPE-U1"), 404)


def test_pricing_by_hand_then_by_schedule_keeps_every_change(
    client: Client, engine: Engine
) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("B")

    manual = ok(
        client.put(
            f"/v1/resale-units/{unit.code}/pricing",
            json={"price": 1234, "reason": "matched a competitor"},
        )
    )
    assert (manual["price"], manual["pricing_mode"]) == (1234, "manual")
    scheduled = ok(
        client.put(
            f"/v1/resale-units/{unit.code}/pricing",
            json={
                "schedule": {"steps": [{"days": 30, "percent_off": 20}], "floor": 500},
                "reason": "back to the grade price",
            },
        )
    )
    assert scheduled["pricing_mode"] == "schedule"
    assert scheduled["markdown"] == {"steps": [{"days": 30, "percent_off": 20}], "floor": 500}
    history = [(p["price"], p["actor"]) for p in scheduled["price_history"]]
    start = PRICES[TEE] * 55 // 100
    assert history == [
        (start, "warehouse:taro"),
        (1234, "bootstrap-admin"),
        (start, "bootstrap-admin"),
    ]


# One app for all the cases: building one per case is most of what such a test costs.
BAD_PRICING: list[tuple[Any, ...]] = [
    ({"price": "100", "reason": "x"}, "price"),
    ({"price": 1.5, "reason": "x"}, "price"),
    ({"price": 0, "reason": "x"}, "price"),
    ({"price": 10**12, "reason": "x"}, "price"),
    ({"price": 100}, "reason"),
    ({"price": 100, "reason": "x" * 201}, "reason"),
    ({"price": 100, "reason": "x", "compare_at": 5000}, "compare_at"),
    ({"reason": "x"}, "price"),
    ({"price": 100, "schedule": {"steps": [], "floor": 1}, "reason": "x"}, "price"),
    (
        {"schedule": {"steps": [{"days": 0, "percent_off": 10}], "floor": 1}, "reason": "x"},
        "schedule.steps[0].days",
    ),
    (
        {"schedule": {"steps": [{"days": 5, "percent_off": "a"}], "floor": 1}, "reason": "x"},
        "schedule.steps[0].percent_off",
    ),
    (
        {
            "schedule": {
                "steps": [{"days": 30, "percent_off": 10}, {"days": 20, "percent_off": 20}],
                "floor": 1,
            },
            "reason": "x",
        },
        "schedule.steps[1]",
    ),
    ({"schedule": {"steps": []}, "reason": "x"}, "schedule.floor"),
]


def test_bad_pricing_is_a_422_naming_the_field_and_nothing_changes(
    client: Client, engine: Engine
) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("A")
    before = unit_json(client, unit.code)

    for body, field in BAD_PRICING:
        assert_problem(client.put(f"/v1/resale-units/{unit.code}/pricing", json=body), 422, field)

        assert unit_json(client, unit.code) == before


def test_publish_with_early_access_and_segment_views(client: Client, engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("B")
    ok(client.post(f"/v1/resale-units/{unit.code}/prepare"))
    ok(client.post(f"/v1/resale-units/{unit.code}/ready", json={"photos": ["a.jpg", "b.jpg"]}))
    now = _now()

    listed = ok(
        client.post(
            f"/v1/resale-units/{unit.code}/publish",
            json={
                "public_from": (now + timedelta(days=3)).isoformat(),
                "early_access": [
                    {"segment": "gold", "visible_from": (now - timedelta(hours=1)).isoformat()}
                ],
            },
        )
    )

    assert (listed["status"], listed["stage"]) == ("listed", "early")
    assert shop.number(WEB, unit.code) == 1
    assert shop.number(AMAZON, unit.code) == 0
    # The marketplace's exclusion is an ordinary, visible rule.
    rules = ok(client.get(f"/v1/channels/{AMAZON}/rules"))
    assert [
        e
        for e in rules["exclusions"]
        if (e["kind"], e["attribute"], e["value"]) == ("attribute", "resale_stage", "early")
    ]
    gold = ok(client.get("/v1/resale-units", params={"segment": "gold"}))
    other = ok(client.get("/v1/resale-units", params={"segment": "regular"}))
    assert [u["code"] for u in gold["items"]] == [unit.code]
    assert other["items"] == []
    staff = ok(client.get("/v1/resale-units", params={"grade": "B", "status": "listed"}))
    assert [u["code"] for u in staff["items"]] == [unit.code]


# One app for all the cases: building one per case is most of what such a test costs.
BAD_PUBLISH: list[tuple[Any, ...]] = [
    ({}, "public_from"),
    ({"public_from": "2026-12-01T00:00:00"}, "public_from"),
    ({"public_from": 0}, "public_from"),
    (
        {
            "public_from": "2026-12-10T00:00:00+09:00",
            "early_access": [{"segment": "bad segment", "visible_from": "2026-12-01T00:00:00Z"}],
        },
        "early_access[0].segment",
    ),
    (
        {
            "public_from": "2026-12-10T00:00:00+09:00",
            "early_access": [{"segment": "gold", "visible_from": "2026-12-11T00:00:00Z"}],
        },
        "early_access[0].visible_from",
    ),
]


def test_bad_publish_is_a_422_and_the_unit_stays_unlisted(client: Client, engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("A")
    shop.resale.prepare(unit.code, "cs")
    shop.resale.ready(unit.code, "cs")

    for body, field in BAD_PUBLISH:
        assert_problem(client.post(f"/v1/resale-units/{unit.code}/publish", json=body), 422, field)

        assert unit_json(client, unit.code)["status"] == "ready"
        assert shop.number(WEB, unit.code) == 0


def test_bad_filters_and_unknown_actions(client: Client, engine: Engine) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("A")
    for params, field in (
        ({"grade": "Z"}, "grade"),
        ({"status": "gone"}, "status"),
        ({"segment": "a b"}, "segment"),
        ({"limit": 0}, "limit"),
        ({"parent_sku": "bad sku"}, "parent_sku"),
    ):
        assert_problem(client.get("/v1/resale-units", params=params), 422, field)
    assert client.post(f"/v1/resale-units/{unit.code}/explode").status_code in (404, 405)
    assert_problem(client.post(f"/v1/resale-units/{unit.code}/withdraw", json={}), 422, "reason")
    assert_problem(
        client.post(
            f"/v1/resale-units/{unit.code}/publish", json={"public_from": _now().isoformat()}
        ),
        409,
        "status",
    )
    assert unit_json(client, unit.code)["status"] == "intake"


def test_grade_factors_per_category_are_admins(
    client: Client, engine: Engine, key_for: Callable[[str], dict[str, str]]
) -> None:
    default = ok(client.get("/v1/resale-pricing/categories/tops"))
    assert default["factors"]["A"] == 70
    assert default["factors"]["J"] == 0

    changed = ok(
        client.put("/v1/resale-pricing/categories/tops", json={"factors": {"A": 65, "B": 50}})
    )
    assert (changed["factors"]["A"], changed["factors"]["B"], changed["factors"]["C"]) == (
        65,
        50,
        40,
    )
    cs = key_for("customer_service")
    assert_problem(
        client.put("/v1/resale-pricing/categories/tops", json={"factors": {"A": 1}}, headers=cs),
        403,
    )
    for body, field in (
        ({"factors": {"A": 101}}, "factors.A"),
        ({"factors": {"Q": 10}}, "factors.Q.[key]"),
        ({"factors": {}}, "factors"),
        ({"factors": {"J": 5}}, "factors.J"),
    ):
        assert_problem(client.put("/v1/resale-pricing/categories/tops", json=body), 422, field)
    assert ok(client.get("/v1/resale-pricing/categories/tops"))["factors"]["A"] == 65


def test_roles_read_everything_and_write_what_they_own(
    client: Client, engine: Engine, key_for: Callable[[str], dict[str, str]]
) -> None:
    shop = ResaleShop(engine)
    unit = shop.returned_unit("A")
    body = {"price": 900, "reason": "staff sale"}
    for role in ("warehouse", "channel_sync", "customer_service"):
        assert client.get(f"/v1/resale-units/{unit.code}", headers=key_for(role)).status_code == 200
    for role in ("warehouse", "channel_sync"):
        assert_problem(
            client.put(f"/v1/resale-units/{unit.code}/pricing", json=body, headers=key_for(role)),
            403,
        )
    ok(
        client.put(
            f"/v1/resale-units/{unit.code}/pricing", json=body, headers=key_for("customer_service")
        )
    )
    assert_problem(
        client.post(f"/v1/resale-units/{unit.code}/prepare", headers=key_for("channel_sync")), 403
    )


def test_the_worker_records_the_order_that_takes_a_listed_unit(
    client: Client, engine: Engine
) -> None:
    shop = ResaleShop(engine)
    unit = shop.listed_unit("A")
    shop.shop.orders.place_order(an_order((unit.code, 1), channel=AMAZON))

    deadline = time.monotonic() + 60  # a bound for a busy machine, not a speed check
    while unit_json(client, unit.code)["status"] != "reserved":
        if time.monotonic() > deadline:
            pytest.fail("the worker never recorded the reservation on the unit")
        time.sleep(0.05)
    assert shop.number(WEB, unit.code) == 0
