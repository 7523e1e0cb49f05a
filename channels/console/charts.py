"""Charts drawn on the server as SVG: bars for counts, a line for lag. No script needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 720, 180
LEFT, BOTTOM, TOP = 48, 24, 12


def bar_chart(title: str, points: Sequence[tuple[datetime, float]], unit: str = "") -> str:
    """A bar per point (time, value), labelled every few bars; an accessible ``<svg>``."""
    return _chart(title, points, unit, bars=True)


def line_chart(title: str, points: Sequence[tuple[datetime, float | None]], unit: str = "") -> str:
    """A line through the points that have a value (gaps where none was measured)."""
    return _chart(title, points, unit, bars=False)


def _chart(
    title: str, points: Sequence[tuple[datetime, float | None]], unit: str, *, bars: bool
) -> str:
    values = [v for _, v in points if v is not None]
    top = max(values, default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(points), 1)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" '
        f'x2="{WIDTH - 8}" y2="{TOP + plot_h}"/>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">'
        f"{_number(top)}{escape(unit)}</text>",
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    path: list[str] = []
    for index, (when, value) in enumerate(points):
        x = LEFT + index * step
        if value is not None:
            height = plot_h * value / top
            y = TOP + plot_h - height
            label = f"{when:%H:%M}: {_number(value)}{unit}"
            if bars:
                parts.append(
                    f'<rect class="bar" x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                    f'height="{height:.1f}"><title>{escape(label)}</title></rect>'
                )
            else:
                path.append(f"{'M' if not path else 'L'}{x + step / 2:.1f},{y:.1f}")
                parts.append(
                    f'<circle class="dot" cx="{x + step / 2:.1f}" cy="{y:.1f}" r="2.5">'
                    f"<title>{escape(label)}</title></circle>"
                )
        if index % max(len(points) // 6, 1) == 0:
            parts.append(
                f'<text class="tick" x="{x + step / 2:.1f}" y="{HEIGHT - 6}" '
                f'text-anchor="middle">{when:%H:%M}</text>'
            )
    if path:
        parts.append(f'<path class="line" d="{" ".join(path)}"/>')
    if not values:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            "nothing measured in this period</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.2f}"
