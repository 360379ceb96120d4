"""Small server-rendered SVG charts (no JavaScript, no external assets).

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` for screen readers;
pages show the same figures in a table next to it. Text is escaped here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

__all__ = ["Band", "Series", "bar_chart", "line_chart", "nice_ticks"]

PALETTE = ("#1f5fa8", "#b5470b", "#2e7d32", "#6a1b9a", "#00838f", "#5d4037")


@dataclass(frozen=True)
class Series:
    """One line (or set of markers) of a line chart; ``x`` may be numbers or dates."""

    label: str
    points: Sequence[tuple[float | dt.date, float]]
    markers: bool = True
    line: bool = True
    dashed: bool = False


@dataclass(frozen=True)
class Band:
    """A shaded horizontal range (a target band) with its label."""

    low: float
    high: float
    label: str
    extra: dict[str, str] = field(default_factory=dict)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low``..``high``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _x_value(x: float | dt.date) -> float:
    return float(x.toordinal()) if isinstance(x, dt.date) else float(x)


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-9 else "0"


def _open(width: int, height: int, title: str, desc: str, chart_id: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
    ]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    x_label: str = "",
    band: Band | None = None,
    chart_id: str = "chart",
    width: int = 640,
    height: int = 260,
    y_min: float | None = None,
    y_max: float | None = None,
) -> str:
    """A line chart of ``series`` with an optional shaded ``band``; ``y_min``/``y_max`` widen
    the y-axis to a scale's range (a single value of a 0-60 score is not drawn on 26-27)."""
    points = [(_x_value(x), float(y)) for s in series for x, y in s.points]
    dates = any(isinstance(x, dt.date) for s in series for x, _ in s.points)
    desc = f"{len(series)} series, {len(points)} points"
    out = _open(width, height, title, desc, chart_id)
    if not points:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text>')
        return "".join([*out, "</svg>"])
    left, right, top, bottom = 56, 24, 44, 44
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    if band is not None:
        ys += [band.low, band.high]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    yt = nice_ticks(
        min(ys) if y_min is None else min(y_min, *ys), max(ys) if y_max is None else max(y_max, *ys)
    )
    y0, y1 = yt[0], yt[-1]

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)

    out.append(f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>')
    if band is not None:
        top_y, low_y = sy(band.high), sy(band.low)
        out.append(
            f'<rect class="band" x="{left}" y="{top_y:.1f}" width="{width - left - right}" '
            f'height="{max(low_y - top_y, 1):.1f}"><title>{escape(band.label)}</title></rect>'
        )
    for tick in yt:
        y = sy(tick)
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>'
        )
    label: Callable[[float], str] = (
        (lambda v: dt.date.fromordinal(round(v)).isoformat()) if dates else _fmt
    )
    for tick, anchor in ((x0, "start"), ((x0 + x1) / 2, "middle"), (x1, "end")):
        out.append(
            f'<text x="{sx(tick):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}">'
            f"{escape(label(tick))}</text>"
        )
    out.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{(top + height - bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(top + height - bottom) / 2})">{escape(y_label)}</text>'
    )
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        coords = [(sx(_x_value(x)), sy(float(y))) for x, y in s.points]
        if s.line and len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            dash = ' stroke-dasharray="6 4"' if s.dashed else ""
            out.append(
                f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2"'
                f'{dash} points="{path}"/>'
            )
        if s.markers:
            for (x, y), (rx, ry) in zip(coords, s.points, strict=True):
                shown = rx.isoformat() if isinstance(rx, dt.date) else _fmt(float(rx))
                out.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                    f"<title>{escape(s.label)}: {escape(shown)}, {_fmt(float(ry))}</title></circle>"
                )
    legend_x = float(left)
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        out.append(
            f'<rect x="{legend_x:.0f}" y="22" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14:.0f}" y="31" class="legend">{escape(s.label)}</text>'
        )
        legend_x += 24 + 6.5 * len(s.label)
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str,
    chart_id: str = "bars",
    width: int = 640,
    bar_height: int = 14,
) -> str:
    """Horizontal bars, one per row (label, value): the label written in full above its bar
    (never clipped at the left edge), the value at the bar's end."""
    left, right, top, row_height = 8, 70, 30, bar_height + 20
    height = top + row_height * max(len(rows), 1) + 6
    out = _open(width, height, title, f"{len(rows)} bars in {unit}", chart_id)
    out.append(f'<text x="4" y="16" class="chart-title">{escape(title)}</text>')
    if not rows:
        out.append(f'<text x="{left}" y="{top + 14}">no data</text></svg>')
        return "".join(out)
    high = max((v for _, v in rows), default=0.0) or 1.0
    span = width - left - right
    max_chars = int((width - left) / 6.8)
    for n, (label, value) in enumerate(rows):
        y = top + n * row_height
        w = max(value, 0.0) / high * span
        short = label if len(label) <= max_chars else label[: max_chars - 1] + "…"
        shown = f"{_fmt(round(value, 1))} {unit}"
        out.append(
            f'<g class="bar"><title>{escape(label)}: {escape(shown)}</title>'
            f'<text x="{left}" y="{y + 12}">{escape(short)}</text>'
            f'<rect x="{left}" y="{y + 16}" width="{w:.1f}" height="{bar_height}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 16 + bar_height - 3}">'
            f"{escape(_fmt(round(value, 1)))}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)
