"""blind-19: an independent generator of dermoscopic (trichoscopy) close-ups of the human
scalp with exact truth, written apart from every other generator of the project (numpy and
scipy only).

Technique: sphere tracing of one signed distance field, seen by a field-sequential camera
----------------------------------------------------------------------------------------
None of the eighteen others sphere-traces a distance field (blind-8 steps through a voxel
volume at fixed slabs; blind-5 and blind-18 solve ray-cylinder hits in closed form; blind-3
and blind-12 use 2-D distances to strokes), lights with narrow-band LEDs one after another
onto a monochrome sensor, keeps the phase of a Gabor sum (blind-14 keeps its zero crossings)
or stores frames with a predictive (LOCO-I) codec; each of these parts was picked for that.

* **Geometry is one signed distance field** (``sdf.py``): the skin's surface (relief,
  creases, follicle pits, scale) *smoothly united* (a polynomial smooth minimum) with every
  hair shaft, so that a small collar of skin rises round each emerging hair. A shaft is a
  chain of tapering round cones along its 3-D centreline (``scene.py``: stubs standing 18-65
  degrees off the skin and cut; long and vellus hair rising, bending over and settling at
  its own resting height; black dots cut a few micrometres above the skin); a cut shaft is
  intersected with its cut plane (square, oblique, or frayed: the plane pushed to and fro in
  splinters across the fibre), a natural tip tapers.
* **Rendering is sphere tracing**: one ray per pixel, parallel to the optical axis of a
  *telecentric* lens (no perspective: a hair's size does not depend on its height), marched
  down by the field's value; pixels with no shaft near them meet the skin where it is. The
  ray's nearest approach to a shaft gives that shaft its share of a pixel it passes (cone
  tracing's anti-aliasing, no extra rays); normals are the field's gradient; ambient
  occlusion comes from five field samples along the normal (the soft dark a lying hair
  throws round itself under a ring light).
* **Skin** (``skin.py``): *phasor noise* (the phase of a sum of Gabor kernels dropped by a
  hash of world cells) draws a labyrinthine pigment network and oriented creases; sums of
  random plane waves give tone, redness, relief, flakes and grain; marks give openings (pits,
  grey keratin, yellow plugs), peripilar rings, pinpoint white dots, vessels and scale. The
  reflectance in each LED band is the diffuse reflectance of a turbid dermis in Jacques's
  closed form, seen twice through epidermal melanin.
* **Light** (``light.py``): a ring of 4-12 LED triplets (630, 525, 460 nm); Ward's
  anisotropic lobe for the fibre's shine and an isotropic one for sebum, nearly all removed
  by the cross-polariser in polarised frames (and the skin's by gel under a contact plate).
* **Camera** (``camera.py``, ``codec.py``): a monochrome sensor takes the three bands as
  three fields in turn while the hand drifts (colour fringes), per band a diffraction spot
  and a depth-dependent blur circle, vignetting, PRNU, shot and read noise, column offsets,
  a 10-bit ADC, a band-to-display matrix and gamma; on about two sites in three a
  near-lossless JPEG-LS-style codec (median edge predictor, residuals quantised to within
  1-5 levels) as a DICOM archive would store it.
* The world is cut into 1 mm cells, each drawing its follicular units (1-4 hairs, or an empty
  opening) from a generator keyed by the seed and the cell, so that a seed is the same site
  in any frame size or scale. A follow-up (``regrown=(factor, visit_seed)``) turns the frame
  1-5 degrees and moves it 1-6 % of its size, sheds each hair with probability
  ``1 - factor`` or adds units of new (standing, tapering) hairs at ``factor - 1`` times the
  site's density; skin, marks and kept hairs stay, the sensor noise is new.

Truth
-----
``hairs``: each hair whose emergence point (where its axis crosses the skin plane z = 0; a
black dot's centre within a few micrometres) lies in the frame, covered or not: ``x_px``,
``y_px`` (pixel centres at integers), ``diameter_um``, ``kind`` (terminal, intermediate,
vellus, broken, black_dot), ``id``, ``unit``, ``colour`` and ``root_colour`` (the fibre's
reflectance in the three bands; they differ where dyed hair grows out), ``new``,
``direction_deg`` (the shaft's azimuth as it leaves the skin, in the frame),
``elevation_deg``, ``length_um`` (projected, from the emergence point), ``end`` (cut, taper,
dot) and ``cut_style``. ``tips``: each shaft end (its axis's end; a cut face's centre)
inside the frame whose shaft is what the tracer hit within a pixel of it (two for a tapering
end) - ``tips_covered`` the others: position, ``cut``, end ``diameter_um``, ``id``,
``kind``, ``end``, ``cut_style``, ``direction_deg``. ``emergence_outside``: roots outside the
frame within 200 um. ``density_per_cm2`` counts ``hairs`` over the frame's area. About a fifth
of sites are near-bald (under 30/cm2) and a twentieth bare. The green field is the truth's
frame; the red and blue fields lie up to about a pixel off it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind19 import scene, site
from sim.blind19.args import validated
from sim.blind19.camera import expose
from sim.blind19.light import radiance, ring
from sim.blind19.sdf import Trace, trace
from sim.blind19.skin import skin

GENERATOR = "blind-19"

__all__ = ["GENERATOR", "generate"]


def _tips(
    view: scene.View, shafts: list[scene.Shaft], pc: scene.Pieces, tr: Trace
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shaft ends inside the frame, split by whether their shaft is what the rays met (or
    passed by, for a fine end) within a pixel of the end (two for a tapering one)."""
    shown: list[dict[str, Any]] = []
    covered: list[dict[str, Any]] = []
    if not shafts:
        return shown, covered
    seen = np.where(tr.piece >= 0, pc.owner[np.maximum(tr.piece, 0)], -1)
    near = np.where(tr.edge_cover > 0.05, pc.owner[np.maximum(tr.edge_piece, 0)], -1)
    seen = np.where(seen >= 0, seen, near).reshape(view.h, view.w)
    for k, sh in enumerate(shafts):
        hr = sh.hair
        if hr["end"] == "dot":
            continue
        u, v = view.px(sh.p[-2:, 0], sh.p[-2:, 1])
        x, y = round(float(u[-1]), 4), round(float(v[-1]), 4)
        if not view.holds(x, y):
            continue
        reach = 2 if hr["end"] == "taper" else 1
        i, j = round(y), round(x)
        box = seen[max(i - reach, 0) : i + reach + 1, max(j - reach, 0) : j + reach + 1]
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
                math.degrees(math.atan2(float(v[1] - v[0]), float(u[1] - u[0]))) % 360.0, 2
            ),
        }
        (shown if bool((box == k).any()) else covered).append(tip)
    return shown, covered


def _record(
    view: scene.View, hr: dict[str, Any], sh: scene.Shaft | None, x: float, y: float
) -> dict[str, Any]:
    length = 0.0
    if sh is not None:
        above = sh.s >= 0.0
        length = float(np.hypot(np.diff(sh.p[above, 0]), np.diff(sh.p[above, 1])).sum())
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
        "direction_deg": view.azimuth_deg(hr["azimuth"]),
        "elevation_deg": round(math.degrees(hr["elevation"]), 2),
        "length_um": round(length, 2),
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
        "contact": "contact" if look["contact"] else "non-contact",
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
    seed, um, w, h, hairless, visit = validated(seed, um_per_px, width, height, hairless, regrown)
    look = site.site_look(seed)
    turn, shift, visit_rec = scene.follow_up(seed, visit, w, h)
    view = scene.View(w, h, um, turn, shift)
    units, hairs = scene.gather(seed, look, view, visit)
    if hairless:
        hairs = []
    sk = skin(seed, look, view, units)
    shafts = scene.reaching(look, view, hairs)
    pc = scene.pieces(view, shafts)
    tr = trace(pc, sk.height_um / np.float32(um), sk.normal, um, look["collar_um"])
    rad = radiance(look, sk, tr, pc, shafts, ring(look, seed))
    depth = (tr.z.reshape(h, w).astype(np.float64)) * um
    noise = site.stream(seed, 41, -1 if visit is None else visit[1])
    img = expose(look, rad, depth, um, seed, noise)
    tips, covered = _tips(view, shafts, pc, tr)

    drawn = {sh.hair["id"]: sh for sh in shafts}
    listed: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    if hairs:
        ex, ey = view.px(np.array([q["x"] for q in hairs]), np.array([q["y"] for q in hairs]))
        for k, hr in enumerate(hairs):
            x, y = round(float(ex[k]), 4), round(float(ey[k]), 4)
            if view.holds(x, y):
                listed.append(_record(view, hr, drawn.get(hr["id"]), x, y))
            elif view.gap_um(x, y) <= 200.0:
                outside.append({"x_px": x, "y_px": y, "id": hr["id"], "kind": hr["kind"]})
    area_cm2 = w * h * um * um * 1e-8
    diam = np.array([q["diameter_um"] for q in listed], np.float64)
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": listed,
        "density_per_cm2": diam.size / area_cm2,
        "mean_diameter_um": float(diam.mean()) if diam.size else 0.0,
        "vellus_fraction": float((diam < 30).mean()) if diam.size else 0.0,
        "tips": tips,
        "tips_covered": covered,
        "emergence_outside": outside,
        "factors": _factors(look, um, hairless, visit is not None),
        "params": {**look, "visit": visit_rec},
    }
    return img, truth
