"""blind-7: an independent generator of synthetic trichoscopy frames for training the hair model.

blind-7 draws dermoscope close-ups of the scalp with exact ground truth, so that the hair-density
network learns hairs in general rather than one renderer's look. It was written apart from the
project's renderer (the twin) and from the other independent generators: it shares no code with
them and imports only numpy, scipy, Pillow and the standard library.

Technique. Colour is spectral: 16 bands from 400 to 700 nm. The ring light is a white phosphor
LED (blue pump plus phosphor hump); skin reflectance comes from a two-layer model (an epidermis
absorbing by melanin, carotene and keratin over a dermis whose diffuse reflectance follows from
oxy/deoxy-haemoglobin absorption and scattering), every absorption curve a smooth analytic shape
written for this package; hair colour comes from eumelanin, pheomelanin or dye concentrations and
scattering (grey and white hair: little melanin, an air-filled medulla that scatters). Spectra
are projected to camera raw with made-up sensitivities, then white-balanced and put through a
3x3 colour matrix fitted by least squares and spoiled by random errors. The skin surface is a
height field (a Voronoi mosaic of plates parted by furrows, major lines, follicular openings,
pores, flakes) lit by the ring of LEDs (diffuse shading, specular glints without
cross-polarisation), with chromophore maps for the honeycomb pigment network, white dots,
yellow dots, peripilar signs, perifollicular redness and vessels. Hair shafts are 3-D elastic
rods (curl, torsion, droop, floor and glass ceiling) drawn as chains of anisotropic Gaussian
splats whose optical depth is the chord through the fibre; splats are sorted into depth layers
by their height above the skin and composited front to back, each layer blurred by its own
thin-lens defocus (focal plane tilted and curved, axial colour) and casting a ring-light shadow
on what lies below; the buried part of each follicle darkens the skin band by band. The camera
adds Brown-Conrady distortion, lateral chromatic aberration, vignetting, a round field stop in
some frames, a Bayer sensor with shot and read noise, demosaicing, a tone curve, sharpening and
a JPEG round trip by its own 8x8 DCT quantiser with 4:2:0 chroma subsampling.

Truth. ``hairs`` lists one entry per drawn hair whose emergence point (where the shaft's axis
leaves the skin surface, z = 0) falls inside the frame, mapped through the same lens model and
visit pose as the image (green channel), in output pixel coordinates with pixel centres at
integers; a hair hidden under others is listed, a black dot counts at its dot's diameter. Hairs
emerging in the black corners outside a round field stop cannot be seen: they are in
``emergence_masked`` (``field_stop`` gives the circle: centre x, y and radius in px), not in
``hairs``, and the density is over the whole frame's area. Each entry in ``hairs``
also names its ``kind`` (terminal, intermediate, vellus, regrowing, broken, exclamation,
black_dot). ``diameter_um`` is the shaft diameter where it leaves the skin. ``tips`` are the free
ends (clipped or broken: ``cut`` true; natural tapered: false) of drawn shafts that fall inside
the frame and the field stop, covered or not; their ``diameter_um`` is the shaft's
(untapered) diameter at that end; shafts that rise out of the top of the scene (standing long
hair) have no tip there, and black dots have none. Every random draw is in ``params``;
``factors`` summarises them as labels.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind7.scene import GENERATOR, render

__all__ = ["GENERATOR", "generate"]


def _is_int(x: object) -> bool:
    return isinstance(x, Integral) and not isinstance(x, (bool, np.bool_))


def _is_number(x: object) -> bool:
    return isinstance(x, Real) and not isinstance(x, (bool, np.bool_))


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
    bare_roots: float = 0.0,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """One frame and its truth. ``hairless``: the same scalp with every hair absent;
    ``regrown=(factor, seed2)``: a follow-up visit of the same scalp with about ``factor`` times
    the hair, re-positioned and with fresh sensor noise drawn from ``seed2``; ``bare_roots``
    (0-1): that share of the units holding a hair are drawn without their opening and the
    signs around it (roots on plain skin), chosen from a stream of their own; the truth is the
    same."""
    if not _is_int(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not _is_number(um_per_px) or not math.isfinite(float(um_per_px)):
        raise ValueError(f"um_per_px must be a finite number, got {um_per_px!r}")
    if not 2.0 <= float(um_per_px) <= 15.0:
        raise ValueError(f"um_per_px must be in [2, 15], got {um_per_px!r}")
    for name, v in (("width", width), ("height", height)):
        if not _is_int(v):
            raise ValueError(f"{name} must be an int, got {v!r}")
        if not 32 <= int(v) <= 4096:
            raise ValueError(f"{name} must be in [32, 4096], got {v!r}")
    if not isinstance(hairless, (bool, np.bool_)):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    if regrown is not None:
        if not isinstance(regrown, (tuple, list)) or len(regrown) != 2:
            raise ValueError(f"regrown must be None or a (factor, seed2) tuple, got {regrown!r}")
        factor, seed2 = regrown
        if not _is_number(factor) or not math.isfinite(float(factor)):
            raise ValueError(f"regrown factor must be a finite number, got {factor!r}")
        if not 0.3 <= float(factor) <= 3.0:
            raise ValueError(f"regrown factor must be in [0.3, 3], got {factor!r}")
        if not _is_int(seed2):
            raise ValueError(f"regrown seed2 must be an int, got {seed2!r}")
        regrown = (float(factor), int(seed2))
    if not _is_number(bare_roots) or not 0.0 <= float(bare_roots) <= 1.0:
        raise ValueError(f"bare_roots must be in [0, 1], got {bare_roots!r}")
    return render(
        int(seed),
        float(um_per_px),
        int(width),
        int(height),
        bool(hairless),
        regrown,
        float(bare_roots),
    )
