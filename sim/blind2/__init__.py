"""blind-2: an independent test-image generator of dermoscope close-ups of the scalp.

The scene is built in 3-D and rendered: skin is a height field with layered
Kubelka-Munk optics (melanin over blood, keratin and sebum plates on top);
hairs are elliptical tubes that leave follicle pits at 10-40 degrees and lie
down on the skin; a ring light with or without a cross-polariser shades both;
hairs are rasterised analytically (exact pixel coverage of each segment) and
composited by height; then a lens and a phone-like sensor make the file.

Two looks follow trichoscopy of real scalps rather than what is easy to draw.
The honeycomb pigment network of darker skin has thin (about 10-20 um),
soft, faint walls (at most about 15 % darker) around 110-230 um cells, in
patches.  An empty follicle opening is a shallow, barely shadowed pit, a
yellow dot, or (on darker skin) a pinpoint white dot, never a dark dot: a
dark round dot is a hair broken at the skin surface (a "black dot"), which a
hair counter rightly counts, and blind-2 draws no black dots at all, so every
dark dot-like thing in its images is a hair in the truth.

``generate(seed, um_per_px=..., width=..., height=...)`` returns the RGB image
and a truth dict.  See :func:`generate`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind2 import fibres, follicles, signs, visits
from sim.blind2.camera import develop
from sim.blind2.frame import Frame
from sim.blind2.light import Ring, light_field, shade_skin
from sim.blind2.look import HAIR_COLOURS, HAIR_LENGTHS, draw_look
from sim.blind2.shafts import build
from sim.blind2.skin import Canvas, base_layers, compose
from sim.blind2.truth import make_truth

GENERATOR = "blind-2"
__all__ = ["GENERATOR", "HAIR_COLOURS", "HAIR_LENGTHS", "generate"]


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([k % 2**64 for k in keys]))


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name} must lie in [{lo}, {hi}]")
    return int(value)


def _check_float(name: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a number")
    v = float(value)
    if not (np.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{name} must lie in [{lo}, {hi}]")
    return v


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
    bare_roots: float = 0.0,
    **overrides: Any,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Render one scalp close-up and its truth.

    seed: any integer; the same arguments give the same image and truth.
    um_per_px: 2-15 micrometres per pixel; width, height: 32-4096 pixels.
    hairless: a scalp with no hairs (openings may remain).
    regrown: (factor 0.2-3, seed2) renders the same site at a later visit, with
    about factor times the baseline's hairs in the frame and fresh sensor noise.
    overrides: any drawn choice by name (see truth["params"]), for example
    hair_length="trimmed"|"long"|"mixed" or hair_colour="red"; unknown names and
    values out of range raise ValueError.
    bare_roots: 0-1, the share of hair-bearing openings left undrawn (no pit, funnel shadow,
    halo, redness or collar: roots on plain skin), chosen from a stream of their own; the
    truth is the same.
    """
    seed = _check_int("seed", seed, -(2**200), 2**200)
    upp = _check_float("um_per_px", um_per_px, 2.0, 15.0)
    w = _check_int("width", width, 32, 4096)
    h = _check_int("height", height, 32, 4096)
    if not isinstance(hairless, bool):
        raise ValueError("hairless must be a bool")
    visit: tuple[float, int] | None = None
    if regrown is not None:
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise ValueError("regrown must be (factor, seed2)")
        visit = (
            _check_float("regrown factor", regrown[0], 0.2, 3.0),
            _check_int("regrown seed", regrown[1], -(2**200), 2**200),
        )
    share = _check_float("bare_roots", bare_roots, 0.0, 1.0)
    look = draw_look(_rng(seed, 1), overrides)
    frame = Frame(w, h, upp, look.num("distortion"))
    sites, hairs = follicles.baseline(_rng(seed, 2), look, frame, hairless)
    base_sites = sites
    if visit is not None:
        sites, hairs = visits.regrow(_rng(seed, 3, visit[1]), look, frame, sites, hairs, visit[0])
    shafts = build(hairs, frame, 1.4 * look.num("pit_depth_um"))
    canvas = Canvas.blank(frame)
    base_layers(_rng(seed, 4), look, canvas)
    bare = None
    if share > 0:  # hair-bearing openings left undrawn
        bare = (base_sites["kind"] == 0) & (
            _rng(seed, 10).uniform(size=base_sites["x"].size) < share
        )
    signs.openings(_rng(seed, 5), look, canvas, base_sites, bare)
    signs.dots_and_plates(_rng(seed, 6), look, canvas)
    signs.vessels(_rng(seed, 7), look, canvas)
    signs.marks(_rng(seed, 8), look, canvas)
    maps = compose(canvas)
    ring = Ring(look)
    lf = light_field(look, frame)
    frags = fibres.rasterise(shafts, hairs, maps.floor, frame)
    shadow = (
        fibres.shadow(frags, ring, frame)
        if look.on("hair_shadows")
        else np.zeros((h, w), dtype=np.float32)
    )
    radiance = shade_skin(maps, ring, look, frame, lf, shadow)
    ztop = fibres.composite(frags, shafts, hairs, ring, look, frame, lf, radiance, maps.floor)
    rul = signs.ruler(look, frame)
    if rul is not None:
        radiance *= (rul[0] * (1.0 - 0.85 * rul[1]))[None]
        ztop = np.where(rul[1] > 0.05, look.num("focus_um"), ztop)
    noise_keys = (seed, 9) if visit is None else (seed, 9, 1, visit[1])
    image = develop(radiance, ztop, look, frame, _rng(*noise_keys))
    truth = make_truth(frame, look, sites, hairs, shafts, hairless, visit)
    truth["params"]["lie_length_um_effective"] = follicles.lie_length_um(look)
    truth["params"]["hairless"] = hairless
    if visit:  # the visit, apart from the site's look (params are the same at every visit)
        truth["regrown"] = {"factor": visit[0], "seed2": visit[1]}
    truth["params"]["seed"] = seed
    return image, truth
