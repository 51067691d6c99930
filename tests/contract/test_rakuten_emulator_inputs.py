"""Whatever a client sends the Rakuten emulator, it answers as Rakuten would: never a 500."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from oms.channels.emulators.rakuten.app import create_app
from oms.channels.emulators.rakuten.config import EmulatorConfig
from tests.examples import examples

CONFIG = EmulatorConfig()
AUTH = {
    "Authorization": "ESA "
    + base64.b64encode(f"{CONFIG.service_secret}:{CONFIG.license_key}".encode()).decode()
}
KEYS = st.sampled_from(
    [
        "dateType",
        "startDatetime",
        "endDatetime",
        "orderProgressList",
        "PaginationRequestModel",
        "SortModelList",
        "requestRecordsAmount",
        "requestPage",
        "orderNumberList",
        "version",
        "orderNumber",
        "BasketidModelList",
        "basketId",
        "ShippingModelList",
        "deliveryCompany",
        "shippingNumber",
        "shippingDate",
        "shippingDetailId",
        "inventories",
        "manageNumber",
        "variantId",
        "mode",
        "quantity",
        "manage_number",
        "variant_id",
        "lines",
        "units",
        "price",
        "order_progress",
        "ordered_at",
        "fault",
        "count",
        "operation",
        "seconds",
    ]
)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["2026-03-01T00:00:00+0900", "ABSOLUTE", "1001", "2026-03-02"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=20,
)


APP = create_app(seed_orders=2, config=EmulatorConfig(limits={}))  # no limit: all validated
SHOP = APP.state.shop
ORDER_NUMBERS = sorted(SHOP.orders)
BASKET_IDS = [p.basket_id for o in SHOP.orders.values() for p in o.packages]


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, sometimes any JSON at all: the field's validation is reached."""
    return st.one_of(valid, valid, JSON)


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={k: maybe(v) for k, v in fields.items()})


DATETIME = st.sampled_from(["2026-03-01T00:00:00+0900", "2026-12-31T00:00:00+0900"])
SHIPPING = shaped(
    {
        "deliveryCompany": st.sampled_from(["1001", "1000"]),
        "shippingNumber": st.text(max_size=5),
        "shippingDate": st.just("2026-03-02"),
        "shippingDetailId": st.integers(0, 2_000_000),
        "shippingDeleteFlag": st.just(1),
    }
)
INVENTORY = shaped(
    {
        "manageNumber": st.sampled_from(["tshirt-001", "cap-002", "x"]),
        "variantId": st.sampled_from(["red-m", "navy", "v"]),
        "mode": st.sampled_from(["ABSOLUTE", "RELATIVE"]),
        "quantity": st.integers(-5, 100_005),
    }
)
LINE = shaped(
    {
        "manage_number": st.just("tshirt-001"),
        "variant_id": st.just("red-m"),
        "units": st.integers(0, 3),
        "price": st.integers(-1, 5000),
    }
)
BODIES: dict[str, st.SearchStrategy[Any]] = {
    "/es/2.0/order/searchOrder/": shaped(
        {
            "dateType": st.integers(0, 7),
            "startDatetime": DATETIME,
            "endDatetime": DATETIME,
            "orderProgressList": st.lists(st.sampled_from([100, 300, 900]), max_size=3),
            "PaginationRequestModel": shaped(
                {
                    "requestRecordsAmount": st.integers(0, 1001),
                    "requestPage": st.integers(0, 20),
                    "SortModelList": st.lists(
                        shaped({"sortColumn": st.just(1), "sortDirection": st.just(2)})
                    ),
                }
            ),
        }
    ),
    "/es/2.0/order/getOrder/": shaped(
        {
            "orderNumberList": st.lists(st.sampled_from(ORDER_NUMBERS), max_size=3),
            "version": st.integers(2, 11),
        }
    ),
    "/es/2.0/order/updateOrderShipping/": shaped(
        {
            "orderNumber": st.sampled_from(ORDER_NUMBERS),
            "BasketidModelList": st.lists(
                shaped(
                    {
                        "basketId": st.sampled_from(BASKET_IDS),
                        "ShippingModelList": st.lists(SHIPPING, max_size=3),
                    }
                ),
                max_size=2,
            ),
        }
    ),
    "/es/2.0/inventories/bulk-get": shaped({"inventories": st.lists(INVENTORY, max_size=3)}),
    "/es/2.0/inventories/bulk-upsert": shaped({"inventories": st.lists(INVENTORY, max_size=3)}),
    "/_emulator/listings": st.one_of(INVENTORY, st.lists(LINE, max_size=2)),
    "/_emulator/orders": shaped(
        {
            "lines": st.lists(LINE, max_size=2),
            "order_progress": st.sampled_from([100, 300, 900]),
            "ordered_at": st.just("2026-03-01T10:00:00+09:00"),
        }
    ),
    "/_emulator/faults": shaped(
        {
            "fault": st.just("slow"),
            "count": st.integers(0, 2),
            "operation": st.just("rpay.order.getOrder"),
            "seconds": st.just(0.001),
        }
    ),
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    with TestClient(APP) as client:
        yield client


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), endpoint=st.sampled_from(sorted(BODIES)))
def test_any_body_is_answered_without_a_server_error(
    client: TestClient[Any], data: st.DataObject, endpoint: str
) -> None:
    body = data.draw(st.one_of(BODIES[endpoint], JSON), label="body")
    answer = client.post(endpoint, json=body, headers=AUTH)
    assert answer.status_code < 500, answer.text
