"""Signs on and in the scalp: follicle openings and what sits around them,
white dots, flakes and crusts, vessels, ink and pigment marks, a ruler's edge.

Each sign adds to the skin canvas (melanin, blood, plates, heights) through
the rectangle/disc rasteriser, so shapes are exact at any scale and cost only
the pixels they touch.  Openings use the baseline visit's sites, so a later
visit sees the same skin.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind2.follicles import Table
from sim.blind2.frame import Frame
from sim.blind2.look import Look
from sim.blind2.raster import Fragments, discs, noise, rectangles, splat, splat_max
from sim.blind2.skin import Canvas, angle_noise, curve, ink_absorption

Arr = NDArray[Any]
PIT_DARK = 0.2  # an empty opening's shadow, relative to a hair-bearing opening's
PIT_WHITE_MAX = 0.9  # share of empty openings seen as white dots on the darkest skin


def _ragged(f: Fragments, rows: Arr, amps: Arr, phases: Arr) -> Arr:
    """Outline factor 1 + sum a_k cos(k theta + p_k) per fragment (k = 2, 3, 5, 8)."""
    ang = np.arctan2(f.v, f.u)
    out = np.ones(f.u.size, dtype=np.float32)
    for col, k in enumerate((2, 3, 5, 8)):
        out += amps[rows, col] * np.cos(k * ang + phases[rows, col])
    return out


def openings(
    rng: np.random.Generator, look: Look, cv: Canvas, sites: Table, bare: Arr | None = None
) -> None:
    """Pits, peripilar halos, scale collars, yellow dots and white-dot openings; the sites
    where ``bare`` is true are skipped (after every draw, so the others stay as they were).

    An opening with hairs keeps its darker funnel.  An empty opening never shows
    as a dark dot (a dark round dot is a hair broken at the surface, a "black
    dot", and blind-2 draws none): it is a shallow, skin-coloured pit only a
    little shadowed, a yellow dot (a sebum/keratin plug) when the image has
    yellow dots, or, on darker skin with pinpoint white dots, a white dot (a
    pale, melanin-free spot 30-60 um across).
    """
    fr = cv.frame
    h, w, upp = fr.height, fr.width, fr.upp
    n_all = sites["x"].size
    depth_all = look.num("pit_depth_um") * rng.uniform(0.6, 1.4, n_all)
    collar_all = rng.uniform(size=n_all) < look.num("perifollicular_scale")
    amps_all, ph_all = angle_noise(rng, n_all, 0.35)
    th_all = rng.uniform(1.0, 3.0, n_all)
    unit_all = sites["kind"] == 0
    yellow_all = (sites["kind"] == 1) & (sites["yellow"] > 0.5) & look.on("yellow_dots")
    halo_on = look.on("peripilar_sign") or look.num("erythema") > 0.3
    collar_all &= unit_all
    # empty openings (drawn after the draws above, so those stay as they were)
    empty_all = sites["kind"] == 1
    p_white = PIT_WHITE_MAX * np.clip((look.num("skin_tone") - 0.4) / 0.3, 0.0, 1.0)
    white_all = empty_all & ~yellow_all & (rng.uniform(size=n_all) < p_white)
    white_all &= look.on("white_dots")
    dot_all = np.clip(rng.uniform(0.35, 0.7, n_all) * sites["radius_um"], 15.0, 30.0)
    shallow = np.minimum(0.5 * (look.num("furrow_depth_um") + 5.0), 0.35 * sites["radius_um"])
    shallow = np.where(white_all, 0.3, 1.0) * shallow
    depth_all = np.where(empty_all, np.minimum(depth_all, shallow), depth_all)
    ox, oy = fr.distort(sites["x"], sites["y"])
    r_px = np.maximum(sites["radius_um"] / upp, 0.35)
    cx = ox - 0.25 * r_px * np.cos(sites["dir"])
    cy = oy - 0.25 * r_px * np.sin(sites["dir"])
    span = np.where(collar_all | (unit_all & halo_on) | yellow_all, 2.6, 1.05)
    reach = span * r_px + 1.5
    near = (sites["kind"] <= 1) & (cx > -reach) & (cx < w - 1 + reach)
    near &= (cy > -reach) & (cy < h - 1 + reach)
    if bare is not None:
        near &= ~bare
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return
    f = discs(cx[idx], cy[idx], reach[idx], w, h)
    i = idx[f.item]
    d = np.hypot(f.u, f.v) / r_px[i]
    bowl = np.clip(1.0 - d * d, 0.0, 1.0) ** 2
    unit = unit_all[i]
    cv.floor -= splat(f, depth_all[i] * bowl, h, w)
    shadow = np.where(white_all[i] | yellow_all[i], 0.0, PIT_DARK)
    dark = sites["vis"][i] * bowl * np.where(empty_all[i], shadow, 1.0)
    if look.on("peripilar_sign"):
        halo = np.exp(-np.square((d - 1.5) / 0.55)) * unit
        cv.mel += splat(f, 0.5 * (0.15 + cv.mel.mean()) * halo, h, w)
    if look.num("erythema") > 0.3:
        cv.blood += splat(f, look.num("erythema") * np.exp(-np.square(d / 1.6)) * unit, h, w)
    ragged = collar_all[i] | yellow_all[i]
    if ragged.any():
        sub = Fragments(f.item[ragged], f.pix[ragged], f.u[ragged], f.v[ragged])
        j, dj = i[ragged], d[ragged]
        rr = _ragged(sub, j, amps_all, ph_all)
        edge = np.clip((1.5 * rr - dj) * 2.0, 0.0, 1.0)
        collar = collar_all[j] & (dj > 0.8) & (dj < 1.5 * rr)
        th = th_all[j]
        cv.white += splat(sub, collar * th * edge, h, w)
        dome = np.sqrt(np.clip(1.0 - np.square(dj / (1.6 * rr)), 0.0, 1.0))
        plug = collar * 0.4 * th * np.clip((1.2 - dj) * 2.0, 0.0, 1.0) + yellow_all[j] * 25.0 * dome
        cv.yellow += splat(sub, plug, h, w)
        cv.lift += splat(sub, collar * 4.0 * np.clip(dj - 1.0, 0.0, 1.0) * edge, h, w)
    white = white_all[i]
    if white.any():
        sub = Fragments(f.item[white], f.pix[white], f.u[white], f.v[white])
        j = i[white]
        spot = np.clip(dot_all[j] / upp + 0.5 - d[white] * r_px[j], 0.0, 1.0)
        pale = np.minimum(splat(sub, spot, h, w), 1.0)
        cv.mel *= 1.0 - 0.8 * pale
        cv.white += 6.0 * pale
    cv.dark += splat(f, dark, h, w)


def dots_and_plates(rng: np.random.Generator, look: Look, cv: Canvas) -> None:
    """Pinpoint white dots, flakes of scale (dandruff) and crusts."""
    fr = cv.frame
    h, w, upp = fr.height, fr.width, fr.upp
    area = fr.area_cm2
    if look.on("white_dots"):
        n = min(int(look.num("white_dot_density_per_cm2") * area), 20000)
        x, y = rng.uniform(-2, w + 1, n), rng.uniform(-2, h + 1, n)
        r = rng.uniform(12.0, 32.0, n) / upp + 0.3
        f = discs(x, y, r + 0.7, w, h)
        soft = np.clip(r[f.item] + 0.5 - np.hypot(f.u, f.v), 0.0, 1.0)
        cv.white += splat(f, rng.uniform(6.0, 14.0) * soft, h, w)
    size_mm = look.num("flake_size_mm")
    n_flakes = int(look.on("flakes") * look.num("flake_amount") * 25.0 / size_mm**1.2 * area)
    _plates(rng, cv, min(n_flakes, 4000), 500.0 * size_mm, (1.5, 8.0), look.num("sebum"))
    if look.on("crusts"):
        _plates(rng, cv, int(rng.integers(1, 6)), 800.0, (40.0, 120.0), -1.0)


def _plates(
    rng: np.random.Generator,
    cv: Canvas,
    n: int,
    radius_um: float,
    thick: tuple[float, float],
    greasy: float,
) -> None:
    """Irregular translucent plates, partly lifted along one edge."""
    fr = cv.frame
    h, w, upp = fr.height, fr.width, fr.upp
    rad = radius_um * np.exp(rng.normal(0.0, 0.45, n)) / upp + 0.5
    x, y = rng.uniform(-rad, w + rad), rng.uniform(-rad, h + rad)
    th = rng.uniform(*thick, n)
    lift = rng.uniform(0.0, 45.0, n) * (rng.uniform(size=n) < 0.6)
    lift_dir = rng.uniform(0.0, 2 * math.pi, n)
    kind = rng.uniform(size=n) < 0.3 * max(greasy, 0.0)
    amps, phases = angle_noise(rng, n, 0.25 if greasy >= 0 else 0.5)
    sides = rng.integers(4, 8, n)
    turn = rng.uniform(0.0, 2 * math.pi, n)
    if n == 0:
        return
    f = discs(x, y, 1.5 * rad + 1.0, w, h)
    j = f.item
    sector = 2 * math.pi / sides[j]  # a polygon's outline: flakes break along straight cracks
    ang = np.mod(np.arctan2(f.v, f.u) - turn[j], sector) - sector / 2
    polygon = np.cos(sector / 2) / np.cos(ang) if greasy >= 0 else 1.0  # crusts are rounded
    edge = rad[j] * polygon * _ragged(f, j, amps, phases)
    d = np.hypot(f.u, f.v)
    tex = noise(rng, h, w, max(25.0 / upp, 1.0)).ravel()[f.pix]
    fine = noise(rng, h, w, max(8.0 / upp, 0.7)).ravel()[f.pix]
    soft = np.maximum(0.12 * rad[j], 0.7)
    rim = np.clip((edge - d) / soft, 0.0, 1.0)
    cover = rim * (0.45 + 0.55 * np.clip(0.6 + 0.4 * tex + 0.2 * fine, 0.0, 1.0))
    reach = (f.u * np.cos(lift_dir[j]) + f.v * np.sin(lift_dir[j])) / rad[j]
    if greasy < 0:
        layered = np.clip(0.7 + 0.45 * tex + 0.35 * fine, 0.15, 1.5)
        cv.crust += splat(f, rim * th[j] * layered, h, w)
        cv.blood += splat(f, cover * 0.8, h, w)
    else:
        cv.white += splat(f, cover * th[j] * ~kind[j], h, w)
        cv.yellow += splat(f, cover * th[j] * kind[j], h, w)
    cv.lift += splat(f, cover * lift[j] * np.clip(reach, 0.0, 1.0) ** 2, h, w)


def vessels(rng: np.random.Generator, look: Look, cv: Canvas) -> None:
    """Thin arborising red lines and a sprinkle of dotted vessels."""
    if not look.on("vessels"):
        return
    fr = cv.frame
    h, w, upp = fr.height, fr.width, fr.upp
    amount = look.num("vessel_amount")
    n_lines = int(np.clip(amount * 12.0 * fr.area_cm2, 1, 60))
    xs, ys, half, amp = [], [], [], []
    for _ in range(n_lines):
        steps = int(rng.integers(20, 80))
        start = rng.uniform(0, 1, 2) * np.array([w, h])
        x, y = curve(rng, steps, start, rng.uniform(0, 2 * math.pi), 0.25, 40.0 / upp)
        xs.append(x)
        ys.append(y)
        wid = rng.uniform(6.0, 16.0) / upp + 0.4
        half.append(np.full(x.size - 1, wid))
        amp.append(np.full(x.size - 1, rng.uniform(1.5, 4.0) * amount))
    x0 = np.concatenate([x[:-1] for x in xs])
    y0 = np.concatenate([y[:-1] for y in ys])
    x1 = np.concatenate([x[1:] for x in xs])
    y1 = np.concatenate([y[1:] for y in ys])
    ln = np.maximum(np.hypot(x1 - x0, y1 - y0), 1e-6)
    hw = np.concatenate(half)
    lap = 0.3 * hw + 1.0  # overlap the pieces; the max below keeps them seamless
    f = rectangles(x0, y0, (x1 - x0) / ln, (y1 - y0) / ln, -lap, ln + lap, hw + 1.0, w, h)
    prof = np.clip(hw[f.item] + 0.5 - np.abs(f.v), 0.0, 1.0)
    cv.blood += splat_max(f, prof * np.concatenate(amp)[f.item], h, w)
    n_dots = int(amount * 60.0 * fr.area_cm2 * (rng.uniform() < 0.4))
    dx, dy = rng.uniform(0, w, n_dots), rng.uniform(0, h, n_dots)
    r = rng.uniform(10.0, 30.0, n_dots) / upp + 0.4
    f = discs(dx, dy, r + 1.0, w, h)
    cv.blood += splat(f, 3.0 * np.clip(r[f.item] + 0.5 - np.hypot(f.u, f.v), 0.0, 1.0), h, w)


def marks(rng: np.random.Generator, look: Look, cv: Canvas) -> None:
    """Surgical marker ink near a border and micropigmentation (tattoo) dots."""
    fr = cv.frame
    h, w, upp = fr.height, fr.width, fr.upp
    if look.on("ink_mark"):
        side = int(rng.integers(0, 4))
        t = rng.uniform(0.1, 0.9)
        start = np.array([[t * w, -5.0], [w + 5.0, t * h], [t * w, h + 5.0], [-5.0, t * h]][side])
        heading = [0.5, 1.0, 1.5, 0.0][side] * math.pi + rng.uniform(-0.9, 0.9)
        steps = 60
        x, y = curve(rng, steps, start, heading, 0.05, rng.uniform(0.1, 0.35) * max(w, h) / steps)
        ln = np.maximum(np.hypot(np.diff(x), np.diff(y)), 1e-6)
        half = np.full(steps, rng.uniform(150.0, 600.0) / upp + 1.0)
        dxs, dys = np.diff(x) / ln, np.diff(y) / ln
        f = rectangles(x[:-1], y[:-1], dxs, dys, -0.3 * half, ln + 0.3 * half, half + 2.0, w, h)
        edge = np.clip(half[f.item] + 0.5 - np.abs(f.v), 0.0, 1.0)
        streak = np.clip(0.75 + 0.25 * noise(rng, h, w, 60.0 / upp).ravel()[f.pix], 0.2, 1.2)
        cv.dye += splat_max(f, edge * streak * rng.uniform(0.6, 1.6), h, w)
        cv.dye *= 1.0 + np.clip(-cv.floor, 0.0, 30.0) / 30.0  # ink pools in furrows
        cv.dye_k = ink_absorption(look.text("ink_colour"))
    if look.on("micropigmentation"):
        n = int(rng.uniform(30, 90) * fr.area_cm2)
        x, y = rng.uniform(0, w, n), rng.uniform(0, h, n)
        r = rng.uniform(30.0, 80.0, n) / upp + 0.5
        f = discs(x, y, 2.0 * r + 1.0, w, h)
        prof = np.exp(-np.square(np.hypot(f.u, f.v) / r[f.item]))
        cv.ink += splat(f, rng.uniform(0.5, 2.0) * prof, h, w)


def ruler(look: Look, frame: Frame) -> tuple[Arr, Arr] | None:
    """A clear ruler's edge along one border: (transmission, tick darkness) maps."""
    if not look.on("ruler_edge"):
        return None
    h, w, upp = frame.height, frame.width, frame.upp
    side = int(look.num("ruler_side"))
    band = 0.12 * (w if side % 2 else h)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    depth = [yy, w - 1 - xx, h - 1 - yy, xx][side]  # distance from the ruled border
    along = [xx, yy, xx, yy][side]
    inside = depth < band
    trans = np.where(inside, 0.82, 1.0).astype(np.float32)
    trans *= 1.0 - 0.5 * np.exp(-np.square((depth - band) / 1.5))  # the plastic's edge
    mm = 1000.0 / upp
    phase = np.mod(along, mm)
    line = np.exp(-np.square(np.minimum(phase, mm - phase) / max(30.0 / upp, 0.6)))
    five = np.mod(np.floor((along + 0.5 * mm) / mm), 5) == 0
    reach = np.where(five, 0.85, 0.5) * band
    ticks = np.where(inside & (band - depth < reach), line, 0.0).astype(np.float32)
    return trans, ticks
