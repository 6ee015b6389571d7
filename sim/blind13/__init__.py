"""blind-13: trichoscopy frames drawn as closed-form Gaussian integrals over Turing skin.

blind-13 draws dermoscope close-ups of the scalp (20-70x, 2-15 um per pixel) with the truth
of every hair, to judge the hair-density model on a source written apart from the twin and
from the other independent generators (it imports none of them).

Technique
    *Hairs* are three-dimensional axes (stubs standing 10-60 degrees off the skin, long
    hairs rising and lying along a wandering azimuth) cut into straight pieces. Each piece's
    darkening at a pixel is the exact integral of a Gaussian point-spread function over the
    piece's rectangle (erf along it times erf across it, the width tapering), so the image is
    born blurred: defocus is each piece's own sigma, growing with its height over the focal
    plane, and a standing stub's tip blurs as it rises. Pieces of a shaft sum (collinear
    pieces telescope exactly); shafts are laid from the deepest up as filters (light through
    them, light back off them), a highlight strip's integral gives the gloss. Cut ends are
    square, oblique (the end's along-limit slanted across) or frayed (a ragged limit);
    natural tips taper. Dots (openings, yellow and white dots, halos, black dots) are
    blurred discs in closed form.
    *Skin* is densitometric: melanin, haemoglobin, yellow and grey optical-density loads on
    a pale dermis. The loads are fields synthesised in the Fourier domain (random phase under
    power-law, log-normal band and oriented-lobe spectra, the optics' MTF multiplied in) on
    coarse, middle and fine world grids; the pigment network is a Swift-Hohenberg Turing
    pattern (hexagonal or, with a varying quadratic term, irregular labyrinths) solved on a
    small periodic grid and tiled; creases and skin lines are zero-crossings of oriented
    fields; flecks, lentigo-like blotches, crusts, scale and flakes (some over the hairs) are
    soft thresholds of band fields; vessels (comma, twisted, arborising) are Gaussian line
    integrals in the haemoglobin load.
    *Camera*: a ring of LEDs as point sources, vignetting, specular glints in non-polarised
    light, an optional round field stop, a three-CCD camera (per-channel MTF and sub-pixel
    registration, per-channel gain and well, independent shot and read
    noise, prism crosstalk), a rolling exposure gradient with flicker, gamma with a film-like
    toe, and JPEG (4:2:0, 4:2:2 or 4:4:4) on some sites.

Site and visits
    A seed is a site: its look, units of 1-4 hairs on a jittered lattice (with empty
    openings), hairs (terminal, miniaturised, vellus, regrowing, broken, exclamation marks,
    black dots), marks and camera are drawn from the seed alone, over a world larger than the
    frame. A quarter of sites hold under 30 hairs/cm2. ``hairless`` draws the same site with
    every hair gone (openings stay, empty). ``regrown=(factor, seed2)`` is a later visit:
    the same skin and kept hairs; below 1 each hair stays with ``factor`` as its share,
    above 1 new hairs fill empty openings, then units of fewer than 4, then new units; the
    frame is turned 1-5 degrees and shifted 1.5-5 %, with fresh noise.

Truth
    ``hairs``: emergence points (where the axis leaves the skin; pixel centres at integers)
    inside the frame and, with a field stop, inside its open disc (those in the black are in
    ``emergence_masked``); black dots count, at the dot's diameter; empty openings do not.
    ``tips``: free ends of drawn shafts on the visible frame, ``cut`` for square, oblique and
    frayed ends. ``emergence_outside``: emergence points off the frame within 200 um.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind13.frame import GENERATOR, render

__all__ = ["GENERATOR", "generate"]

MIN_UM_PER_PX = 2.0
MAX_UM_PER_PX = 15.0
MIN_WIDTH, MIN_HEIGHT = 64, 48
MAX_WIDTH, MAX_HEIGHT = 2560, 2048
MAX_FACTOR = 8.0


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an int, not {value!r}")
    return int(value)


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """A ``height`` x ``width`` RGB frame (uint8) of site ``seed`` at ``um_per_px`` (2-15)
    and its truth. ``width`` 64-2560, ``height`` 48-2048. ``hairless``: the same site with
    no hair. ``regrown=(factor, seed2)``: a follow-up visit, the count times ``factor``
    (0 < factor <= 8), turned and shifted, fresh noise. Deterministic in its arguments.

    Raises ValueError naming the argument when one is of the wrong type or out of range.
    """
    seed = _int(seed, "seed")
    if isinstance(um_per_px, bool) or not isinstance(um_per_px, int | float | np.floating):
        raise ValueError(f"um_per_px must be a number, not {um_per_px!r}")
    um = float(um_per_px)
    if not math.isfinite(um) or not MIN_UM_PER_PX <= um <= MAX_UM_PER_PX:
        raise ValueError(f"um_per_px must be {MIN_UM_PER_PX}-{MAX_UM_PER_PX}, not {um_per_px!r}")
    w = _int(width, "width")
    h = _int(height, "height")
    if not MIN_WIDTH <= w <= MAX_WIDTH:
        raise ValueError(f"width must be {MIN_WIDTH}-{MAX_WIDTH} pixels, not {w}")
    if not MIN_HEIGHT <= h <= MAX_HEIGHT:
        raise ValueError(f"height must be {MIN_HEIGHT}-{MAX_HEIGHT} pixels, not {h}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be a bool, not {hairless!r}")
    visit: tuple[float, int] | None = None
    if regrown is not None:
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise ValueError(f"regrown must be a (factor, seed) pair, not {regrown!r}")
        factor, seed2 = regrown
        if isinstance(factor, bool) or not isinstance(factor, int | float | np.floating):
            raise ValueError(f"regrown's factor must be a number, not {factor!r}")
        if not math.isfinite(float(factor)) or not 0.0 < float(factor) <= MAX_FACTOR:
            raise ValueError(f"regrown's factor must be in (0, {MAX_FACTOR}], not {factor!r}")
        visit = (float(factor), _int(seed2, "regrown's seed"))
    return render(seed, um, w, h, bool(hairless), visit)
