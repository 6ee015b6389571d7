"""blind-8: an independent generator of synthetic trichoscopy frames (dermoscope close-ups
of the scalp) with exact truth, written apart from the project's renderer and from its
other generators. Its frames judge the hair-density model as a source the model has never
seen, and may later help train it, so that the model learns hairs rather than one
renderer's look.

Technique (volumetric). The scene is a 3-D volume. Each hair is a 3-D centreline that
leaves its follicle at 10-40 degrees, stands when trimmed and settles onto the skin,
waving or coiling, when long; its polyline is voxelised, tile by tile, into optical depth
over 16-48 depth slabs above the skin: a Gaussian tube whose slab integrals are exact erf
differences, with absorption from eumelanin / pheomelanin per colour channel (less in the
medulla), scattering (more in the cuticle; white and grey hair absorb little and scatter
much) and a specular sheen under unpolarised light. A coarse copy of the volume is
marched toward each lamp of the ring light (shifted running sums along the lamp's
direction), so hairs shadow the skin and each other. Each pixel's orthographic ray (the
view is slightly oblique) is marched front to back, accumulating transmittance and light
scattered once with a Henyey-Greenstein phase function plus a multiple-scattering term of
the fibre's albedo, and ends on the skin: a lit height field whose colour is a
melanin / blood absorption mix per pixel, textured with gradient noise (furrows,
roughness, flakes) and a Gray-Scott reaction-diffusion pattern (honeycomb pigment
network), with follicle openings as shaded pits, peripilar halos, redness, vessels,
white and yellow dots, and the shaft seen faintly under the skin. A smartphone behind a
clip-on lens then images it: field-varying defocus, lateral colour, vignetting, a round
field stop in some frames, shot and read noise, multi-frame merge ghosts, edge-aware
denoise, bilateral-grid local tone mapping, white-balance error, unsharp mask, and JPEG or
WebP through Pillow.

Truth. A hair's emergence point is where its centreline (which starts at height 0) leaves
the skin; it is mapped to output pixels (pixel centres at integers) by the same forward
camera map (pose, rotation and shift of a follow-up visit, radial distortion) that places
every drawn fibre point, so label and drawing cannot drift apart. ``hairs`` lists every
present hair whose emergence point lies inside the frame and inside the field stop (if
any), hidden under other hairs or not, with its shaft diameter at the skin (a black dot's
diameter for hairs broken at the skin; the thin base of exclamation-mark hairs);
``emergence_masked`` those under the black of the field stop; ``emergence_outside`` those
outside the frame within 200 um; ``tips`` the free shaft ends inside the visible field
(``cut``: a blunt clipped or broken end; a tapering end is listed where the drawn shaft
fades below ~0.1 opacity, not at its invisible geometric end)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind8.render import GENERATOR, render

__all__ = ["GENERATOR", "generate"]


def _check(
    seed: object,
    um_per_px: object,
    width: object,
    height: object,
    hairless: object,
    regrown: object,
) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, not {seed!r}")
    if (
        isinstance(um_per_px, bool)
        or not isinstance(um_per_px, int | float)
        or not math.isfinite(float(um_per_px))
        or not 2.0 <= float(um_per_px) <= 15.0
    ):
        raise ValueError(f"um_per_px must be a finite number in [2, 15], not {um_per_px!r}")
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int) or not 32 <= v <= 4096:
            raise ValueError(f"{name} must be an int in [32, 4096], not {v!r}")
    if not isinstance(hairless, bool):
        raise ValueError(f"hairless must be a bool, not {hairless!r}")
    if regrown is not None:
        if not isinstance(regrown, tuple) or len(regrown) != 2:
            raise ValueError(f"regrown must be None or a (factor, seed2) tuple, not {regrown!r}")
        fac, seed2 = regrown
        if (
            isinstance(fac, bool)
            or not isinstance(fac, int | float)
            or not math.isfinite(float(fac))
            or not 0.3 <= float(fac) <= 3.0
        ):
            raise ValueError(f"regrown factor must be a finite number in [0.3, 3], not {fac!r}")
        if isinstance(seed2, bool) or not isinstance(seed2, int):
            raise ValueError(f"regrown seed2 must be an int, not {seed2!r}")


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """One frame: ``image`` (height, width, 3) uint8 RGB as the camera saved it, and its
    ``truth`` (JSON-able dict; see the module docstring for what it lists)."""
    _check(seed, um_per_px, width, height, hairless, regrown)
    reg = None if regrown is None else (float(regrown[0]), int(regrown[1]))
    image, truth, _ = render(
        seed,
        um_per_px=float(um_per_px),
        width=width,
        height=height,
        hairless=hairless,
        regrown=reg,
    )
    return image, truth
