"""What anonymised data looks like. Set-based SQL writes these values (see
`oms.privacy.repository.places`); `anonymised_address` is the same rule on one document, for
the tests to hold the SQL to."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from oms.shared.personal_data import ADDRESS_KEYS, ANONYMISED, PersonalField

# Stands where a required text was (a name, the first address line): readers and printed
# slips show it instead of the person.
PLACEHOLDER = ANONYMISED

# Keys that are optional in an address document: anonymised to null rather than to a
# placeholder (an empty second address line stays empty on a slip).
OPTIONAL_KEYS = frozenset({"address2", "phone", "email", "kana"})


def replacement(key: str) -> str | list[str] | None:
    if key == "address_lines":  # a list stays a list: readers expect one
        return [PLACEHOLDER]
    return None if key in OPTIONAL_KEYS else PLACEHOLDER


def anonymised_address(
    address: Mapping[str, Any], fields: Collection[PersonalField]
) -> dict[str, Any]:
    """The address with the keys of `fields` replaced (keys it does not hold stay absent)."""
    return {
        key: (replacement(key) if ADDRESS_KEYS.get(key) in fields else value)
        for key, value in address.items()
    }


def anonymised_text(value: str | None) -> str | None:
    """A free text (gift note, return reason): gone, but one that was there says so."""
    return None if value is None else PLACEHOLDER
