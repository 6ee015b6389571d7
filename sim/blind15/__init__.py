"""blind-15: an independent generator of trichoscopy frames of the human scalp with exact
truth, written apart from every other generator of the project (numpy and scipy only).

Technique
---------
* Everything drawn on the skin - hair shafts, black dots, openings, yellow dots, halos and
  casts (annuli, their hole wound the other way), pores, white and pigmented dots, vessels,
  flakes - is a polygon, filled by **scanline signed-area accumulation**: each edge is cut at
  every pixel row and column boundary, each piece adds its signed height to an accumulation
  buffer (split between its own cell and the next by where it sits in the cell), and a
  running sum along each scanline gives every pixel's exact covered area (``raster.py``).
  Colour and alpha ride along as edge weights, so thousands of polygons fill in one pass
  per depth layer.
* A shaft is a ribbon of quadrilaterals, five strips across (rims, body, an off-centre sheen
  line) and short pieces along its curved centreline; its width profile tapers natural tips,
  widens exclamation-mark hairs, pinches pili torti; cut ends are square, oblique or frayed.
* Skin is fractal Brownian motion of hashed gradient (Perlin) noise in world microns: tone and
  erythema, micro-texture, ridged-noise creases and a ridged honeycomb pigment network,
  freckle blotches, with hashed-lattice speckle at full resolution.
* The lens is a pupil with Zernike defocus (with axial chromatic shift), astigmatism, coma and
  spherical aberration whose PSF is the squared modulus of its FFT; then vignetting, tilted
  light, shot and read noise and a JPEG written here (8x8 DCT, standard tables, 4:2:0).
* The world is cut into 1 mm cells, each drawing its units, hairs and marks from its own
  generator keyed by the seed, so a site is the same in any frame, size or scale.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind15 import args, camera, skin
from sim.blind15.raster import Layer, composite
from sim.blind15.shafts import add_shaft, disc, polyline_ribbon
from sim.blind15.site import Hair, rng_for, site_look, world_marks, world_units

GENERATOR = "blind-15"

F64 = NDArray[np.float64]


def _tone(fitz: int) -> str:
    return "light" if fitz <= 2 else "medium" if fitz <= 4 else "dark"


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Draw one frame of site ``seed`` and its truth (see the package docstring)."""
    um, visit = args.check(seed, um_per_px, width, height, hairless, regrown)
    w, h = width, height
    look = site_look(seed)
    turn = 0.0
    shift = (0.0, 0.0)
    if visit is not None:
        vr = rng_for(seed, visit[1], 77)
        turn = math.radians(float(vr.uniform(1.0, 5.0)) * (1 if vr.random() < 0.5 else -1))
        frac = float(vr.uniform(0.015, 0.05))
        ang = float(vr.uniform(0, 2 * math.pi))
        shift = (frac * w * math.cos(ang), frac * h * math.sin(ang))
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    ct, st = math.cos(turn), math.sin(turn)

    def to_world(px: F64, py: F64) -> tuple[F64, F64]:
        dx, dy = px - cx, py - cy
        return (ct * dx - st * dy + shift[0]) * um, (st * dx + ct * dy + shift[1]) * um

    def to_frame(wx: F64, wy: F64) -> tuple[F64, F64]:
        dx, dy = wx / um - shift[0], wy / um - shift[1]
        return ct * dx + st * dy + cx, -st * dx + ct * dy + cy

    corners = to_world(
        np.array([-0.5, w - 0.5, -0.5, w - 0.5]), np.array([-0.5, -0.5, h - 0.5, h - 0.5])
    )
    bbox = (
        float(corners[0].min()),
        float(corners[1].min()),
        float(corners[0].max()),
        float(corners[1].max()),
    )
    units = world_units(seed, look, bbox, visit)
    marks = world_marks(seed, look, bbox)

    img = skin.skin(look, seed, h, w, um, to_world)

    # marks under the hairs
    under = Layer()
    top = Layer()
    if marks.dots:
        arr = np.array([[d[0], d[1], d[2], *d[3], d[4]] for d in marks.dots])
        fx, fy = to_frame(arr[:, 0], arr[:, 1])
        vx, vy = disc(fx, fy, arr[:, 2] / um, 12)
        under.add_polygons(vx, vy, arr[:, 6], arr[:, 3:6])
    for pts, vw, va in marks.vessels:
        fx, fy = to_frame(pts[:, 0], pts[:, 1])
        polyline_ribbon(under, fx, fy, vw / 2 / um, va, (0.62, 0.13, 0.12))
    base = np.array(look["skin_rgb"])
    ux = np.array([u.x for u in units])
    uy = np.array([u.y for u in units])
    if units:
        fx, fy = to_frame(ux, uy)
        near = (
            (fx > -200 / um - 5)
            & (fx < w + 200 / um + 5)
            & (fy > -200 / um - 5)
            & (fy < h + 200 / um + 5)
        )
        idx = np.nonzero(near)[0]
        yel = np.array([units[i].yellow for i in idx], dtype=bool)
        op = np.array([units[i].opening for i in idx])
        empty = np.array([hairless or not units[i].hairs for i in idx], dtype=bool)
        rad = np.where(yel, op * 1.7, op)
        col = np.where(
            yel[:, None],
            np.array([[0.86, 0.74, 0.42]]),
            np.where(empty[:, None], base * 0.8, base * 0.62 + 0.04)[...],
        )
        vx, vy = disc(fx[idx], fy[idx], rad / um, 16)
        under.add_polygons(vx, vy, np.where(yel, 0.75, 0.55), col)
        hal = np.array([units[i].halo for i in idx])
        hi = hal > 0
        if hi.any():
            r_in = op[hi] * 1.1
            ox, oy = disc(fx[idx][hi], fy[idx][hi], (r_in + hal[hi]) / um, 20)
            ix, iy = disc(fx[idx][hi], fy[idx][hi], r_in / um, 20)
            hc = np.clip(base * 0.55 + 0.42, 0, 1)
            n = int(hi.sum())
            under.add_polygons(ox, oy, np.full(n, 0.35), np.repeat(hc[None], n, 0))
            under.add_polygons(
                ix[:, ::-1], iy[:, ::-1], np.full(n, 0.35), np.repeat(hc[None], n, 0), orient=False
            )
    composite(img, under.render(h, w))

    hairs_truth: list[dict[str, Any]] = []
    outside: list[dict[str, float]] = []
    tips: list[dict[str, Any]] = []
    layers = [Layer() for _ in range(4)]
    kept = new = 0
    all_hairs: list[Hair] = [] if hairless else [hr for u in units for hr in u.hairs]
    for hr in all_hairs:
        ex, ey = to_frame(np.array([hr.x]), np.array([hr.y]))
        x, y = float(ex[0]), float(ey[0])
        inside = -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5
        if inside:
            hairs_truth.append(
                {
                    "x_px": round(x, 3) if -0.5 <= round(x, 3) < w - 0.5 else x,
                    "y_px": round(y, 3) if -0.5 <= round(y, 3) < h - 0.5 else y,
                    "diameter_um": round(hr.d, 3),
                    "kind": hr.kind,
                    "unit": hr.unit,
                    "id": hr.uid,
                    "colour": [round(c, 3) for c in hr.colour],
                    "new": hr.new,
                    "direction_deg": round(math.degrees(hr.heading - turn), 2),
                }
            )
            new += int(hr.new)
            kept += int(not hr.new)
        else:
            dx = max(-0.5 - x, x - (w - 0.5), 0.0)
            dy = max(-0.5 - y, y - (h - 0.5), 0.0)
            if math.hypot(dx, dy) * um <= 200.0:
                outside.append({"x_px": x, "y_px": y})
        if hr.end == "dot":
            if -hr.d / um - 2 < x < w + hr.d / um + 2 and -hr.d / um - 2 < y < h + hr.d / um + 2:
                vx, vy = disc(np.array([x]), np.array([y]), np.array([hr.d / 2 / um]), 16)
                layers[0].add_polygons(vx, vy, np.array([hr.alpha]), np.array([hr.colour]))
            continue
        sh = add_shaft(layers[hr.depth], hr, um, to_frame, w, h, look["sheen"])
        if sh is None:
            continue
        if -0.5 <= sh.end_x < w - 0.5 and -0.5 <= sh.end_y < h - 0.5:
            tx, ty = sh.x[-1] - sh.x[-2], sh.y[-1] - sh.y[-2]
            tips.append(
                {
                    "x_px": sh.end_x,
                    "y_px": sh.end_y,
                    "cut": hr.cut,
                    "diameter_um": round(max(sh.end_d, 0.5), 3),
                    "hair": hr.uid,
                    "kind": hr.kind,
                    "root_diameter_um": round(hr.d, 3),
                    "dark": bool(max(hr.colour) <= 0.2),
                    "end": hr.end,
                    "direction_deg": round(math.degrees(math.atan2(ty, tx)), 2),
                }
            )
    for layer in layers:
        if layer.x0:
            composite(img, layer.render(h, w))

    # casts and flakes over the hairs
    for u in units if not hairless else []:
        if not u.cast:
            continue
        for hr in u.hairs:
            fx, fy = to_frame(np.array([hr.x]), np.array([hr.y]))
            if not (-50 < fx[0] < w + 50 and -50 < fy[0] < h + 50):
                continue
            c_in = hr.d / 2 * 1.15 / um
            c_out = (hr.d / 2 + 30) / um
            ox, oy = disc(fx, fy, np.array([c_out]), 16)
            ix, iy = disc(fx, fy, np.array([c_in]), 16)
            c = np.array([[0.9, 0.88, 0.8]])
            top.add_polygons(ox, oy, np.array([0.45]), c)
            top.add_polygons(ix[:, ::-1], iy[:, ::-1], np.array([0.45]), c, orient=False)
    groups: dict[int, list[tuple[F64, float, tuple[float, float, float]]]] = {}
    for poly, fa, frgb in marks.flakes:
        groups.setdefault(len(poly), []).append((poly, fa, frgb))
    for group in groups.values():  # flakes of as many corners go in together
        pts = np.stack([g[0] for g in group])
        fx, fy = to_frame(pts[:, :, 0], pts[:, :, 1])
        top.add_polygons(fx, fy, np.array([g[1] for g in group]), np.array([g[2] for g in group]))
    if top.x0:
        composite(img, top.render(h, w))

    noise_rng = rng_for(seed, 404) if visit is None else rng_for(seed, visit[1], 405)
    img = camera.light(img, look, turn, shift)
    img = camera.optics(img, look, um)
    img = camera.sensor(img, look, noise_rng)
    out = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    if look["jpeg_quality"]:
        out = camera.jpeg(out, int(look["jpeg_quality"]))

    n = len(hairs_truth)
    diam = [t["diameter_um"] for t in hairs_truth]
    params = dict(look)
    params["visit"] = {
        "turn_deg": round(math.degrees(turn), 4),
        "shift_px": [round(shift[0], 3), round(shift[1], 3)],
        "factor": 1.0 if visit is None else visit[0],
        "seed2": None if visit is None else visit[1],
        "hairs_kept": kept,
        "hairs_new": new,
        "hairs": n,
    }
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": hairs_truth,
        "density_per_cm2": n / (w * h * um * um * 1e-8),
        "mean_diameter_um": float(np.mean(diam)) if n else 0.0,
        "vellus_fraction": sum(d < 30 for d in diam) / n if n else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "factors": {
            "hair_length": "hairless" if hairless else look["hair_length"],
            "hair_colour": look["hair_colour"],
            "skin_tone": _tone(look["fitzpatrick"]),
            "scale": "3-5" if um < 5 else "5-8" if um < 8 else "8-12",
            "light": "polarised" if look["polarised"] else "non-polarised",
            "visit": "baseline" if visit is None else "follow-up",
        },
        "params": params,
    }
    return out, truth
