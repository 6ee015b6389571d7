"""Relocation: how far the live view is from the baseline's, and what the technician does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capture.config import RelocationConfig
from capture.metrics import bin_image, grey, linear
from capture.registration import Alignment, align

U8 = NDArray[np.uint8]


@dataclass(frozen=True)
class Guidance:
    """The move that brings the rig back onto the baseline's field of view.

    ``dx_mm`` is towards the subject's right ear (right on the screen, forehead at the top),
    ``dy_mm`` towards the forehead, ``drot_deg`` counter-clockwise seen from above; all in
    the baseline image's frame.
    """

    dx_mm: float
    dy_mm: float
    drot_deg: float
    overlap: float
    peak: float
    converged: bool
    same_site: bool
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "dx_mm": round(self.dx_mm, 3),
            "dy_mm": round(self.dy_mm, 3),
            "drot_deg": round(self.drot_deg, 2),
            "overlap": round(self.overlap, 4),
            "peak": round(self.peak, 4),
            "converged": self.converged,
            "same_site": self.same_site,
            "text": self.text,
        }


def describe(dx_mm: float, dy_mm: float, drot_deg: float, *, min_mm: float = 0.05) -> str:
    """Guidance a person can follow, e.g. 'move 0.8 mm toward the forehead, rotate 4 deg
    clockwise'."""
    parts: list[str] = []
    if abs(dy_mm) >= min_mm:
        where = "toward the forehead" if dy_mm > 0 else "toward the back of the head"
        parts.append(f"move {abs(dy_mm):.1f} mm {where}")
    if abs(dx_mm) >= min_mm:
        where = "toward the right ear" if dx_mm > 0 else "toward the left ear"
        parts.append(f"move {abs(dx_mm):.1f} mm {where}")
    if abs(drot_deg) >= 0.5:
        sense = "counter-clockwise" if drot_deg > 0 else "clockwise"
        parts.append(f"rotate {abs(drot_deg):.0f} deg {sense}")
    return ", ".join(parts) if parts else "hold still: on the baseline site"


def reference_image(img: U8, width: int) -> NDArray[np.float32]:
    """A stored (full-resolution) baseline image reduced to the live preview's width."""
    factor = max(1, round(img.shape[1] / width))
    return bin_image(grey(linear(img)), factor)


def guidance(
    baseline: NDArray[np.float32],
    live: U8,
    *,
    um_per_px: float,
    cfg: RelocationConfig,
) -> tuple[Guidance, Alignment]:
    """Compare a live preview frame with the baseline reference (same size, see
    :func:`reference_image`); ``um_per_px`` is the scale of those frames."""
    g = grey(linear(live))
    if g.shape != baseline.shape:
        h = min(g.shape[0], baseline.shape[0])
        w = min(g.shape[1], baseline.shape[1])
        g, baseline = g[:h, :w], baseline[:h, :w]
    al = align(baseline, g)
    mm = um_per_px / 1000.0
    # Content moved right by du: the rig sits left of the baseline, so it must go right.
    dx, dy, drot = al.du_px * mm, -al.dv_px * mm, al.rotation_deg
    same = al.peak >= cfg.min_peak
    converged = same and al.overlap >= cfg.overlap_threshold and abs(drot) <= cfg.max_rotation_deg
    text = (
        describe(dx, dy, drot)
        if same
        else "this does not look like the baseline site: check the site marking"
    )
    return Guidance(dx, dy, drot, al.overlap, al.peak, converged, same, text), al
