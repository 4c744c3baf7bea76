"""The equity and drawdown chart of a backtest: one HTML page with inline SVG, no dependency."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from papertape.contract.events.reports import EquityPoint

WIDTH, HEIGHT, PAD = 900, 260, 40


def _polyline(values: Sequence[float], low: float, high: float, colour: str) -> str:
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    points = " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD):.1f}"
        for i, v in enumerate(values)
    )
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>'


def _panel(title: str, values: Sequence[float], colour: str, unit: str) -> str:
    low, high = min(values, default=0.0), max(values, default=0.0)
    line = _polyline(values, low, high, colour) if values else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff" stroke="#ccc"/>'
        f'<text x="{PAD}" y="20" font-family="sans-serif" font-size="14">{escape(title)}</text>'
        f'<text x="4" y="{PAD}" font-family="sans-serif" font-size="10">{high:,.2f}{unit}</text>'
        f'<text x="4" y="{HEIGHT - PAD}" font-family="sans-serif" font-size="10">'
        f"{low:,.2f}{unit}</text>{line}</svg>"
    )


def drawdowns_pct(curve: Sequence[EquityPoint]) -> list[float]:
    """Each point's fall from the highest equity before it, in percent (0 or negative)."""
    peak = Decimal(0)
    out: list[float] = []
    for point in curve:
        peak = max(peak, point.equity)
        out.append(float((point.equity - peak) / peak * 100) if peak > 0 else 0.0)
    return out


def chart_html(title: str, curve: Sequence[EquityPoint]) -> str:
    """The page: equity over time, then drawdown over time."""
    equity = [float(p.equity) for p in curve]
    first = curve[0].ts.isoformat() if curve else ""
    last = curve[-1].ts.isoformat() if curve else ""
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body style='font-family:sans-serif'><h1>{escape(title)}</h1>"
        f"<p>{escape(first)} to {escape(last)}, {len(curve)} points</p>"
        f"{_panel('Equity', equity, '#1f77b4', '')}<br>"
        f"{_panel('Drawdown', drawdowns_pct(curve), '#d62728', '%')}"
        "</body></html>\n"
    )
