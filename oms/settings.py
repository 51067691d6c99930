"""Configuration: config/default.toml, overridden by OMS_* environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from oms.sqlite import Synchronous, resolve_sqlite_path

# Channels resend what they did not see acknowledged (a sync job retrying a push, an order
# feed polled with overlapping windows) for a few days at most. An idempotency record must
# outlive any such resend, or a late retry would be applied a second time.
CHANNEL_RESEND_WINDOW = timedelta(days=7)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config" / "default.toml"


def _config_file() -> Path:
    return Path(os.environ.get("OMS_CONFIG_FILE", str(DEFAULT_CONFIG_FILE)))


class Settings(BaseSettings):
    # Errors never repeat the value: a secret key or a database URL's password would show.
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore", hide_input_in_errors=True)

    database_url: str = "sqlite:///./var/oms.db"
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    bootstrap_admin_key: str = ""
    log_level: str = "INFO"
    # An idle relay looks for new events this often: part of every change's way to a channel.
    outbox_poll_seconds: float = Field(default=0.1, gt=0)
    # An idle Dramatiq consumer looks at its queue this often (Dramatiq's default is 1 s, a
    # second added to a push kicked onto an idle queue).
    worker_idle_poll_ms: int = Field(default=100, ge=10, le=60_000)
    outbox_batch_size: int = Field(default=200, ge=1)
    worker_threads: int = Field(default=4, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    # Retention of handled outbox events and of idempotency records (the ledger stays).
    outbox_retention: timedelta = timedelta(days=7)
    idempotency_retention: timedelta = timedelta(days=30)
    prune_interval_seconds: float = Field(default=3600, gt=0)
    prune_batch_size: int = Field(default=1000, ge=1, le=100_000)
    # The PII anonymisation (oms.privacy): orders per transaction, and how often a process
    # looks whether the daily run is due (it runs when the last daily run is a day old).
    pii_batch_size: int = Field(default=2000, ge=1, le=20_000)
    pii_check_interval_seconds: float = Field(default=3600, gt=0)

    # The key that seals channel credentials at rest (a Fernet key). Empty: a key file,
    # `var/secret.key` under `home`, made on first use.
    secret_key: SecretStr = SecretStr("")

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw:
            try:
                Fernet(raw)
            except ValueError:
                raise ValueError(
                    "must be a Fernet key: 32 url-safe base64-encoded bytes "
                    "(python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())')"
                ) from None
        return value

    @property
    def secret_key_file(self) -> Path:
        return self.home / "var" / "secret.key"

    @field_validator("outbox_retention")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be positive")
        return value

    @field_validator("idempotency_retention")
    @classmethod
    def _outlives_resends(cls, value: timedelta) -> timedelta:
        if value < CHANNEL_RESEND_WINDOW:
            raise ValueError(
                f"must be at least {CHANNEL_RESEND_WINDOW.days} days, longer than any "
                "channel's resend window"
            )
        return value

    # FULL: a commit is on disk when acknowledged. NORMAL is faster but a power loss may
    # drop the last commits (see `make bench`, durability).
    sqlite_synchronous: Synchronous = Synchronous.FULL
    # Relative SQLite paths in database_url are taken from here (default: the project root),
    # never from the folder a command runs in.
    home: Path = PROJECT_ROOT

    @model_validator(mode="after")
    def _absolute_database_path(self) -> Settings:
        self.database_url = resolve_sqlite_path(self.database_url, self.home)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
