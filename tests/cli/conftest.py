"""Run the `oms` command in-process against the parametrised test database (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from oms.cli import app
from tests.api.conftest import SECRET_KEY

Oms = Callable[..., Result]


@pytest.fixture
def oms(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Oms:
    """`oms(*args)` runs the CLI on the test database, which `engine` has just emptied."""
    monkeypatch.setenv("OMS_DATABASE_URL", database_url)
    # Channel credentials are sealed with this key, never with a key file in the project's var/.
    monkeypatch.setenv("OMS_SECRET_KEY", SECRET_KEY)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return run


def messages(result: Result) -> str:
    """stderr without the line naming the database, which every command prints first."""
    lines = result.stderr.strip().splitlines()
    assert lines, "no output on stderr"
    assert lines[0].startswith("database: "), lines[0]
    return "\n".join(lines[1:])
