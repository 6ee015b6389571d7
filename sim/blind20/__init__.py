"""blind-20: an independent generator of dermoscopic (trichoscopy) close-ups of the human
scalp with exact truth, written apart from every other generator of the project (numpy and
scipy only; it imports nothing else from ``sim``).

Technique: measures convolved with discs in the frequency domain, MRF skin, a stacked sensor
------------------------------------------------------------------------------------------
None of the others (the twin, heldout-1, blind-1 to -19) draws a shaft as the Fourier
transform of a line times the Fourier transform of a disc, samples its skin from Markov random
fields by Monte Carlo, colours it by the ITA angle, images through a Moffat PSF onto a stacked
(Foveon-style) sensor, or stores it through a 4x4 integer-transform codec; each part was picked
for that.

* **Hair as optical thickness by Fourier projection** (``fourier.py``, ``shafts.py``): a
  shaft's axis (world micrometres, projected on the skin: stubs standing 22-75 degrees off it
  and cut, long hair lying in gentle waves, vellus curling, regrowing hair tapering) is a line
  measure, sampled a fraction of its radius apart with weights = optical depth / diameter per
  unit length. The convolution of a line with a disc is, across it, the chord through a
  cylinder, so each shaft's optical thickness is the inverse FFT of its spectrum times the
  disc's analytic transform (the Airy kernel ``2 J1(x)/x``) and a small Gaussian band limit;
  radii fall in classes 8 % apart, each deposited and transformed once, one inverse FFT for
  all. Thickness sums where hairs cross (no drawing order); opacity is ``1 - exp(-depth)``
  (terminal shafts 7 on the axis, vellus 4-7: translucent), colour the depth-weighted mean of
  four channels, shading from the thickness (which is the cylinder normal's z), a sheen line
  in non-polarised light. A black dot is one point: a flat disc. Cut ends are round-capped
  (square), fade in depth (oblique) or split into three thin strands (frayed); natural tips
  taper. Ring-light shadows: the depth field convolved with a ring's transform (``J0``).
* **Skin** (``skin.py``): the pigment network is the domain walls of a **quenched Ising
  model**, tone, redness and grain **Gaussian Markov random fields**, all sampled by
  checkerboard Metropolis/Gibbs sweeps on periodic lattices laid over the world; colour is
  CIELAB set by the **Individual Typology Angle** (``L* = 50 + b* tan ITA``); marks are
  measures drawn by the same Fourier operation: follicle openings (discs), yellow plugs,
  pinpoint white dots, peripilar halos (a disc minus a smaller one: a ring), vessels (chains)
  and scale (clusters).
* **Camera** (``camera.py``): a **Moffat** PSF (beta 2.5, whose transfer function is
  ``exp(-x)(1 + x)``) per colour with veiling glare, cos^4 fall-off of a thin lens and a
  tilted ring light, a **stacked three-photodiode sensor** (each depth a broad mix of colours,
  shot and read noise, 12-bit ADC, unmixed by a slightly wrong inverse), the **BT.709** curve
  and on about two sites in three a codec of its own: **YCoCg-R, 4:2:0 chroma, H.264's 4x4
  integer core transform** with a dead-zone quantiser.
* The world is cut into 1 mm cells, each drawing its follicular units (1-4 hairs, or an empty
  opening) from a stream keyed by the seed and the cell, so a seed is the same site in any
  frame size or scale. A follow-up (``regrown=(factor, visit_seed)``) turns the frame 1-5
  degrees and moves it 1-6 % of its size, sheds each hair with probability ``1 - factor`` or
  adds units of new (standing, tapering) hairs at ``factor - 1`` times the site's density;
  skin, marks and kept hairs stay, the sensor noise is new.

Truth
-----
``hairs``: each hair whose emergence point (the root end of its axis; a black dot's centre)
lies in the frame, covered or not: ``x_px``, ``y_px`` (pixel centres at integers),
``diameter_um`` (the drawn width: the chord field's edge), ``kind`` (terminal, intermediate,
vellus, broken, black_dot), ``id``, ``unit``, ``colour`` and ``root_colour`` (linear RGB
reflectance; they differ where dyed hair grows out), ``new``, ``direction_deg`` (the shaft's
azimuth in the frame), ``elevation_deg``, ``length_um`` (projected), ``end`` (cut, taper,
dot) and ``cut_style``. ``tips``: each shaft end (the axis's end; a cut face's centre, the
round cap reaching a radius beyond) inside the frame with no other shaft's body within half a
pixel of it - ``tips_covered`` the others. ``emergence_outside``: roots outside the frame
within 200 um. ``density_per_cm2`` counts ``hairs`` over the frame's area. About a fifth of
sites are near-bald (under 30/cm2) and a twentieth bare.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind20 import camera, skin
from sim.blind20.args import check_call
from sim.blind20.fourier import Grid, convolve_discs, ring_blur
from sim.blind20.shafts import Shaft, View, projected_length, samples, shaft, tips
from sim.blind20.site import REACH_UM, cell_units, hair_colours, hashed, site_look, stream

GENERATOR = "blind-20"

__all__ = ["GENERATOR", "generate"]


def _view(
    seed: int, w: int, h: int, um: float, visit: tuple[float, int] | None
) -> tuple[View, Any]:
    if visit is None:
        return View(w, h, um), None
    g = stream(seed, "visit", visit[1])
    turn = float(g.uniform(1.0, 5.0)) * (1 if g.random() < 0.5 else -1)
    frac, angle = float(g.uniform(0.01, 0.06)), float(g.uniform(0, 2 * math.pi))
    shift = [round(frac * w * math.cos(angle), 4), round(frac * h * math.sin(angle), 4)]
    rec = {"factor": visit[0], "seed": visit[1], "turn_deg": round(turn, 4), "shift_px": shift}
    return View(w, h, um, math.radians(turn), shift[0] * um, shift[1] * um), rec


def _units(
    seed: int, look: dict[str, Any], view: View, visit: tuple[float, int] | None
) -> list[dict[str, Any]]:
    """The site's units within reach of the frame, as of the visit (hair shed or grown)."""
    cols, rows = view.cells(REACH_UM)
    units = []
    for cx in cols:
        for cy in rows:
            units += cell_units(seed, look, cx, cy)
            if visit is not None and visit[0] > 1.0:
                units += cell_units(seed, look, cx, cy, visit)
    if visit is not None and visit[0] < 1.0:
        for un in units:
            if un["hairs"]:
                ids = np.array([hr["id"] for hr in un["hairs"]], np.int64)
                kept = hashed(ids, visit[1]) < visit[0]
                un["hairs"] = [hr for hr, k in zip(un["hairs"], kept, strict=True) if k]
    return units


def _hair_layer(
    look: dict[str, Any], view: View, grid: Grid, shafts: list[Shaft], pts: Any
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Opacity, radiance and the ring light's shadow of the hair (frame-sized)."""
    got = convolve_discs(grid, pts.x, pts.y, pts.r, pts.wts, 0.35)
    depth = np.maximum(got[0], 0.0)
    shadow = ring_blur(grid, depth, look["ring_um"] / view.um, 6.0 / view.um + 0.5)
    depth_f = grid.crop(depth)
    colour = (
        np.stack([grid.crop(got[c]) for c in (2, 3, 4)], -1) / np.maximum(depth_f, 1e-3)[..., None]
    )
    colour = np.clip(colour, 0.0, 1.0)
    tau = np.clip(grid.crop(got[1]), 0, 1)  # one shaft's normalised chord: its normal's z
    rad = colour * (0.55 + 0.45 * tau)[..., None]
    if look["light"] == "non-polarised":
        rad = rad + (0.05 * tau**60)[..., None]
    alpha = 1 - np.exp(-depth_f)
    return (
        alpha.astype(np.float32),
        rad.astype(np.float32),
        (1 - np.exp(-np.maximum(shadow, 0))).astype(np.float32),
    )


def _record(view: View, sh: Shaft, look: dict[str, Any], x: float, y: float) -> dict[str, Any]:
    hr = sh.hair
    colour, root = hair_colours(look, hr)
    return {
        "x_px": x,
        "y_px": y,
        "diameter_um": hr["d"],
        "kind": hr["kind"],
        "id": hr["id"],
        "unit": hr["unit"],
        "colour": colour,
        "root_colour": root,
        "new": hr["new"],
        "direction_deg": round(math.degrees(hr["azimuth"] - view.turn) % 360.0, 2),
        "elevation_deg": hr["elevation"],
        "length_um": round(sh.length_um, 2),
        "end": hr["end"],
        "cut_style": hr["cut_style"],
    }


def _factors(look: dict[str, Any], um: float, hairless: bool, follow_up: bool) -> dict[str, str]:
    return {
        "hair_length": "hairless" if hairless else look["hair_length"],
        "hair_colour": look["hair_colour"],
        "skin_tone": look["skin_tone"],
        "scale": "3-5" if um < 5 else ("5-8" if um < 8 else "8-12"),
        "light": look["light"],
        "visit": "follow-up" if follow_up else "baseline",
        "pattern": look["pattern"],
    }


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Draw one frame of site ``seed`` and its truth (see the package docstring).

    ``um_per_px`` 3-12, ``width`` 32-2028 and ``height`` 32-1521 pixels; ``hairless`` the same
    site with no hair; ``regrown`` a follow-up visit, a pair (factor in (0, 4], visit seed).
    Raises ValueError naming a bad argument."""
    call = check_call(seed, um_per_px, width, height, hairless, regrown)
    w, h, um = call.w, call.h, call.um
    look = site_look(call.seed)
    view, visit_rec = _view(call.seed, w, h, um, call.visit)
    units = _units(call.seed, look, view, call.visit)
    hairs = [] if call.hairless else [hr for un in units for hr in un["hairs"]]
    near = []
    for hr in hairs:
        u, v = view.px(np.array([hr["x"]]), np.array([hr["y"]]))
        if view.gap_um(float(u[0]), float(v[0])) <= projected_length(hr) + 300.0:
            near.append((hr, round(float(u[0]), 4), round(float(v[0]), 4)))
    shafts = [shaft(hr) for hr, _, _ in near]
    pts = samples(view, shafts, [hair_colours(look, sh.hair) for sh in shafts], look["regrowth_um"])
    pad = math.ceil(max(180.0 / um, float(pts.r.max()) if pts.r.size else 0.0) + 6)
    grid = Grid.of(h, w, pad)

    f = skin.fields(call.seed, look, view)
    base = skin.with_marks(
        skin.base_colour(look, f), look, skin.marks(call.seed, look, view, grid, units)
    )
    if look["light"] == "non-polarised":  # sebum glints on the skin's grain
        base = base + 0.05 * np.clip(f["grain"] - 1.6, 0, 1)[..., None]
    alpha, hair_rad, shadow = _hair_layer(look, view, grid, shafts, pts)
    base = base * (1 - look["shadow"] * shadow)[..., None]
    scene = base * (1 - alpha[..., None]) + hair_rad * alpha[..., None]

    light = camera.optics(scene, look, stream(call.seed, "optics"))
    noise = stream(call.seed, "noise", -1 if call.visit is None else call.visit[1])
    img = camera.codec(camera.bt709(camera.stacked_sensor(light, look, noise)), look["codec_q"])

    listed: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    for sh, (hr, x, y) in zip(shafts, near, strict=True):
        if view.inside(x, y):
            listed.append(_record(view, sh, look, x, y))
        elif view.gap_um(x, y) <= 200.0:
            outside.append({"x_px": x, "y_px": y, "id": hr["id"], "kind": hr["kind"]})
    shown, covered = tips(view, shafts, pts)
    diam = np.array([q["diameter_um"] for q in listed], np.float64)
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": listed,
        "density_per_cm2": diam.size / (w * h * um * um * 1e-8),
        "mean_diameter_um": float(diam.mean()) if diam.size else 0.0,
        "vellus_fraction": float((diam < 30).mean()) if diam.size else 0.0,
        "tips": shown,
        "tips_covered": covered,
        "emergence_outside": outside,
        "factors": _factors(look, um, call.hairless, call.visit is not None),
        "params": {**look, "visit": visit_rec},
    }
    return img, truth
