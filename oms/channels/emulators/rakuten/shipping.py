"""`updateOrderShipping`: shipping records per basket (送付先), one order per call.

A ShippingModel without `shippingDetailId` adds a record, with one updates it, with
`shippingDeleteFlag: 1` deletes it. Rakuten does NOT deduplicate: the same record sent twice is
two records, so staying idempotent is the client's business (the emulator must not hide that).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from litestar import Request, Response, post

from oms.channels.emulators.rakuten.config import UPDATE_ORDER_SHIPPING
from oms.channels.emulators.rakuten.gate import Shop, admit, json_body, json_response
from oms.channels.emulators.rakuten.orders import ORDER_NUMBER, message
from oms.channels.emulators.rakuten.state import Order, Package, Shipping, ShopState

_CODE = "ORDER_EXT_API_UPDATE_ORDERSHIPPING"
DELIVERY_COMPANIES = frozenset(str(code) for code in range(1000, 1032))
SHIPPING_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _refuse(errors: list[dict[str, Any]]) -> Response[bytes]:
    return json_response({"MessageModelList": errors}, 400)


def _error(code: str, text: str, **extra: Any) -> dict[str, Any]:
    return message("ERROR", f"{_CODE}_ERROR_{code}", text, **extra)


def _printable(number: str) -> bool:
    """No machine-dependent characters: what standard Shift_JIS cannot write (①, ㈱ ...)."""
    try:
        number.encode("shift_jis")
    except UnicodeEncodeError:
        return False
    return number.isprintable()


def _valid_date(value: object) -> bool:
    if not isinstance(value, str) or not SHIPPING_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_record(
    record: Any, package: Package, data_number: int, shop: ShopState
) -> list[dict[str, Any]]:
    if not isinstance(record, dict):
        return [_error("011", "発送情報の形式が不正です。", dataNumber=data_number)]
    errors = []
    detail_id = record.get("shippingDetailId")
    if detail_id is not None and not any(  # an id of another type matches no record
        s.shipping_detail_id == detail_id for s in package.shippings
    ):
        errors.append(_error("012", "発送明細IDが存在しません。", dataNumber=data_number))  # [U]
    if record.get("shippingDeleteFlag") == 1:
        return errors
    company = record.get("deliveryCompany")
    if (detail_id is None or company is not None) and not (
        isinstance(company, str) and company in DELIVERY_COMPANIES
    ):
        errors.append(_error("011", "配送会社の値が不正です。", dataNumber=data_number))
    number = record.get("shippingNumber")
    if number is not None and (
        not isinstance(number, str)
        or len(number) > shop.config.max_shipping_number_chars
        or not _printable(number)
    ):
        errors.append(_error("011", "お荷物伝票番号の形式が不正です。", dataNumber=data_number))
    shipped = record.get("shippingDate")
    if shipped is not None and shipped != "" and not _valid_date(shipped):
        errors.append(_error("011", "発送日の形式が不正です。", dataNumber=data_number))
    return errors


def _apply(record: dict[str, Any], package: Package, shop: ShopState) -> tuple[str, int]:
    detail_id = record.get("shippingDetailId")
    if detail_id is None:
        shipping = Shipping(
            shop.next_id(),
            str(record["deliveryCompany"]),
            str(record.get("shippingNumber") or ""),
            str(record.get("shippingDate") or ""),
        )
        package.shippings.append(shipping)
        return "101", shipping.shipping_detail_id
    shipping = next(s for s in package.shippings if s.shipping_detail_id == detail_id)
    if record.get("shippingDeleteFlag") == 1:
        package.shippings.remove(shipping)
        return "103", shipping.shipping_detail_id
    # Field omitted: unchanged; present but empty: cleared.
    if "deliveryCompany" in record:
        shipping.delivery_company = str(record["deliveryCompany"] or "")
    if "shippingNumber" in record:
        shipping.shipping_number = str(record["shippingNumber"] or "")
    if "shippingDate" in record:
        shipping.shipping_date = str(record["shippingDate"] or "")
    return "102", shipping.shipping_detail_id


_DONE = {
    "101": "発送情報の追加設定が完了しました。",
    "102": "発送情報の更新が完了しました。",
    "103": "発送情報の削除が完了しました。",
}


def _baskets(body: dict[str, Any], order: Order) -> list[tuple[Package, list[Any]]] | str:
    baskets = body.get("BasketidModelList")
    if not isinstance(baskets, list) or not baskets:
        return "送付先IDが指定されていません。"
    by_id = {p.basket_id: p for p in order.packages}
    pairs = []
    for basket in baskets:
        basket_id = basket.get("basketId") if isinstance(basket, dict) else None
        if not isinstance(basket_id, int) or basket_id not in by_id:
            return "送付先IDが存在しません。"
        records = basket.get("ShippingModelList")
        if not isinstance(records, list) or not records:
            return "発送情報が指定されていません。"
        pairs.append((by_id[basket_id], records))
    return pairs


@post("/es/2.0/order/updateOrderShipping/")
async def update_order_shipping(request: Request[Any, Any, Any], shop: Shop) -> Response[bytes]:
    refusal = await admit(request, shop, UPDATE_ORDER_SHIPPING)
    if refusal is not None:
        return refusal
    body = await json_body(request)
    if not isinstance(body, dict):
        return _refuse([_error("001", "リクエストの形式が不正です。")])  # [U] code
    number = body.get("orderNumber")
    if not isinstance(number, str) or not ORDER_NUMBER.match(number):
        return _refuse([_error("011", "注文番号の形式が不正です。")])
    order = shop.orders.get(number)
    if order is None:
        return _refuse([_error("002", "注文が存在しません。", orderNumber=number)])  # [U] code
    if order.progress in (800, 900):
        return _refuse(
            [_error("003", "キャンセルされた注文は更新できません。", orderNumber=number)]
        )  # [U] code and rule
    pairs = _baskets(body, order)
    if isinstance(pairs, str):
        return _refuse([_error("011", pairs, orderNumber=number)])
    errors: list[dict[str, Any]] = []
    data_number = 0
    for package, records in pairs:
        added = 0
        for record in records:
            data_number += 1
            errors.extend(_check_record(record, package, data_number, shop))
            if isinstance(record, dict) and record.get("shippingDetailId") is None:
                added += 1
        if len(package.shippings) + added > shop.config.max_shippings_per_basket:
            errors.append(_error("004", "発送情報は20件までです。", orderNumber=number))  # [U]
    if errors:  # validated whole before anything is written
        return _refuse(errors)
    messages = []
    data_number = 0
    for package, records in pairs:
        for record in records:
            data_number += 1
            code, detail_id = _apply(record, package, shop)
            messages.append(
                message(
                    "INFO",
                    f"{_CODE}_INFO_{code}",
                    _DONE[code],
                    dataNumber=data_number,
                    shippingDetailId=detail_id,
                )
            )
    if order.progress in shop.config.shipping_completes_from and any(
        p.shippings for p in order.packages
    ):
        order.progress = 500
        order.shipped_reported_at = shop.now()
    return json_response({"MessageModelList": messages}, 200)
