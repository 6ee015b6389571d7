"""blind-21: an independent generator of dermoscopic (trichoscopy) close-ups of the human
scalp with exact truth, written apart from every other generator of the project (numpy and
scipy only; it imports nothing else from ``sim``).

Technique: arc-chain shapes filled by a bounded quadtree, seen by a complementary mosaic
-----------------------------------------------------------------------------------------
None of the twenty-one others (heldout-1, blind-1 to blind-20) nor the twin grows a shaft as a
chain of circular arcs, fills shapes by quadtree subdivision under Lipschitz bounds, grows its
pigment network by Cahn-Hilliard phase separation, filters its skin noise recursively,
vignettes by a cat's eye, blurs with a recursive (IIR) Gaussian, images onto a
cyan-yellow-green-magenta mosaic or stores frames through a CDF 9/7 wavelet; each part was
picked for that.

* **Shafts are grown spines** (``growth.py``): a hair's axis on the skin is a chain of
  circular arcs, each stretch keeping the curvature it grew with, the curvatures an
  Ornstein-Uhlenbeck walk along the shaft about the hair's own bend (stubs standing 22-72
  degrees off the skin nearly straight, long hair lying in slow waves, vellus curling,
  regrowing hair tapering). Each arc is a band of linearly varying half-width: square cut
  ends are the band's flat end; an oblique cut runs the band on and clips it by a half-plane
  through the axis end; a frayed end is three thin strands; a natural tip tapers to an
  eighth. A black dot is a piece of length zero with round ends (a disc).
* **One rasteriser** (``quadtree.py``): every shape - shafts, openings, plugs, halos (a
  band sweeping the whole circle), white and pigmented dots, scale, vessels (wandering arc
  chains) - is filled by subdividing 16 px boxes per shape: a bound function per piece
  (exact distance outside, a conservative depth inside) and its Lipschitz factor say when a
  box is wholly out or wholly in; the rest split down to half pixels, covered by a linear
  ramp of the bound. Each box carries only the pieces that can reach it. Fragments are
  composited per pixel in depth order (marks on the skin; lying hair under vellus under
  stubs); hair is shaded across its band (a rounded cylinder, a sheen line in
  non-polarised light) and casts a soft, offset shadow.
* **Skin** (``skin.py``): the pigment network is a **Cahn-Hilliard** phase field quenched
  off the critical mix (drops become the holes, the matrix the lines), tone, redness and
  grain **recursively filtered noise** on periodic tiles, colour from melanin and blood
  absorbance over a dermis; sebum glints without the polariser.
* **Optics** (``lens.py``): **cat's-eye vignetting** (the area where the pupil and a shifted
  aperture overlap), a tilted ring light with a hot spot, a **Young-van Vliet recursive
  Gaussian** blur per colour (its parameter read from a table of the passes' measured spread),
  wider toward the corners, and lateral colour.
* **Sensor** (``sensor.py``): a **CYGM complementary mosaic** with gain non-uniformity, shot
  and read noise and a 10-bit ADC, a demosaic of its own (each quarter plane interpolated at
  its phase, unmixed by the least-squares inverse of slightly wrong filters), the ACES
  filmic curve; on about two sites in three a **JPEG 2000-style codec** (``jp2.py``: ICT
  colour, three levels of CDF 9/7 lifting, dead-zone quantisation).
* The world is cut into 0.8 mm tiles, each drawing its follicular units (1-4 hairs, or an
  empty opening) from a Philox stream keyed by the seed and the tile, so a seed is the same
  site in any frame size or scale. A follow-up (``regrown=(factor, visit_seed)``) turns the
  frame 1-5 degrees and moves it 1-6 % of its size, sheds each hair with probability
  ``1 - factor`` or adds units of new (standing, tapering) hairs at ``factor - 1`` times
  the site's density; skin, marks and kept hairs stay, the sensor noise is new.

Truth
-----
``hairs``: each hair whose emergence point (the root end of its axis; a black dot's centre)
lies in the frame, covered or not: ``x_px``, ``y_px`` (pixel centres at integers),
``diameter_um`` (the band's width), ``kind`` (terminal, intermediate, vellus, broken,
black_dot), ``id``, ``unit``, ``colour`` and ``root_colour`` (linear RGB reflectance; they
differ where dyed hair grows out), ``new``, ``direction_deg`` (the shaft's azimuth at its
root, in the frame), ``elevation_deg``, ``length_um`` (projected), ``end`` (cut, taper, dot)
and ``cut_style``. ``tips``: each shaft end (the axis's end: a square cut's face centre, an
oblique face's point on the axis, a frayed end's axis end among its strands, a taper's
point) inside the frame with no other shaft's band within half a pixel of it -
``tips_covered`` the others. ``emergence_outside``: roots outside the frame within 200 um.
``density_per_cm2`` counts ``hairs`` over the frame's area. About a fifth of sites are
near-bald (under 30/cm2) and a twentieth bare.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind21 import jp2, lens, sensor, skin
from sim.blind21.contract import Request, request
from sim.blind21.growth import Chain, Spine, View, projected_length, spine
from sim.blind21.quadtree import SHAPE, X0, X1, Y0, Y1, Fragments, bound, piece_table, rasterise
from sim.blind21.world import (
    REACH_UM,
    TILE_UM,
    fibre_rgb,
    rng,
    site_look,
    tile_units,
    unit_interval,
)

GENERATOR = "blind-21"

__all__ = ["GENERATOR", "generate"]

Near = list[tuple[Spine, float, float]]  # a hair's spine and its root in frame px


def _view(req: Request) -> tuple[View, dict[str, Any] | None]:
    if req.factor is None or req.visit_seed is None:
        return View(req.width, req.height, req.um), None
    g = rng(req.seed, "visit", req.visit_seed)
    turn = float(g.uniform(1.0, 5.0)) * float(g.choice([-1.0, 1.0]))
    frac, toward = float(g.uniform(0.01, 0.06)), float(g.uniform(0, 2 * math.pi))
    du, dv = frac * req.width * math.cos(toward), frac * req.height * math.sin(toward)
    shift = [round(du, 4), round(dv, 4)]
    rec: dict[str, Any] = {"factor": req.factor, "seed": req.visit_seed, "shift_px": shift}
    rec["turn_deg"] = round(turn, 4)
    cx, cy = (c * req.um for c in shift)
    return View(req.width, req.height, req.um, math.radians(turn), cx, cy), rec


def _units(req: Request, look: dict[str, Any], view: View) -> list[dict[str, Any]]:
    """The units within reach of the frame as the visit finds them (hair shed or grown)."""
    x0, y0, x1, y1 = view.world_box(REACH_UM)
    grows = req.factor is not None and req.visit_seed is not None and req.factor > 1.0
    units: list[dict[str, Any]] = []
    for tx in range(math.floor(x0 / TILE_UM), math.floor(x1 / TILE_UM) + 1):
        for ty in range(math.floor(y0 / TILE_UM), math.floor(y1 / TILE_UM) + 1):
            units += tile_units(req.seed, look, tx, ty)
            if grows and req.factor is not None and req.visit_seed is not None:
                units += tile_units(req.seed, look, tx, ty, (req.factor, req.visit_seed))
    if req.factor is not None and req.visit_seed is not None and req.factor < 1.0:
        for un in units:
            ids = np.array([hr["id"] for hr in un["hairs"]], np.int64)
            stays = unit_interval(ids, req.visit_seed) < req.factor
            un["hairs"] = [hr for hr, k in zip(un["hairs"], stays, strict=True) if k]
    return units


def _layer(hr: dict[str, Any]) -> float:
    """Drawing order: black dots, lying hair, vellus, then standing stubs on top."""
    if hr["kind"] == "black_dot":
        return 0.0
    if hr["lies"]:
        return 1.0 + float(hr["elevation"]) / 100
    return (2.0 if hr["kind"] == "vellus" else 3.0) + float(hr["elevation"]) / 100


def _near(view: View, units: list[dict[str, Any]]) -> Near:
    """Spines of the hairs that may reach the frame, in drawing order, with their roots."""
    out: Near = []
    for hr in (hr for un in units for hr in un["hairs"]):
        u, v = view.to_px(hr["x"], hr["y"])
        x, y = round(float(u), 4), round(float(v), 4)
        if view.outside_um(x, y) <= projected_length(hr) + hr["d"] + 250.0:
            out.append((spine(hr), x, y))
    out.sort(key=lambda t: (_layer(t[0].hair), t[0].hair["id"]))
    return out


def _opacity(hr: dict[str, Any], colour: list[float]) -> float:
    if hr["kind"] == "vellus":
        return 0.5 + 0.35 * min(1.0, float(hr["d"]) / 30.0)
    return 0.78 if min(colour) > 0.3 else 0.96  # white fibres let some light through


def _composite(
    n: int,
    frags: Fragments,
    depth: NDArray[np.float64],
    rgb: NDArray[np.float64],
    alpha: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fragments over ``n`` flat pixels, each pixel's laid from the deepest up: per pixel the
    premultiplied colour laid on and the share of what lies below that still shows."""
    colour = np.zeros((n, 3))
    through = np.ones(n)
    order = np.lexsort((depth[frags.shape], frags.pixel))
    pix, rgb, alpha = frags.pixel[order], rgb[order], alpha[order]
    new_pixel = np.concatenate([[True], pix[1:] != pix[:-1]])
    rank = np.arange(pix.size) - np.maximum.accumulate(np.where(new_pixel, np.arange(pix.size), 0))
    for k in range(int(rank.max()) + 1 if rank.size else 0):
        sel = rank == k
        p, a = pix[sel], alpha[sel]
        colour[p] = colour[p] * (1 - a)[:, None] + a[:, None] * rgb[sel]
        through[p] *= 1 - a
    return colour, through


def _shade(
    frags: Fragments, first_hair: int, spines: list[Spine], look: dict[str, Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Colour and opacity of hair fragments: the root colour up to the regrowth length, a
    rounded cylinder's shading across the band and a sheen line."""
    colours = [fibre_rgb(look, sp.hair) for sp in spines]
    k = frags.shape - first_hair
    shaft = np.array([c[0] for c in colours]).reshape(-1, 3)[k]
    root = np.array([c[1] for c in colours]).reshape(-1, 3)[k]
    rgb = np.where((frags.along <= look["regrowth_um"])[:, None], root, shaft)
    normal_z = np.sqrt(np.clip(1 - frags.across**2, 0, 1))
    rgb = rgb * (0.55 + 0.45 * normal_z)[:, None]
    sheen = 0.05 if look["light"] == "non-polarised" else 0.01
    rgb = rgb + sheen * np.exp(-(((frags.across + 0.3) / 0.14) ** 2))[:, None]
    opacity = np.array([_opacity(sp.hair, c[0]) for sp, c in zip(spines, colours, strict=True)])
    return rgb, frags.cover * opacity[k]


def _part(frags: Fragments, keep: NDArray[np.bool_]) -> Fragments:
    return Fragments(
        frags.shape[keep],
        frags.pixel[keep],
        frags.cover[keep],
        frags.across[keep],
        frags.along[keep],
    )


def _scene(
    req: Request, look: dict[str, Any], view: View, marks: list[skin.Mark], spines: list[Spine]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The radiance leaving the skin and hair (h x w x 3, a white diffuser 1), and the piece
    table of every shape (marks first, then hairs in drawing order)."""
    w, h = req.width, req.height
    chains: list[Chain] = [m[0] for m in marks] + [sp.chain for sp in spines]
    owner = np.repeat(np.arange(len(chains)), [c.size for c in chains]).astype(np.int64)
    table = piece_table(view, Chain.concat(chains), owner)
    frags = rasterise(table, w, h)
    depth = np.arange(len(chains), dtype=np.float64)
    ground = skin.skin_rgb(look, skin.fields(req.seed, look, view)).reshape(-1, 3)
    on_skin = frags.shape < len(marks)
    mk = _part(frags, on_skin)
    tints = np.array([m[1] for m in marks]).reshape(-1, 3)
    alphas = np.array([m[2] for m in marks])
    laid, through = _composite(w * h, mk, depth, tints[mk.shape], mk.cover * alphas[mk.shape])
    ground = ground * through[:, None] + laid
    hf = _part(frags, ~on_skin)
    hair_rgb, hair_alpha = _shade(hf, len(marks), spines, look)
    hair, bare = _composite(w * h, hf, depth, hair_rgb, hair_alpha)
    offset = np.array(look["shadow_px"][::-1]) * 10 / req.um
    cast = ndimage.shift((1 - bare).reshape(h, w), offset, order=1, mode="constant")
    cast = lens.recursive_gauss(cast, max(0.5, 18.0 / req.um))
    ground = ground * (1 - look["shadow"] * np.clip(cast, 0, 1)).reshape(-1, 1)
    return (ground * bare[:, None] + hair).reshape(h, w, 3), table


def _camera(req: Request, look: dict[str, Any], scene: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Light fall-off, lens, mosaic, demosaic, tone curve and (on some sites) the codec."""
    h, w = req.height, req.width
    optics = rng(req.seed, "optics")
    light = scene * lens.illumination(h, w, optics)[..., None]
    light = lens.lateral_colour(lens.blur(light, look), optics)
    noise = rng(req.seed, "noise", -1 if req.visit_seed is None else req.visit_seed)
    raw = sensor.expose(light, look, rng(req.seed, "photosites"), noise)
    img = sensor.filmic(sensor.demosaic(raw, rng(req.seed, "demosaic")), look)
    return jp2.codec(img, look["jp2_step"])


_COPIED = ("kind", "id", "unit", "new", "end", "cut_style")


def _direction(view: View, heading: float) -> float:
    return round(math.degrees(heading - view.turn) % 360.0, 2)


def _record(view: View, sp: Spine, look: dict[str, Any], x: float, y: float) -> dict[str, Any]:
    """A listed hair: its root, build and look (see the package docstring)."""
    hr = sp.hair
    rec: dict[str, Any] = {k: hr[k] for k in _COPIED}
    colour, root = fibre_rgb(look, hr)
    rec.update(x_px=x, y_px=y, diameter_um=hr["d"], colour=colour, root_colour=root)
    rec.update(elevation_deg=hr["elevation"], length_um=round(sp.length_um, 2))
    rec["direction_deg"] = _direction(view, hr["azimuth"])
    return rec


def _tips(
    view: View, spines: list[Spine], table: NDArray[np.float64], first_hair: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Axis ends in the frame: shown, or covered (another shaft's band within half a px)."""
    shown: list[dict[str, Any]] = []
    covered: list[dict[str, Any]] = []
    hairs = table[table[:, SHAPE] >= first_hair]
    for k, sp in enumerate(spines):
        if sp.tip is None:
            continue
        u, v = view.to_px(*sp.tip)
        x, y = round(float(u), 4), round(float(v), 4)
        if not view.holds(x, y):
            continue
        rec: dict[str, Any] = {k: sp.hair[k] for k in ("id", "kind", "end", "cut_style")}
        rec.update(x_px=x, y_px=y, cut=sp.hair["end"] == "cut")
        rec["diameter_um"] = round(max(2 * sp.tip_r, 1.0), 2)
        rec["direction_deg"] = _direction(view, sp.tip_heading)
        boxed = (
            (hairs[:, X0] <= x) & (hairs[:, X1] >= x) & (hairs[:, Y0] <= y) & (hairs[:, Y1] >= y)
        )
        others = hairs[boxed & (hairs[:, SHAPE] != first_hair + k)]
        gap = bound(others.T, np.full(len(others), x), np.full(len(others), y), False)[0]
        (covered if bool((gap < 0.5).any()) else shown).append(rec)
    return shown, covered


def _factors(look: dict[str, Any], req: Request) -> dict[str, str]:
    scale = "3-5" if req.um < 5 else ("5-8" if req.um < 8 else "8-12")
    out = {k: str(look[k]) for k in ("hair_colour", "skin_tone", "light", "pattern")}
    out.update(scale=scale, visit="follow-up" if req.follow_up else "baseline")
    out["hair_length"] = "hairless" if req.hairless else look["hair_length"]
    return out


def _truth(
    req: Request,
    look: dict[str, Any],
    view: View,
    visit: dict[str, Any] | None,
    near: Near,
    table: NDArray[np.float64],
    first_hair: int,
) -> dict[str, Any]:
    listed = [_record(view, sp, look, x, y) for sp, x, y in near if view.holds(x, y)]
    outside = [
        {"x_px": x, "y_px": y, "id": sp.hair["id"], "kind": sp.hair["kind"]}
        for sp, x, y in near
        if not view.holds(x, y) and view.outside_um(x, y) <= 200.0
    ]
    listed.sort(key=lambda r: int(r["id"]))
    outside.sort(key=lambda r: int(r["id"]))
    shown, covered = _tips(view, [sp for sp, _, _ in near], table, first_hair)
    diam = np.array([r["diameter_um"] for r in listed], np.float64)
    area_cm2 = req.width * req.height * (req.um * 1e-4) ** 2
    frame = {"generator": GENERATOR, "width": req.width, "height": req.height, "um_per_px": req.um}
    return frame | {
        "hairs": listed,
        "density_per_cm2": diam.size / area_cm2,
        "mean_diameter_um": float(np.mean(diam)) if diam.size else 0.0,
        "vellus_fraction": float(np.mean(diam < 30)) if diam.size else 0.0,
        "tips": shown,
        "tips_covered": covered,
        "emergence_outside": outside,
        "factors": _factors(look, req),
        "params": {**look, "visit": visit},
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
    """One RGB frame of site ``seed`` (any int) and its truth dict (see the package docstring).

    ``um_per_px``: the scale, 3 to 12 um a pixel; ``width`` x ``height``: 32-2028 x 32-1521
    px; ``hairless``: the same site, skin and marks, without its hair; ``regrown``: a
    follow-up visit as (factor, visit seed), the factor above 0 and at most 4 (0.5 sheds about
    half the hair, 2 about doubles it). A bad argument raises ValueError starting with its
    name."""
    req = request(seed, um_per_px, width, height, hairless, regrown)
    look = site_look(req.seed)
    view, visit = _view(req)
    units = _units(req, look, view)
    near = [] if req.hairless else _near(view, units)
    ux, uy = view.to_px([un["x"] for un in units], [un["y"] for un in units])
    close = [un for un, x, y in zip(units, ux, uy, strict=True) if view.outside_um(x, y) < 200.0]
    marks = skin.marks(req.seed, look, view, close)
    scene, table = _scene(req, look, view, marks, [sp for sp, _, _ in near])
    return _camera(req, look, scene), _truth(req, look, view, visit, near, table, len(marks))
