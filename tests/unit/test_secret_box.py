"""Channel credentials at rest: sealed with the settings' key, or with a key file made on first
use; another key cannot open them, and no key shows in a repr."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from oms.channels.sync.adapters.secrets import FernetSecretBox
from oms.channels.sync.domain.errors import SecretKeyUnusable
from oms.settings import Settings

SECRETS = {"client_secret": "amzn-secret-9a9a", "refresh_token": "Atzr|token-8b8b"}


def test_sealed_secrets_open_with_the_same_key_and_hold_no_plaintext() -> None:
    key = Fernet.generate_key().decode()
    token = FernetSecretBox(key).seal(SECRETS)

    assert all(secret not in token for secret in SECRETS.values())
    assert FernetSecretBox(key).open(token) == SECRETS


def test_another_key_cannot_open_them() -> None:
    token = FernetSecretBox(Fernet.generate_key().decode()).seal(SECRETS)

    with pytest.raises(ValueError, match="not sealed with this key"):
        FernetSecretBox(Fernet.generate_key().decode()).open(token)
    with pytest.raises(ValueError, match="not sealed with this key"):
        FernetSecretBox(Fernet.generate_key().decode()).open("not a token at all ✗")


def test_without_a_key_one_is_made_on_first_use_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    key_file = Settings(home=tmp_path).secret_key_file
    box = FernetSecretBox.for_settings("", key_file)
    assert not key_file.exists()  # made on first use, not when the process starts

    token = box.seal(SECRETS)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert FernetSecretBox.for_settings("", key_file).open(token) == SECRETS  # kept, not remade
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]  # no draft left


def test_a_damaged_key_file_is_a_clear_error(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "secret.key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text("not-a-key\n")
    os.chmod(key_file, 0o600)

    with pytest.raises(SecretKeyUnusable, match="not a Fernet key") as refused:
        FernetSecretBox.for_settings("", key_file).seal(SECRETS)
    assert refused.value.field == "secret_key"


def test_no_key_shows_in_a_repr() -> None:
    key = Fernet.generate_key().decode()
    box = FernetSecretBox(key)
    box.seal(SECRETS)  # the key is loaded

    assert key not in repr(box)
    assert key not in repr(Settings(secret_key=key))


def test_a_setting_that_is_not_a_fernet_key_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(secret_key="hunter2-is-not-a-key")  # noqa: S106 (not a key: the point)

    assert "hunter2" not in str(refused.value)
    assert Settings(secret_key="").secret_key.get_secret_value() == ""
