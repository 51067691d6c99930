"""Secrets at rest: a connection's secrets are one Fernet token (AES-128-CBC + HMAC-SHA256,
from `cryptography`) of their JSON. The key comes from the settings (`OMS_SECRET_KEY`); without
one, a key file beside the database (`var/secret.key`, mode 0600) is made on first use, so the
embedded default needs no set-up."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class FernetSecretBox:
    def __init__(self, key: bytes | str) -> None:
        self._fernet = Fernet(key)

    def seal(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def open(self, token: str) -> dict[str, str]:
        try:
            opened = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise ValueError("the secrets were sealed with another key") from None
        if not isinstance(opened, dict):
            raise ValueError("the sealed secrets are not an object")
        return {str(k): str(v) for k, v in opened.items()}


def box_for(secret_key: str, key_file: Path) -> FernetSecretBox:
    """The configured key, else the key file (made, readable by its owner only, when absent)."""
    if secret_key:
        return FernetSecretBox(secret_key)
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(descriptor, "wb") as out:
                out.write(Fernet.generate_key())
    return FernetSecretBox(key_file.read_bytes().strip())
