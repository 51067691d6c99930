"""HTTP API of the channels: channels, and the rules that shape what each is told.

Thin handlers, one service call each; errors become problem details in `oms.http`. A rule is
removed by `PUT`ting it with a null value (`{"quantity": null}`), so setting and removing are
the same idempotent request; exclusions are added with `POST` and removed with `DELETE`.
Admins write; safety stock may also be set by the warehouse; every role reads.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from oms.access import INVENTORY_WRITERS, Principal, Role
from oms.channels.availability.api.availability_schemas import (
    AvailabilityChangesResponse,
    AvailabilityExplanationResponse,
    ChannelAvailabilityResponse,
)
from oms.channels.availability.api.schemas import (
    BufferResponse,
    CapResponse,
    ChannelResponse,
    ChannelRulesResponse,
    CreateChannelRequest,
    DefaultSafetyStockResponse,
    ExclusionRequest,
    ExclusionResponse,
    PoolResponse,
    RuleChangeResponse,
    SafetyStockResponse,
    SetBufferRequest,
    SetCapRequest,
    SetDefaultSafetyStockRequest,
    SetPoolRequest,
    SetSafetyStockRequest,
    SetShareRequest,
    ShareResponse,
    UpdateChannelRequest,
)
from oms.channels.availability.domain.model import PIPELINE_VERSION
from oms.channels.availability.domain.rules import Exclusion
from oms.channels.availability.services.changes import (
    DEFAULT_CHANGES_PAGE,
    MAX_CHANGES_PAGE,
    AvailabilityChanges,
)
from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.read_path import ChannelAvailabilityService
from oms.http import READ_PROBLEMS, WRITE_PROBLEMS, Cursor, Limit, PageResponse, SmallId
from oms.shared.errors import InvalidInput

Channels = NamedDependency[ChannelService]
Availability = NamedDependency[ChannelAvailabilityService]
Changes = NamedDependency[AvailabilityChanges]
Caller = NamedDependency[Principal]  # the authenticated API key; its name is the actor

ADMIN_WRITES: dict[str, Any] = {"roles": frozenset({Role.ADMIN})}
STOCK_WRITES: dict[str, Any] = {"roles": INVENTORY_WRITERS}


class ChannelController(Controller):
    path = "/channels"
    tags = ("channels",)

    @post("/", opt=ADMIN_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def create_channel(
        self, data: JSONBody[CreateChannelRequest], channels: Channels
    ) -> ChannelResponse:
        """Every feeding location must exist (422 names `locations[i]`); a taken code is 409."""
        return ChannelResponse.of(channels.create_channel(data.to_command()))

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_channels(
        self, channels: Channels, cursor: Cursor = None, limit: Limit = 100
    ) -> PageResponse[ChannelResponse]:
        page = channels.list_channels(cursor, limit)
        return PageResponse(
            items=[ChannelResponse.of(x) for x in page.items], next_cursor=page.next_cursor
        )

    @get("/{code:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def get_channel(self, code: FromPath[str], channels: Channels) -> ChannelResponse:
        return ChannelResponse.of(channels.get_channel(code))

    @patch("/{code:str}", opt=ADMIN_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def update_channel(
        self, code: FromPath[str], data: JSONBody[UpdateChannelRequest], channels: Channels
    ) -> ChannelResponse:
        """Only the fields sent change; `locations` replaces the feeding locations whole."""
        return ChannelResponse.of(channels.update_channel(data.to_command(code)))


class ChannelRulesController(Controller):
    path = "/channels/{code:str}/rules"
    tags = ("rules",)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def channel_rules(self, code: FromPath[str], channels: Channels) -> ChannelRulesResponse:
        """Every rule of the channel in one document."""
        return ChannelRulesResponse.of(channels.channel_rules(code))

    @get("/exclusions", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_exclusions(self, code: FromPath[str], channels: Channels) -> list[ExclusionResponse]:
        return [ExclusionResponse.of(x) for x in channels.channel_rules(code).exclusions]

    @post("/exclusions", opt=ADMIN_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def add_exclusion(
        self,
        code: FromPath[str],
        data: JSONBody[ExclusionRequest],
        channels: Channels,
        principal: Caller,
    ) -> ExclusionResponse:
        """A SKU, an attribute value (`{"attribute": "category", "value": "outer"}`) or a
        location the channel never sells from. Adding one it has already returns it."""
        exclusion = Exclusion.of(
            data.kind.value,
            sku=data.sku,
            attribute=data.attribute,
            value=data.value,
            location=data.location,
        )
        return ExclusionResponse.of(channels.add_exclusion(code, exclusion, principal.name))

    @delete(
        "/exclusions/{exclusion_id:int}",
        opt=ADMIN_WRITES,
        sync_to_thread=True,
        status_code=200,
        responses=WRITE_PROBLEMS,
    )
    def remove_exclusion(
        self,
        code: FromPath[str],
        exclusion_id: SmallId,
        channels: Channels,
        principal: Caller,
    ) -> ExclusionResponse:
        """Remove an exclusion by the `id` it was answered with; answers what was removed."""
        return ExclusionResponse.of(channels.remove_exclusion(code, exclusion_id, principal.name))

    @put("/pools/{sku:str}", opt=ADMIN_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_pool(
        self,
        code: FromPath[str],
        sku: FromPath[str],
        data: JSONBody[SetPoolRequest],
        channels: Channels,
        principal: Caller,
    ) -> PoolResponse:
        """Ring-fence units for this channel; `{"quantity": null}` removes the pool.

        A pool larger than the SKU's physical available at the channel's feeding locations is
        refused (422 naming `quantity`)."""
        pool = channels.set_pool(code, sku, data.quantity, principal.name)
        return PoolResponse.of(pool) if pool else PoolResponse(sku=sku, quantity=None)

    @put("/buffers", opt=ADMIN_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_buffer(
        self,
        code: FromPath[str],
        data: JSONBody[SetBufferRequest],
        channels: Channels,
        principal: Caller,
    ) -> BufferResponse:
        """Units held back per SKU (`key` is the SKU), per category (`key` is the category) or
        by default (no `key`); `{"units": null}` removes the buffer."""
        buffer = channels.set_buffer(code, data.scope.value, data.key, data.units, principal.name)
        if buffer is None:
            return BufferResponse(scope=data.scope, key=data.key, units=None)
        return BufferResponse.of(buffer)

    @put("/share", opt=ADMIN_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_share(
        self,
        code: FromPath[str],
        data: JSONBody[SetShareRequest],
        channels: Channels,
        principal: Caller,
    ) -> ShareResponse:
        """A percentage (0-100) of the shared remainder, for one SKU or (no `sku`) by default;
        `{"percent": null}` removes it."""
        share = channels.set_share(code, data.sku, data.percent, principal.name)
        return ShareResponse.of(share) if share else ShareResponse(sku=data.sku, percent=None)

    @put("/caps", opt=ADMIN_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_cap(
        self,
        code: FromPath[str],
        data: JSONBody[SetCapRequest],
        channels: Channels,
        principal: Caller,
    ) -> CapResponse:
        """At most `cap` units published, for one SKU or (no `sku`) by default;
        `{"cap": null}` removes it."""
        cap = channels.set_cap(code, data.sku, data.cap, principal.name)
        return CapResponse.of(cap) if cap else CapResponse(sku=data.sku, cap=None)


class RulesController(Controller):
    path = "/rules"
    tags = ("rules",)

    @put("/safety-stock", opt=STOCK_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_safety_stock(
        self, data: JSONBody[SetSafetyStockRequest], channels: Channels, principal: Caller
    ) -> SafetyStockResponse:
        """Units of a SKU kept back at a location; `{"quantity": null}` removes the rule, so
        the location's default applies again."""
        rule = channels.set_safety_stock(data.sku, data.location, data.quantity, principal.name)
        if rule is None:
            return SafetyStockResponse(sku=data.sku, location=data.location, quantity=None)
        return SafetyStockResponse.of(rule)

    @put("/safety-stock/default", opt=STOCK_WRITES, sync_to_thread=True, responses=WRITE_PROBLEMS)
    def set_default_safety_stock(
        self, data: JSONBody[SetDefaultSafetyStockRequest], channels: Channels, principal: Caller
    ) -> DefaultSafetyStockResponse:
        """Safety stock of every SKU at a location without its own; null removes it."""
        rule = channels.set_default_safety_stock(data.location, data.quantity, principal.name)
        if rule is None:
            return DefaultSafetyStockResponse(location=data.location, quantity=None)
        return DefaultSafetyStockResponse.of(rule)

    @get("/safety-stock", sync_to_thread=True, responses=READ_PROBLEMS)
    def safety_stocks(
        self,
        channels: Channels,
        sku: FromQuery[str | None] = None,
        location: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> PageResponse[SafetyStockResponse]:
        """Per-(SKU, location) safety stock, by SKU then location."""
        page = channels.safety_stocks(sku or None, location or None, cursor, limit)
        return PageResponse(
            items=[SafetyStockResponse.of(x) for x in page.items], next_cursor=page.next_cursor
        )

    @get("/safety-stock/default", sync_to_thread=True, responses=READ_PROBLEMS)
    def default_safety_stocks(self, channels: Channels) -> list[DefaultSafetyStockResponse]:
        return [DefaultSafetyStockResponse.of(x) for x in channels.default_safety_stocks()]

    @get("/changes", sync_to_thread=True, responses=READ_PROBLEMS)
    def rule_changes(
        self,
        channels: Channels,
        channel: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> PageResponse[RuleChangeResponse]:
        """Every rule change, newest first: who, when, the value before and after (null: no
        rule). Safety stock changes have no channel."""
        page = channels.rule_changes(channel or None, cursor, limit)
        return PageResponse(
            items=[RuleChangeResponse.of(x) for x in page.items], next_cursor=page.next_cursor
        )


class ChannelAvailabilityController(Controller):
    path = "/channels/{code:str}/availability"
    tags = ("availability",)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def channel_availability(
        self,
        code: FromPath[str],
        availability: Availability,
        changes: Changes,
        sku: FromQuery[list[str] | None] = None,
        changed_since: FromQuery[str | None] = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_CHANGES_PAGE, description="Page size of changes")
        ] = DEFAULT_CHANGES_PAGE,
    ) -> ChannelAvailabilityResponse | AvailabilityChangesResponse:
        """Either the number the channel is told for each SKU asked (`?sku=A&sku=B`, at most
        100; an unknown SKU is a 422 naming `sku`; an inactive channel is told 0), or, with
        `?changed_since=CURSOR`, every SKU whose number changed since the cursor, oldest change
        first, with `next_cursor` for the next call (`changed_since=0`: every number not 0).
        When `more` is true the page was full: call again at once with `next_cursor`. `limit`
        (1 to 1000, default 500) bounds a page of changes."""
        if (sku is None) == (changed_since is None):
            raise InvalidInput(
                "ask for sku=... or for changed_since=CURSOR, not both or neither",
                field="sku",
            )
        if changed_since is not None:
            return AvailabilityChangesResponse.of(
                PIPELINE_VERSION, changes.changed_since(code, changed_since, limit)
            )
        found = availability.channel_availability(code, sku or [])
        return ChannelAvailabilityResponse.of(code, PIPELINE_VERSION, found)

    @get("/{sku:str}/explain", sync_to_thread=True, responses=READ_PROBLEMS)
    def explain_availability(
        self, code: FromPath[str], sku: FromPath[str], availability: Availability
    ) -> AvailabilityExplanationResponse:
        """Why the channel is told this number: each step of the pipeline with the rule that
        applied, its input and output, per location; `available` is the last step's output."""
        return AvailabilityExplanationResponse.of(availability.explain(code, sku))


CONTROLLERS = [
    ChannelController,
    ChannelRulesController,
    ChannelAvailabilityController,
    RulesController,
]
