"""Small charts as inline SVG, generated on the server (no script, no external file: the CSP is
``default-src 'self'``). Pure: data in, markup out. Colours come from CSS classes
(``dashboard.css``), never from ``style`` attributes, and every chart has a title and a
description for screen readers; the same figures are always in a table next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 46


@dataclass(frozen=True)
class Series:
    """One named series; ``css`` names its class (``s-answered``…); None values leave a gap."""

    name: str
    css: str
    values: Sequence[float | None]


def _axis(value: float) -> tuple[float, int]:
    """A round axis maximum at or above ``value`` (1, 2, 5 x 10^k) and a number of steps
    that keeps the ticks round (5 → 1, 2, 3, 4, 5; 2 → 0.5, 1, 1.5, 2)."""
    if value <= 0:
        return 1.0, 4
    power = 10 ** math.floor(math.log10(value))
    for lead, steps in ((1, 5), (2, 4), (5, 5), (10, 5)):
        if value <= lead * power:
            return float(lead * power), steps
    return float(10 * power), 5  # pragma: no cover - the loop always returns


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    bars: Sequence[Series] = (),
    lines: Sequence[Series] = (),
    label_every: int = 1,
) -> Markup:
    """Stacked bars and lines over the same categories, with a y axis and a legend."""
    n = max(1, len(labels))
    stacked = [sum((s.values[i] or 0) for s in bars) for i in range(len(labels))]
    peaks = stacked + [v for s in lines for v in s.values if v is not None]
    top, steps = _axis(max(peaks, default=0.0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / n
    bar_w = max(1.0, step * 0.7)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * (value / top)

    out = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(description)}</desc>',
    ]
    for k in range(steps + 1):
        value = top * k / steps
        yy = y(value)
        out.append(
            f'<line class="grid" x1="{LEFT}" y1="{yy:.1f}" x2="{WIDTH - RIGHT}" y2="{yy:.1f}"/>'
        )
        out.append(
            f'<text class="tick" x="{LEFT - 4}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{escape(_num(value))}</text>"
        )
    for i, label in enumerate(labels):
        x = LEFT + i * step + (step - bar_w) / 2
        base = 0.0
        for s in bars:
            value = s.values[i] or 0
            if value <= 0:
                continue
            y_top = y(base + value)
            height = y(base) - y_top
            out.append(
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{y_top:.1f}" '
                f'width="{bar_w:.1f}" height="{height:.1f}">'
                f"<title>{escape(label)} · {escape(s.name)} : {escape(_num(value))}</title></rect>"
            )
            base += value
        if i % max(1, label_every) == 0:
            cx = LEFT + i * step + step / 2
            out.append(
                f'<text class="tick" x="{cx:.1f}" y="{HEIGHT - BOTTOM + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for s in lines:
        runs: list[list[str]] = [[]]
        for i, point in enumerate(s.values):
            if point is None:
                runs.append([])
                continue
            runs[-1].append(f"{LEFT + i * step + step / 2:.1f},{y(point):.1f}")
        for run in runs:
            if len(run) == 1:
                px, py = run[0].split(",")
                out.append(f'<circle class="{escape(s.css)}" cx="{px}" cy="{py}" r="2.5"/>')
            elif run:
                out.append(f'<polyline class="{escape(s.css)}" points="{" ".join(run)}"/>')
    x = LEFT
    legend_y = HEIGHT - 12
    for s in [*bars, *lines]:
        out.append(
            f'<rect class="{escape(s.css)} key" x="{x}" y="{legend_y - 9}" width="10" height="10"/>'
        )
        out.append(f'<text class="legend" x="{x + 14}" y="{legend_y}">{escape(s.name)}</text>')
        x += 24 + 7 * len(s.name)
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()
