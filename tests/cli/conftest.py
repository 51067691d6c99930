"""Run the `oms` command in-process against the parametrised test database (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from oms.cli import app

Oms = Callable[..., Result]


@pytest.fixture
def oms(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Oms:
    """`oms(*args)` runs the CLI on the test database, which `engine` has just emptied."""
    monkeypatch.setenv("OMS_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return run
