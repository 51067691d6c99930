"""Request and response bodies of the inventory API. Pydantic lives here, at the edge only.

Requests check shapes and types (unknown fields, strict integers); the business rules
(positive quantities, known SKUs, check digits) stay in the services, which name the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from oms.http_models import Code, Line, RequestBody, StrictBool, StrictInt
from oms.inventory.domain import (
    MAX_MOVEMENT_QUANTITY,
    Location,
    LocationKind,
    Sku,
    SkuKind,
)
from oms.inventory.services import (
    CreateLocation,
    CreateSku,
    UpdateSku,
)


def _digits_as_text(value: Any) -> Any:
    # A JIS prefecture code is often sent as a number (13); keep the type a plain string.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Reference = Annotated[Line, Field(max_length=200)]
Prefecture = Annotated[
    str,
    BeforeValidator(_digits_as_text),
    Field(max_length=2, json_schema_extra={"pattern": r"^(0?[1-9]|[1-3][0-9]|4[0-7])$"}),
]
# Units of a movement, a reservation or a transfer line; the services refuse 0 and negatives
# where they make no sense (only an adjustment is signed) and name the field.
Units = Annotated[StrictInt, Field(ge=-MAX_MOVEMENT_QUANTITY, le=MAX_MOVEMENT_QUANTITY)]
PositiveUnits = Annotated[StrictInt, Field(ge=1, le=MAX_MOVEMENT_QUANTITY)]
POSTAL_CODE_PATTERN = r"^[0-9]{3}-?[0-9]{4}$"
BARCODE_PATTERN = r"^([0-9]{8}|[0-9]{13})$"
MovementKind = Literal["receipt", "adjustment", "count", "quarantine", "quarantine_release"]


class FromDomain(BaseModel):
    """A response that copies a domain object's attributes (properties included) by name."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, source: object) -> Self:
        return cls.model_validate(source)


# --------------------------------------------------------------------------- locations


class CreateLocationRequest(RequestBody):
    code: Code
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    kind: LocationKind
    prefecture: Prefecture = Field(description="JIS X 0401 code, 01 to 47")
    postal_code: Annotated[
        str,
        Field(
            max_length=8, examples=["270-0000"], json_schema_extra={"pattern": POSTAL_CODE_PATTERN}
        ),
    ]
    ships_to_customers: StrictBool = True
    active: StrictBool = True

    def to_command(self) -> CreateLocation:
        return CreateLocation(
            code=self.code,
            name=self.name,
            kind=self.kind.value,
            prefecture=self.prefecture,
            postal_code=self.postal_code,
            ships_to_customers=self.ships_to_customers,
            active=self.active,
        )


class LocationResponse(BaseModel):
    code: str
    name: str
    kind: LocationKind
    prefecture: str
    postal_code: str
    ships_to_customers: bool
    active: bool
    created_at: datetime | None

    @classmethod
    def of(cls, location: Location) -> LocationResponse:
        return cls(
            code=location.code,
            name=location.name,
            kind=location.kind,
            prefecture=location.prefecture,
            postal_code=location.postal_code,
            ships_to_customers=location.ships_to_customers,
            active=location.active,
            created_at=location.created_at,
        )


# --------------------------------------------------------------------------- SKUs


class ComponentBody(RequestBody):
    sku: Code
    quantity: PositiveUnits


class CreateSkuRequest(RequestBody):
    code: Code
    name: Annotated[Line, Field(min_length=1, max_length=300)]
    kind: SkuKind = SkuKind.SIMPLE
    barcode: str | None = Field(
        default=None,
        description="JAN/EAN-13 or JAN-8 with its check digit",
        json_schema_extra={"pattern": BARCODE_PATTERN},
    )
    attributes: dict[str, Any] = Field(default_factory=dict)
    components: list[ComponentBody] = Field(
        default_factory=list, description="Bundles only: the SKUs one bundle is made of"
    )
    ship_together: StrictBool = True

    def to_command(self) -> CreateSku:
        return CreateSku(
            code=self.code,
            name=self.name,
            kind=self.kind.value,
            barcode=self.barcode or None,
            attributes=self.attributes,
            components=[(c.sku, c.quantity) for c in self.components],
            ship_together=self.ship_together,
        )


class UpdateSkuRequest(RequestBody):
    """Only the fields sent change. `barcode: null` removes the barcode."""

    not_null_fields = frozenset({"name", "attributes", "components", "ship_together"})

    name: Annotated[Line, Field(min_length=1, max_length=300)] | None = None
    barcode: str | None = Field(default=None, json_schema_extra={"pattern": BARCODE_PATTERN})
    attributes: dict[str, Any] | None = Field(default=None, description="Replaces them all")
    components: list[ComponentBody] | None = Field(default=None, description="Replaces them all")
    ship_together: StrictBool | None = None

    def to_command(self, code: str) -> UpdateSku:
        components = self.components
        return UpdateSku(
            code=code,
            name=self.name,
            barcode=self.barcode or None,
            clear_barcode="barcode" in self.model_fields_set and not self.barcode,
            attributes=self.attributes,
            components=None if components is None else [(c.sku, c.quantity) for c in components],
            ship_together=self.ship_together,
        )


class ComponentResponse(BaseModel):
    sku: str
    quantity: int


class SkuResponse(BaseModel):
    code: str
    name: str
    kind: SkuKind
    barcode: str | None
    attributes: dict[str, Any]
    components: list[ComponentResponse]
    ship_together: bool
    created_at: datetime | None

    @classmethod
    def of(cls, sku: Sku) -> SkuResponse:
        return cls(
            code=sku.code,
            name=sku.name,
            kind=sku.kind,
            barcode=sku.barcode,
            attributes=sku.attributes,
            components=[ComponentResponse(sku=c.sku, quantity=c.quantity) for c in sku.components],
            ship_together=sku.ship_together,
            created_at=sku.created_at,
        )


# --------------------------------------------------------------------------- stock


# --------------------------------------------------------------------------- reservations


# --------------------------------------------------------------------------- transfers
