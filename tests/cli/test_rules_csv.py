"""`oms rules import` and `oms rules export` on both databases."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from oms.channels.availability.domain.rules import Exclusion
from oms.channels.availability.services.channels import ChannelService, CreateChannel
from oms.db import make_session_factory
from oms.inventory.services import InventoryService
from oms.uow import SqlUnitOfWork
from tests.builders import a_location, a_sku, receive
from tests.cli.conftest import Oms

DC, STORE = "DC-CHIBA", "STORE-TOKYO"
TEE, DENIM = "TS-ORG-BLK-M", "DN-SEL-IND-30"
HEADER = "rule,channel,sku,location,category,attribute,value\n"
OUTER = "アウター"
RULES = (
    HEADER + f"safety_stock,,{TEE},{STORE},,,3\n"
    f"exclusion,rakuten,,,{OUTER},,add\n"
    f"pool,rakuten,{TEE},,,,4\n"
    "share,rakuten,,,,,80\n"
    f"cap,rakuten,{TEE},,,,20\n"
)


@pytest.fixture
def channels(engine: Engine, inventory: InventoryService) -> ChannelService:
    """A DC and a store, two SKUs with stock at the DC, and rakuten fed by the DC."""
    a_location(inventory, DC)
    a_location(inventory, STORE, kind="store", prefecture="13", postal_code="150-0041")
    a_sku(inventory, TEE, attributes={"category": "tops"})
    a_sku(inventory, DENIM, attributes={"category": OUTER})
    receive(inventory, TEE, DC, 10)
    receive(inventory, DENIM, DC, 5)
    factory = make_session_factory(engine)
    service = ChannelService(lambda: SqlUnitOfWork(factory), inventory)
    service.create_channel(CreateChannel("rakuten", "楽天市場店", "rakuten", locations=[DC]))
    service.create_channel(CreateChannel("amazon", "Amazon", "amazon", locations=[DC]))
    return service


def rules_file(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "rules.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def every_rule(channels: ChannelService) -> dict[str, Any]:
    """Every rule there is, without exclusion ids (a removed and re-added one gets a new id)."""
    found: dict[str, Any] = {
        "safety_stock": channels.safety_stocks().items,
        "defaults": channels.default_safety_stocks(),
    }
    for code in ("rakuten", "amazon"):
        document = channels.channel_rules(code)
        found[code] = (
            [x.key for x in document.exclusions],
            document.pools,
            document.buffers,
            document.shares,
            document.caps,
        )
    return found


def test_import_sets_the_rules_and_records_the_actor(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    path = rules_file(tmp_path, RULES)

    result = oms("rules", "import", path, "--actor", "佐藤 (MD)")

    assert result.exit_code == 0, result.output
    assert "rules.csv: 5 rows changed a rule, 0 unchanged, 0 skipped" in result.stdout
    document = channels.channel_rules("rakuten")
    assert [x.value for x in document.exclusions] == [OUTER]
    assert [(p.sku, p.quantity) for p in document.pools] == [(TEE, 4)]
    assert [(s.sku, s.percent) for s in document.shares] == [(None, 80.0)]
    assert [(c.sku, c.cap) for c in document.caps] == [(TEE, 20)]
    assert [(s.sku, s.location, s.quantity) for s in channels.safety_stocks().items] == [
        (TEE, STORE, 3)
    ]
    recorded = channels.rule_changes().items
    assert len(recorded) == 5
    assert {change.actor for change in recorded} == {"佐藤 (MD)"}


def test_without_actor_the_changes_are_recorded_as_the_command(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    result = oms("rules", "import", rules_file(tmp_path, RULES))

    assert result.exit_code == 0, result.output
    assert all(c.actor.startswith("oms rules import") for c in channels.rule_changes().items)


def test_importing_the_same_file_again_changes_nothing(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    path = rules_file(tmp_path, RULES)
    assert oms("rules", "import", path).exit_code == 0
    before, recorded = every_rule(channels), channels.rule_changes().items

    result = oms("rules", "import", path)

    assert result.exit_code == 0, result.output
    assert "0 rows changed a rule, 5 unchanged, 0 skipped" in result.stdout
    assert every_rule(channels) == before
    assert channels.rule_changes().items == recorded


def test_a_bad_file_applies_nothing_and_names_each_line_and_column(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    path = rules_file(
        tmp_path,
        RULES + "buffer,rakuten,,,,,-2\n"  # line 7
        "share,yahoo,,,,,10\n",  # line 8
    )
    before = every_rule(channels)

    result = oms("rules", "import", path)

    assert result.exit_code == 1
    assert "line 7: value: a buffer must be zero or more, got -2" in result.stderr
    assert "line 8: channel: channel 'yahoo' does not exist" in result.stderr
    assert "2 of 7 lines of the rules file have errors; nothing was changed" in result.stderr
    assert every_rule(channels) == before
    assert channels.rule_changes().items == []


def test_skip_invalid_applies_the_valid_rows(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    path = rules_file(tmp_path, RULES + "buffer,rakuten,,,,,-2\n")

    result = oms("rules", "import", path, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "line 7: value" in result.stderr
    assert "5 rows changed a rule, 0 unchanged, 1 skipped" in result.stdout
    assert len(channels.rule_changes().items) == 5


def test_a_dry_run_says_what_would_change_and_changes_nothing(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    result = oms("rules", "import", rules_file(tmp_path, RULES), "--dry-run")

    assert result.exit_code == 0, result.output
    assert "5 rows would change a rule, 0 unchanged, 0 skipped; dry run" in result.stdout
    assert channels.rule_changes().items == []


@pytest.mark.parametrize("encoding", ["auto", "shift_jis", "cp932"])
def test_a_shift_jis_file_is_read(
    oms: Oms, channels: ChannelService, tmp_path: Path, encoding: str
) -> None:
    path = rules_file(tmp_path, RULES, "cp932")

    result = oms("rules", "import", path, "--encoding", encoding)

    assert result.exit_code == 0, result.output
    assert [x.value for x in channels.channel_rules("rakuten").exclusions] == [OUTER]


def test_export_writes_every_rule_in_the_import_format(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    channels.set_default_safety_stock(STORE, 1, "test")
    channels.add_exclusion("amazon", Exclusion.of("location", location=STORE), "test")
    channels.add_exclusion("amazon", Exclusion.of("attribute", attribute="season", value="SS"), "t")
    channels.set_buffer("amazon", "category", "tops", 2, "test")
    assert oms("rules", "import", rules_file(tmp_path, RULES)).exit_code == 0

    result = oms("rules", "export")

    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        ["rule", "channel", "sku", "location", "category", "attribute", "value"],
        ["default_safety_stock", "", "", STORE, "", "", "1"],
        ["safety_stock", "", TEE, STORE, "", "", "3"],
        ["exclusion", "rakuten", "", "", OUTER, "", "add"],
        ["pool", "rakuten", TEE, "", "", "", "4"],
        ["share", "rakuten", "", "", "", "", "80"],
        ["cap", "rakuten", TEE, "", "", "", "20"],
        ["exclusion", "amazon", "", STORE, "", "", "add"],
        ["exclusion", "amazon", "", "", "", "season=SS", "add"],
        ["buffer", "amazon", "", "", "tops", "", "2"],
    ]


def test_an_export_imported_back_restores_the_rules_it_was_taken_from(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    channels.set_default_safety_stock(STORE, 1, "test")
    channels.set_buffer("amazon", "sku", DENIM, 2, "test")
    channels.set_share("amazon", DENIM, 33.3, "test")
    assert oms("rules", "import", rules_file(tmp_path, RULES)).exit_code == 0
    exported = tmp_path / "export.csv"
    result = oms("rules", "export", str(exported), "--encoding", "shift_jis")
    assert result.exit_code == 0, result.output
    assert "Exported 8 rows of rules" in result.stderr
    taken = every_rule(channels)
    assert oms("rules", "import", str(exported)).exit_code == 0  # changes nothing
    assert every_rule(channels) == taken
    # The rules change; the export puts them back (rules it does not list stay as they are).
    changed = HEADER + (
        f"exclusion,rakuten,,,{OUTER},,remove\n"
        f"pool,rakuten,{TEE},,,,\n"
        "share,rakuten,,,,,10\n"
        f"cap,rakuten,{TEE},,,,\n"
        f"safety_stock,,{TEE},{STORE},,,9\n"
    )
    assert oms("rules", "import", rules_file(tmp_path, changed, name="c.csv")).exit_code == 0
    assert every_rule(channels) != taken

    result = oms("rules", "import", str(exported))

    assert result.exit_code == 0, result.output
    assert "5 rows changed a rule, 3 unchanged, 0 skipped" in result.stdout
    assert every_rule(channels) == taken


def test_an_export_that_shift_jis_cannot_hold_fails_cleanly(
    oms: Oms, channels: ChannelService, tmp_path: Path
) -> None:
    channels.set_buffer("rakuten", "category", "🧥", 1, "test")
    target = tmp_path / "rules.csv"

    result = oms("rules", "export", str(target), "--encoding", "shift_jis")

    assert result.exit_code == 1
    assert "cannot be written in Shift_JIS" in result.stderr
    assert not target.exists()
    assert not (tmp_path / "rules.csv.part").exists()
