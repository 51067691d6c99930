"""Code 128 subset B: the encoding is checked against published values and decoded back from
the SVG, so what prints is what a scanner reads."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from oms.orders.domain.barcode import (
    PATTERNS,
    QUIET_ZONE,
    START_A,
    START_B,
    START_C,
    STOP,
    code128_checksum,
    code128_modules,
    code128_svg,
    code128_values,
)

SVG = "{http://www.w3.org/2000/svg}"
_BAR = re.compile(r"M([\d.]+) 0h([\d.]+)v(\d+)H([\d.]+)z")


def bits(pattern: str) -> str:
    return "".join(("1" if i % 2 == 0 else "0") * int(w) for i, w in enumerate(pattern))


def decode(modules: str) -> str:
    """An independent reader: split into symbols, look each up, check start, checksum, stop."""
    table = {bits(pattern): value for value, pattern in enumerate(PATTERNS[:STOP])}
    assert modules.endswith(bits(PATTERNS[STOP]))
    body = modules[: -len(bits(PATTERNS[STOP]))]
    assert len(body) % 11 == 0
    values = [table[body[i : i + 11]] for i in range(0, len(body), 11)]
    start, *data, check = values
    assert start == START_B
    assert (start + sum(i * v for i, v in enumerate(data, 1))) % 103 == check
    return "".join(chr(v + 32) for v in data)


def modules_from_svg(svg: str, module_width: float) -> tuple[str, float]:
    """The module string drawn by the SVG's bars, and where the first bar starts."""
    path = ET.fromstring(svg).find(f"{SVG}path")  # noqa: S314 (our own output)
    assert path is not None
    bars = [
        (round(float(x) / module_width), round(float(w) / module_width))
        for x, w, _, _ in _BAR.findall(path.get("d", ""))
    ]
    first = bars[0][0]
    end = bars[-1][0] + bars[-1][1]
    cells = ["0"] * (end - first)
    for x, w in bars:
        cells[x - first : x - first + w] = ["1"] * w
    return "".join(cells), bars[0][0] * module_width


def test_every_symbol_is_three_bars_and_three_spaces_over_eleven_modules() -> None:
    assert len(PATTERNS) == 107
    for pattern in PATTERNS[:STOP]:
        widths = [int(w) for w in pattern]
        assert len(widths) == 6
        assert sum(widths) == 11
        assert all(1 <= w <= 4 for w in widths)
        # Code 128 parity: bar modules even, space modules odd, in every symbol.
        assert sum(widths[0::2]) % 2 == 0
    assert len(set(PATTERNS)) == len(PATTERNS)


def test_the_stop_pattern_is_thirteen_modules_ending_in_a_double_bar() -> None:
    assert PATTERNS[STOP] == "2331112"
    assert sum(int(w) for w in PATTERNS[STOP]) == 13
    assert bits(PATTERNS[STOP]) == "1100011101011"


def test_start_codes_and_some_symbols_match_the_published_table() -> None:
    assert bits(PATTERNS[START_A]) == "11010000100"
    assert bits(PATTERNS[START_B]) == "11010010000"
    assert bits(PATTERNS[START_C]) == "11010011100"
    assert bits(PATTERNS[0]) == "11011001100"  # space
    assert bits(PATTERNS[13]) == "10011011100"  # "-"
    assert bits(PATTERNS[16]) == "10011101100"  # "0"
    assert bits(PATTERNS[33]) == "10100011000"  # "A"
    assert bits(PATTERNS[51]) == "11011101000"  # "S"
    assert bits(PATTERNS[94]) == "10001011110"  # "~"


def test_checksum_of_the_published_example() -> None:
    # The worked example of the Code 128 article: "PJJ123C" in subset B checks to 55.
    values = code128_values("PJJ123C")
    assert values[1:-2] == [48, 42, 42, 17, 18, 19, 35]
    assert code128_checksum(START_B, values[1:-2]) == 55
    assert values[-2] == 55


def test_a_single_letter_encodes_to_the_known_modules() -> None:
    # Start B, "A" (33), checksum (104 + 33) % 103 = 34, stop.
    assert code128_values("A") == [START_B, 33, 34, STOP]
    assert code128_modules("A") == ("11010010000" + "10100011000" + "10001011000" + "1100011101011")


def test_a_shipment_label_is_start_data_checksum_stop() -> None:
    values = code128_values("SHP-000123")
    assert values[0] == START_B
    assert values[1:-2] == [51, 40, 48, 13, 16, 16, 16, 17, 18, 19]
    assert values[-1] == STOP
    modules = code128_modules("SHP-000123")
    assert len(modules) == 11 * 12 + 13
    assert decode(modules) == "SHP-000123"


@pytest.mark.parametrize("text", ["SHP-000123", "SHP-999999", "a b~{|}", "!", "SHP-1234567"])
def test_the_svg_bars_decode_back_to_the_text(text: str) -> None:
    svg = code128_svg(text, module_width=1.5)
    modules, first_bar = modules_from_svg(svg, 1.5)
    assert modules == code128_modules(text)
    assert decode(modules) == text
    assert first_bar == QUIET_ZONE * 1.5


def test_the_svg_leaves_a_quiet_zone_both_sides_and_prints_the_text_under_the_bars() -> None:
    svg = code128_svg("SHP-000123", height=40, module_width=2)
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    modules = len(code128_modules("SHP-000123"))
    assert float(root.get("width", "0")) == (modules + 2 * QUIET_ZONE) * 2
    background = root.find(f"{SVG}rect")
    assert background is not None
    assert background.get("fill") == "#fff"
    text = root.find(f"{SVG}text")
    assert text is not None
    assert text.text == "SHP-000123"
    assert float(text.get("y", "0")) > 40
    assert float(root.get("height", "0")) > float(text.get("y", "0"))
    assert all(v == "40" for _, _, v, _ in _BAR.findall(svg))


def test_markup_characters_in_the_text_are_escaped() -> None:
    svg = code128_svg('A<b>&"c')
    assert "<b>" not in svg
    assert "&lt;b&gt;&amp;&quot;c" in svg
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    assert root.find(f"{SVG}text") is not None
    assert decode(modules_from_svg(svg, 1.0)[0]) == 'A<b>&"c'


@pytest.mark.parametrize(
    "text", ["", "日本", "SHP-00012\uff13", "tab\there", "new\nline", "\x7f", "é"]
)
def test_text_outside_printable_ascii_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"barcode|printable ASCII"):
        code128_svg(text)


@pytest.mark.parametrize(("height", "module_width"), [(0, 1.0), (40, 0), (-1, 1.0), (40, -0.5)])
def test_sizes_must_be_positive(height: int, module_width: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        code128_svg("SHP-000001", height=height, module_width=module_width)
