"""blind-4: an independent generator of trichoscopy test frames.

Used only to judge a hair-density model on images drawn in a way that shares nothing with the
project's own renderer. Technique: hair shafts are point clouds of surface elements
(surfels) on a (arc length x across-fibre) lattice along a perturbed 3-D centreline, each
surfel shaded Marschner-style under a ring of LEDs (white R reflex shifted toward the root,
tinted TRT reflex), with medulla, cuticle banding and pigment streaks, and splatted with
quadratic B-spline weights into coverage/colour accumulators composited shaft by shaft. Skin is
spectral synthesis (1/f^beta mottle of melanin and blood) with hexagonal-spectrum cell
patterns (honeycomb pigment network, furrows) and sparse ring spectra (corneocyte scale,
grain). A dermoscope optical path follows (distortion, chromatic aberration, blur,
vignetting, field stop, LED reflections, noise, demosaicing, JPEG/PNG).

Truth: one entry in ``hairs`` per hair whose emergence point (where it leaves the skin) lies
in the frame, in output pixel coordinates. Black dots (hairs broken at the scalp surface,
drawn as dark dots in their opening) ARE counted as hairs (kind "black_dot", end "none", no
tip). On frames with a round field stop, hairs emerging in the black corners are not in
``hairs`` (they cannot be seen) but in ``emergence_masked``. Long hairs emerging far outside
the frame may lie across it; they are not counted (their free ends are listed when visible).
``shafts[i]["emergence_covered"]`` says a later-drawn shaft lies opaque over hair i's
emergence (it still counts); free ends under another shaft go to ``tips_covered``, not
``tips``. Exclamation-mark hairs report the mean diameter of their tapering shaft.
``density_per_cm2`` uses the nominal frame area (barrel distortion, up to 3 % at the
corners, is ignored there). Flakes, bubbles, ink, vessels and a rare ruler or coloured fibre
("fibres" factor) are never counted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.blind4.look import OVERRIDES
from sim.blind4.pipeline import GENERATOR, render

__all__ = ["GENERATOR", "OVERRIDES", "generate"]


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_num(v: object) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
    **overrides: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One trichoscopy frame (RGB uint8, (height, width, 3)) and its truth (plain JSON).

    ``regrown=(factor, seed2)`` draws the same site at a later visit with about ``factor``
    times the hairs, re-positioned by a few percent and degrees, with fresh sensor noise.
    ``overrides`` force named look choices; see ``OVERRIDES`` for the names and values.
    """
    if not _is_int(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not _is_num(um_per_px) or not math.isfinite(float(um_per_px)):
        raise ValueError(f"um_per_px must be a finite number, got {um_per_px!r}")
    if not 2.0 <= float(um_per_px) <= 15.0:
        raise ValueError(f"um_per_px must be in [2, 15], got {um_per_px!r}")
    for name, val in (("width", width), ("height", height)):
        if not _is_int(val):
            raise ValueError(f"{name} must be an int, got {val!r}")
        if not 32 <= int(val) <= 4096:
            raise ValueError(f"{name} must be in [32, 4096], got {val!r}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    reg: tuple[float, int] | None = None
    if regrown is not None:
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise ValueError(f"regrown must be None or (factor, seed), got {regrown!r}")
        factor, seed2 = regrown
        if not _is_num(factor) or not math.isfinite(float(factor)):
            raise ValueError(f"regrown factor must be a finite number, got {factor!r}")
        if not 0.2 <= float(factor) <= 3.0:
            raise ValueError(f"regrown factor must be in [0.2, 3], got {factor!r}")
        if not _is_int(seed2):
            raise ValueError(f"regrown seed must be an int, got {seed2!r}")
        reg = (float(factor), int(seed2))
    return render(
        int(seed), float(um_per_px), int(width), int(height), bool(hairless), reg, overrides
    )
