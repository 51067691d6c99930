"""Code 128 (subset B) as an inline SVG, for the shipment id on a packing slip.

Pure: the stdlib only. Subset B covers printable ASCII, which is all a shipment label
(`SHP-000123`) needs; the encoder never switches subsets, so a label is one symbol longer than
an optimal A/B/C encoder would make it, and scans the same.

A symbol is 11 modules: 3 bars and 3 spaces, each 1 to 4 modules wide. The stop pattern is 13
(its final 2-module bar ends the code). A quiet zone of 10 modules each side (the minimum the
standard asks for) lets the scanner find the start.
"""

from __future__ import annotations

from html import escape

# Bar/space widths of symbol values 0..105 (105 is Start C), then the stop pattern (106).
# Read left to right, starting with a bar.
PATTERNS: tuple[str, ...] = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312",
    "132212", "221213", "221312", "231212", "112232", "122132", "122231", "113222",
    "123122", "123221", "223211", "221132", "221231", "213212", "223112", "312131",
    "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321",
    "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121",
    "313121", "211331", "231131", "213113", "213311", "213131", "311123", "311321",
    "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224",
    "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112",
    "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113",
    "114311", "411113", "411311", "113141", "114131", "311141", "411131", "211412",
    "211214", "211232", "2331112",
)  # fmt: skip

START_A = 103
START_B = 104
START_C = 105
STOP = 106
QUIET_ZONE = 10  # modules, each side
_FIRST, _LAST = 0x20, 0x7E  # printable ASCII: subset B values 0..94


def code128_values(text: str) -> list[int]:
    """Symbol values of `text` in subset B: start code, data, checksum, stop."""
    _validate(text)
    data = [ord(char) - _FIRST for char in text]
    return [START_B, *data, code128_checksum(START_B, data), STOP]


def code128_checksum(start: int, data: list[int]) -> int:
    """Modulo-103 check value: the start code plus each data value times its position."""
    return (start + sum(position * value for position, value in enumerate(data, 1))) % 103


def code128_modules(text: str) -> str:
    """The code as modules, "1" for bar and "0" for space, quiet zones excluded."""
    modules = []
    for value in code128_values(text):
        for index, width in enumerate(PATTERNS[value]):
            modules.append(("1" if index % 2 == 0 else "0") * int(width))
    return "".join(modules)


def code128_svg(text: str, *, height: int = 40, module_width: float = 1.0) -> str:
    """An `<svg>` element with the bars of `text` and the text itself under them.

    Sizes are CSS pixels: `height` is the bars' height, `module_width` the narrowest bar. For
    print, keep `module_width` at 1 or more (1 px = 0.26 mm; scanners want at least 0.19).
    """
    if height <= 0 or module_width <= 0:
        raise ValueError("barcode height and module width must be positive")
    modules = code128_modules(text)
    font_size = 10 * module_width
    width = (len(modules) + 2 * QUIET_ZONE) * module_width
    total_height = height + font_size + 4
    label = escape(text)
    bars = _bars(modules, height, module_width)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="barcode" role="img"'
        f' aria-label="Code 128 {label}" width="{_n(width)}" height="{_n(total_height)}"'
        f' viewBox="0 0 {_n(width)} {_n(total_height)}">'
        f'<rect width="{_n(width)}" height="{_n(total_height)}" fill="#fff"/>'
        f'<path fill="#000" shape-rendering="crispEdges" d="{bars}"/>'
        f'<text x="{_n(width / 2)}" y="{_n(height + font_size + 1)}" text-anchor="middle"'
        f' font-family="monospace" font-size="{_n(font_size)}">{label}</text>'
        "</svg>"
    )


def _validate(text: str) -> None:
    if not text:
        raise ValueError("barcode text must not be empty")
    bad = next((char for char in text if not _FIRST <= ord(char) <= _LAST), None)
    if bad is not None:
        raise ValueError(f"Code 128 subset B takes printable ASCII only, got {bad!r}")


def _bars(modules: str, height: int, module_width: float) -> str:
    """One path: a rectangle per run of bar modules."""
    runs = []
    start = None
    for index, module in enumerate(f"{modules}0"):
        if module == "1" and start is None:
            start = index
        elif module == "0" and start is not None:
            x = (QUIET_ZONE + start) * module_width
            runs.append(f"M{_n(x)} 0h{_n((index - start) * module_width)}v{height}H{_n(x)}z")
            start = None
    return "".join(runs)


def _n(number: float) -> str:
    """A coordinate without float noise or exponent: 1.5, 12, 0.333."""
    return f"{number:.3f}".rstrip("0").rstrip(".")
