"""Personal data as every context names it, and the audit port a reader of it reports to.

The orders API (and later returns and repairs) must record each read of personal data by a
person, but sits below the privacy context that keeps the log: it depends on this port, and
the composition root hands it the privacy context's audit service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class PersonalField(StrEnum):
    """Kinds of personal data. A channel's PII policy lists which of the first seven are
    anonymised; postal code and prefecture are always kept (sourcing, tax and statistics
    need them, and alone they identify nobody)."""

    NAME = "name"
    KANA = "kana"
    PHONE = "phone"
    EMAIL = "email"
    STREET = "street"  # address lines 1 and 2
    CITY = "city"
    NOTES = "notes"  # the buyer's free text: gift notes, return reasons
    POSTAL_CODE = "postal_code"
    PREFECTURE = "prefecture"


# Keys of an address document (orders.ship_to and alike) -> what they are.
# Stands where a required personal text was once anonymised (a name, the first address line).
ANONYMISED = "(anonymised)"

ADDRESS_KEYS: Mapping[str, PersonalField] = {
    "name": PersonalField.NAME,
    "kana": PersonalField.KANA,
    "phone": PersonalField.PHONE,
    "email": PersonalField.EMAIL,
    "address1": PersonalField.STREET,
    "address2": PersonalField.STREET,
    "address_lines": PersonalField.STREET,  # a repair's contact: the street lines as a list
    "city": PersonalField.CITY,
    "postal_code": PersonalField.POSTAL_CODE,
    "prefecture": PersonalField.PREFECTURE,
}


def address_fields(address: Mapping[str, Any] | None) -> frozenset[PersonalField]:
    """The kinds of personal data an address document shows (keys with a value)."""
    if not address:
        return frozenset()
    return frozenset(
        field for key, field in ADDRESS_KEYS.items() if address.get(key) not in (None, "")
    )


class Subject(StrEnum):
    """What was read: the record the personal data belongs to."""

    ORDER = "order"
    SHIPMENT = "shipment"
    RETURN = "return"
    REPAIR = "repair"


@dataclass(frozen=True, slots=True)
class PersonalDataRead:
    """One record's personal data shown to a person: which order it belongs to (the unit the
    deadlines and holds work on) and which kinds of data were shown."""

    order_id: int | None  # None: a record of no order of ours (a repair's proof of purchase)
    fields: frozenset[PersonalField]
    subject: Subject = Subject.ORDER
    subject_id: int | None = None  # the shipment, return or repair; None: the order itself


@dataclass(frozen=True, slots=True)
class Reader:
    """The person who read: the API key's name and role."""

    actor: str
    role: str


# Runtime-checkable: Litestar checks a dependency against its annotation with isinstance.
@runtime_checkable
class PersonalDataAudit(Protocol):
    def record_reads(self, reader: Reader, purpose: str, reads: Sequence[PersonalDataRead]) -> None:
        """Record the reads before the data leaves the process; raises when it cannot (the
        caller then shows nothing)."""
        ...

    def record_reads_within(
        self, transaction: object, reader: Reader, purpose: str, reads: Sequence[PersonalDataRead]
    ) -> None:
        """The same, in the caller's transaction (a unit of work of `oms.uow`), of records it
        has just written: no transaction of its own, and no record is anonymised yet."""
        ...
