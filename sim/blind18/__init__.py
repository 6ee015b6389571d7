"""blind-18: an independent generator of dermoscopic (trichoscopy) close-ups of the human
scalp with exact truth, written apart from every other generator of the project (numpy,
scipy and Pillow only).

Technique: physically based shading of one height field
--------------------------------------------------------
* **Skin and hair are one height field** (``heightfield.py``): every hair is a chain of
  tilted circular cylinders in 3-D (stubs standing 16-70 degrees off the skin and cut; long
  and vellus hair rising and settling onto the skin at its own resting height; black dots
  cut a few micrometres above it); at each of 2x2 supersamples per pixel the vertical ray's
  first hit on each nearby cylinder is solved in closed form, with its normal, and a
  z-buffer keeps the highest surface over the skin's relief and scale. Cut ends are the cut
  plane's disc inside the fibre (square, oblique, or frayed with splinters past the plane);
  roots sink into their follicle's pit, so the emergence point is the centre of the ellipse
  in which the axis's cylinder meets the skin plane.
* **Light** (``light.py``): a ring of 4-12 LEDs; shadows are horizon tests on the height
  field toward each LED; surface reflection is a GGX microfacet BRDF with Smith masking and
  Schlick's Fresnel term (skin and keratin), removed by the cross-polariser in polarised
  frames; light inside the skin follows a two-layer model: epidermal melanin absorbing on
  the way in and out, a dermis whose diffuse reflectance comes from the diffusion dipole
  (blood and baseline absorption, collagen scattering), and a sum-of-Gaussians diffusion
  profile per colour (red widest) spreading the shadowed irradiance by FFT.
* **Skin fields** (``skin.py``, ``noise.py``): wavelet noise (Cook-DeRose band-limited
  octaves) in world micrometres gives relief, creases, melanin mottle, a pigment network
  (the connected sublevel set of a band at the papillae's spacing), freckles, erythema,
  sebum and scale; stamped round marks give follicle pits, peripilar and white halos,
  yellow plugs, pinpoint white dots and vessels (chains of small discs in the blood map).
* **Camera** (``camera.py``): vignetting and tilted light, a defocus-disc and Gaussian lens
  by FFT with axial colour and extra blur for what stands above the focal plane, a 6x6
  X-Trans mosaic with shot and read noise, a colour-difference demosaic, white balance,
  tone curve, sharpening and, on most sites, JPEG through Pillow.
* The world is cut into 1 mm cells, each drawing its follicular units (1-4 hairs; empty
  openings too) from a generator keyed by the seed and the cell, so a seed is the same site
  in any frame size or scale. A follow-up (``regrown=(factor, visit_seed)``) turns the frame
  1-5 degrees and shifts it 1-6 % of its size, sheds each hair with probability
  ``1 - factor`` or adds units of new (short, tapering) hairs at ``factor - 1`` times the
  site's density; skin, marks and kept hairs stay.

Truth
-----
``hairs``: each hair whose emergence point (where its axis crosses the skin plane; a black
dot's centre, within a few micrometres) lies in the frame, covered or not: ``x_px``,
``y_px`` (pixel centres at integers), ``diameter_um``, ``kind`` (terminal, intermediate,
vellus, broken, black_dot), ``id``, ``unit``, ``colour`` and ``root_colour`` (fibre albedo;
they differ where dyed hair grows out), ``new``, ``direction_deg`` (the shaft's azimuth
where it leaves the skin, in the frame), ``elevation_deg``, ``length_um`` (projected, from
the emergence point), ``end`` (cut, taper, dot) and ``cut_style``. ``tips``: each shaft
end (the axis's end; the centre of a cut face) inside the frame that is drawn on top there
(``tips_covered``: those under another hair or scale): position, ``cut``, end
``diameter_um``, ``id``, ``kind``, ``end``, ``cut_style``, ``direction_deg``.
``emergence_outside``: roots outside the frame within 200 um. ``density_per_cm2`` counts
``hairs`` over the frame's area. About a fifth of sites are near-bald (under 30/cm2) and a
twentieth bare.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind18 import scene, site
from sim.blind18.args import checked
from sim.blind18.camera import expose
from sim.blind18.compose import shade, supersampled
from sim.blind18.heightfield import Buffer, draw, new_buffer
from sim.blind18.light import leds
from sim.blind18.noise import Grid
from sim.blind18.skin import cell_marks, skin_fields

GENERATOR = "blind-18"
SUPERSAMPLES = 2
F32 = NDArray[np.float32]

__all__ = ["GENERATOR", "generate"]


def _direction(fr: scene.Frame, vx: float, vy: float) -> float:
    px, py = fr.vec_px(np.array(vx), np.array(vy))
    return round(math.degrees(math.atan2(float(py), float(px))) % 360.0, 2)


def _tips(
    fr: scene.Frame, drawn: list[scene.Drawn], buf: Buffer
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shaft ends inside the frame, split by whether the shaft is on top there (a supersample
    of it within a pixel of the end; two for a tapering end, whose point is finer)."""
    ss, w_ss, h_ss = buf.ss, fr.w * buf.ss, fr.h * buf.ss
    shown: list[dict[str, Any]] = []
    covered: list[dict[str, Any]] = []
    for k, dr in enumerate(drawn):
        hr, sh = dr.hair, dr.shaft
        if hr["end"] == "dot":
            continue
        px, py = fr.to_px(sh.p[-2:, 0], sh.p[-2:, 1])
        x, y = round(float(px[-1]), 4), round(float(py[-1]), 4)
        if not fr.inside(x, y):
            continue
        reach = ss * (2 if hr["end"] == "taper" else 1)
        cx, cy = round((x + 0.5) * ss - 0.5), round((y + 0.5) * ss - 0.5)
        rows = np.arange(max(cy - reach, 0), min(cy + reach, h_ss - 1) + 1)
        cols = np.arange(max(cx - reach, 0), min(cx + reach, w_ss - 1) + 1)
        ids = buf.hair[(rows[:, None] * w_ss + cols[None, :]).ravel()]
        tip = {
            "x_px": x,
            "y_px": y,
            "cut": hr["end"] == "cut",
            "diameter_um": round(float(2.0 * sh.r[-1]), 2),
            "id": hr["id"],
            "kind": hr["kind"],
            "end": hr["end"],
            "cut_style": hr["cut_style"],
            "direction_deg": round(
                math.degrees(math.atan2(float(py[1] - py[0]), float(px[1] - px[0]))) % 360.0, 2
            ),
        }
        (shown if bool(np.any(ids == k)) else covered).append(tip)
    return shown, covered


def _record(fr: scene.Frame, hr: dict[str, Any], dr: scene.Drawn | None, x: float, y: float) -> Any:
    length = 0.0
    if dr is not None:
        p = dr.shaft.p[dr.shaft.first :]
        length = float(np.hypot(np.diff(p[:, 0]), np.diff(p[:, 1])).sum())
    return {
        "x_px": x,
        "y_px": y,
        "diameter_um": hr["d"],
        "kind": hr["kind"],
        "id": hr["id"],
        "unit": hr["unit"],
        "colour": hr["colour"],
        "root_colour": hr["root_colour"],
        "new": hr["new"],
        "direction_deg": _direction(fr, math.cos(hr["azimuth"]), math.sin(hr["azimuth"])),
        "elevation_deg": round(math.degrees(hr["elevation"]), 2),
        "length_um": round(length, 2),
        "end": hr["end"],
        "cut_style": hr["cut_style"],
    }


def _summary(listed: list[dict[str, Any]], area_cm2: float) -> dict[str, Any]:
    """The listed hairs, their density, mean diameter and share under 30 um."""
    diam = np.array([q["diameter_um"] for q in listed], np.float64)
    return {
        "hairs": listed,
        "density_per_cm2": diam.size / area_cm2,
        "mean_diameter_um": float(diam.mean()) if diam.size else 0.0,
        "vellus_fraction": float((diam < 30).mean()) if diam.size else 0.0,
    }


def _factors(look: dict[str, Any], um: float, hairless: bool, follow_up: bool) -> dict[str, str]:
    """The labels the benches group frames by."""
    scale = "3-5" if um < 5 else ("5-8" if um < 8 else "8-12")
    return {
        "hair_length": "hairless" if hairless else look["hair_length"],
        "hair_colour": look["hair_colour"],
        "skin_tone": look["skin_tone"],
        "scale": scale,
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

    ``um_per_px`` 3-12, ``width`` 32-2028 and ``height`` 32-1521 pixels; ``regrown`` a
    (factor in (0, 4], visit seed) pair. Raises ValueError naming a bad argument."""
    seed, um, w, h, hairless, visit = checked(seed, um_per_px, width, height, hairless, regrown)
    look = site.site_look(seed)
    turn, shift, visit_rec = scene.visit_pose(seed, visit, w, h)
    fr = scene.Frame(w, h, um, turn, shift)
    units, hairs, cells = scene.world(seed, look, fr, visit)
    grid = Grid(fr.affine(), w, h)
    sk = skin_fields(seed, look, grid, um, fr.to_px, units, cell_marks(seed, look, cells))
    ground = np.where(sk.scale > 0.3, np.maximum(sk.scale_height, sk.height), sk.height)
    buf = new_buffer(supersampled(ground.astype(np.float32), SUPERSAMPLES), SUPERSAMPLES)
    if hairless:
        hairs = []
    drawn = scene.reaching(look, fr, hairs) if hairs else []
    draw(buf, scene.segments(fr, drawn), w, h)
    cols = (
        np.array([dr.hair["colour"] for dr in drawn], np.float32).reshape(-1, 3),
        np.array([dr.hair["root_colour"] for dr in drawn], np.float32).reshape(-1, 3),
        np.array([dr.hair["regrow_um"] for dr in drawn], np.float32),
        np.array([dr.hair["opacity"] for dr in drawn], np.float32),
    )
    lamps = leds(look, site.rng_for(seed, 10))
    radiance, ground_rad, top_px = shade(look, sk, buf, cols, lamps, um)
    noise = site.rng_for(seed, 8, -1 if visit is None else visit[1])
    img = expose(look, radiance, ground_rad, top_px * um, um, noise)
    tips, covered = _tips(fr, drawn, buf)

    by_id = {dr.hair["id"]: dr for dr in drawn}
    listed: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    if hairs:
        ex, ey = fr.to_px(np.array([q["x"] for q in hairs]), np.array([q["y"] for q in hairs]))
        for k, hr in enumerate(hairs):
            x, y = round(float(ex[k]), 4), round(float(ey[k]), 4)
            if fr.inside(x, y):
                listed.append(_record(fr, hr, by_id.get(hr["id"]), x, y))
            elif fr.outside_um(x, y) <= 200.0:
                outside.append({"x_px": x, "y_px": y, "id": hr["id"], "kind": hr["kind"]})
    truth: dict[str, Any] = {"generator": GENERATOR, "width": w, "height": h, "um_per_px": um}
    truth |= _summary(listed, w * h * um * um * 1e-8)
    truth |= {"tips": tips, "tips_covered": covered, "emergence_outside": outside}
    truth["factors"] = _factors(look, um, hairless, visit is not None)
    truth["params"] = {**look, "visit": visit_rec}
    return img, truth
