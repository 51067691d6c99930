"""Rakuten Pay Order API: `searchOrder` and `getOrder` (POST, JSON, answers in MessageModelList).

Validation answers HTTP 400 with `MessageModelList` ERROR entries, the order API's own family.
Codes the contract names are used as named (searchOrder 009/010/011); the others are ours [U].
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from litestar import Request, Response, post

from oms.channels.emulators.rakuten.config import GET_ORDER, JST, SEARCH_ORDER
from oms.channels.emulators.rakuten.gate import Shop, admit, json_body, json_response
from oms.channels.emulators.rakuten.state import Order

ORDER_NUMBER = re.compile(r"^\d+-\d{8}-\d{8,10}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")  # +0900, no colon
PROGRESS_CODES = frozenset({100, 200, 300, 400, 500, 600, 700, 800, 900})
_SEARCH = "ORDER_EXT_API_SEARCH_ORDER"
_GET = "ORDER_EXT_API_GET_ORDER"


def message(kind: str, code: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"messageType": kind, "messageCode": code, "message": text, **extra}


def rakuten_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S%z")


def _search_error(code: str, text: str) -> Response[bytes]:
    return json_response(
        {
            "orderNumberList": None,
            "MessageModelList": [message("ERROR", f"{_SEARCH}_ERROR_{code}", text)],
            "PaginationResponseModel": None,
        },
        400,
    )


def _parse_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not DATETIME.match(value):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def _date_of(order: Order, date_type: int) -> datetime | None:
    if date_type == 1:
        return order.ordered_at
    if date_type in (2, 3):  # confirmation and fixing are one step here
        return order.confirmed_at
    if date_type in (4, 5):
        return order.shipped_reported_at
    return None  # 6 settlement: the emulator settles nothing


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@post("/es/2.0/order/searchOrder/")
async def search_order(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    refusal = await admit(request, shop, SEARCH_ORDER)
    if refusal is not None:
        return refusal
    config = shop.config
    body = await json_body(request)
    if not isinstance(body, dict):
        return _search_error("001", "リクエストの形式が不正です。")  # [U] code
    if "dateType" not in body or body["dateType"] is None:
        return _search_error("009", "期間検索種別が指定されていません。")
    date_type = _int(body["dateType"])
    if date_type is None or not 1 <= date_type <= 6:
        return _search_error("012", "期間検索種別の値が不正です。")  # [U] code
    if not body.get("startDatetime") or not body.get("endDatetime"):
        return _search_error("010", "期間の値が指定されていません。")
    start, end = _parse_datetime(body["startDatetime"]), _parse_datetime(body["endDatetime"])
    if start is None or end is None:
        return _search_error("011", "期間の日付形式が不正です。")
    now = shop.now()
    if start > end or end - start > config.max_search_span:
        return _search_error("013", "検索期間は63日以内で指定してください。")  # [U] code
    if start < now - config.max_search_age:
        return _search_error("014", "過去730日以内の期間を指定してください。")  # [U] code
    progress = body.get("orderProgressList")
    if progress is not None and (
        not isinstance(progress, list) or any(_int(p) not in PROGRESS_CODES for p in progress)
    ):
        return _search_error("015", "ステータスの値が不正です。")  # [U] code
    paging = body.get("PaginationRequestModel") or {}
    if not isinstance(paging, dict):
        return _search_error("016", "ページング条件が不正です。")  # [U] code
    amount = _int(paging.get("requestRecordsAmount", config.default_page_records))
    page = _int(paging.get("requestPage", 1))
    if amount is None or not 1 <= amount <= config.max_page_records:
        return _search_error("017", "取得件数は1000件以内で指定してください。")  # [U] code
    if page is None or page < 1 or (page - 1) * amount >= config.max_reachable_records:
        return _search_error("018", "取得ページの値が不正です。")  # [U] code
    descending = False
    sorts = paging.get("SortModelList") or []
    if not isinstance(sorts, list):
        return _search_error("019", "並び替え項目が不正です。")  # [U] code
    for sort in sorts:
        if not isinstance(sort, dict) or sort.get("sortColumn") != 1:
            return _search_error("019", "並び替え項目が不正です。")  # [U] code
        if sort.get("sortDirection") not in (1, 2):
            return _search_error("020", "並び替え順が不正です。")  # [U] code
        descending = sort["sortDirection"] == 2

    found = []
    for order in shop.orders.values():
        at = _date_of(order, date_type)
        if at is None or not start <= at <= end:
            continue
        if progress and order.progress not in progress:
            continue
        found.append(order)
    found.sort(key=lambda o: (o.ordered_at, o.order_number), reverse=descending)
    total = len(found)
    if total == 0:
        return json_response(
            {
                "orderNumberList": [],
                "MessageModelList": [
                    message("INFO", f"{_SEARCH}_INFO_102", "注文検索結果が0件でした。")
                ],
                "PaginationResponseModel": {
                    "totalRecordsAmount": None,
                    "totalPages": None,
                    "requestPage": None,
                },
            },
            200,
        )
    offset = (page - 1) * amount
    shown = found[offset : min(offset + amount, config.max_reachable_records)]
    return json_response(
        {
            "orderNumberList": [o.order_number for o in shown],
            "MessageModelList": [
                message("INFO", f"{_SEARCH}_INFO_101", "注文検索に成功しました。")
            ],
            "PaginationResponseModel": {
                "totalRecordsAmount": total,
                "totalPages": math.ceil(total / amount),
                "requestPage": page,
            },
        },
        200,
    )


def _get_error(code: str, text: str) -> Response[bytes]:
    return json_response(
        {
            "MessageModelList": [message("ERROR", f"{_GET}_ERROR_{code}", text)],
            "OrderModelList": [],
        },
        400,
    )


@post("/es/2.0/order/getOrder/")
async def get_order(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    refusal = await admit(request, shop, GET_ORDER)
    if refusal is not None:
        return refusal
    config = shop.config
    body = await json_body(request)
    if not isinstance(body, dict):
        return _get_error("001", "リクエストの形式が不正です。")  # [U] code
    version = _int(body.get("version"))
    if version not in config.get_order_versions:
        return _get_error("002", "バージョン番号が不正です。")  # [U] code
    numbers = body.get("orderNumberList")
    if not isinstance(numbers, list) or not numbers:
        return _get_error("003", "注文番号が指定されていません。")  # [U] code
    if len(numbers) > config.max_get_order:
        return _get_error("004", "注文番号は100件以内で指定してください。")  # [U] code
    if any(not isinstance(n, str) or not ORDER_NUMBER.match(n) for n in numbers):
        return _get_error("005", "注文番号の形式が不正です。")  # [U] code
    messages, models = [], []
    oldest = shop.now() - config.max_search_age
    for number in numbers:
        order = shop.orders.get(number)
        if order is None or order.ordered_at < oldest:
            messages.append(
                message("ERROR", f"{_GET}_ERROR_101", "注文が存在しません。", orderNumber=number)
            )  # [U] code
            continue
        models.append(render_order(order, version))
    messages.insert(
        0,
        message(
            "INFO", f"{_GET}_INFO_101", f"受注情報取得に成功しました。(取得件数{len(models)}件)"
        ),
    )
    return json_response(
        {"MessageModelList": messages, "OrderModelList": models, "version": version}, 200
    )


def render_order(order: Order, version: int) -> dict[str, Any]:
    buyer = order.buyer
    person = {
        "zipCode1": buyer.zip_code[:3],
        "zipCode2": buyer.zip_code[3:],
        "prefecture": buyer.prefecture,
        "city": buyer.city,
        "subAddress": buyer.sub_address,
        "familyName": buyer.family_name,
        "firstName": buyer.first_name,
        "phoneNumber1": buyer.phone[:2],
        "phoneNumber2": buyer.phone[2:6],
        "phoneNumber3": buyer.phone[6:],
    }
    packages = []
    for package in order.packages:
        goods = sum(i.price * i.units for i in package.items)
        items = []
        for item in package.items:
            model: dict[str, Any] = {
                "itemDetailId": item.item_detail_id,
                "itemName": item.name,
                "itemId": item.item_id,
                "itemNumber": item.manage_number,
                "manageNumber": item.manage_number,
                "price": item.price,
                "units": item.units,
                "includeTaxFlag": 1,
                "includePostageFlag": 1,
                "taxRate": 0.1,
                "priceTaxIncl": item.price,
            }
            if version >= 7:  # SKU support
                model["SkuModelList"] = [
                    {"variantId": item.variant_id, "merchantDefinedSkuId": None, "skuInfo": ""}
                ]
            items.append(model)
        packages.append(
            {
                "basketId": package.basket_id,
                "postagePrice": 0,
                "deliveryPrice": 0,
                "goodsTax": 0,
                "goodsPrice": goods,
                "totalPrice": goods,
                "SenderModel": person | {"isolatedIslandFlag": 0},
                "ItemModelList": items,
                "ShippingModelList": [
                    {
                        "shippingDetailId": s.shipping_detail_id,
                        "shippingNumber": s.shipping_number,
                        "deliveryCompany": s.delivery_company,
                        "deliveryCompanyName": None,
                        "shippingDate": s.shipping_date,
                    }
                    for s in package.shippings
                ],
                "defaultDeliveryCompanyCode": "1001",
            }
        )
    changes = []
    if order.cancel_fixed_at is not None:
        changes.append(
            {
                "changeId": order.packages[0].basket_id,
                "changeType": 0,  # [U] the code table for change types is not in the contract
                "changeApplyDatetime": rakuten_datetime(order.cancel_applied_at),
                "changeFixDatetime": rakuten_datetime(order.cancel_fixed_at),
            }
        )
    total = order.goods_price
    return {
        "orderNumber": order.order_number,
        "orderProgress": order.progress,
        "subStatusId": None,
        "subStatusName": None,
        "orderDatetime": rakuten_datetime(order.ordered_at),
        "shopOrderCfmDatetime": rakuten_datetime(order.confirmed_at),
        "orderFixDatetime": rakuten_datetime(order.confirmed_at),
        "shippingInstDatetime": rakuten_datetime(order.confirmed_at),
        "shippingCmplRptDatetime": rakuten_datetime(order.shipped_reported_at),
        "cancelDueDate": None,
        "deliveryDate": None,
        "shippingTerm": None,
        "remarks": "",
        "orderType": 1,
        "goodsPrice": total,
        "goodsTax": 0,
        "postagePrice": 0,
        "deliveryPrice": 0,
        "paymentCharge": 0,
        "totalPrice": total,
        "requestPrice": total,
        "couponAllTotalPrice": 0,
        "OrdererModel": person
        | {
            "familyNameKana": "",
            "firstNameKana": "",
            # A relay address, as Rakuten masks the buyer's own.
            "emailAddress": f"{order.order_number.replace('-', '')[:32]}s1@pc.fw.rakuten.ne.jp",
        },
        "SettlementModel": {
            "settlementMethodCode": 1,
            "settlementMethod": "クレジットカード",
            "rpaySettlementFlag": 1,
        },
        "DeliveryModel": {"deliveryName": "宅配便", "deliveryClass": 0},
        "PointModel": {"usedPoint": 0},
        "PackageModelList": packages,
        "ChangeReasonModelList": changes,
    }
