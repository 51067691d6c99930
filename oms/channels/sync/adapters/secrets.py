"""Channel credentials at rest: `FernetSecretBox` seals a connection's secrets with Fernet
(AES-128-CBC with an HMAC-SHA256, from `cryptography`).

The key is the settings' `secret_key` (OMS_SECRET_KEY). When it is empty, the key is kept in
`var/secret.key` under the settings' `home`, made on first use with mode 0600, so that the
embedded default works with no set-up. Whoever keeps the database without that key cannot read
the credentials; whoever loses the key must enter them again.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from oms.channels.sync.domain.errors import SecretKeyUnusable


class FernetSecretBox:
    """`SecretBox` over one Fernet key, given or read from (made in) a key file on first use."""

    def __init__(self, key: bytes | str | None = None, *, key_file: Path | None = None) -> None:
        if key is None and key_file is None:
            raise ValueError("a key or a key file is needed")
        self._key = key.decode("ascii") if isinstance(key, bytes) else key
        self._key_file = key_file
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, secret_key: str, key_file: Path) -> FernetSecretBox:
        """The configured key, else the key file (`Settings.secret_key_file`)."""
        if secret_key:
            return cls(secret_key)
        return cls(key_file=key_file)

    def __repr__(self) -> str:
        # Never the key; the file's path says where it is kept.
        where = str(self._key_file) if self._key is None else "OMS_SECRET_KEY"
        return f"FernetSecretBox(key from {where})"

    def seal(self, secrets: dict[str, str]) -> str:
        payload = json.dumps(secrets, sort_keys=True, separators=(",", ":")).encode()
        return self._box().encrypt(payload).decode("ascii")

    def open(self, token: str) -> dict[str, str]:
        try:
            payload = self._box().decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise ValueError("the secrets were not sealed with this key") from None
        found = json.loads(payload)
        if not isinstance(found, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in found.items()
        ):
            raise ValueError("the sealed secrets are not a set of named texts")
        return found

    def _box(self) -> Fernet:
        with self._lock:
            if self._fernet is None:
                key = self._key if self._key is not None else self._file_key()
                try:
                    self._fernet = Fernet(key.encode("ascii"))
                except (ValueError, UnicodeEncodeError):
                    where = self._key_file if self._key is None else "OMS_SECRET_KEY"
                    raise SecretKeyUnusable(
                        f"the secret key in {where} is not a Fernet key (32 bytes in URL-safe "
                        "base64): restore the key the channel connections were written with"
                    ) from None
            return self._fernet

    def _file_key(self) -> str:
        path = self._key_file
        assert path is not None  # noqa: S101 (the constructor saw to it)
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError) as error:
            raise SecretKeyUnusable(
                f"the secret key file {path} cannot be read ({type(error).__name__}): make it "
                "readable by oms, or set OMS_SECRET_KEY"
            ) from None
        return _make_key_file(path)


def _make_key_file(path: Path) -> str:
    """Write a new key where none is; when another process made one first, use that one.

    The key is written whole to a file of this process, then linked to its name: a process
    starting at the same moment sees either no key file or a complete one, never half of one.
    """
    key = Fernet.generate_key()
    draft = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key + b"\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)  # fails when the name is taken: no key is ever replaced
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
    except OSError as error:
        raise SecretKeyUnusable(
            f"the secret key file {path} cannot be made ({type(error).__name__}): set "
            "OMS_SECRET_KEY, or make its folder writable by oms"
        ) from None
    finally:
        draft.unlink(missing_ok=True)
    return key.decode("ascii")
