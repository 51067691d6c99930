"""Pulling orders: `searchOrder` for order numbers, then `getOrder` (at most 100 a call) for them.

Rakuten has no "changed since" search. A pull searches by order date (dateType 1) from the
watermark (less an overlap, for orders Rakuten shows late) to now, for new orders; and over the
last `cancel_lookback` for orders in 800/900, for cancellations of older orders. The cursor
(opaque to the sync) holds the watermark and which order numbers were already delivered, and in
which state, so a replay of the same window gives no order twice and a cancellation once.
Windows are at most 63 days; a window with more than the 15,000 reachable results is halved.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from oms.channels.adapters.rakuten.client import CHANNEL, RmsClient, order_api_errors
from oms.channels.sync.domain.errors import ChannelRejected
from oms.channels.sync.domain.model import (
    OrderPull,
    RemoteAddress,
    RemoteOrder,
    RemoteOrderLine,
    RemoteOrderStatus,
)

JST = timezone(timedelta(hours=9))
SEARCH_ORDER = "rpay.order.searchOrder"
GET_ORDER = "rpay.order.getOrder"
ORDER_API = "/es/2.0/order"  # the official samples end each path with a slash

# orderProgress -> what oms does with it. 100-400: before shipment (100 awaits the shop's
# confirmation, but the buyer has ordered: hold the stock now). 500-700: shipped (600/700 are
# payment steps after shipment). 800 awaits the cancel's confirmation: stop shipping already.
PROGRESS_STATUS: Mapping[int, RemoteOrderStatus] = {
    100: RemoteOrderStatus.OPEN,
    200: RemoteOrderStatus.OPEN,
    300: RemoteOrderStatus.OPEN,
    400: RemoteOrderStatus.OPEN,
    500: RemoteOrderStatus.SHIPPED,
    600: RemoteOrderStatus.SHIPPED,
    700: RemoteOrderStatus.SHIPPED,
    800: RemoteOrderStatus.CANCELLED,
    900: RemoteOrderStatus.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class OrderPulling:
    get_order_version: int = 7  # >= 7: SkuModelList (variantId) per item
    page_size: int = 1000
    get_order_batch: int = 100
    max_window: timedelta = timedelta(days=63)
    max_age: timedelta = timedelta(days=730)
    max_reachable: int = 15000
    initial_lookback: timedelta = timedelta(days=7)  # the first pull of a connection
    overlap: timedelta = timedelta(minutes=15)
    cancel_lookback: timedelta = timedelta(days=30)
    cancelled_progress: tuple[int, ...] = (800, 900)
    max_orders_per_pull: int = 500
    progress_status: Mapping[int, RemoteOrderStatus] = field(
        default_factory=lambda: dict(PROGRESS_STATUS)
    )


def rakuten_datetime(value: datetime) -> str:
    """`2026-03-01T10:15:00+0900`: JST, no colon in the offset (searchOrder refuses others)."""
    return value.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S%z")


def parse_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")  # takes +0900 and +09:00
    except ValueError:
        return None


@dataclass(slots=True)
class Cursor:
    watermark: datetime
    known: dict[str, int]  # order number -> order time (epoch s), delivered, in the overlap
    cancelled: dict[str, int]  # delivered as cancelled, within the cancel lookback

    def encode(self) -> str:
        state = {"w": int(self.watermark.timestamp()), "k": self.known, "c": self.cancelled}
        raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        return "r1." + base64.urlsafe_b64encode(raw).decode("ascii")

    @classmethod
    def decode(cls, cursor: str) -> Cursor:
        try:
            if not cursor.startswith("r1."):
                raise ValueError("unknown cursor version")
            state = json.loads(base64.urlsafe_b64decode(cursor[3:].encode("ascii")))
            return cls(
                datetime.fromtimestamp(int(state["w"]), JST),
                {str(k): int(v) for k, v in state["k"].items()},
                {str(k): int(v) for k, v in state["c"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ChannelRejected(CHANNEL, f"not a Rakuten order cursor ({exc})") from None


class OrderReader:
    def __init__(self, client: RmsClient, settings: OrderPulling) -> None:
        self._client = client
        self._settings = settings

    # -- the pull -----------------------------------------------------------------------------

    def pull(self, cursor: str | None, now: datetime) -> OrderPull:
        s = self._settings
        now = now.astimezone(JST).replace(microsecond=0)
        state = (
            Cursor.decode(cursor)
            if cursor
            else Cursor(now - s.initial_lookback, known={}, cancelled={})
        )
        since = state.watermark - s.overlap
        new = [n for n in self.search(since, now) if n not in state.known]
        more = len(new) > s.max_orders_per_pull
        new = new[: s.max_orders_per_pull]
        recheck: list[str] = []
        if s.cancel_lookback > timedelta(0):
            candidates = self.search(now - s.cancel_lookback, now, list(s.cancelled_progress))
            recheck = [n for n in candidates if n not in state.cancelled and n not in new]
        models = self.get_orders(new + recheck)
        rechecked = set(recheck)
        orders = []
        taken = int(state.watermark.timestamp())
        for number in new + recheck:
            model = models.get(number)
            if model is None:  # searched but no longer served (older than 2 years, or gone)
                state.known.setdefault(number, taken)
                continue
            order = self.to_remote(model)
            stamp = int(order.ordered_at.timestamp())
            if number not in rechecked:
                state.known[number] = stamp
                taken = max(taken, stamp)
            if order.status is RemoteOrderStatus.CANCELLED:
                state.cancelled[number] = stamp
            elif number in recheck:
                continue  # moved on from 800/900 since the search: nothing new to tell
            orders.append(order)
        # More to take: resume from the last order taken (searches sort by order time).
        state.watermark = datetime.fromtimestamp(taken, JST) if more else now
        keep_from = int((state.watermark - s.overlap).timestamp())
        state.known = {n: t for n, t in state.known.items() if t >= keep_from}
        cancel_from = int((now - s.cancel_lookback).timestamp())
        state.cancelled = {n: t for n, t in state.cancelled.items() if t >= cancel_from}
        orders.sort(key=lambda o: (o.updated_at, o.external_id))
        return OrderPull(orders=orders, cursor=state.encode(), more=more)

    # -- searchOrder --------------------------------------------------------------------------

    def search(
        self, start: datetime, end: datetime, progress: list[int] | None = None
    ) -> list[str]:
        """Order numbers ordered in [start, end], oldest first, across windows and pages."""
        s = self._settings
        start = max(start, end - s.max_age + timedelta(days=1))
        numbers: list[str] = []
        window_start = start
        while window_start <= end:
            window_end = min(end, window_start + s.max_window - timedelta(seconds=1))
            numbers.extend(self._search_window(window_start, window_end, progress))
            window_start = window_end + timedelta(seconds=1)
        return list(dict.fromkeys(numbers))  # windows share no second, pages may shift

    def _search_window(
        self, start: datetime, end: datetime, progress: list[int] | None
    ) -> list[str]:
        s = self._settings
        numbers: list[str] = []
        page = 1
        while True:
            body = self._search_page(start, end, progress, page)
            pagination = body.get("PaginationResponseModel") or {}
            total = pagination.get("totalRecordsAmount") or 0
            if page == 1 and total > s.max_reachable and end - start > timedelta(seconds=1):
                middle = start + (end - start) / 2
                middle = middle.replace(microsecond=0)
                return self._search_window(start, middle, progress) + self._search_window(
                    middle + timedelta(seconds=1), end, progress
                )
            found = body.get("orderNumberList") or []
            numbers.extend(str(n) for n in found)
            pages = pagination.get("totalPages") or 0
            if not found or page >= pages or page * s.page_size >= s.max_reachable:
                return numbers
            page += 1

    def _search_page(
        self, start: datetime, end: datetime, progress: list[int] | None, page: int
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "dateType": 1,  # order date: the only date every order has
            "startDatetime": rakuten_datetime(start),
            "endDatetime": rakuten_datetime(end),
            "PaginationRequestModel": {
                "requestRecordsAmount": self._settings.page_size,
                "requestPage": page,
                "SortModelList": [{"sortColumn": 1, "sortDirection": 1}],
            },
        }
        if progress:
            request["orderProgressList"] = progress
        _, body = self._client.call(SEARCH_ORDER, "POST", f"{ORDER_API}/searchOrder/", request)
        errors = order_api_errors(body)
        if errors or not isinstance(body, dict):
            raise ChannelRejected(CHANNEL, f"{SEARCH_ORDER}: {_words(errors)}")
        return body

    # -- getOrder -----------------------------------------------------------------------------

    def get_orders(self, numbers: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The OrderModels of `numbers` that Rakuten serves, by number."""
        found: dict[str, dict[str, Any]] = {}
        batch = self._settings.get_order_batch
        for start in range(0, len(numbers), batch):
            request = {
                "orderNumberList": list(numbers[start : start + batch]),
                "version": self._settings.get_order_version,
            }
            _, body = self._client.call(GET_ORDER, "POST", f"{ORDER_API}/getOrder/", request)
            if not isinstance(body, dict):
                raise ChannelRejected(CHANNEL, f"{GET_ORDER}: an answer that is not JSON")
            # ERROR entries naming an order: that order is not served; without: the call failed.
            general = [e for e in order_api_errors(body) if not e.get("orderNumber")]
            if general:
                raise ChannelRejected(CHANNEL, f"{GET_ORDER}: {_words(general)}")
            for model in body.get("OrderModelList") or []:
                if isinstance(model, dict) and isinstance(model.get("orderNumber"), str):
                    found[model["orderNumber"]] = model
        return found

    # -- mapping ------------------------------------------------------------------------------

    def to_remote(self, model: dict[str, Any]) -> RemoteOrder:
        number = model["orderNumber"]
        ordered_at = parse_datetime(model.get("orderDatetime"))
        if ordered_at is None:
            raise ChannelRejected(CHANNEL, f"{GET_ORDER}: order {number} has no orderDatetime")
        status = self._settings.progress_status.get(
            model.get("orderProgress"),  # type: ignore[arg-type]
            RemoteOrderStatus.PENDING,  # a code this adapter does not know: do not act on it
        )
        packages = [p for p in model.get("PackageModelList") or [] if isinstance(p, dict)]
        lines = [_line(item) for p in packages for item in p.get("ItemModelList") or []]
        delivery = model.get("DeliveryModel") or {}
        return RemoteOrder(
            external_id=number,
            status=status,
            ordered_at=ordered_at,
            updated_at=_updated_at(model, ordered_at),
            currency="JPY",
            lines=lines,
            # One recipient per package (送付先); the canonical order has one: the first.
            ship_to=_address(packages[0].get("SenderModel")) if packages else None,
            shipping_method=delivery.get("deliveryName") if isinstance(delivery, dict) else None,
        )


def _words(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e.get('messageCode')} {e.get('message')}" for e in errors)[:300]


def _updated_at(model: dict[str, Any], ordered_at: datetime) -> datetime:
    """Rakuten has no update datetime: the latest of the datetimes an order carries."""
    stamps = [ordered_at]
    for key in (
        "shopOrderCfmDatetime",
        "orderFixDatetime",
        "shippingInstDatetime",
        "shippingCmplRptDatetime",
    ):
        stamps.append(parse_datetime(model.get(key)) or ordered_at)
    for change in model.get("ChangeReasonModelList") or []:
        if isinstance(change, dict):
            for key in ("changeApplyDatetime", "changeFixDatetime"):
                stamps.append(parse_datetime(change.get(key)) or ordered_at)
    return max(stamps)


def _line(item: dict[str, Any]) -> RemoteOrderLine:
    skus = item.get("SkuModelList") or []
    variant = skus[0].get("variantId") if skus and isinstance(skus[0], dict) else None
    price = item.get("priceTaxIncl")
    if not isinstance(price, int) or price < 0:  # -9999: not fixed yet
        price = item.get("price", 0)
    return RemoteOrderLine(
        item_id=str(item["itemDetailId"]),
        remote_sku=str(item.get("manageNumber") or item.get("itemNumber") or ""),
        quantity=int(item.get("units", 0)),
        unit_price=int(price),
        remote_variant=str(variant) if variant else None,
    )


def _address(sender: object) -> RemoteAddress | None:
    if not isinstance(sender, dict):
        return None
    zip1, zip2 = sender.get("zipCode1") or "", sender.get("zipCode2") or ""
    phone = "-".join(str(p) for p in (sender.get(f"phoneNumber{i}") for i in (1, 2, 3)) if p)
    name = " ".join(str(n) for n in (sender.get("familyName"), sender.get("firstName")) if n)
    return RemoteAddress(
        name=name,
        postal_code=f"{zip1}-{zip2}" if zip2 else str(zip1),
        prefecture=str(sender.get("prefecture") or ""),
        city=str(sender.get("city") or ""),
        address1=str(sender.get("subAddress") or ""),
        phone=phone or None,
    )
