"""The PNG chart: a valid PNG (signature, chunks, CRCs, one zlib stream) whose pixels show the
equity in the upper panel and the drawdown in the lower, the same bytes for the same curve."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.cli.backtests.pictures import BLUE, PAD, PANEL, RED, WIDTH, chart_png
from papertape.contract.events.reports import EquityPoint

T0 = datetime(2026, 2, 2, 14, 30, tzinfo=UTC)


def curve(values: list[int]) -> list[EquityPoint]:
    return [
        EquityPoint(ts=T0 + timedelta(minutes=i), equity=Decimal(v), cash=Decimal(v))
        for i, v in enumerate(values)
    ]


def decoded(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows, every chunk's CRC checked (filter type 0 on every row)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks = 8, {}
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data)
        chunks[kind] = data
        at += 12 + length
    assert list(chunks) == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour) == (8, 2)  # 8-bit RGB
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + 3 * width
    assert len(raw) == stride * height
    assert all(raw[y * stride] == 0 for y in range(height))
    return width, height, [raw[y * stride + 1 : (y + 1) * stride] for y in range(height)]


def coloured(rows: list[bytes], colour: tuple[int, int, int]) -> set[tuple[int, int]]:
    wanted = bytes(colour)
    return {
        (x, y)
        for y, row in enumerate(rows)
        for x in range(len(row) // 3)
        if row[3 * x : 3 * x + 3] == wanted
    }


def test_equity_rises_to_the_top_of_its_panel_and_the_drawdown_falls_to_the_bottom_of_its() -> None:
    # Up from 100 to 200, down to 150 (a 25% drawdown), back to 200.
    width, height, rows = decoded(chart_png(curve([100, 200, 150, 200])))
    assert (width, height) == (WIDTH, 2 * PANEL + PAD)
    blue, red = coloured(rows, BLUE), coloured(rows, RED)
    assert blue
    assert red
    assert all(y < PANEL for _, y in blue)  # equity in the upper panel
    assert all(y > PANEL + PAD for _, y in red)  # drawdown in the lower one
    assert min(y for _, y in blue) == PAD  # the highest equity at the top of its range
    assert max(y for _, y in blue) == PANEL - 1 - PAD  # the lowest at the bottom
    assert (PAD, PANEL - 1 - PAD) in blue  # the first point, the lowest, at the left
    assert max(y for _, y in red) == 2 * PANEL + PAD - 1 - PAD  # the deepest fall


def test_a_long_curve_keeps_every_excursion_and_the_same_curve_gives_the_same_bytes() -> None:
    values = [1000] * 5000
    values[2500] = 1100  # one spike among five thousand points
    png = chart_png(curve(values))
    assert png == chart_png(curve(values))
    _, _, rows = decoded(png)
    assert min(y for _, y in coloured(rows, BLUE)) == PAD  # the spike is drawn


def test_an_empty_curve_is_two_empty_frames() -> None:
    _, _, rows = decoded(chart_png([]))
    assert not coloured(rows, BLUE)
    assert not coloured(rows, RED)
