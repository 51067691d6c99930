"""HTTP API of the inventory: thin handlers, one service call each.

Handlers are sync (the services use sync SQLAlchemy sessions) and run in a worker thread.
Errors are mapped to problem details in `oms.http`; roles are checked by its guard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from oms.access import INVENTORY_WRITERS, Principal
from oms.http import (
    READ_PROBLEMS,
    REPLAYED_HEADER,
    WRITE_PROBLEMS,
    Cursor,
    Id,
    Limit,
    OptionalKey,
    PageResponse,
    RequiredKey,
)
from oms.inventory.api.schemas import (
    CreateLocationRequest,
    CreateSkuRequest,
    LocationResponse,
    SkuResponse,
    UpdateSkuRequest,
)
from oms.inventory.api.stock_schemas import (
    CreateTransferRequest,
    MovementResponse,
    MovementResultResponse,
    ReceiveTransferRequest,
    RecordMovementRequest,
    ReservationResponse,
    ReserveStockRequest,
    SkuStockResponse,
    StockLevelResponse,
    TransferResponse,
)
from oms.inventory.domain import SkuKind
from oms.inventory.services import InventoryService
from oms.shared.errors import InvalidInput

BodyT = TypeVar("BodyT")
Inventory = NamedDependency[InventoryService]
Caller = NamedDependency[Principal]  # the authenticated API key; its name is the actor

WRITE: dict[str, Any] = {"roles": INVENTORY_WRITERS}


def _replay_responses(body: type[Any]) -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(
            data_container=body,
            description=f"Replay of an earlier request with this Idempotency-Key "
            f"(header `{REPLAYED_HEADER}: true`); nothing changed",
        ),
        **WRITE_PROBLEMS,
    }


def _created(body: BodyT, *, replayed: bool) -> Response[BodyT]:
    if replayed:
        return Response(body, status_code=200, headers={REPLAYED_HEADER: "true"})
    return Response(body, status_code=201)


class LocationController(Controller):
    path = "/locations"
    tags = ("locations",)

    @post("/", opt=WRITE, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def create_location(
        self, data: JSONBody[CreateLocationRequest], inventory: Inventory
    ) -> LocationResponse:
        return LocationResponse.of(inventory.create_location(data.to_command()))

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_locations(
        self, inventory: Inventory, cursor: Cursor = None, limit: Limit = 100
    ) -> PageResponse[LocationResponse]:
        page = inventory.list_locations(cursor, limit)
        return PageResponse(
            items=[LocationResponse.of(x) for x in page.items], next_cursor=page.next_cursor
        )

    @get("/{code:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_location(self, code: FromPath[str], inventory: Inventory) -> LocationResponse:
        return LocationResponse.of(inventory.get_location(code))


class SkuController(Controller):
    path = "/skus"
    tags = ("skus",)

    @post("/", opt=WRITE, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def create_sku(self, data: JSONBody[CreateSkuRequest], inventory: Inventory) -> SkuResponse:
        return SkuResponse.of(inventory.create_sku(data.to_command()))

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_skus(
        self,
        inventory: Inventory,
        cursor: Cursor = None,
        limit: Limit = 100,
        kind: FromQuery[SkuKind | None] = None,
    ) -> PageResponse[SkuResponse]:
        page = inventory.list_skus(cursor, limit, kind.value if kind else None)
        return PageResponse(
            items=[SkuResponse.of(x) for x in page.items], next_cursor=page.next_cursor
        )

    @get("/{code:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_sku(self, code: FromPath[str], inventory: Inventory) -> SkuResponse:
        return SkuResponse.of(inventory.get_sku(code))

    @patch("/{code:str}", opt=WRITE, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def update_sku(
        self, code: FromPath[str], data: JSONBody[UpdateSkuRequest], inventory: Inventory
    ) -> SkuResponse:
        return SkuResponse.of(inventory.update_sku(data.to_command(code)))


class StockController(Controller):
    path = "/stock"
    tags = ("stock",)

    @post(
        "/movements",
        opt=WRITE,
        sync_to_thread=True,
        status_code=201,
        responses=_replay_responses(MovementResultResponse),
    )
    def record_movement(
        self,
        data: JSONBody[RecordMovementRequest],
        idempotency_key: RequiredKey,
        inventory: Inventory,
        principal: Caller,
    ) -> Response[MovementResultResponse]:
        """Receipt, adjustment (signed, with a reason), count, quarantine or its release."""
        result = inventory.record_movement(
            data.to_command(idempotency_key, principal.name, principal.client)
        )
        return _created(MovementResultResponse.of(result), replayed=result.replayed)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_levels(
        self,
        inventory: Inventory,
        sku: FromQuery[str | None] = None,
        location: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> PageResponse[StockLevelResponse]:
        page = inventory.stock_levels(sku or None, location or None, cursor, limit)
        return PageResponse(
            items=[StockLevelResponse.of(x) for x in page.items], next_cursor=page.next_cursor
        )

    @get("/ledger", sync_to_thread=True, responses=READ_PROBLEMS)
    def ledger(
        self,
        inventory: Inventory,
        sku: FromQuery[str | None] = None,
        location: FromQuery[str | None] = None,
        cursor: Cursor = None,
        before: Annotated[
            str | None,
            QueryParameter(
                description="Deprecated: the old name of `cursor`, still understood so that "
                "a client that sends it does not get page 1 again (and loop for ever).",
            ),
        ] = None,
        limit: Limit = 100,
    ) -> PageResponse[MovementResponse]:
        """Movements, newest first, paged like every list: pass `next_cursor` as `cursor`."""
        if cursor is not None and before is not None and cursor != before:
            raise InvalidInput("give cursor or before (its old name), not both", field="before")
        page = inventory.ledger(
            sku or None,
            location or None,
            cursor if cursor is not None else before,
            limit,
            cursor_field="cursor" if cursor is not None else "before",
        )
        return PageResponse(
            items=[MovementResponse.of(x) for x in page.items], next_cursor=page.next_cursor
        )

    @get("/{sku:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def sku_stock(self, sku: FromPath[str], inventory: Inventory) -> SkuStockResponse:
        return SkuStockResponse.of(inventory.sku_stock(sku))

    @get("/{sku:str}/as-of", sync_to_thread=True, responses=READ_PROBLEMS)
    def stock_as_of(
        self,
        sku: FromPath[str],
        at: Annotated[
            datetime, QueryParameter(description="ISO 8601; without an offset it is UTC")
        ],
        inventory: Inventory,
    ) -> SkuStockResponse:
        """The stock as the ledger says it was at `at`."""
        return SkuStockResponse.of(inventory.stock_as_of(sku, at))


class ReservationController(Controller):
    path = "/reservations"
    tags = ("reservations",)

    @post(
        "/",
        opt=WRITE,
        sync_to_thread=True,
        status_code=201,
        responses=_replay_responses(ReservationResponse),
    )
    def reserve(
        self,
        data: JSONBody[ReserveStockRequest],
        inventory: Inventory,
        principal: Caller,
        idempotency_key: OptionalKey = None,
    ) -> Response[ReservationResponse]:
        """All lines or none: 409 names the short lines when stock is insufficient."""
        result = inventory.reserve(
            data.to_command(idempotency_key, principal.name, principal.client)
        )
        return _created(ReservationResponse.of(result.reservation), replayed=result.replayed)

    @get("/{reservation_id:int}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_reservation(self, reservation_id: Id, inventory: Inventory) -> ReservationResponse:
        return ReservationResponse.of(inventory.get_reservation(reservation_id))

    @delete(
        "/{reservation_id:int}",
        opt=WRITE,
        sync_to_thread=True,
        status_code=200,
        responses=WRITE_PROBLEMS,
    )
    def release(
        self, reservation_id: Id, inventory: Inventory, principal: Caller
    ) -> ReservationResponse:
        """Give the reserved units back; releasing twice is harmless."""
        return ReservationResponse.of(inventory.release(reservation_id, principal.name))


class TransferController(Controller):
    path = "/transfers"
    tags = ("transfers",)

    @post(
        "/",
        opt=WRITE,
        sync_to_thread=True,
        status_code=201,
        responses=_replay_responses(TransferResponse),
    )
    def create_transfer(
        self,
        data: JSONBody[CreateTransferRequest],
        inventory: Inventory,
        principal: Caller,
        idempotency_key: OptionalKey = None,
    ) -> Response[TransferResponse]:
        """A draft: nothing moves until it ships."""
        result = inventory.create_transfer(
            data.to_command(idempotency_key, principal.name, principal.client)
        )
        return _created(TransferResponse.of(result.transfer), replayed=result.replayed)

    @get("/{transfer_id:int}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_transfer(self, transfer_id: Id, inventory: Inventory) -> TransferResponse:
        return TransferResponse.of(inventory.get_transfer(transfer_id))

    @post(
        "/{transfer_id:int}/ship",
        opt=WRITE,
        sync_to_thread=True,
        status_code=200,
        responses=WRITE_PROBLEMS,
    )
    def ship_transfer(
        self,
        transfer_id: Id,
        inventory: Inventory,
        principal: Caller,
        idempotency_key: OptionalKey = None,
    ) -> Response[TransferResponse]:
        """Source on_hand goes down, destination in_transit up."""
        result = inventory.ship_transfer(
            transfer_id, idempotency_key, principal.name, principal.client
        )
        return _replayable(TransferResponse.of(result.transfer), replayed=result.replayed)

    @post(
        "/{transfer_id:int}/receive",
        opt=WRITE,
        sync_to_thread=True,
        status_code=200,
        responses=WRITE_PROBLEMS,
    )
    def receive_transfer(
        self,
        transfer_id: Id,
        data: JSONBody[ReceiveTransferRequest],
        inventory: Inventory,
        principal: Caller,
        idempotency_key: OptionalKey = None,
    ) -> Response[TransferResponse]:
        """Book what arrived; with `close`, what did not is written off as a shortfall."""
        command = data.to_command(transfer_id, idempotency_key, principal.name, principal.client)
        result = inventory.receive_transfer(command)
        return _replayable(TransferResponse.of(result.transfer), replayed=result.replayed)

    @post(
        "/{transfer_id:int}/cancel",
        opt=WRITE,
        sync_to_thread=True,
        status_code=200,
        responses=WRITE_PROBLEMS,
    )
    def cancel_transfer(self, transfer_id: Id, inventory: Inventory) -> TransferResponse:
        return TransferResponse.of(inventory.cancel_transfer(transfer_id))


def _replayable(body: BodyT, *, replayed: bool) -> Response[BodyT]:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return Response(body, status_code=200, headers=headers)


CONTROLLERS = [
    LocationController,
    SkuController,
    StockController,
    ReservationController,
    TransferController,
]
