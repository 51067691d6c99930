"""Locations and SKUs over HTTP."""

from __future__ import annotations

from tests.api.http_builders import (
    Client,
    a_barcode,
    a_bundle,
    a_location,
    a_sku,
    assert_problem,
    ok,
)

# --------------------------------------------------------------------------- locations


def test_a_created_location_is_answered_201_and_can_be_read_back(client: Client) -> None:
    created = a_location(client, "STORE-SHIBUYA", kind="store", prefecture=13)
    assert created["code"] == "STORE-SHIBUYA"
    assert created["prefecture"] == "13"
    assert ok(client.get("/v1/locations/STORE-SHIBUYA")) == created


def test_location_strings_are_stripped(client: Client) -> None:
    created = a_location(client, "  DC-OSAKA ", name="  Osaka DC  ", postal_code=" 5500001 ")
    assert (created["code"], created["name"], created["postal_code"]) == (
        "DC-OSAKA",
        "Osaka DC",
        "550-0001",
    )


def test_a_second_location_with_the_same_code_is_a_409_naming_the_code(client: Client) -> None:
    a_location(client)
    response = client.post(
        "/v1/locations",
        json={
            "code": "DC-CHIBA",
            "name": "Again",
            "kind": "warehouse",
            "prefecture": "12",
            "postal_code": "270-0000",
        },
    )
    assert_problem(response, 409, "code")
    assert ok(client.get("/v1/locations/DC-CHIBA"))["name"] == "Location DC-CHIBA"


def test_a_location_with_a_bad_prefecture_is_refused_naming_it(client: Client) -> None:
    response = client.post(
        "/v1/locations",
        json={
            "code": "X",
            "name": "X",
            "kind": "warehouse",
            "prefecture": "48",
            "postal_code": "270-0000",
        },
    )
    assert_problem(response, 422, "prefecture")
    assert ok(client.get("/v1/locations"))["items"] == []


def test_a_location_with_an_unknown_kind_or_field_is_refused_naming_them(client: Client) -> None:
    body = {
        "code": "X",
        "name": "X",
        "kind": "castle",
        "prefecture": "12",
        "postal_code": "270-0000",
    }
    assert_problem(client.post("/v1/locations", json=body), 422, "kind")
    body.update(kind="store", colour="red")
    assert_problem(client.post("/v1/locations", json=body), 422, "colour")


def test_a_location_without_a_required_field_is_refused_naming_it(client: Client) -> None:
    response = client.post("/v1/locations", json={"code": "X", "name": "X", "kind": "store"})
    problem = assert_problem(response, 422, "prefecture")
    assert {e["field"] for e in problem["errors"]} == {"prefecture", "postal_code"}


def test_an_unknown_location_is_a_404_problem(client: Client) -> None:
    assert_problem(client.get("/v1/locations/NOWHERE"), 404, "code")


def test_walking_next_cursor_lists_every_location_once(client: Client) -> None:
    codes = [f"LOC-{i}" for i in range(5)]
    for code in codes:
        a_location(client, code)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = ok(client.get("/v1/locations", params=params))
        seen += [item["code"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == codes
    assert pages == 3


def test_a_page_size_out_of_bounds_is_refused_naming_limit(client: Client) -> None:
    assert_problem(client.get("/v1/locations", params={"limit": 0}), 422, "limit")
    assert_problem(client.get("/v1/locations", params={"limit": 501}), 422, "limit")


def test_a_cursor_that_the_api_never_returned_is_refused_naming_it(client: Client) -> None:
    assert_problem(client.get("/v1/locations", params={"cursor": "abc"}), 422, "cursor")


# --------------------------------------------------------------------------- SKUs


def test_a_created_sku_is_answered_201_and_can_be_read_back(client: Client) -> None:
    barcode = a_barcode()
    created = a_sku(client, "TEE-WHT-S", barcode=barcode, attributes={"colour": "white"})
    assert created["kind"] == "simple"
    assert created["barcode"] == barcode
    assert ok(client.get("/v1/skus/TEE-WHT-S")) == created


def test_a_barcode_with_a_wrong_check_digit_is_refused_naming_it(client: Client) -> None:
    good = a_barcode()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    response = client.post("/v1/skus", json={"code": "X", "name": "X", "barcode": bad})
    assert_problem(response, 422, "barcode")
    assert_problem(client.get("/v1/skus/X"), 404)


def test_a_second_sku_with_the_same_code_is_a_409(client: Client) -> None:
    a_sku(client)
    assert_problem(client.post("/v1/skus", json={"code": "TEE-BLK-M", "name": "x"}), 409, "code")


def test_listing_skus_by_kind_shows_only_that_kind(client: Client) -> None:
    a_sku(client, "A")
    a_sku(client, "B")
    a_bundle(client, "SET", [("A", 1), ("B", 2)])
    bundles = ok(client.get("/v1/skus", params={"kind": "bundle"}))["items"]
    assert [s["code"] for s in bundles] == ["SET"]
    assert bundles[0]["components"] == [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}]
    simple = ok(client.get("/v1/skus", params={"kind": "simple"}))["items"]
    assert [s["code"] for s in simple] == ["A", "B"]
    assert_problem(client.get("/v1/skus", params={"kind": "crate"}), 422, "kind")


def test_patching_a_sku_changes_only_the_fields_sent(client: Client) -> None:
    a_sku(client, "TEE", barcode=a_barcode(), attributes={"size": "M"})
    patched = ok(client.patch("/v1/skus/TEE", json={"name": " Tee shirt "}))
    assert patched["name"] == "Tee shirt"
    assert patched["barcode"] is not None
    assert patched["attributes"] == {"size": "M"}
    patched = ok(client.patch("/v1/skus/TEE", json={"attributes": {"size": "L"}}))
    assert patched["attributes"] == {"size": "L"}
    assert ok(client.get("/v1/skus/TEE")) == patched


def test_patching_the_barcode_to_null_clears_it(client: Client) -> None:
    a_sku(client, "TEE", barcode=a_barcode())
    assert ok(client.patch("/v1/skus/TEE", json={"barcode": None}))["barcode"] is None
    assert ok(client.get("/v1/skus/TEE"))["barcode"] is None


def test_patching_a_name_to_null_is_refused_naming_it(client: Client) -> None:
    a_sku(client, "TEE")
    assert_problem(client.patch("/v1/skus/TEE", json={"name": None}), 422, "name")
    assert ok(client.get("/v1/skus/TEE"))["name"] == "Item TEE"


def test_patching_an_unknown_sku_is_a_404(client: Client) -> None:
    assert_problem(client.patch("/v1/skus/NOPE", json={"name": "x"}), 404)


def test_patching_a_bundle_to_contain_itself_is_refused(client: Client) -> None:
    a_sku(client, "A")
    a_bundle(client, "SET", [("A", 1)])
    response = client.patch("/v1/skus/SET", json={"components": [{"sku": "SET", "quantity": 1}]})
    assert_problem(response, 422, "components")
    assert ok(client.get("/v1/skus/SET"))["components"] == [{"sku": "A", "quantity": 1}]


def test_patching_bundles_into_a_cycle_is_refused(client: Client) -> None:
    a_sku(client, "A")
    a_bundle(client, "INNER", [("A", 1)])
    a_bundle(client, "OUTER", [("INNER", 2)])
    response = client.patch(
        "/v1/skus/INNER", json={"components": [{"sku": "OUTER", "quantity": 1}]}
    )
    assert_problem(response, 422, "components")
    assert ok(client.get("/v1/skus/INNER"))["components"] == [{"sku": "A", "quantity": 1}]


def test_a_bundle_of_an_unknown_sku_is_refused_naming_the_component(client: Client) -> None:
    a_sku(client, "A")
    response = client.post(
        "/v1/skus",
        json={
            "code": "SET",
            "name": "Set",
            "kind": "bundle",
            "components": [{"sku": "A", "quantity": 1}, {"sku": "GHOST", "quantity": 1}],
        },
    )
    assert_problem(response, 422, "components[1].sku")


def test_a_component_quantity_that_is_not_an_integer_is_refused_naming_it(
    client: Client,
) -> None:
    a_sku(client, "A")
    response = client.post(
        "/v1/skus",
        json={
            "code": "SET",
            "name": "Set",
            "kind": "bundle",
            "components": [{"sku": "A", "quantity": "2"}],
        },
    )
    assert_problem(response, 422, "components[0].quantity")
