"""blind-22: an independent generator of dermoscopic (trichoscopy) close-ups of the human
scalp with exact truth, written apart from every other generator of the project (numpy and
scipy only; it imports nothing else from ``sim``).

Technique: texture-mapped hair cards on clothoid axes, turning-bands skin, an RGBW sensor
---------------------------------------------------------------------------------------
None of the twenty-two others (heldout-1, blind-1 to blind-21) nor the twin draws a shaft as
a texture-mapped card found by inverting bilinear patches, filters textures through
summed-area tables, bends axes as clothoids, makes skin by turning bands or a network from
Hessian ridges, mixes colour by Kubelka-Munk K/S additivity, blurs through a hexagonal
iris's three-sinc transfer function, images onto an RGBW mosaic or stores frames by block
truncation coding; each part was picked for that.

* **Axes** (``clothoid.py``): a hair's axis on the skin is a chain of Euler-spiral pieces,
  curvature running linearly along each and continuously across knots (an AR(1) walk about
  the hair's own bend), each piece evaluated in closed form by the Fresnel integrals (stubs
  standing 24-72 degrees off the skin foreshortened and nearly straight, long hair lying in
  slow waves, vellus curling, regrowing hair tapering).
* **Hair cards** (``cards.py``): as game engines draw hair, each shaft is a strip of quads
  along its axis, 1.5 px wider than the fibre on each side. Every pixel centre inside a quad
  is mapped back to the strip's (u, v) by inverting the bilinear patch (a quadratic); u is
  the arc length, v the offset across in fibre radii. Those look up **strand textures**
  (``texture.py``: cover, the cylinder's facing, a sheen line, pigment streaks and medulla
  across; cuticle edges, medulla breaks and pigment drift along) averaged over the pixel's
  own footprint through **summed-area tables** - so sub-pixel vellus hairs and tapering tips
  keep their summed cover. Square cuts, oblique cut faces and the root are steps along the
  card, filtered by the same footprint; a frayed end narrows to its middle strand, with two
  side strands splayed from the split. Black dots, openings, plugs, halos, dots, vessels,
  flakes and glints are round (or lobed) sprites read through the same texture by radius.
  Fragments are composited front to back in one vectorised pass (a segmented running sum
  of log-transmittance): lying hair under vellus under standing stubs; hair casts a soft
  offset shadow; some flakes lie over the hair.
* **Skin** (``skin.py``): tone, redness, yellow and grain are **turning-bands** fields (1-D
  moving averages along lines in 14 directions); the pigment network is the **Hessian
  crest lines** of a turning-bands random wave of the cell size, in patches; colour is the
  **Kubelka-Munk** reflectance of dermis, melanin, blood and carotene K/S summed.
* **Camera** (``camera.py``): **Kang-Weiss vignetting** and a tilted ring light; defocus
  through a **six-bladed iris** (a hexagon as the sum of three segments: a product of three
  sincs in the frequency domain), wider toward the corners and in red; a **Kodak CFA 2.0
  RGBW mosaic** with shot and read noise, row banding and a 12-bit ADC; a demosaic that
  fills W along the smoother direction, carries colours as differences from W and unmixes
  the four estimates by least squares; **Reinhard's extended** tone curve and gamma 2.2; on
  half the sites **block truncation coding** (AMBTC, two or four levels a 4x4 luma block,
  4:2:0 chroma).
* The world is cut into 0.9 mm plots, each drawing its follicular units (1-4 hairs, or an
  empty opening) from a stream keyed by the seed and the plot, so a seed is the same site in
  any frame size or scale. A follow-up (``regrown=(factor, visit_seed)``) turns the frame
  1-5 degrees and moves it 1-6 % of its size, sheds each hair with probability
  ``1 - factor`` or adds units of new (standing, tapering) hairs at ``factor - 1`` times
  the site's density; skin, marks and kept hairs stay, the sensor noise is new.

Truth
-----
``hairs``: each hair whose emergence point (the root end of its axis; a black dot's centre)
lies in the frame, covered or not: ``x_px``, ``y_px`` (pixel centres at integers),
``diameter_um`` (the card's fibre width), ``kind`` (terminal, intermediate, vellus, broken,
black_dot), ``id``, ``unit``, ``colour`` and ``root_colour`` (linear RGB albedo; they differ
where dyed hair grows out), ``new``, ``direction_deg`` (the shaft's azimuth at its root, in
the frame), ``elevation_deg``, ``length_um`` (projected), ``end`` (cut, taper, dot) and
``cut_style``. ``tips``: each shaft end (the axis's end: a square cut's face centre, an
oblique face's point on the axis, a frayed end's middle strand's end, a taper's point)
inside the frame whose pixel is not half covered by another shaft - ``tips_covered`` the
others. ``emergence_outside``: roots outside the frame within 200 um. ``density_per_cm2``
counts ``hairs`` over the frame's area. About a fifth of sites are near-bald (under
30/cm2) and a twentieth bare.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind22 import camera, skin
from sim.blind22.args import Call, checked
from sim.blind22.cards import (
    Frags,
    Looks,
    Quads,
    front_to_back,
    paint,
    sprites,
    strands_of,
    strip,
    unique_cover,
)
from sim.blind22.clothoid import Shaft, projected, shaft
from sim.blind22.frame import Frame
from sim.blind22.site import PLOT_UM, REACH_UM, fibre_colours, plot_units, share, site_look, stream
from sim.blind22.texture import VARIANTS, Strands

GENERATOR = "blind-22"

__all__ = ["GENERATOR", "generate"]

Hair = tuple[dict[str, Any], Shaft | None, float, float]  # build, axis (None: a dot), root px


def _frame(call: Call) -> tuple[Frame, dict[str, Any] | None]:
    """The frame on the site: centred on the world origin at a baseline; at a later visit
    turned 1-5 degrees either way and moved 1-6 % of its size (the pose is recorded)."""
    if not call.later or call.visit is None:
        return Frame(call.width, call.height, call.um), None
    pose = stream(call.seed, "visit", call.visit)
    degrees = float(pose.uniform(1.0, 5.0)) * float(pose.choice([-1.0, 1.0]))
    reach, bearing = pose.uniform(0.01, 0.06), pose.uniform(0, 2 * math.pi)
    du = round(float(reach * call.width * math.cos(bearing)), 4)
    dv = round(float(reach * call.height * math.sin(bearing)), 4)
    frame = Frame(
        call.width, call.height, call.um, math.radians(degrees), du * call.um, dv * call.um
    )
    return frame, {
        "factor": call.factor,
        "seed": call.visit,
        "shift_px": [du, dv],
        "turn_deg": round(degrees, 4),
    }


def _units(call: Call, look: dict[str, Any], frame: Frame) -> list[dict[str, Any]]:
    """Units of every plot within a shaft's reach of the frame, as this visit finds them:
    the baseline's, plus those grown in (factor above 1), less the hair shed (below 1)."""
    left, top, right, bottom = (math.floor(v / PLOT_UM) for v in frame.world_box(REACH_UM))
    plots = list(itertools.product(range(left, right + 1), range(top, bottom + 1)))
    units = [un for px, py in plots for un in plot_units(call.seed, look, px, py)]
    if call.factor is None or call.visit is None or call.factor == 1.0:
        return units
    if call.factor > 1.0:
        visit = (call.factor, call.visit)
        return units + [un for px, py in plots for un in plot_units(call.seed, look, px, py, visit)]
    hairs = [hr for un in units for hr in un["hairs"]]
    kept = share(np.array([hr["id"] for hr in hairs], np.int64), call.visit) < call.factor
    gone = {hr["id"] for hr, k in zip(hairs, kept, strict=True) if not k}
    for un in units:
        un["hairs"] = [hr for hr in un["hairs"] if hr["id"] not in gone]
    return units


def _layer(hr: dict[str, Any]) -> tuple[float, int]:
    """Drawing order, deepest first: black dots, lying hair, vellus, standing shafts."""
    if hr["kind"] == "black_dot":
        depth = 0.0
    elif hr["lies"]:
        depth = 1.0
    else:
        depth = 2.0 if hr["kind"] == "vellus" else 3.0
    return depth + float(hr["elevation"]) / 100.0, int(hr["id"])


def _hairs(frame: Frame, units: list[dict[str, Any]]) -> list[Hair]:
    """Every hair that may reach the frame, in drawing order, with its root in frame px
    (rounded to 1e-4 px, as listed)."""
    every = sorted((hr for un in units for hr in un["hairs"]), key=_layer)
    if not every:
        return []
    us, vs = frame.px([hr["x"] for hr in every], [hr["y"] for hr in every])
    roots = np.round(np.stack([us, vs], axis=1), 4).tolist()
    reach = [projected(hr) + float(hr["d"]) + 250.0 for hr in every]
    return [
        (hr, shaft(hr) if hr["kind"] != "black_dot" else None, x, y)
        for hr, (x, y), far in zip(every, roots, reach, strict=True)
        if frame.beyond_um(x, y) <= far
    ]


# how much light a fibre stops: vellus by its thickness, pale (white) fibre a little less
VELLUS_OPACITY = (0.45, 0.85)  # at 0 and at 30 um and over
PALE_OPACITY, PIGMENTED_OPACITY = 0.8, 0.97


def _opacity(hr: dict[str, Any], colour: list[float]) -> float:
    if hr["kind"] == "vellus":
        thin, thick = VELLUS_OPACITY
        return thin + (thick - thin) * min(1.0, float(hr["d"]) / 30.0)
    return PALE_OPACITY if min(colour) > 0.3 else PIGMENTED_OPACITY


def _cards(
    frame: Frame, look: dict[str, Any], hairs: list[Hair]
) -> tuple[Quads | None, Looks | None]:
    """Every shaft's card (and a frayed end's side strands) with what paints it."""
    rows: list[tuple[Shaft, int, dict[str, Any]]] = []
    for rank, (hr, sh, _, _) in enumerate(hairs):
        if sh is not None:
            rows += [(piece, rank, hr) for piece in (sh, *strands_of(sh))]
    if not rows:
        return None, None
    strips = [strip(frame, piece, k) for k, (piece, _, _) in enumerate(rows)]
    quads = Quads(
        *(
            np.concatenate([getattr(q, f) for q in strips])
            for f in ("a", "b", "c", "d", "s0", "s1", "card")
        )
    )
    colours = [fibre_colours(look, hr) for _, _, hr in rows]
    dyed = float(look["regrowth_um"]) if look["dyed"] else 0.0
    looks = Looks(
        radius=np.array([p.radius for p, _, _ in rows]),
        length=np.array([p.length for p, _, _ in rows]),
        taper_from=np.array([p.taper_from for p, _, _ in rows]),
        fray_from=np.array([p.fray_from for p, _, _ in rows]),
        slant=np.array([p.slant for p, _, _ in rows]),
        variant=np.array([int(hr["strand"]) % VARIANTS for _, _, hr in rows], np.int64),
        rank=np.array([r for _, r, _ in rows], np.int64),
        shaft_rgb=np.array([c[0] for c in colours]).reshape(-1, 3),
        root_rgb=np.array([c[1] for c in colours]).reshape(-1, 3),
        opacity=np.array([_opacity(hr, c[0]) for (_, _, hr), c in zip(rows, colours, strict=True)]),
        dyed_from=np.full(len(rows), dyed),
    )
    return quads, looks


def _dots(
    frame: Frame, look: dict[str, Any], hairs: list[Hair], strands: Strands, sheen: float
) -> Frags:
    """Black dots: dark discs, shaded as the cut face of a fibre seen end on."""
    ranks = [k for k, (_, sh, _, _) in enumerate(hairs) if sh is None]
    if not ranks:
        return Frags.join([])
    x = np.array([hairs[k][2] for k in ranks])
    y = np.array([hairs[k][3] for k in ranks])
    r = np.array([0.5 * float(hairs[k][0]["d"]) for k in ranks]) / frame.um
    n = len(ranks)
    which, pixel, cover, rho = sprites(frame, x, y, r, np.zeros(n), np.zeros((n, 6)), strands)
    base = np.array([fibre_colours(look, hairs[k][0])[0] for k in ranks])[which]
    facing = np.sqrt(np.clip(1 - rho * rho, 0, 1))
    rgb = base * (0.55 + 0.45 * facing)[:, None] + sheen * 0.3
    return Frags(np.array(ranks, np.int64)[which], pixel, cover * 0.97, rgb)


def _marks_over(frame: Frame, mk: skin.Marks, keep: NDArray[np.bool_], strands: Strands) -> Frags:
    idx = np.flatnonzero(keep)
    which, pixel, cover, _ = sprites(
        frame, mk.x[idx], mk.y[idx], mk.r[idx], mk.hole[idx], mk.lobes[idx], strands
    )
    k = idx[which]
    return Frags(k.astype(np.int64), pixel, cover * mk.alpha[k], mk.rgb[k])


def _scene(
    call: Call, look: dict[str, Any], frame: Frame, mk: skin.Marks, hairs: list[Hair]
) -> tuple[NDArray[np.float64], Frags]:
    """Radiance leaving skin and hair (h x w x 3, a white diffuser 1) and the hair's
    fragments (for the tips' cover)."""
    w, h, npix = call.width, call.height, call.width * call.height
    strands = Strands(stream(call.seed, "strands"))
    ground = skin.skin_rgb(call.seed, look, frame).reshape(-1, 3)
    laid, through = front_to_back(_marks_over(frame, mk, ~mk.over, strands), npix)
    ground = laid + through[:, None] * ground
    sheen = 0.07 if look["light"] == "non-polarised" else 0.012
    quads, looks = _cards(frame, look, hairs)
    parts = [_dots(frame, look, hairs, strands, sheen)]
    if quads is not None and looks is not None:
        parts.append(paint(frame, quads, looks, strands, sheen))
    frags = Frags.join(parts)
    frayed = [
        k for k, (_, sh, _, _) in enumerate(hairs) if sh is not None and sh.fray_from < sh.length
    ]
    frags = unique_cover(frags, np.array(frayed, np.int64), npix)
    hair, bare = front_to_back(frags, npix)
    shadow = (1.0 - bare).reshape(h, w)
    offset = np.array(look["shadow_um"][::-1]) / call.um
    shadow = ndimage.shift(shadow, offset, order=1, mode="constant")
    size = max(1, round(16.0 / call.um))
    shadow = ndimage.uniform_filter(ndimage.uniform_filter(shadow, size), size)
    ground = ground * (1.0 - float(look["shadow"]) * np.clip(shadow, 0, 1)).reshape(-1, 1)
    scene = hair + bare[:, None] * ground
    laid, through = front_to_back(_marks_over(frame, mk, mk.over, strands), npix)
    scene = laid + through[:, None] * scene
    return scene.reshape(h, w, 3), frags


def _camera(
    call: Call, look: dict[str, Any], frame: Frame, scene: NDArray[np.float64]
) -> NDArray[np.uint8]:
    g = stream(call.seed, "optics")
    light = (
        scene * camera.illumination(call.height, call.width, g, float(look["vignette"]))[..., None]
    )
    light = camera.defocus(light, look, call.um, float(g.uniform(0, math.pi / 3)))
    noise = stream(call.seed, "noise", -1 if call.visit is None else call.visit)
    raw = camera.expose(light, float(look["exposure"]), noise)
    rgb = camera.demosaic(raw, float(look["exposure"]))
    return camera.btc(camera.tone(rgb, stream(call.seed, "balance")), int(look["btc_levels"]))


_COPIED = ("kind", "id", "unit", "new", "end", "cut_style")


def _direction(frame: Frame, heading: float) -> float:
    return round(math.degrees(frame.heading_px(heading)) % 360.0, 2)


def _record(frame: Frame, look: dict[str, Any], hair: Hair) -> dict[str, Any]:
    hr, sh, x, y = hair
    rec: dict[str, Any] = {k: hr[k] for k in _COPIED}
    colour, root = fibre_colours(look, hr)
    rec.update(x_px=x, y_px=y, diameter_um=hr["d"], colour=colour, root_colour=root)
    rec.update(elevation_deg=hr["elevation"], length_um=round(sh.length if sh else 0.0, 2))
    rec["direction_deg"] = _direction(frame, float(hr["azimuth"]))
    return rec


def _tips(
    frame: Frame, hairs: list[Hair], frags: Frags
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Axis ends in the frame: shown, or covered (their pixel half covered by another shaft)."""
    shown: list[dict[str, Any]] = []
    covered: list[dict[str, Any]] = []
    order = np.argsort(frags.pixel, kind="stable")
    pix, owner, cover = frags.pixel[order], frags.rank[order], frags.cover[order]
    for rank, (hr, sh, _, _) in enumerate(hairs):
        if sh is None:
            continue
        point, heading, radius = sh.tip
        u, v = frame.px(point.real, point.imag)
        x, y = round(float(u), 4), round(float(v), 4)
        if not frame.inside(x, y):
            continue
        rec: dict[str, Any] = {k: hr[k] for k in ("id", "kind", "end", "cut_style")}
        rec.update(x_px=x, y_px=y, cut=hr["end"] == "cut")
        rec["diameter_um"] = round(max(2.0 * radius, 1.0), 2)
        rec["direction_deg"] = _direction(frame, heading)
        p = round(y) * frame.w + round(x)
        lo, hi = np.searchsorted(pix, p), np.searchsorted(pix, p, side="right")
        others = (owner[lo:hi] != rank) & (cover[lo:hi] >= 0.5)
        (covered if bool(others.any()) else shown).append(rec)
    return shown, covered


def _factors(look: dict[str, Any], call: Call) -> dict[str, str]:
    """The labels the benches group frames by."""
    bins = ((5.0, "3-5"), (8.0, "5-8"), (math.inf, "8-12"))
    return {
        "hair_length": "hairless" if call.hairless else str(look["hair_length"]),
        "hair_colour": str(look["hair_colour"]),
        "skin_tone": str(look["skin_tone"]),
        "light": str(look["light"]),
        "pattern": str(look["pattern"]),
        "scale": next(name for top, name in bins if call.um < top),
        "visit": "follow-up" if call.later else "baseline",
    }


def _truth(
    call: Call,
    look: dict[str, Any],
    frame: Frame,
    visit: dict[str, Any] | None,
    hairs: list[Hair],
    frags: Frags,
) -> dict[str, Any]:
    listed = [_record(frame, look, hair) for hair in hairs if frame.inside(hair[2], hair[3])]
    outside = [
        {"x_px": x, "y_px": y, "id": hr["id"], "kind": hr["kind"]}
        for hr, _, x, y in hairs
        if not frame.inside(x, y) and frame.beyond_um(x, y) <= 200.0
    ]
    listed.sort(key=lambda r: int(r["id"]))
    outside.sort(key=lambda r: int(r["id"]))
    shown, covered = _tips(frame, hairs, frags)
    widths = [float(r["diameter_um"]) for r in listed]
    area_cm2 = call.width * call.height * (call.um * 1e-4) ** 2
    truth: dict[str, Any] = {"generator": GENERATOR, "width": call.width, "height": call.height}
    truth["um_per_px"] = call.um
    truth["hairs"] = listed
    truth["density_per_cm2"] = len(widths) / area_cm2
    truth["mean_diameter_um"] = sum(widths) / len(widths) if widths else 0.0
    truth["vellus_fraction"] = sum(1 for d in widths if d < 30.0) / len(widths) if widths else 0.0
    truth.update(tips=shown, tips_covered=covered, emergence_outside=outside)
    truth.update(factors=_factors(look, call), params={**look, "visit": visit})
    return truth


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Draw a frame of site ``seed`` (every int is a site) and return it (uint8, height x
    width x 3) with its truth (the package docstring lists the keys).

    Arguments: ``um_per_px`` in [3, 12]; ``width`` in [32, 2028] and ``height`` in [32, 1521]
    pixels; ``hairless`` draws the site's skin and marks with no hair at all; ``regrown`` is
    None at a baseline or a (factor, visit seed) pair for a later visit, the factor in (0, 4]
    (the share of hair kept below 1, the growth above it). Raises ValueError, its message
    starting with the offending argument's name."""
    call = checked(seed, um_per_px, width, height, hairless, regrown)
    look = site_look(call.seed)
    frame, visit = _frame(call)
    units = _units(call, look, frame)
    hairs = [] if call.hairless else _hairs(frame, units)
    ux, uy = frame.px([un["x"] for un in units], [un["y"] for un in units])
    near = [
        un
        for un, x, y in zip(units, ux, uy, strict=True)
        if frame.beyond_um(float(x), float(y)) < 300.0
    ]
    mk = skin.marks(call.seed, look, frame, near)
    scene, frags = _scene(call, look, frame, mk, hairs)
    return _camera(call, look, frame, scene), _truth(call, look, frame, visit, hairs, frags)
