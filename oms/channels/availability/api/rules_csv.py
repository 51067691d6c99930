"""HTTP import of channel rules in bulk: `POST /v1/rules/import` with a CSV file as the body.

The body is the file itself, `Content-Type: text/csv`, with `charset=utf-8` or `shift_jis`
when known; without a charset the encoding is recognised (UTF-8 with or without BOM, else
Shift_JIS). The format is `oms.channels.availability.services.rules_csv`'s. Admins only: the file
sets channel rules.

A file with a bad row is a 422 whose `errors` name every bad line and column
(`{"field": "line 3: value", "message": ...}`), and nothing changes. `?dry_run=true` checks the
file against the database and answers what it would do; `?skip_invalid=true` applies the good
rows and lists the others. Every rule change is recorded with the caller's key name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.openapi.spec import RequestBody as OpenAPIRequestBody
from litestar.params import FromQuery, RawBody
from litestar.types import ExceptionHandlersMap
from pydantic import BaseModel, Field

from oms.access import Principal, Role
from oms.channels.availability.domain.rule_rows import (
    LineError,
    RulesEncoding,
    RulesFileInvalid,
    RulesImportStopped,
)
from oms.channels.availability.domain.rules_file import (
    parse_rules_file,
)
from oms.channels.availability.services import rules_csv
from oms.channels.availability.services.channels import ChannelService
from oms.channels.availability.services.rules_csv import (
    RulesImport,
)
from oms.http import PROBLEM_TYPE_BASE, WRITE_PROBLEMS, FieldError, problem
from oms.inventory.services import InventoryService

Channels = NamedDependency[ChannelService]
Inventory = NamedDependency[InventoryService]
Caller = NamedDependency[Principal]  # the authenticated API key; its name is the actor

ADMIN_ONLY: dict[str, Any] = {"roles": frozenset({Role.ADMIN})}
CSV_MEDIA_TYPES = frozenset({"text/csv", "application/csv"})
# Charset labels as clients send them. What Windows calls Shift_JIS is cp932.
CHARSETS = {
    "utf-8": RulesEncoding.UTF8,
    "utf8": RulesEncoding.UTF8,
    "shift_jis": RulesEncoding.SHIFT_JIS,
    "shift-jis": RulesEncoding.SHIFT_JIS,
    "sjis": RulesEncoding.SHIFT_JIS,
    "x-sjis": RulesEncoding.SHIFT_JIS,
    "cp932": RulesEncoding.CP932,
    "windows-31j": RulesEncoding.CP932,
    "ms932": RulesEncoding.CP932,
}


class RulesImportResponse(BaseModel):
    dry_run: bool
    applied: int = Field(description="Rows that changed their rule (a dry run: would change it)")
    unchanged: int = Field(description="Rows whose rule already had their value: not written")
    skipped: int = Field(description="Bad lines left out (with `skip_invalid` only)")
    errors: list[FieldError] = Field(description="Each bad line: `line 3: value` and why")

    @classmethod
    def of(cls, outcome: RulesImport) -> RulesImportResponse:
        return cls(
            dry_run=outcome.dry_run,
            applied=outcome.applied,
            unchanged=outcome.unchanged,
            skipped=len({e.line for e in outcome.errors}),
            errors=[FieldError(field=e.field, message=e.message) for e in outcome.errors],
        )


def _field_errors(errors: list[LineError]) -> list[dict[str, str]]:
    return [{"field": e.field, "message": e.message} for e in errors]


def _invalid_file(_: Request[Any, Any, Any], exc: RulesFileInvalid) -> Response[dict[str, Any]]:
    return problem(
        422,
        exc.title,
        exc.detail,
        type_=PROBLEM_TYPE_BASE + "invalid-input",
        field=exc.field,
        errors=_field_errors(exc.errors),
    )


def _stopped(_: Request[Any, Any, Any], exc: RulesImportStopped) -> Response[dict[str, Any]]:
    return problem(
        409,
        exc.title,
        exc.detail,
        type_=PROBLEM_TYPE_BASE + exc.type_slug,
        field=exc.field,
        errors=_field_errors([exc.error]),
        members=exc.extra,
    )


def _encoding(request: Request[Any, Any, Any]) -> RulesEncoding:
    media_type, options = request.content_type
    if media_type.lower() not in CSV_MEDIA_TYPES:
        raise HTTPException(
            f"the body must be a CSV file (Content-Type: text/csv), not {media_type or 'none'}",
            status_code=415,
        )
    charset = options.get("charset", "").strip().lower()
    if not charset:
        return RulesEncoding.AUTO
    if charset not in CHARSETS:
        raise HTTPException(
            f"charset {charset} is not supported: utf-8 or shift_jis (or leave it out)",
            status_code=415,
        )
    return CHARSETS[charset]


# All of a file's errors, not only the first that `oms.http` would name.
EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    RulesFileInvalid: _invalid_file,
    RulesImportStopped: _stopped,
}


@dataclass
class _CsvUpload(Operation):
    """OpenAPI: the raw body is a CSV file, which Litestar cannot see in a `RawBody`."""

    def __post_init__(self) -> None:
        self.request_body = OpenAPIRequestBody(
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            description="The rules file: rule,channel,sku,location,category,attribute,value",
            required=True,
        )


class RulesImportController(Controller):
    path = "/rules/import"
    tags = ("rules",)

    @post(
        "/",
        opt=ADMIN_ONLY,
        sync_to_thread=True,
        status_code=200,
        responses=WRITE_PROBLEMS,
        exception_handlers=EXCEPTION_HANDLERS,
        operation_class=_CsvUpload,
    )
    def import_rules(
        self,
        request: Request[Any, Any, Any],
        body: RawBody,
        channels: Channels,
        inventory: Inventory,
        principal: Caller,
        dry_run: FromQuery[bool] = False,
        skip_invalid: FromQuery[bool] = False,
    ) -> RulesImportResponse:
        """Set channel rules from a CSV file (the body): one rule per row.

        Columns `rule,channel,sku,location,category,attribute,value` (see the README). Every
        row is checked before any is applied: a bad row is a 422 naming each bad line and
        column, and nothing changes. Importing the same file again changes nothing."""
        parsed = parse_rules_file(body, _encoding(request))
        outcome = rules_csv.import_rules(
            channels,
            inventory,
            parsed,
            actor=principal.name,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )
        return RulesImportResponse.of(outcome)


CONTROLLERS = [RulesImportController]
