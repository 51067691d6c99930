"""Configuration: config/default.toml, overridden by OMS_* environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from oms.sqlite import Synchronous, resolve_sqlite_path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config" / "default.toml"


def _config_file() -> Path:
    return Path(os.environ.get("OMS_CONFIG_FILE", str(DEFAULT_CONFIG_FILE)))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    database_url: str = "sqlite:///./var/oms.db"
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    bootstrap_admin_key: str = ""
    log_level: str = "INFO"
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_batch_size: int = Field(default=200, ge=1)
    worker_threads: int = Field(default=4, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
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
