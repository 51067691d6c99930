"""Who to reach about a repair and where the item goes back. Personal data: stored as one JSON
document (`repairs.contact`) so that anonymising it after the channel's deadline is one update,
and never written to a log line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from oms.shared.bounds import check_text
from oms.shared.errors import InvalidInput

MAX_ADDRESS_LINES = 3
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,19}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_POSTAL = re.compile(r"^([0-9]{3})-?([0-9]{4})$")
_FIELDS = ("name", "kana", "phone", "email", "address_lines", "prefecture", "postal_code")


def parse_contact(raw: Mapping[str, Any], prefix: str = "contact") -> dict[str, Any]:
    """The contact as stored: a name, and whatever else was given, each checked."""

    def where(name: str) -> str:
        return f"{prefix}.{name}"

    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=where(unknown[0]))
    name = _text(raw.get("name"), where("name"), 200)
    if not name:
        raise InvalidInput("a contact needs a name", field=where("name"))
    contact: dict[str, Any] = {"name": name}
    kana = _text(raw.get("kana"), where("kana"), 200)
    if kana:
        contact["kana"] = kana
    phone = _text(raw.get("phone"), where("phone"), 20)
    if phone:
        if not _PHONE.match(phone):
            raise InvalidInput("not a phone number", field=where("phone"))
        contact["phone"] = phone
    email = _text(raw.get("email"), where("email"), 254)
    if email:
        if not _EMAIL.match(email):
            raise InvalidInput("not an e-mail address", field=where("email"))
        contact["email"] = email
    lines = raw.get("address_lines")
    if lines is not None:
        if not isinstance(lines, list) or len(lines) > MAX_ADDRESS_LINES:
            raise InvalidInput(
                f"address_lines is a list of at most {MAX_ADDRESS_LINES} lines",
                field=where("address_lines"),
            )
        kept = [_text(line, f"{where('address_lines')}[{i}]", 300) for i, line in enumerate(lines)]
        contact["address_lines"] = [line for line in kept if line]
    prefecture = raw.get("prefecture")
    if prefecture is not None:
        text = str(prefecture).strip()
        if not (text.isascii() and text.isdecimal() and 1 <= int(text) <= 47):
            raise InvalidInput("prefecture is a JIS code, 01 to 47", field=where("prefecture"))
        contact["prefecture"] = f"{int(text):02d}"
    postal = raw.get("postal_code")
    if postal is not None:
        match = _POSTAL.match(str(postal).strip())
        if not match:
            raise InvalidInput("postal_code is NNN-NNNN", field=where("postal_code"))
        contact["postal_code"] = f"{match[1]}-{match[2]}"
    return contact


def _text(value: Any, where: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("must be text", field=where)
    text = check_text(value.strip(), where)
    if len(text) > limit:
        raise InvalidInput(f"at most {limit} characters", field=where)
    return text or None
