"""Ship instructions rendered for the warehouse floor: a printable HTML document and a CSV.

Pure: the stdlib and the pick list model only. Every value goes through `html.escape`: SKU
names come from merchants, gift notes and addresses from customers.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from html import escape

from oms.orders.domain.barcode import code128_svg
from oms.orders.domain.order import ShipTo
from oms.orders.domain.pick_list import PickEntry, PickList, PickRow, ShipmentSlip, SlipLine

# Japan keeps no daylight saving time, so a fixed offset is exact (and needs no tzdata).
JST = timezone(timedelta(hours=9), "JST")

# JIS X 0401: ShipTo.prefecture holds the two-digit code.
PREFECTURES: dict[str, str] = {
    "01": "北海道", "02": "青森県", "03": "岩手県", "04": "宮城県", "05": "秋田県",
    "06": "山形県", "07": "福島県", "08": "茨城県", "09": "栃木県", "10": "群馬県",
    "11": "埼玉県", "12": "千葉県", "13": "東京都", "14": "神奈川県", "15": "新潟県",
    "16": "富山県", "17": "石川県", "18": "福井県", "19": "山梨県", "20": "長野県",
    "21": "岐阜県", "22": "静岡県", "23": "愛知県", "24": "三重県", "25": "滋賀県",
    "26": "京都府", "27": "大阪府", "28": "兵庫県", "29": "奈良県", "30": "和歌山県",
    "31": "鳥取県", "32": "島根県", "33": "岡山県", "34": "広島県", "35": "山口県",
    "36": "徳島県", "37": "香川県", "38": "愛媛県", "39": "高知県", "40": "福岡県",
    "41": "佐賀県", "42": "長崎県", "43": "熊本県", "44": "大分県", "45": "宮崎県",
    "46": "鹿児島県", "47": "沖縄県",
}  # fmt: skip

CSV_FIELDS = (
    "location",
    "sku",
    "name",
    "quantity",
    "shipment_id",
    "order_id",
    "channel",
    "external_id",
    "line_id",
    "set_sku",
    "parcel",
    "parcels",
)

_CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; color: #000; background: #fff; font-size: 10.5pt; line-height: 1.4;
  font-family: "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo",
    "Noto Sans CJK JP", "Noto Sans JP", sans-serif;
}
h1 { font-size: 16pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 0 0 1mm; }
h3 { font-size: 11pt; margin: 4mm 0 1mm; }
p { margin: 0 0 1mm; }
ul { margin: 0; padding-left: 5mm; }
.meta { color: #333; font-size: 9pt; }
.en { color: #555; font-size: 8pt; font-weight: normal; }
table { width: 100%; border-collapse: collapse; margin-top: 3mm; }
th, td { border: 0.3mm solid #000; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
thead th { background: #eee; }
thead { display: table-header-group; }
tbody.sku { break-inside: avoid; page-break-inside: avoid; }
tbody.sku > tr:first-child > * { border-top-width: 0.6mm; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.total { font-size: 13pt; font-weight: bold; }
.sku-code, .id { font-family: ui-monospace, "Menlo", "Consolas", monospace; white-space: nowrap; }
.check { width: 7mm; }
.set { display: inline-block; border: 0.3mm solid #000; border-radius: 1mm; padding: 0 1mm;
  font-size: 8pt; white-space: nowrap; }
.slip { break-before: page; page-break-before: always; }
.slip-head { display: flex; justify-content: space-between; align-items: flex-start; gap: 4mm; }
.split { border: 0.6mm solid #000; padding: 1mm 2mm; font-weight: bold; display: inline-block; }
.promised { font-weight: bold; }
.ship-to { border: 0.3mm solid #000; padding: 2mm 3mm; margin-top: 3mm; font-size: 11pt; }
.ship-to h3 { margin-top: 0; }
.ship-to address { font-style: normal; }
.ship-to .addressee { font-size: 13pt; font-weight: bold; }
.assembly li, .notes li { margin-bottom: 1mm; }
.barcode { display: block; }
@media screen { body { max-width: 186mm; margin: 8mm auto; } .slip { margin-top: 12mm; } }
"""


def shipment_label(shipment_id: int) -> str:
    """The text on a shipment's barcode: `SHP-000123`."""
    return f"SHP-{shipment_id:06d}"


def prefecture_name(code: str) -> str:
    """The prefecture's name for its JIS code ("13" → "東京都"); unknown codes as given."""
    text = code.strip()
    key = f"{int(text):02d}" if text.isdecimal() else text
    return PREFECTURES.get(key, code)


def pick_list_html(pick_list: PickList) -> str:
    """A complete HTML5 document to print on A4: the pick list, then one slip per parcel."""
    title = f"ピッキングリスト {pick_list.location} {_when(pick_list.generated_at)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="ja">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        _pick_section(pick_list),
        *(_slip_section(pick_list.location, slip) for slip in pick_list.shipments),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def pick_list_csv(pick_list: PickList, *, bom: bool = True) -> str:
    """One row per pick entry. With `bom`, Excel in Japan reads the UTF-8 correctly."""
    slips = {slip.shipment_id: slip for slip in pick_list.shipments}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for row in pick_list.rows:
        for entry in row.entries:
            slip = slips.get(entry.shipment_id)
            writer.writerow(
                (
                    pick_list.location,
                    row.sku,
                    row.name,
                    entry.quantity,
                    entry.shipment_id,
                    entry.order_id,
                    entry.channel,
                    entry.external_id,
                    entry.line_id,
                    entry.set_sku or "",
                    slip.parcel if slip else "",
                    slip.parcels if slip else "",
                )
            )
    return ("\ufeff" if bom else "") + out.getvalue()


def _pick_section(pick_list: PickList) -> str:
    statuses = ", ".join(status.value for status in pick_list.statuses)
    head = (
        "<thead><tr>"
        '<th>SKU</th><th>商品名 <span class="en">Name</span></th>'
        '<th class="num">合計 <span class="en">Total</span></th>'
        '<th>出荷 <span class="en">Shipment</span></th>'
        '<th>注文 <span class="en">Order</span></th>'
        '<th>明細 <span class="en">Line</span></th>'
        '<th class="num">数量 <span class="en">Qty</span></th>'
        '<th class="check">✓</th>'
        "</tr></thead>"
    )
    body = "".join(_pick_row(row) for row in pick_list.rows)
    if not pick_list.rows:
        body = '<tbody><tr><td colspan="8">ピッキング対象なし / Nothing to pick</td></tr></tbody>'
    return (
        '<section class="pick-list">'
        "<header>"
        '<h1>ピッキングリスト <span class="en">Pick list</span> '
        f"· {escape(pick_list.location)}</h1>"
        f'<p class="meta">作成 {escape(_when(pick_list.generated_at))}'
        f" · {escape(statuses)}"
        f" · {len(pick_list.rows)} SKU · {pick_list.units} 点 units"
        f" · {len(pick_list.shipments)} 出荷 shipments</p>"
        "</header>"
        f'<table class="picks">{head}{body}</table>'
        "</section>"
    )


def _pick_row(row: PickRow) -> str:
    span = max(len(row.entries), 1)
    rowspan = f' rowspan="{span}"' if span > 1 else ""
    lead = (
        f'<th scope="rowgroup" class="sku-code"{rowspan}>{escape(row.sku)}</th>'
        f"<td{rowspan}>{escape(row.name)}</td>"
        f'<td class="num total"{rowspan}>{row.total}</td>'
    )
    if not row.entries:
        return f'<tbody class="sku"><tr>{lead}<td colspan="5"></td></tr></tbody>'
    rows = [
        f"<tr>{lead if index == 0 else ''}{_pick_entry(entry)}</tr>"
        for index, entry in enumerate(row.entries)
    ]
    return f'<tbody class="sku">{"".join(rows)}</tbody>'


def _pick_entry(entry: PickEntry) -> str:
    return (
        f'<td class="id">{escape(shipment_label(entry.shipment_id))}</td>'
        f"<td>{_order_ref(entry.channel, entry.external_id)}</td>"
        f'<td class="id">{escape(entry.line_id)}{_set_mark(entry.set_sku)}</td>'
        f'<td class="num">{entry.quantity}</td>'
        '<td class="check"></td>'
    )


def _slip_section(location: str, slip: ShipmentSlip) -> str:
    label = shipment_label(slip.shipment_id)
    split = slip.split_note
    meta = [
        f'<p class="location">出荷元 <span class="en">From</span> {escape(location)}</p>',
        f'<h2 class="id">{escape(label)}</h2>',
        f'<p class="order">注文 <span class="en">Order</span> '
        f"{_order_ref(slip.channel, slip.external_id)}"
        f' <span class="meta">(#{slip.order_id})</span></p>',
        f'<p class="meta">状態 <span class="en">Status</span> {escape(slip.status.value)}</p>',
    ]
    if split is not None:
        meta.append(f'<p class="split">{escape(split)}</p>')
    if slip.promised_by is not None:
        meta.append(
            f'<p class="promised">出荷期限 <span class="en">Promised by</span> '
            f"{escape(_when(slip.promised_by))}</p>"
        )
    if slip.shipping_method:
        meta.append(
            f'<p class="shipping">配送方法 <span class="en">Shipping</span> '
            f"{escape(slip.shipping_method)}</p>"
        )
    parts = [
        f'<section class="slip" id="slip-{escape(label)}">',
        '<header class="slip-head">',
        f'<div class="slip-meta">{"".join(meta)}</div>',
        f'<div class="slip-barcode">{code128_svg(label, height=48, module_width=1.5)}</div>',
        "</header>",
    ]
    if slip.ship_to is not None:
        parts.append(_address(slip.ship_to))
    parts.append(_slip_lines(slip.lines))
    if slip.assembly:
        parts.append(_list("assembly", "セット組立", "Set assembly", slip.assembly))
    if slip.notes:
        parts.append(_list("notes", "備考", "Notes", slip.notes))
    parts.append("</section>")
    return "".join(parts)


def _slip_lines(lines: tuple[SlipLine, ...]) -> str:
    rows = "".join(
        "<tr>"
        f'<td class="sku-code">{escape(line.sku)}</td>'
        f"<td>{escape(line.name)}{_set_mark(line.set_sku)}</td>"
        f'<td class="id">{escape(line.line_id)}</td>'
        f'<td class="num">{line.quantity}</td>'
        '<td class="check"></td>'
        "</tr>"
        for line in lines
    )
    return (
        '<table class="lines"><thead><tr>'
        '<th>SKU</th><th>商品名 <span class="en">Name</span></th>'
        '<th>明細 <span class="en">Line</span></th>'
        '<th class="num">数量 <span class="en">Qty</span></th>'
        '<th class="check">✓</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _address(ship_to: ShipTo) -> str:
    """Japanese order: postal code, prefecture, city, street, building, then the addressee."""
    street = (
        f'<span class="prefecture">{escape(prefecture_name(ship_to.prefecture))}</span>'
        f'<span class="city">{escape(ship_to.city)}</span>'
        f'<span class="address1">{escape(ship_to.address1)}</span>'
    )
    lines = [
        f'<span class="postal">〒{escape(ship_to.postal_code)}</span>',
        street,
    ]
    if ship_to.address2:
        lines.append(f'<span class="address2">{escape(ship_to.address2)}</span>')
    lines.append(f'<span class="addressee">{escape(ship_to.name)} 様</span>')
    if ship_to.phone:
        lines.append(f'<span class="phone">TEL {escape(ship_to.phone)}</span>')
    # A heading may not sit inside <address>: it goes in the section around it.
    return (
        '<section class="ship-to">'
        '<h3>お届け先 <span class="en">Ship to</span></h3>'
        f"<address>{'<br>'.join(lines)}</address>"
        "</section>"
    )


def _list(css_class: str, title: str, title_en: str, items: tuple[str, ...]) -> str:
    entries = "".join(f"<li>{escape(item)}</li>" for item in items)
    return (
        f'<section class="{css_class}">'
        f'<h3>{title} <span class="en">{title_en}</span></h3>'
        f"<ul>{entries}</ul>"
        "</section>"
    )


def _order_ref(channel: str, external_id: str) -> str:
    return f'<span class="id">{escape(channel)} / {escape(external_id)}</span>'


def _set_mark(set_sku: str | None) -> str:
    if set_sku is None:
        return ""
    return f' <span class="set">セット {escape(set_sku)} <span class="en">set part</span></span>'


def _when(moment: datetime) -> str:
    """Local time on the floor; the model keeps UTC (a naive value is read as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(JST):%Y-%m-%d %H:%M} JST"
