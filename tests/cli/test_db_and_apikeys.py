from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from typer.testing import CliRunner

from oms.access import authenticate
from oms.cli import app
from oms.db import make_engine, make_session_factory
from tests.cli.conftest import Oms, messages


def test_db_upgrade_creates_var_and_the_schema_on_a_fresh_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_HOME", str(tmp_path))  # a fresh checkout's project root
    monkeypatch.delenv("OMS_DATABASE_URL", raising=False)  # the default: sqlite:///./var/oms.db
    runner = CliRunner()

    first = runner.invoke(app, ["db", "upgrade"])
    second = runner.invoke(app, ["db", "upgrade"])

    assert first.exit_code == 0, first.output
    assert "upgraded from empty to" in first.stdout
    assert second.exit_code == 0, second.output
    assert "is up to date" in second.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'oms.db'}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"skus", "locations", "movements", "stock_levels", "api_keys"} <= tables


def test_every_command_uses_the_same_database_whatever_folder_it_runs_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, elsewhere = tmp_path / "oms", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.setenv("OMS_HOME", str(home))
    monkeypatch.delenv("OMS_DATABASE_URL", raising=False)  # the default: sqlite:///./var/oms.db
    runner = CliRunner()
    monkeypatch.chdir(home)
    upgraded = runner.invoke(app, ["db", "upgrade"])
    created = runner.invoke(app, ["apikey", "create", "--name", "chiba-dc", "--role", "warehouse"])

    monkeypatch.chdir(elsewhere)
    revoked = runner.invoke(app, ["apikey", "revoke", "1"])
    verified = runner.invoke(app, ["inventory", "verify"])

    database = f"database: sqlite:///{home / 'var' / 'oms.db'}"
    for result in (upgraded, created, revoked, verified):
        assert result.exit_code == 0, result.output
        assert database in result.stderr  # each command names the database it uses
    assert "Revoked API key 1" in revoked.stdout  # the key made from the other folder
    assert not (elsewhere / "var").exists()


def test_apikey_create_prints_once_a_key_that_authenticates(oms: Oms, engine: Engine) -> None:
    result = oms("apikey", "create", "--name", "chiba-dc", "--role", "warehouse")

    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert "not shown again" in result.stderr
    principal = authenticate(make_session_factory(engine), key, bootstrap_admin_key="")
    assert principal is not None
    assert (principal.name, principal.role.value) == ("chiba-dc", "warehouse")


def test_apikey_create_with_an_unknown_role_exits_2_naming_the_valid_roles(
    oms: Oms, engine: Engine
) -> None:
    result = oms("apikey", "create", "--name", "x", "--role", "superuser")

    assert result.exit_code == 2
    for role in ("admin", "warehouse", "channel_sync", "customer_service"):
        assert role in result.output
    assert "Traceback" not in result.output


def test_a_revoked_key_no_longer_authenticates_and_revoking_again_fails(
    oms: Oms, engine: Engine
) -> None:
    created = oms("apikey", "create", "--name", "ci", "--role", "admin")
    key = created.stdout.strip()
    match = re.search(r"Created API key (\d+)", created.stderr)
    assert match is not None, created.output
    key_id = int(match.group(1))
    factory = make_session_factory(engine)

    revoked = oms("apikey", "revoke", str(key_id))
    again = oms("apikey", "revoke", str(key_id))

    assert revoked.exit_code == 0, revoked.output
    assert authenticate(factory, key, bootstrap_admin_key="") is None
    assert again.exit_code == 1
    assert messages(again) == f"error: id: no active API key {key_id}"


@pytest.mark.parametrize("key_id", ["0", str(2**31), str(2**63)])
def test_revoking_an_id_no_key_can_have_exits_2_naming_it(oms: Oms, key_id: str) -> None:
    """An id beyond the column (INTEGER) was an OverflowError (SQLite) or DataError traceback."""
    result = oms("apikey", "revoke", key_id)

    assert result.exit_code == 2, result.output
    assert "ID" in result.output
    assert "Traceback" not in result.output
