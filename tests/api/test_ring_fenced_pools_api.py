"""Ring-fenced pools over HTTP, on both databases: the issue's story.

20 TOP at DC-CHIBA, which feeds AMAZON, RAKUTEN (and the storefront); a RAKUTEN pool of 8.
Amazon is told 12; Amazon's orders take 12, the 13th waits as a backorder or is refused (409)
as Amazon's sourcing profile says; Rakuten's order for its 8 is then allocated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tests.api.channel_builders import a_channel
from tests.api.http_builders import Client, assert_problem, level, ok
from tests.api.order_builders import (
    DC,
    RAKUTEN,
    TOP,
    a_line,
    a_world,
    an_order_body,
    order_rows,
    place,
)

AMAZON = "AMAZON"


def a_pooled_world(client: Client) -> None:
    a_world(client, {(TOP, DC): 20})
    a_channel(client, AMAZON, [DC], kind="amazon")
    ok(client.put(f"/v1/channels/{RAKUTEN}/rules/pools/{TOP}", json={"quantity": 8}))


def order(client: Client, channel: str, units: int) -> Any:
    return place(client, an_order_body(channel=channel, lines=[a_line(TOP, units)]))


def told(client: Client, channel: str) -> int:
    found = ok(client.get(f"/v1/channels/{channel}/availability", params={"sku": TOP}))
    [item] = found["items"]
    return item["available"]  # type: ignore[no-any-return]


def test_amazon_takes_12_its_13th_unit_waits_and_rakuten_gets_its_8(client: Client) -> None:
    a_pooled_world(client)
    assert told(client, AMAZON) == 12

    amazon = [ok(order(client, AMAZON, 1), 201) for _ in range(12)]
    thirteenth = ok(order(client, AMAZON, 1), 201)
    rakuten = ok(order(client, RAKUTEN, 8), 201)

    assert [o["status"] for o in amazon] == ["allocated"] * 12
    assert thirteenth["status"] == "backordered"
    assert thirteenth["lines"][0]["backordered"] == 1
    assert rakuten["status"] == "allocated"
    assert rakuten["lines"][0]["allocated"] == 8
    assert level(client, TOP, DC)["available"] == 0
    assert told(client, AMAZON) == 0
    assert told(client, RAKUTEN) == 0


def test_an_amazon_order_beyond_the_unpooled_stock_is_a_409_when_amazon_takes_no_backorders(
    client: Client, engine: Engine
) -> None:
    a_pooled_world(client)
    ok(client.put(f"/v1/channels/{AMAZON}/sourcing-profile", json={"allow_backorder": False}))
    before = order_rows(engine)

    assert_problem(order(client, AMAZON, 13), 409, "lines", backordered=1)

    assert order_rows(engine) == before
    assert level(client, TOP, DC)["reserved"] == 0
    assert ok(order(client, AMAZON, 12), 201)["status"] == "allocated"
    assert ok(order(client, RAKUTEN, 8), 201)["status"] == "allocated"


def test_a_reservation_for_amazon_cannot_take_rakutens_pool(client: Client) -> None:
    a_pooled_world(client)

    def reserve(units: int) -> Any:
        return client.post(
            "/v1/reservations",
            json={"channel": AMAZON, "lines": [{"sku": TOP, "location": DC, "quantity": units}]},
            headers={"Idempotency-Key": f"amazon-{units}"},
        )

    problem = assert_problem(reserve(13), 409, "lines")

    assert problem["short_lines"] == [
        {"sku": TOP, "location": DC, "requested": 13, "available": 12, "ring_fenced": 8}
    ]
    assert level(client, TOP, DC)["reserved"] == 0
    ok(reserve(12), 201)
    assert told(client, RAKUTEN) == 8
