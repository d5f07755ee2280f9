"""Small charts drawn as inline SVG text for the HTML report: a Gantt timeline and bar charts.

The report must stay one self-contained file (an email body, a page opened offline), so the charts are
SVG elements written into the page, with no script, no external font or stylesheet and no plotting
library. Every chart has a <title> per mark (a tooltip in browsers); the numbers themselves are also in
the tables next to the charts, since several email clients drop inline SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Colour-blind-safe palette (Okabe-Ito, then a few neutral tones); series keep their colour across
# charts because they are coloured by their position in one shared list (the step names, for instance).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#999999",
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#AA4499",
)
FAILED = "#cf222e"
FONT = "font-family:sans-serif;font-size:11px"


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above `value` (an axis end that reads well)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = factor * 10.0**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop ends at 10 x 10^k


def _number(value: float) -> str:
    return f"{value:g}" if value < 1000 else f"{value:,.0f}"


@dataclass(frozen=True)
class Span:
    """One bar of a Gantt chart: `start` and `seconds` from the chart's origin; `seconds` None = still
    running when the report was built (drawn to the end of the axis, dashed)."""

    label: str
    start: float
    seconds: float | None
    colour_index: int
    failed: bool = False
    tooltip: str = ""


def gantt(spans: Sequence[Span], *, width: int = 760, row_height: int = 16, label_width: int = 130) -> str:
    """A horizontal timeline: one row per span, the time axis in seconds."""
    if not spans:
        return ""
    end = max(s.start + (s.seconds or 0.0) for s in spans)
    axis_end = nice_ceiling(end)
    plot = width - label_width - 20
    top, height = 6, row_height * len(spans) + 30
    parts = [_open(width, height, "timeline of the run's steps and chunks")]
    for tick in _ticks(axis_end):
        x = label_width + plot * tick / axis_end
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 22}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" style="{FONT}">'
            f"{_number(tick)} s</text>"
        )
    for i, s in enumerate(spans):
        y = top + i * row_height
        x = label_width + plot * s.start / axis_end
        running = s.seconds is None
        w = plot * ((axis_end - s.start) if running else (s.seconds or 0.0)) / axis_end
        fill = FAILED if s.failed else colour(s.colour_index)
        dash = ' stroke="#333" stroke-dasharray="3,2" fill-opacity="0.35"' if running else ""
        parts.append(
            f'<text x="{label_width - 6}" y="{y + row_height - 5}" text-anchor="end" style="{FONT}">'
            f"{escape(s.label)}</text>"
            f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 1.5):.1f}" height="{row_height - 4}" '
            f'fill="{fill}"{dash}><title>{escape(s.tooltip or s.label)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], int]],
    *,
    stacked: bool,
    unit: str,
    tooltips: Sequence[str] | None = None,
    width: int = 760,
    height: int = 220,
) -> str:
    """Vertical bars per category (oldest run first): `series` is (name, one value per category, colour
    index); stacked, or side by side. A legend names the series."""
    if not categories or not series:
        return ""
    totals = [
        sum(values[i] for _, values, _ in series) if stacked else max(v[i] for _, v, _ in series)
        for i in range(len(categories))
    ]
    axis_end = nice_ceiling(max(totals, default=0.0))
    left, right, top, bottom = 52, 10, 8, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    legend_rows = math.ceil(len(series) / 5)
    total_height = height + 16 * legend_rows
    parts = [_open(width, total_height, f"{', '.join(name for name, _, _ in series)} per run")]
    for tick in _ticks(axis_end):
        y = top + plot_h - plot_h * tick / axis_end
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" style="{FONT}">'
            f"{_number(tick)}</text>"
        )
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" transform="rotate(-90 12 {top + plot_h / 2:.1f})" '
        f'text-anchor="middle" style="{FONT}">{escape(unit)}</text>'
    )
    slot = plot_w / len(categories)
    bar_w = slot * 0.7
    label_every = max(1, math.ceil(len(categories) / 12))
    for i, category in enumerate(categories):
        x0 = left + i * slot + (slot - bar_w) / 2
        base = 0.0
        for k, (name, values, colour_index) in enumerate(series):
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * value / axis_end
            if stacked:
                x, w, y = x0, bar_w, top + plot_h - plot_h * base / axis_end - h
                base += value
            else:
                w = bar_w / len(series)
                x, y = x0 + k * w, top + plot_h - h
            tip = f"{tooltips[i] if tooltips else category}: {name} {_number(value)} {unit}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w - 0.5, 1):.1f}" height="{max(h, 0.5):.1f}" '
                f'fill="{colour(colour_index)}"><title>{escape(tip)}</title></rect>'
            )
        if i % label_every == 0:
            cx = x0 + bar_w / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="middle" style="{FONT}">'
                f"{escape(category)}</text>"
            )
    for k, (name, _, colour_index) in enumerate(series):
        lx = left + (k % 5) * (plot_w / 5)
        ly = height - 14 + 16 * (k // 5)
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly}" width="10" height="10" fill="{colour(colour_index)}"/>'
            f'<text x="{lx + 14:.1f}" y="{ly + 9}" style="{FONT}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(axis_end: float) -> list[float]:
    return [axis_end * i / 4 for i in range(5)]


def _open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
    )
