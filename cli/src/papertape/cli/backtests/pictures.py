"""The equity and drawdown chart as a PNG: drawn pixel by pixel and written with zlib alone.

Two panels one above the other (equity in blue, drawdown in red, each scaled to its own range)
on white, with a grey frame and, in the drawdown panel, the zero line. A curve longer than the
panel is wide is drawn as each pixel column's span (its lowest to its highest value) joined to
the next, so a million points cost one pass and the picture still shows every excursion. The
same curve gives the same bytes. Labels and dates are in the HTML chart beside it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

from papertape.cli.backtests.charts import drawdowns_pct
from papertape.contract.events.reports import EquityPoint

WIDTH, PANEL, PAD = 900, 260, 20
Colour = tuple[int, int, int]
WHITE: Colour = (255, 255, 255)
FRAME: Colour = (204, 204, 204)
BLUE: Colour = (31, 119, 180)
RED: Colour = (214, 39, 40)


class Canvas:
    """RGB pixels, row by row."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(WHITE * (width * height))

    def dot(self, x: int, y: int, colour: Colour) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            at = 3 * (y * self.width + x)
            self.pixels[at : at + 3] = bytes(colour)

    def column(self, x: int, top: int, bottom: int, colour: Colour) -> None:
        for y in range(min(top, bottom), max(top, bottom) + 1):
            self.dot(x, y, colour)

    def row(self, y: int, left: int, right: int, colour: Colour) -> None:
        for x in range(left, right + 1):
            self.dot(x, y, colour)

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[3 * y * self.width : 3 * (y + 1) * self.width])
            for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + b"".join(
            _chunk(kind, data)
            for kind, data in ((b"IHDR", header), (b"IDAT", zlib.compress(raw, 9)), (b"IEND", b""))
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _spans(values: Sequence[float], columns: int) -> list[tuple[float, float, float, float]]:
    """Per pixel column that holds points: (first, last, lowest, highest) value."""
    spans: list[tuple[float, float, float, float]] = []
    last_column = -1
    step = columns / len(values) if len(values) > columns else 1.0
    for i, value in enumerate(values):
        column = int(i * step)
        if column != last_column:
            spans.append((value, value, value, value))
            last_column = column
        else:
            first, _, low, high = spans[-1]
            spans[-1] = (first, value, min(low, value), max(high, value))
    return spans


def _panel(canvas: Canvas, top: int, values: Sequence[float], colour: Colour, zero: bool) -> None:
    left, right, bottom = PAD, WIDTH - PAD - 1, top + PANEL - 1
    canvas.row(top, 0, WIDTH - 1, FRAME)
    canvas.row(bottom, 0, WIDTH - 1, FRAME)
    canvas.column(0, top, bottom, FRAME)
    canvas.column(WIDTH - 1, top, bottom, FRAME)
    if not values:
        return
    low, high = min(values), max(values)
    if zero:
        low, high = min(low, 0.0), max(high, 0.0)
    span = (high - low) or 1.0
    inner = PANEL - 1 - 2 * PAD

    def y_of(value: float) -> int:
        return bottom - PAD - round((value - low) / span * inner)

    if zero:
        canvas.row(y_of(0.0), left, right, FRAME)
    spans = _spans(values, right - left + 1)
    gap = (right - left) / max(len(spans) - 1, 1)
    previous: tuple[int, int] | None = None
    for i, (first, last, lowest, highest) in enumerate(spans):
        x = left + round(i * gap)
        if previous is not None:  # a line from the last column's end to this one's start
            px, py = previous
            y_first, at = y_of(first), py
            for xs in range(px, x + 1):
                to = round(py + (xs - px) / (x - px) * (y_first - py)) if x > px else y_first
                canvas.column(xs, at, to, colour)
                at = to
        canvas.column(x, y_of(highest), y_of(lowest), colour)
        previous = (x, y_of(last))


def chart_png(curve: Sequence[EquityPoint]) -> bytes:
    """The PNG: equity over time above drawdown over time."""
    canvas = Canvas(WIDTH, 2 * PANEL + PAD)
    _panel(canvas, 0, [float(p.equity) for p in curve], BLUE, zero=False)
    _panel(canvas, PANEL + PAD, drawdowns_pct(curve), RED, zero=True)
    return canvas.png()
