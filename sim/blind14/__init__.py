"""blind-14: an independent test-image generator of dermoscope close-ups of the scalp.

A seed is a site: skin, openings, follicular units of one to four hairs, marks, light and
camera, all drawn from the seed over a world larger than the frame. ``generate`` draws one
frame of it (or the same site hairless, or a later visit with fewer or more hairs) and the
exact truth: each hair's emergence point and diameter, each visible free end of a shaft.

Technique
---------
* Hairs: each shaft is a clamped uniform cubic B-spline through 3-D control points
  (height above the skin included), cut into a ribbon of mitred quads whose width follows
  the hair's diameter profile (natural taper, square / oblique / frayed cuts, the club of
  an exclamation-mark hair). The ribbons are rasterised by *stochastic supersampling*:
  4-8 stratified jittered samples per pixel, each tested against a quad's four half-planes;
  inside samples get a depth key (height, shaft, place along and across, local diameter)
  and a per-sample depth test (``maximum`` over packed 64-bit keys) keeps the top one: a
  visibility buffer, shaded afterwards (Beer-Lambert pigment through the local thickness
  of the cylinder, cuticle sheen) and averaged per pixel.
* Skin: cellular (Worley) noise for the honeycomb pigment network (F2 - F1 ridges) and
  scale flakes (whole cells); sparse convolution (Gabor) noise for crossing creases (its
  zero crossings) and melanin mottle; lattice value noise for speckle and skin glints;
  soft-disc marks (openings, halos, white and yellow dots, flecks, black dots, scale
  collars); vessels as point chains splatted and blurred; colour by melanin and blood
  absorbing per channel.
* Camera: lens distortion and rolling-shutter shear in the world-to-pixel map (so truth
  follows), vignetting and uneven ring light, defocus varying over the frame, lateral
  chromatic aberration, on some sites a round field stop, an RGGB Bayer mosaic with shot
  and read noise and bilinear demosaicing, sRGB tone curve, and on some sites JPEG through
  an own 8x8 DCT with the standard tables.

Truth
-----
``hairs`` (emergence point, root diameter, kind, unit, slot, colour, end, world point,
``root_seen``: whether a sample of its own shaft lies within a pixel of the root), ``tips``
(the main end of every drawn shaft inside the frame: cut or natural, style, diameter,
direction, ``occluded`` when other shafts cover most of its pixel), ``emergence_outside``
and ``emergence_masked`` (under a field stop's black ring). Black dots are hairs at their
dot and have no tip.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind14.frame import GENERATOR, draw

__all__ = ["GENERATOR", "generate"]


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_)


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """One RGB frame (height, width, 3) of site ``seed`` and its truth (see the module)."""
    if not _is_int(seed):
        raise ValueError(f"seed must be an int, not {seed!r}")
    if (
        not _is_real(um_per_px)
        or not math.isfinite(float(um_per_px))
        or not (2.0 <= float(um_per_px) <= 15.0)
    ):
        raise ValueError(f"um_per_px must be 2.0-15.0, not {um_per_px!r}")
    if not _is_int(width) or not 64 <= int(width) <= 2560:
        raise ValueError(f"width must be an int 64-2560, not {width!r}")
    if not _is_int(height) or not 48 <= int(height) <= 2048:
        raise ValueError(f"height must be an int 48-2048, not {height!r}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be a bool, not {hairless!r}")
    visit: tuple[float, int] | None = None
    if regrown is not None:
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise ValueError(f"regrown must be None or (factor, seed2), not {regrown!r}")
        factor, seed2 = regrown
        if (
            not _is_real(factor)
            or not math.isfinite(float(factor))
            or not (0.0 < float(factor) <= 8.0)
        ):
            raise ValueError(f"regrown factor must be in (0, 8], not {factor!r}")
        if not _is_int(seed2):
            raise ValueError(f"regrown seed2 must be an int, not {seed2!r}")
        visit = (float(factor), int(seed2))
    return draw(int(seed), float(um_per_px), int(width), int(height), bool(hairless), visit)
