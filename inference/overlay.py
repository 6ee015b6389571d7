"""Overlay image for the technician and the dashboard: every detected opening and its diameter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from dermocap.fsutil import atomic_write_bytes
from inference.metrics import HairMetrics

TERMINAL_RGB = (40, 230, 90)
VELLUS_RGB = (255, 210, 0)


def render_overlay(
    rgb: NDArray[np.uint8], metrics: HairMetrics, *, labels: bool = True
) -> NDArray[np.uint8]:
    """A copy of ``rgb`` with a ring at every emergence point (green terminal, yellow vellus).

    The ring grows with the number of hairs in the unit; with ``labels`` the
    unit's mean diameter in um is written beside it.
    """
    im = Image.fromarray(np.ascontiguousarray(rgb))
    draw = ImageDraw.Draw(im)
    scale = max(1.0, min(rgb.shape[:2]) / 500.0)
    width = max(1, round(scale))
    for p in metrics.emergence_points:
        colour = VELLUS_RGB if p.diameter_um < metrics.vellus_threshold_um else TERMINAL_RGB
        r = scale * (4 + 2 * min(p.hairs, 4))
        draw.ellipse((p.x_px - r, p.y_px - r, p.x_px + r, p.y_px + r), outline=colour, width=width)
        if labels:
            draw.text((p.x_px + r + 1, p.y_px - r), f"{p.diameter_um:.0f}", fill=colour)
    out: NDArray[np.uint8] = np.asarray(im)
    return out


def save_overlay(path: Path, rgb: NDArray[np.uint8], metrics: HairMetrics) -> None:
    """Write the overlay atomically as PNG or JPEG (by the suffix; JPEG otherwise)."""
    import io

    buf = io.BytesIO()
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    Image.fromarray(render_overlay(rgb, metrics)).save(buf, format=fmt)
    atomic_write_bytes(path, buf.getvalue())
