"""Plots as inline SVG, rendered on the server: nothing is fetched by the browser.

Every text that reaches the SVG is escaped here; the result is marked safe for Jinja.
"""

from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

COLOURS = ("#1f5fa8", "#c2571a", "#2e8b57", "#8a3ea8", "#a88a1f")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value:
            return float(step * exp)
    return float(10 * exp)  # pragma: no cover - the loop always returns


def line_plot(
    x_labels: list[str],
    series: dict[str, list[float | None]],
    *,
    title: str,
    unit: str,
    width: int = 420,
    height: int = 220,
    flagged: list[bool] | None = None,
) -> Markup:
    """Lines of ``series`` (name -> one value or None per x label) with axes and a legend.

    ``flagged`` (one per x label): those points are drawn hollow, titled "flagged for
    review", and the legend says what a hollow point means."""
    marked = flagged or [False] * len(x_labels)
    any_marked = any(
        marked[i] for vs in series.values() for i, val in enumerate(vs) if val is not None
    )
    # a line of its own under the title says what a hollow point is
    left, right, top, bottom = 52, 12, 40 if any_marked else 26, 40
    pw, ph = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    ymax = _nice_max(max(values) * 1.1 if values else 1.0)
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (pw * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + ph * (1 - v / ymax)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" class="plot-title">{escape(title)} ({escape(unit)})</text>',
    ]
    for k in range(5):
        v = ymax * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>'
        )
    for i, label in enumerate(x_labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + ph + 18}" text-anchor="middle">{escape(label)}</text>'
        )
    for j, (name, vs) in enumerate(series.items()):
        colour = COLOURS[j % len(COLOURS)]
        pts = [(x(i), y(v)) for i, v in enumerate(vs) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for i, val in enumerate(vs):
            if val is None:
                continue
            fill, note = ("white", " (flagged for review)") if marked[i] else (colour, "")
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(val):.1f}" r="3.5" fill="{fill}" '
                f'stroke="{colour}" stroke-width="1.5">'
                f"<title>{escape(name)}: {val:.1f}{note}</title></circle>"
            )
        lx = left + j * 130
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{height - 5}">{escape(name)}</text>'
        )
    if any_marked:
        parts.append(f'<text x="{left}" y="31" class="muted">○ flagged for review</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
