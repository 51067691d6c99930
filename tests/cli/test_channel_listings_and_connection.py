"""`oms channels listings import|export` and `oms channels connection set|show`, through the
real CLI entry point, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from oms.bootstrap import Services, bootstrap
from oms.channels.availability.services.channels import CreateChannel
from oms.channels.sync.domain.connections import RakutenConnection
from oms.settings import Settings
from tests.api.conftest import SECRET_KEY
from tests.builders import a_location, a_sku
from tests.cli.conftest import Oms, messages

SERVICE_SECRET = "SP-cli-service-secret-1d1d"  # noqa: S105 (test values)
LICENSE_KEY = "SL-cli-license-key-2e2e"
HEADER = "sku,remote_id,remote_variant\r\n"
LISTINGS = HEADER + "TEE-BLK-M,tshirt-001,赤-M\r\nTEE-BLK-L,tshirt-001,赤-L\r\n"


@pytest.fixture
def shop(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Services:
    """Two SKUs and a Rakuten channel; channel credentials sealed with the tests' key."""
    monkeypatch.setenv("OMS_SECRET_KEY", SECRET_KEY)
    services = bootstrap(Settings(), engine=engine)  # the key from the environment, as the CLI
    a_location(services.inventory, "DC-CHIBA")
    a_sku(services.inventory, "TEE-BLK-M")
    a_sku(services.inventory, "TEE-BLK-L")
    services.channels.create_channel(
        CreateChannel("rakuten", "楽天市場店", "rakuten", locations=["DC-CHIBA"])
    )
    return services


def a_file(tmp_path: Path, content: str, encoding: str = "utf-8", name: str = "f.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return str(path)


def test_a_shift_jis_listings_file_is_imported_and_exported_back(
    oms: Oms, shop: Services, tmp_path: Path
) -> None:
    imported = oms(
        "channels",
        "listings",
        "import",
        a_file(tmp_path, LISTINGS, "cp932"),
        "--channel",
        "rakuten",
    )

    assert imported.exit_code == 0, imported.output
    assert "2 listed, 0 changed, 0 unchanged" in imported.stdout
    out = tmp_path / "export.csv"
    exported = oms(
        "channels", "listings", "export", "--channel", "rakuten", "--encoding", "shift_jis",
        "-o", str(out),
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert out.read_bytes().decode("cp932") == (
        HEADER + "TEE-BLK-L,tshirt-001,赤-L\r\nTEE-BLK-M,tshirt-001,赤-M\r\n"
    )
    again = oms("channels", "listings", "import", str(out), "--channel", "rakuten")
    assert again.exit_code == 0, again.output
    assert "0 listed, 0 changed, 2 unchanged" in again.stdout


def test_an_export_goes_to_stdout_in_utf8_by_default(
    oms: Oms, shop: Services, tmp_path: Path
) -> None:
    assert (
        oms(
            "channels", "listings", "import", a_file(tmp_path, LISTINGS), "--channel", "rakuten"
        ).exit_code
        == 0
    )

    exported = oms("channels", "listings", "export", "--channel", "rakuten")

    assert exported.exit_code == 0, exported.output
    assert exported.stdout_bytes.decode("utf-8") == (
        HEADER + "TEE-BLK-L,tshirt-001,赤-L\r\nTEE-BLK-M,tshirt-001,赤-M\r\n"
    )


def test_a_file_with_a_bad_row_names_the_line_and_changes_nothing(
    oms: Oms, shop: Services, tmp_path: Path
) -> None:
    bad = LISTINGS + "NO-SUCH,tshirt-002,x\r\nTEE-BLK-L,tshirt.003,y\r\n"

    result = oms("channels", "listings", "import", a_file(tmp_path, bad), "--channel", "rakuten")

    assert result.exit_code == 1
    shown = messages(result)
    assert "line 4: sku" in shown
    assert "line 5: remote_id" in shown
    assert "nothing was changed" in shown
    assert shop.listings.page("rakuten").items == []


def test_an_unknown_channel_is_one_line_naming_it(oms: Oms, shop: Services, tmp_path: Path) -> None:
    result = oms("channels", "listings", "import", a_file(tmp_path, LISTINGS), "--channel", "nope")

    assert result.exit_code == 1
    assert messages(result) == "error: code: no channel 'nope'"


def test_a_connection_is_set_from_a_json_file_and_shown_masked(
    oms: Oms, shop: Services, engine: Engine, tmp_path: Path
) -> None:
    body = {
        "endpoint": "http://127.0.0.1:9002",
        "service_secret": SERVICE_SECRET,
        "license_key": LICENSE_KEY,
        "pull_interval_seconds": 120,
    }

    stored = oms("channels", "connection", "set", "--channel", "rakuten", "--file",
                 a_file(tmp_path, json.dumps(body), name="conn.json"))  # fmt: skip
    shown = oms("channels", "connection", "show", "--channel", "rakuten")

    assert stored.exit_code == 0, stored.output
    assert shown.exit_code == 0, shown.output
    for output in (stored.output, shown.output):
        assert SERVICE_SECRET not in output
        assert LICENSE_KEY not in output
    document = json.loads(shown.stdout)
    assert document["service_secret"] == document["license_key"] == "********"  # noqa: S105 (the mask)
    assert document["pull_interval_seconds"] == 120
    with engine.connect() as db:
        row = repr(db.execute(text("SELECT * FROM channel_connections")).all())
    assert SERVICE_SECRET not in row
    assert LICENSE_KEY not in row
    # The shown document, edited and set again, keeps the secrets.
    document["endpoint"] = "http://127.0.0.1:9003"
    edited = a_file(tmp_path, json.dumps(document), name="edited.json")
    assert (
        oms("channels", "connection", "set", "--channel", "rakuten", "--file", edited).exit_code
        == 0
    )
    connection = shop.connections.connection("rakuten")
    assert isinstance(connection, RakutenConnection)
    assert (connection.endpoint, connection.service_secret, connection.license_key) == (
        "http://127.0.0.1:9003",
        SERVICE_SECRET,
        LICENSE_KEY,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"endpoint": ', "not a JSON document"),
        ("[1]", "must hold a JSON object"),
        ('{"endpoint": "ftp://x", "service_secret": "s", "license_key": "k"}', "endpoint"),
    ],
)
def test_a_bad_connection_file_is_refused_and_changes_nothing(
    oms: Oms, shop: Services, tmp_path: Path, content: str, expected: str
) -> None:
    result = oms("channels", "connection", "set", "--channel", "rakuten", "--file",
                 a_file(tmp_path, content, name="conn.json"))  # fmt: skip

    assert result.exit_code in (1, 2)
    assert expected in result.stderr  # a file refused before the database is opened, or after
    assert shop.connections.connection("rakuten") is None
