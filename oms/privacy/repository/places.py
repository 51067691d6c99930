"""Where personal data lives, as data: the anonymisation job scrubs every place listed here.

A place is a column of a table whose rows belong to one order, directly (`order_key`) or
through a parent row (`via`). Adding a context that keeps personal data is one entry, e.g. the
repairs' contact document below.

What holds none: shipments (location, carrier, tracking number), sourcing decisions (the
destination prefecture only, which is kept), return units, grades and dispositions.
"""

from __future__ import annotations

from dataclasses import dataclass

from oms.shared.personal_data import PersonalField


@dataclass(frozen=True, slots=True)
class Via:
    """Rows found through a parent: `table.key` refers to `parent.id`, which has the order."""

    key: str
    parent: str
    parent_order_key: str = "order_id"


@dataclass(frozen=True, slots=True)
class JsonPlace:
    """A JSON object with address keys (oms.shared.personal_data.ADDRESS_KEYS): those of the
    policy's fields that the document holds are replaced; absent keys stay absent."""

    table: str
    column: str
    order_key: str = "order_id"
    via: Via | None = None


@dataclass(frozen=True, slots=True)
class TextPlace:
    """A text column that is personal data of one kind as a whole (a buyer's note)."""

    table: str
    column: str
    field: PersonalField
    order_key: str = "order_id"
    via: Via | None = None


Place = JsonPlace | TextPlace

SCRUBBED_PLACES: tuple[Place, ...] = (
    JsonPlace("orders", "ship_to", order_key="id"),
    TextPlace("orders", "gift_note", PersonalField.NOTES, order_key="id"),
    # The buyer's words on why an item came back.
    TextPlace("return_lines", "reason_text", PersonalField.NOTES, via=Via("return_id", "returns")),
    # A repair's contact, when the repair names one of our orders (a proof-of-purchase repair
    # has no marketplace order whose deadline would apply).
    JsonPlace("repairs", "contact"),
)


@dataclass(frozen=True, slots=True)
class DerivedOrders:
    """Orders made from another order's personal data: an exchange or a replacement ships to
    the original buyer's address, possibly on another channel (a return policy's exchange
    channel). They follow the original order's channel policy as well as their own, so a
    marketplace buyer's address copied into a storefront order still goes at the
    marketplace's deadline (counted from the derived order's own parcel)."""

    table: str
    order_column: str  # the derived order's id
    via: Via  # how a row finds the original order


DERIVED_ORDERS: tuple[DerivedOrders, ...] = (
    DerivedOrders("return_lines", "resolution_order_id", Via("return_id", "returns")),
)
