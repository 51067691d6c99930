"""The printed ship instructions and the CSV say what the pick list model says."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from oms.orders.api.pick_list_render import (
    CSV_FIELDS,
    PREFECTURES,
    pick_list_csv,
    pick_list_html,
    prefecture_name,
    shipment_label,
)
from oms.orders.domain.barcode import code128_svg
from oms.orders.domain.order import ShipmentStatus, ShipTo
from oms.orders.domain.pick_list import PickEntry, PickList, PickRow, ShipmentSlip, SlipLine

GIFT = "gift: お誕生日おめでとう <script>alert('x')</script>"
X = "\N{MULTIPLICATION SIGN}"
ASSEMBLY = (
    f"assemble 1 {X} SET-GIFT (ギフトセット): 1 {X} CUP-WHITE (湯呑み) + 1 {X} TEA-GREEN (煎茶)"
)
RAKUTEN = "rakuten / R-2025-0001"
IN_SET = "L1 セット SET-GIFT set part"
VOID = {"meta", "br", "link", "img", "hr", "input", "col", "wbr", "source"}


def a_ship_to(**overrides: str | None) -> ShipTo:
    values: dict[str, str | None] = {
        "name": "山田 太郎",
        "postal_code": "150-0001",
        "prefecture": "13",
        "city": "渋谷区",
        "address1": "神宮前1-2-3",
        "address2": "メゾン神宮前 101",
        "phone": "03-1234-5678",
    }
    values.update(overrides)
    return ShipTo(
        name=values["name"] or "",
        postal_code=values["postal_code"] or "",
        prefecture=values["prefecture"] or "",
        city=values["city"] or "",
        address1=values["address1"] or "",
        address2=values["address2"],
        phone=values["phone"],
    )


def a_pick_list(*, ship_to: ShipTo | None = None) -> PickList:
    """Two SKUs; order 45 is a gift set split in two parcels (this one and one from DC-CHIBA);
    order 46 is a plain single parcel."""
    return PickList(
        location="DC-TOKYO",
        statuses=(ShipmentStatus.PENDING, ShipmentStatus.PICKING),
        generated_at=datetime(2025, 4, 1, 0, 30, tzinfo=UTC),
        rows=(
            PickRow(
                "CUP-WHITE",
                "湯呑み",
                1,
                [PickEntry(123, 45, "rakuten", "R-2025-0001", "L1", 1, "SET-GIFT")],
            ),
            PickRow(
                "TEA-GREEN",
                "煎茶, 緑",
                3,
                [
                    PickEntry(123, 45, "rakuten", "R-2025-0001", "L1", 1, "SET-GIFT"),
                    PickEntry(124, 46, "amazon", "503-1234567-7654321", "A1", 2),
                ],
            ),
        ),
        shipments=(
            ShipmentSlip(
                shipment_id=123,
                order_id=45,
                channel="rakuten",
                external_id="R-2025-0001",
                status=ShipmentStatus.PICKING,
                parcel=1,
                parcels=2,
                other_locations=("DC-CHIBA",),
                lines=(
                    SlipLine("L1", "CUP-WHITE", "湯呑み", 1, "SET-GIFT"),
                    SlipLine("L1", "TEA-GREEN", "煎茶, 緑", 1, "SET-GIFT"),
                ),
                assembly=(ASSEMBLY,),
                notes=(GIFT,),
                shipping_method="yamato",
                promised_by=datetime(2025, 4, 2, 9, 0, tzinfo=UTC),
                ship_to=ship_to,
            ),
            ShipmentSlip(
                shipment_id=124,
                order_id=46,
                channel="amazon",
                external_id="503-1234567-7654321",
                status=ShipmentStatus.PENDING,
                parcel=1,
                parcels=1,
                other_locations=(),
                lines=(SlipLine("A1", "TEA-GREEN", "煎茶, 緑", 2),),
                assembly=(),
                notes=(),
                shipping_method=None,
                promised_by=None,
                ship_to=ship_to,
            ),
        ),
    )


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def find_all(self, tag: str, css_class: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (css_class is None or css_class in child.classes):
                    found.append(child)
                found.extend(child.find_all(tag, css_class))
        return found

    def one(self, tag: str, css_class: str | None = None) -> Node:
        found = self.find_all(tag, css_class)
        assert len(found) == 1, (tag, css_class, len(found))
        return found[0]


class TreeBuilder(HTMLParser):
    """Builds a tree and fails on any end tag that does not close the innermost open one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"</{tag}> closes a void element"
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(document: str) -> TreeBuilder:
    builder = TreeBuilder()
    builder.feed(document)
    builder.close()
    assert builder.stack == [builder.root], "unclosed: " + ", ".join(
        n.tag for n in builder.stack[1:]
    )
    return builder


def cells(row: Node) -> list[str]:
    return [" ".join(c.text.split()) for c in row.children if isinstance(c, Node)]


def test_the_document_is_a_printable_html5_page_in_japanese() -> None:
    document = pick_list_html(a_pick_list(ship_to=a_ship_to()))
    tree = parse(document)
    assert tree.doctype == "DOCTYPE html"
    html = tree.root.one("html")
    assert html.attrs["lang"] == "ja"
    assert html.one("meta").attrs == {"charset": "utf-8"}
    assert [n.tag for n in html.children if isinstance(n, Node)] == ["head", "body"]
    style = html.one("style").text
    assert "@page { size: A4; margin: 12mm; }" in style
    assert ".slip { break-before: page;" in style
    assert "DC-TOKYO" in html.one("title").text
    # Self-contained: nothing to fetch, nothing to run.
    for tag in ("script", "link", "img", "iframe"):
        assert not html.find_all(tag)
    assert "src=" not in document
    assert "url(" not in style


def test_the_pick_table_groups_entries_by_sku_with_totals() -> None:
    tree = parse(pick_list_html(a_pick_list()))
    table = tree.root.one("table", "picks")
    groups = table.find_all("tbody", "sku")
    assert len(groups) == 2
    cup, tea = ([cells(tr) for tr in group.find_all("tr")] for group in groups)
    assert cup == [["CUP-WHITE", "湯呑み", "1", "SHP-000123", RAKUTEN, IN_SET, "1", ""]]
    assert tea == [
        ["TEA-GREEN", "煎茶, 緑", "3", "SHP-000123", RAKUTEN, IN_SET, "1", ""],
        ["SHP-000124", "amazon / 503-1234567-7654321", "A1", "2", ""],
    ]
    assert groups[1].one("th").attrs["rowspan"] == "2"
    header = tree.root.one("section", "pick-list").one("header").text
    assert "4 点 units" in header
    assert "2 出荷 shipments" in header
    assert "2025-04-01 09:30 JST" in header
    assert "pending, picking" in header


def test_each_shipment_gets_a_slip_on_its_own_page_with_its_barcode() -> None:
    document = pick_list_html(a_pick_list())
    tree = parse(document)
    slips = tree.root.find_all("section", "slip")
    assert [s.attrs["id"] for s in slips] == ["slip-SHP-000123", "slip-SHP-000124"]
    for slip, label in zip(slips, ("SHP-000123", "SHP-000124"), strict=True):
        svg = slip.one("svg")
        assert svg.attrs["aria-label"] == f"Code 128 {label}"
        assert svg.one("text").text == label
        assert slip.one("h2").text == label
    assert code128_svg("SHP-000123", height=48, module_width=1.5) in document
    assert code128_svg("SHP-000124", height=48, module_width=1.5) in document


def test_a_slip_shows_the_order_the_split_the_lines_the_assembly_and_the_notes() -> None:
    tree = parse(pick_list_html(a_pick_list()))
    gift_set, plain = tree.root.find_all("section", "slip")

    assert "DC-TOKYO" in gift_set.one("p", "location").text
    assert "rakuten / R-2025-0001" in gift_set.one("p", "order").text
    assert gift_set.one("p", "split").text == "parcel 1 of 2: the other ships from DC-CHIBA"
    assert "2025-04-02 18:00 JST" in gift_set.one("p", "promised").text
    assert "yamato" in gift_set.one("p", "shipping").text
    lines = [cells(tr) for tr in gift_set.one("table", "lines").one("tbody").find_all("tr")]
    assert lines == [
        ["CUP-WHITE", "湯呑み セット SET-GIFT set part", "L1", "1", ""],
        ["TEA-GREEN", "煎茶, 緑 セット SET-GIFT set part", "L1", "1", ""],
    ]
    assert [li.text for li in gift_set.one("section", "assembly").find_all("li")] == [ASSEMBLY]
    assert [li.text for li in gift_set.one("section", "notes").find_all("li")] == [GIFT]

    assert not plain.find_all("p", "split")
    assert not plain.find_all("p", "promised")
    assert not plain.find_all("section", "assembly")
    assert not plain.find_all("section", "notes")
    assert [cells(tr) for tr in plain.one("table", "lines").one("tbody").find_all("tr")] == [
        ["TEA-GREEN", "煎茶, 緑", "A1", "2", ""]
    ]


def test_the_address_is_shown_in_japanese_order_only_when_the_reader_may_see_it() -> None:
    with_address = parse(pick_list_html(a_pick_list(ship_to=a_ship_to())))
    for slip in with_address.root.find_all("section", "slip"):
        address = slip.one("section", "ship-to").one("address")
        parts = [
            address.one("span", css_class).text
            for css_class in ("postal", "prefecture", "city", "address1", "address2")
        ]
        assert parts == ["〒150-0001", "東京都", "渋谷区", "神宮前1-2-3", "メゾン神宮前 101"]
        assert address.one("span", "addressee").text == "山田 太郎 様"
        assert address.one("span", "phone").text == "TEL 03-1234-5678"
        text = address.text
        order = ["〒150-0001", "東京都渋谷区神宮前1-2-3", "メゾン神宮前 101", "様", "TEL"]
        assert [text.index(part) for part in order] == sorted(text.index(p) for p in order)

    without = pick_list_html(a_pick_list(ship_to=None))
    assert not parse(without).root.find_all("address")
    assert "山田" not in without
    assert "150-0001" not in without


def test_an_address_without_building_or_phone_leaves_them_out() -> None:
    tree = parse(pick_list_html(a_pick_list(ship_to=a_ship_to(address2=None, phone=None))))
    address = tree.root.find_all("address")[0]
    assert not address.find_all("span", "address2")
    assert not address.find_all("span", "phone")
    assert address.one("span", "addressee").text == "山田 太郎 様"


def test_customer_and_merchant_text_is_escaped() -> None:
    hostile = "<script>alert('x')</script>"
    pick_list = a_pick_list(ship_to=a_ship_to(name=f"{hostile}\"'&", address2=hostile))
    pick_list.rows[0].name = f'<img src=x onerror="alert(1)">{hostile}'
    document = pick_list_html(pick_list)
    assert "<script" not in document
    assert "<img" not in document
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in document
    tree = parse(document)
    assert not tree.root.find_all("script")
    assert not tree.root.find_all("img")
    # The parser unescapes: staff read exactly what the customer wrote.
    assert tree.root.find_all("span", "addressee")[0].text == f"{hostile}\"'& 様"


def test_an_empty_pick_list_still_renders_a_document() -> None:
    empty = PickList("STORE-SHIBUYA", (ShipmentStatus.PENDING,), datetime.now(UTC), (), ())
    tree = parse(pick_list_html(empty))
    assert "Nothing to pick" in tree.root.one("table", "picks").text
    assert not tree.root.find_all("section", "slip")


def test_shipment_labels_are_zero_padded() -> None:
    assert shipment_label(123) == "SHP-000123"
    assert shipment_label(1) == "SHP-000001"
    assert shipment_label(1234567) == "SHP-1234567"


def test_prefecture_codes_map_to_names() -> None:
    assert len(PREFECTURES) == 47
    assert sorted(PREFECTURES) == [f"{code:02d}" for code in range(1, 48)]
    assert prefecture_name("01") == "北海道"
    assert prefecture_name("1") == "北海道"
    assert prefecture_name("13") == "東京都"
    assert prefecture_name("26") == "京都府"
    assert prefecture_name("27") == "大阪府"
    assert prefecture_name("47") == "沖縄県"
    assert prefecture_name("99") == "99"
    assert prefecture_name("東京都") == "東京都"


def read_csv(text: str) -> list[dict[str, str]]:
    # As Excel does: bytes in UTF-8, the BOM says so and is not part of the first header.
    decoded = text.encode("utf-8").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(decoded, newline="")))


def test_the_csv_has_one_row_per_pick_entry_and_reads_back_to_the_same_entries() -> None:
    pick_list = a_pick_list()
    text = pick_list_csv(pick_list)
    rows = read_csv(text)
    assert tuple(rows[0]) == CSV_FIELDS
    entries = [
        (
            row["sku"],
            PickEntry(
                int(row["shipment_id"]),
                int(row["order_id"]),
                row["channel"],
                row["external_id"],
                row["line_id"],
                int(row["quantity"]),
                row["set_sku"] or None,
            ),
        )
        for row in rows
    ]
    assert entries == [(r.sku, e) for r in pick_list.rows for e in r.entries]
    assert rows[1] == {
        "location": "DC-TOKYO",
        "sku": "TEA-GREEN",
        "name": "煎茶, 緑",
        "quantity": "1",
        "shipment_id": "123",
        "order_id": "45",
        "channel": "rakuten",
        "external_id": "R-2025-0001",
        "line_id": "L1",
        "set_sku": "SET-GIFT",
        "parcel": "1",
        "parcels": "2",
    }
    assert [(r["parcel"], r["parcels"]) for r in rows] == [("1", "2"), ("1", "2"), ("1", "1")]


def test_the_csv_starts_with_a_bom_for_excel_unless_asked_not_to() -> None:
    with_bom = pick_list_csv(a_pick_list())
    assert with_bom.startswith("\ufefflocation,sku,name,")
    assert with_bom.encode("utf-8")[:3] == b"\xef\xbb\xbf"
    assert with_bom.count("\ufeff") == 1
    without = pick_list_csv(a_pick_list(), bom=False)
    assert without.startswith("location,sku,name,")
    assert without == with_bom.removeprefix("\ufeff")
    assert without.endswith("\r\n")
    assert without.count("\r\n") == 4  # header and three entries


@pytest.mark.parametrize("name", ['湯呑み "白", 大', "line\nbreak"])
def test_csv_values_round_trip_whatever_they_contain(name: str) -> None:
    pick_list = a_pick_list()
    pick_list.rows[0].name = name
    assert read_csv(pick_list_csv(pick_list))[0]["name"] == name
