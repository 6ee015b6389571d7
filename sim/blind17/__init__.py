"""blind-17: an independent generator of dermoscopic (trichoscopy) close-ups of the human
scalp with exact truth, written apart from every other generator of the project (numpy and
scipy only).

Technique
---------
* **Hairs are drawn by a DDA span rasteriser** (``raster.py``): each shaft's centreline, a
  polyline in pixels, is walked one pixel column at a time along each segment's major axis
  (a digital differential analyser, as in Bresenham/Wu line drawing). At every column the
  shaft's cross-section is an interval on the minor axis (half-width ``w/2 * sqrt(1 +
  slope**2)``) and each pixel of the column gets the exact 1-D overlap of its extent with
  that interval as coverage, so thick shafts get sharp anti-aliased edges and sub-pixel
  vellus hairs a faint line whose summed coverage equals their width. Shafts are composited
  in painter's order (long hair lying low, trimmed stubs standing above), shaded across the
  cylinder from the span's signed offset, with a cuticle highlight in non-polarised light.
  Cut ends stop blunt at full width at the end column; natural tips taper to 15 %; black
  dots are discs; dyed hair shows its natural colour for a regrowth length near the root.
* **Skin is spectrally shaped diamond-square** (``skin.py``): midpoint-displacement fractals
  on a torus whose displacement per octave follows a chosen spectrum (a band for the pigment
  network: two tiles of incommensurate periods, one turned, whose zero crossings draw the
  network lines), sampled in world micrometres, into melanin and haemoglobin loads
  (Beer-Lambert per channel over a pale dermis) with follicular openings, yellow dots,
  pinpoint white dots (darker skin), vessels (spans again), scale and sebum glints.
* **Camera** (``camera.py``): vignetting, tint, exposure, Gaussian defocus, signal-dependent
  noise, gamma and, on most sites, an 8x8 block-DCT codec of its own.
* The world is cut into 1 mm cells, each drawing its follicular units (1-4 hairs) from a
  generator keyed by the seed and the cell, so a seed is the same site in any frame size or
  scale. A follow-up visit (``regrown=(factor, visit_seed)``) turns the frame 1-5 degrees and
  shifts it by 1-6 % of its size, sheds each hair with probability ``1 - factor`` or adds new
  units (terminal, intermediate, vellus) at ``factor - 1`` times the site's density.

Truth
-----
``hairs``: each hair whose emergence point (the root end of its drawn centreline; a black
dot's centre) lies in the frame, covered or not: ``x_px``, ``y_px`` (pixel centres at
integers), ``diameter_um``, ``kind`` (terminal, intermediate, vellus, broken, black_dot),
``id``, ``unit``, ``colour``, ``root_colour``, ``new``, ``direction_deg``, ``length_um``
(projected) and ``end`` (cut, taper, dot). ``tips``: each shaft end inside the frame (roots
anywhere): position, ``cut``, end ``diameter_um``, ``id``, ``kind``, ``end``,
``direction_deg``. ``emergence_outside``: roots outside the frame within 200 um.
``density_per_cm2`` counts ``hairs`` over the frame's area. About a fifth of sites are
near-bald (under 30/cm2) and a twentieth bare.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind17 import raster, site, skin
from sim.blind17.args import checked
from sim.blind17.camera import expose

GENERATOR = "blind-17"
F = NDArray[np.float64]
F32 = NDArray[np.float32]


class _Frame:
    """World micrometres to frame pixels and back (a visit turns and shifts the frame)."""

    def __init__(self, w: int, h: int, um: float, turn: float, shift_px: tuple[float, float]):
        self.w, self.h, self.um = w, h, um
        self.c, self.s = math.cos(turn), math.sin(turn)
        self.cx, self.cy = (w - 1) / 2.0, (h - 1) / 2.0
        self.ox, self.oy = shift_px[0] * um, shift_px[1] * um

    def to_px(self, x: F, y: F) -> tuple[F, F]:
        dx, dy = (x - self.ox) / self.um, (y - self.oy) / self.um
        return self.c * dx + self.s * dy + self.cx, -self.s * dx + self.c * dy + self.cy

    def to_world(self, qx: F, qy: F) -> tuple[F, F]:
        dx, dy = (qx - self.cx) * self.um, (qy - self.cy) * self.um
        return self.c * dx - self.s * dy + self.ox, self.s * dx + self.c * dy + self.oy

    def inside(self, x: float, y: float) -> bool:
        return -0.5 <= x < self.w - 0.5 and -0.5 <= y < self.h - 0.5

    def outside_um(self, x: float, y: float) -> float:
        dx = max(-0.5 - x, x - (self.w - 0.5), 0.0)
        dy = max(-0.5 - y, y - (self.h - 0.5), 0.0)
        return math.hypot(dx, dy) * self.um


def _world(
    seed: int, look: dict[str, Any], fr: _Frame, visit: tuple[float, int] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[int, int]]]:
    margin = look["reach_um"] + 300.0
    qx = np.array([-0.5, fr.w - 0.5, -0.5, fr.w - 0.5])
    qy = np.array([-0.5, -0.5, fr.h - 0.5, fr.h - 0.5])
    wx, wy = fr.to_world(qx, qy)
    cells = [
        (i, j)
        for i in range(
            int((wx.min() - margin) // site.CELL_UM), int((wx.max() + margin) // 1e3) + 1
        )
        for j in range(
            int((wy.min() - margin) // site.CELL_UM), int((wy.max() + margin) // 1e3) + 1
        )
    ]
    units: list[dict[str, Any]] = []
    hairs: list[dict[str, Any]] = []
    dens = look["density_target"]
    for i, j in cells:
        u, hs = site.cell(seed, look, i, j, dens, None)
        if visit is not None:
            factor, vseed = visit
            if factor < 1.0:
                keep = site.rng_for(seed, 4, vseed, i, j).random(len(hs)) < factor
                hs = [h for h, k in zip(hs, keep, strict=True) if k]
            elif factor > 1.0:
                nu, nh = site.cell(seed, look, i, j, dens * (factor - 1.0), vseed)
                u, hs = u + nu, hs + nh
        units += u
        hairs += hs
    return units, hairs, cells


def _marks(
    seed: int,
    look: dict[str, Any],
    fr: _Frame,
    units: list[dict[str, Any]],
    cells: list[tuple[int, int]],
) -> dict[str, F32]:
    n = fr.w * fr.h
    maps = {k: np.zeros(n, np.float32) for k in ("opening", "yellow", "white", "vessel")}
    if units:
        ux, uy = fr.to_px(np.array([u["x"] for u in units]), np.array([u["y"] for u in units]))
        ur = np.array([u["r"] for u in units]) / fr.um
        idx, cov, which = raster.discs(ux, uy, ur, fr.w, fr.h)
        depth = np.array([u["depth"] for u in units])[which]
        yel = np.array([u["yellow"] for u in units])[which]
        np.maximum.at(maps["opening"], idx, (cov * depth * ~yel).astype(np.float32))
        np.maximum.at(maps["yellow"], idx, (cov * yel).astype(np.float32))
    wxs: list[float] = []
    wys: list[float] = []
    for i, j in cells:
        r = site.rng_for(seed, 5, i, j)
        k = int(r.poisson(look["white_dots"]))
        wxs += list((i + r.random(k)) * site.CELL_UM)
        wys += list((j + r.random(k)) * site.CELL_UM)
        if r.random() < look["vessels"] * 0.4:
            m = int(r.integers(8, 30))
            a = float(r.uniform(0, 2 * math.pi)) + np.cumsum(r.normal(0, 0.6, m))
            vx = (i + float(r.random())) * site.CELL_UM + np.cumsum(np.cos(a) * 25.0)
            vy = (j + float(r.random())) * site.CELL_UM + np.cumsum(np.sin(a) * 25.0)
            px, py = fr.to_px(vx, vy)
            wd = np.full(m, float(r.uniform(8.0, 20.0)) / fr.um)
            vi, vc, _, _ = raster.spans(px, py, wd, fr.w, fr.h)
            np.maximum.at(maps["vessel"], vi, vc.astype(np.float32))
    if wxs:
        px, py = fr.to_px(np.array(wxs), np.array(wys))
        rad = np.full(px.size, 12.0 / fr.um)
        idx, cov, _ = raster.discs(px, py, rad, fr.w, fr.h)
        np.maximum.at(maps["white"], idx, cov.astype(np.float32))
    return {k: v.reshape(fr.h, fr.w) for k, v in maps.items()}


def _draw_hairs(
    look: dict[str, Any], fr: _Frame, hairs: list[dict[str, Any]], img: F32
) -> list[dict[str, Any]]:
    """Composite every hair that reaches the frame onto ``img`` (h*w, 3); return tips."""
    tips: list[dict[str, Any]] = []
    gloss = look["light"] == "non-polarised"
    for h in sorted(hairs, key=lambda q: q["z"]):
        rx, ry = fr.to_px(np.array([h["x"]]), np.array([h["y"]]))
        reach = (h["length"] + h["d"]) / fr.um + 2
        if not (-reach < rx[0] < fr.w + reach and -reach < ry[0] < fr.h + reach):
            continue
        col = np.array(h["colour"], np.float32)
        if h["end"] == "dot":
            idx, cov, _ = raster.discs(rx, ry, np.array([h["d"] / 2 / fr.um]), fr.w, fr.h)
            a = (cov * h["opacity"]).astype(np.float32)[:, None]
            img[idx] = img[idx] * (1 - a) + col * a
            continue
        x, y, d, s = site.shaft(h)
        px, py = fr.to_px(x, y)
        # the drawn first segment's direction in the frame (waves and curl included): the
        # truth's direction_deg
        h["start_deg"] = math.degrees(math.atan2(py[1] - py[0], px[1] - px[0])) % 360.0
        idx, cov, acr, along = raster.spans(px, py, d / fr.um, fr.w, fr.h)
        if idx.size:
            dist = np.interp(along, np.arange(s.size), s)
            root = np.array(h["root_colour"], np.float32)
            c = np.where((dist < h["regrow"])[:, None], root, col)
            shade = (0.7 + 0.4 * np.sqrt(1 - acr**2)).astype(np.float32)
            c = c * shade[:, None]
            if gloss and h["kind"] != "vellus":
                c = c + (0.09 * np.exp(-(((acr + 0.3) / 0.15) ** 2))).astype(np.float32)[:, None]
            a = (cov * h["opacity"]).astype(np.float32)[:, None]
            img[idx] = img[idx] * (1 - a) + c * a
        tx, ty = round(float(px[-1]), 4), round(float(py[-1]), 4)
        if fr.inside(tx, ty):
            ang = math.degrees(math.atan2(py[-1] - py[-2], px[-1] - px[-2]))
            tips.append(
                {
                    "x_px": tx,
                    "y_px": ty,
                    "cut": h["end"] == "cut",
                    "diameter_um": round(float(d[-1]), 2),
                    "id": h["id"],
                    "kind": h["kind"],
                    "end": h["end"],
                    "direction_deg": round(ang, 2),
                }
            )
    return tips


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
    seed, um, w, h, hairless, visit = checked(seed, um_per_px, width, height, hairless, regrown)
    look = site.site_look(seed)
    turn, shift = 0.0, (0.0, 0.0)
    visit_rec: dict[str, Any] | None = None
    if visit is not None:
        vr = site.rng_for(seed, 6, visit[1])
        turn = math.radians(float(vr.uniform(1.0, 5.0)) * (1 if vr.random() < 0.5 else -1))
        frac, phi = float(vr.uniform(0.01, 0.06)), float(vr.uniform(0, 2 * math.pi))
        shift = (frac * w * math.cos(phi), frac * h * math.sin(phi))
        visit_rec = {
            "factor": visit[0],
            "seed": visit[1],
            "turn_deg": round(math.degrees(turn), 4),
            "shift_px": [round(shift[0], 4), round(shift[1], 4)],
        }
    fr = _Frame(w, h, um, turn, shift)
    units, hairs, cells = _world(seed, look, fr, visit)
    qy, qx = np.mgrid[0:h, 0:w].astype(np.float32)
    wx, wy = fr.to_world(qx, qy)
    wx32, wy32 = wx.astype(np.float32), wy.astype(np.float32)
    fields = skin.SkinFields(site.rng_for(seed, 7))
    refl = skin.reflectance(look, fields, wx32, wy32, _marks(seed, look, fr, units, cells))
    glint = np.zeros((h, w), np.float32)
    if look["sebum"] > 0:
        mid = skin.sample(fields.mid, wy32 + 5000.0, wx32)
        glint = (look["sebum"] * np.clip((mid - 1.2) * 1.5, 0.0, 1.0)).astype(np.float32)
    flat = refl.reshape(-1, 3)
    tips: list[dict[str, Any]] = []
    if hairless:
        hairs = []
    else:
        tips = _draw_hairs(look, fr, hairs, flat)
    noise = site.rng_for(seed, 8, -1 if visit is None else visit[1])
    img = expose(look, flat.reshape(h, w, 3), glint, um, noise)

    listed: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    for hr in hairs:
        px, py = fr.to_px(np.array([hr["x"]]), np.array([hr["y"]]))
        x, y = round(float(px[0]), 4), round(float(py[0]), 4)
        if fr.inside(x, y):
            listed.append(
                {
                    "x_px": x,
                    "y_px": y,
                    "diameter_um": hr["d"],
                    "kind": hr["kind"],
                    "id": hr["id"],
                    "unit": hr["unit"],
                    "colour": [round(c, 4) for c in hr["colour"]],
                    "root_colour": [round(c, 4) for c in hr["root_colour"]],
                    "new": hr["new"],
                    # drawn hairs carry their drawn direction; a black dot its unit's
                    "direction_deg": round(
                        hr.get("start_deg", math.degrees(hr["angle"] - turn) % 360.0), 2
                    ),
                    "length_um": round(hr["length"], 2),
                    "end": hr["end"],
                }
            )
        elif fr.outside_um(x, y) <= 200.0:
            outside.append({"x_px": x, "y_px": y, "id": hr["id"], "kind": hr["kind"]})
    n = len(listed)
    diam = [hr["diameter_um"] for hr in listed]
    area_cm2 = w * h * um * um * 1e-8
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": listed,
        "density_per_cm2": n / area_cm2,
        "mean_diameter_um": float(np.mean(diam)) if n else 0.0,
        "vellus_fraction": sum(d < 30 for d in diam) / n if n else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "factors": {
            "hair_length": "hairless" if hairless else look["hair_length"],
            "hair_colour": look["hair_colour"],
            "skin_tone": look["skin_tone"],
            "scale": "3-5" if um < 5 else "5-8" if um < 8 else "8-12",
            "light": look["light"],
            "visit": "baseline" if visit is None else "follow-up",
            "pattern": look["pattern"],
        },
        "params": {**look, "visit": visit_rec},
    }
    return img, truth
