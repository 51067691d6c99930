"""Channel rules in bulk over HTTP: POST /v1/rules/import with a CSV body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from oms.channels.availability.services.channels import ChannelService
from oms.shared.errors import InvalidInput
from tests.api.channel_builders import a_shop, changes, rules
from tests.api.http_builders import Client, assert_problem, move, ok

DC, STORE = "DC-CHIBA", "STORE-SHIBUYA"
TEE = "TEE-BLK-M"
HEADER = "rule,channel,sku,location,category,attribute,value\n"
OUTER = "アウター"
EVERY_RULE = (
    HEADER + f"safety_stock,,{TEE},{STORE},,,3\n"
    f"default_safety_stock,,,{STORE},,,2\n"
    f"exclusion,RAKUTEN,,{STORE},,,add\n"
    "exclusion,RAKUTEN,,,outlet,,add\n"
    "exclusion,RAKUTEN,,,,season=2023AW,add\n"
    f"pool,RAKUTEN,{TEE},,,,4\n"
    "buffer,RAKUTEN,,,,,1\n"
    "buffer,RAKUTEN,,,tops,,2\n"
    f"buffer,RAKUTEN,{TEE},,,,3\n"
    "share,RAKUTEN,,,,,50\n"
    f"share,RAKUTEN,{TEE},,,,12.5%\n"
    "cap,RAKUTEN,,,,,100\n"
    f"cap,RAKUTEN,{TEE},,,,5\n"
)
EVERY_RULE_ROWS = 13


def import_csv(
    client: Client,
    text: str,
    *,
    encoding: str = "utf-8",
    content_type: str = "text/csv",
    headers: dict[str, str] | None = None,
    **params: Any,
) -> Any:
    return client.post(
        "/v1/rules/import",
        content=text.encode(encoding),
        headers={"Content-Type": content_type, **(headers or {})},
        params={k: str(v).lower() for k, v in params.items()},
    )


def everything(client: Client) -> dict[str, Any]:
    """Every rule there is, to prove that a refused import changed nothing."""
    return {
        "channel": rules(client),
        "safety_stock": ok(client.get("/v1/rules/safety-stock"))["items"],
        "defaults": ok(client.get("/v1/rules/safety-stock/default")),
    }


def test_an_imported_file_sets_every_kind_of_rule(client: Client) -> None:
    a_shop(client)

    answer = ok(import_csv(client, EVERY_RULE))

    assert answer == {
        "dry_run": False,
        "applied": EVERY_RULE_ROWS,
        "unchanged": 0,
        "skipped": 0,
        "errors": [],
    }
    document = rules(client)
    assert [
        (x["kind"], x["location"], x["attribute"], x["value"]) for x in document["exclusions"]
    ] == [
        ("location", STORE, None, None),
        ("attribute", None, "category", "outlet"),
        ("attribute", None, "season", "2023AW"),
    ]
    assert document["pools"] == [{"sku": TEE, "quantity": 4}]
    assert document["buffers"] == [
        {"scope": "category", "key": "tops", "units": 2},
        {"scope": "default", "key": None, "units": 1},
        {"scope": "sku", "key": TEE, "units": 3},
    ]
    assert document["shares"] == [{"sku": None, "percent": 50}, {"sku": TEE, "percent": 12.5}]
    assert document["caps"] == [{"sku": None, "cap": 100}, {"sku": TEE, "cap": 5}]
    safety = ok(client.get("/v1/rules/safety-stock"))["items"]
    assert safety == [{"sku": TEE, "location": STORE, "quantity": 3}]
    assert ok(client.get("/v1/rules/safety-stock/default")) == [{"location": STORE, "quantity": 2}]


def test_each_imported_change_is_recorded_with_the_key_that_imported_it(
    client: Client, key_for: Callable[[str], dict[str, str]]
) -> None:
    a_shop(client)

    ok(import_csv(client, EVERY_RULE, headers=key_for("admin")))

    recorded = changes(client)
    assert len(recorded) == EVERY_RULE_ROWS
    assert {c["actor"] for c in recorded} == {"admin key"}
    # newest first: the file's last row
    assert (recorded[0]["kind"], recorded[0]["key"], recorded[0]["new"]) == ("cap", f"sku:{TEE}", 5)


def test_importing_the_same_file_again_changes_nothing(client: Client) -> None:
    a_shop(client)
    ok(import_csv(client, EVERY_RULE))
    before, recorded = everything(client), changes(client)

    answer = ok(import_csv(client, EVERY_RULE))

    assert (answer["applied"], answer["unchanged"]) == (0, EVERY_RULE_ROWS)
    assert everything(client) == before
    assert changes(client) == recorded


def test_a_bad_file_is_a_422_naming_every_bad_line_and_column_and_changes_nothing(
    client: Client,
) -> None:
    a_shop(client, stock=10)
    before = everything(client)
    text = (
        HEADER + "cap,RAKUTEN,,,,,100\n"  # line 2: fine
        "share,RAKUTEN,,,,,101\n"  # line 3
        "cap,AMAZON,,,,,1\n"  # line 4: no such channel
        "cap,RAKUTEN,NOPE,,,,1\n"  # line 5: no such SKU
        "default_safety_stock,,,NOWHERE,,,1\n"  # line 6: no such location
        f"pool,RAKUTEN,{TEE},,,,11\n"  # line 7: more than the 10 at the DC
        "buffer,RAKUTEN,,,,,-1\n"  # line 8
        "exclusion,RAKUTEN,NOPE,,,,add\n"  # line 9: no such SKU
    )

    problem = assert_problem(import_csv(client, text), 422, "line 3: value")

    assert [e["field"] for e in problem["errors"]] == [
        "line 3: value",
        "line 4: channel",
        "line 5: sku",
        "line 6: location",
        "line 7: value",
        "line 8: value",
        "line 9: sku",
    ]
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages["line 4: channel"] == "channel 'AMAZON' does not exist"
    assert "more than the 10 available" in messages["line 7: value"]
    assert problem["detail"] == "7 of 8 lines of the rules file have errors; nothing was changed"
    assert everything(client) == before
    assert changes(client) == []


def test_a_dry_run_answers_what_would_change_and_changes_nothing(client: Client) -> None:
    a_shop(client)
    ok(client.put("/v1/channels/RAKUTEN/rules/caps", json={"sku": TEE, "cap": 5}))
    before, recorded = everything(client), changes(client)

    answer = ok(import_csv(client, EVERY_RULE, dry_run=True))

    assert answer["dry_run"] is True
    assert (answer["applied"], answer["unchanged"]) == (EVERY_RULE_ROWS - 1, 1)
    assert everything(client) == before
    assert changes(client) == recorded
    bad = import_csv(client, HEADER + "cap,RAKUTEN,,,,,-1\n", dry_run=True)
    assert_problem(bad, 422, "line 2: value")


def test_skip_invalid_applies_the_good_rows_and_lists_the_bad_ones(client: Client) -> None:
    a_shop(client)
    text = HEADER + "cap,RAKUTEN,,,,,100\ncap,RAKUTEN,NOPE,,,,1\nshare,RAKUTEN,,,,,x\n"

    answer = ok(import_csv(client, text, skip_invalid=True))

    assert (answer["applied"], answer["unchanged"], answer["skipped"]) == (1, 0, 2)
    assert [e["field"] for e in answer["errors"]] == ["line 3: sku", "line 4: value"]
    assert rules(client)["caps"] == [{"sku": None, "cap": 100}]


def test_empty_values_remove_rules_and_exclusions_are_added_and_removed_idempotently(
    client: Client,
) -> None:
    a_shop(client)
    ok(import_csv(client, EVERY_RULE))
    removing = (
        HEADER + f"safety_stock,,{TEE},{STORE},,,\n"
        f"default_safety_stock,,,{STORE},,,\n"
        f"exclusion,RAKUTEN,,{STORE},,,remove\n"
        "exclusion,RAKUTEN,,,outlet,,add\n"  # has it already: unchanged
        f"exclusion,RAKUTEN,{TEE},,,,remove\n"  # has not: unchanged
        f"pool,RAKUTEN,{TEE},,,,\n"
        "buffer,RAKUTEN,,,tops,,\n"
        "share,RAKUTEN,,,,,\n"
        f"cap,RAKUTEN,{TEE},,,,\n"
    )

    answer = ok(import_csv(client, removing))

    assert (answer["applied"], answer["unchanged"]) == (7, 2)
    document = rules(client)
    assert [x["value"] for x in document["exclusions"]] == ["outlet", "2023AW"]
    assert document["pools"] == []
    assert [b["scope"] for b in document["buffers"]] == ["default", "sku"]
    assert document["shares"] == [{"sku": TEE, "percent": 12.5}]
    assert document["caps"] == [{"sku": None, "cap": 100}]
    assert ok(client.get("/v1/rules/safety-stock"))["items"] == []
    assert ok(client.get("/v1/rules/safety-stock/default")) == []
    removed = changes(client, channel="RAKUTEN")[4]
    assert (removed["kind"], removed["old"], removed["new"]) == (
        "exclusion",
        {"kind": "location", "location": STORE},
        None,
    )
    again = ok(import_csv(client, removing))
    assert (again["applied"], again["unchanged"]) == (0, 9)


@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=shift_jis"])
def test_a_shift_jis_file_is_read_with_or_without_its_charset(
    client: Client, content_type: str
) -> None:
    a_shop(client)
    text = HEADER + f"buffer,RAKUTEN,,,{OUTER},,2\nexclusion,RAKUTEN,,,{OUTER},,add\n"

    answer = ok(import_csv(client, text, encoding="cp932", content_type=content_type))

    assert answer["applied"] == 2
    document = rules(client)
    assert document["buffers"] == [{"scope": "category", "key": OUTER, "units": 2}]
    assert document["exclusions"][0]["value"] == OUTER


def test_a_utf8_file_sent_as_shift_jis_is_refused_naming_line_1(client: Client) -> None:
    a_shop(client)
    text = HEADER + f"buffer,RAKUTEN,,,{OUTER},,2\n"
    response = import_csv(client, text, content_type="text/csv; charset=shift_jis")
    assert_problem(response, 422, "line 1")
    assert rules(client)["buffers"] == []


def test_only_admins_import_rules(client: Client, key_for: Callable[[str], dict[str, str]]) -> None:
    a_shop(client)
    for role in ("warehouse", "channel_sync", "customer_service"):
        assert_problem(import_csv(client, EVERY_RULE, headers=key_for(role)), 403)
    assert_problem(import_csv(client, EVERY_RULE, headers={"Authorization": "Bearer nope"}), 401)
    assert changes(client) == []


@pytest.mark.parametrize("content_type", ["application/json", "text/csv; charset=latin-1"])
def test_a_body_that_is_not_a_csv_file_is_a_415(client: Client, content_type: str) -> None:
    a_shop(client)
    assert_problem(import_csv(client, EVERY_RULE, content_type=content_type), 415)
    assert changes(client) == []


def test_an_unchanged_pool_is_not_refused_when_stock_fell_below_it(client: Client) -> None:
    a_shop(client, stock=10)
    pool = HEADER + f"pool,RAKUTEN,{TEE},,,,8\n"
    ok(import_csv(client, pool))
    ok(move(client, TEE, DC, -5, kind="adjustment", reason="damaged"), 201)

    answer = ok(import_csv(client, pool))

    assert (answer["applied"], answer["unchanged"]) == (0, 1)
    bigger = import_csv(client, HEADER + f"pool,RAKUTEN,{TEE},,,,9\n")
    assert_problem(bigger, 422, "line 2: value")


def test_a_row_refused_while_applying_stops_the_import_and_says_what_was_applied(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_shop(client)
    service: ChannelService = client.app.state.channels

    def stock_moved(*_: Any) -> None:
        raise InvalidInput("stock moved meanwhile", field="percent")

    monkeypatch.setattr(service, "set_share", stock_moved)
    text = HEADER + "cap,RAKUTEN,,,,,100\nshare,RAKUTEN,,,,,50\nbuffer,RAKUTEN,,,,,1\n"

    problem = assert_problem(import_csv(client, text), 409, "line 3: value", applied=1)

    assert problem["errors"] == [{"field": "line 3: value", "message": "stock moved meanwhile"}]
    assert rules(client)["caps"] == [{"sku": None, "cap": 100}]
    assert rules(client)["buffers"] == []
