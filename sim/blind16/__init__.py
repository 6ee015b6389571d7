"""blind-16: an independent generator of trichoscopy frames of the human scalp with exact
truth, written apart from every other generator of the project (numpy and scipy only).

Technique
---------
* **Everything is an elliptical weighted-average (EWA) Gaussian splat** (``splat.py``):
  anisotropic Gaussians, prefiltered by a pixel-sized reconstruction Gaussian, summed into
  field buffers with ``np.bincount`` over their pixel footprints.
* A hair shaft is a **splat chain** along its curved centreline (``chain.py``). Thick shafts
  are implicit surfaces: each splat is the 4th power of a Gaussian of the shaft's field, spaced
  so that their sum ``G`` is a ridge of constant peak; the field ``G ** (1/4)`` is then a
  Gaussian ridge across each shaft and a **p-norm soft maximum** over crossing shafts (so
  they do not melt together as summed metaballs would). The shaft is the **level set**
  ``field = e^-2``, anti-aliased by the first-order signed distance
  ``(field - level) / |grad field|`` through a one-pixel ramp; the field's value also gives
  each pixel's place across the cylinder for shading, and the 4th-power weights pick the
  uppermost shaft's colour. Sub-pixel parts (vellus hairs, fine natural tips) switch to
  **coverage mode**, where the prefiltered chain's integral across equals the shaft's width.
  Cut ends stop square at full width (ever shorter along-sigmas there), natural tips taper,
  exclamation-mark hairs widen away from the skin; black dots are one round splat.
* Skin is **sparse convolution noise** (Lewis): hashed impulses in world cells deposited on a
  coarse grid and convolved with Gaussians (tone, texture, erythema, sebum shine) and, for the
  honeycomb pigment network, with an **annulus** around impulses on a jittered hex lattice.
  Openings, yellow dots, halos, casts, white dots, flecks, flakes, vessels (dotted, hairpin,
  arborising) and creases are splats or splat chains in coverage mode.
* The camera: an **Airy-disc PSF** convolved with a defocus disc and a low-pass filter,
  vignetting and tilted light, a **Quad-Bayer** mosaic with shot and read noise, a
  constant-hue normalised-convolution demosaic (wide per-channel estimates times the smoothed
  ratio of every sample to its own channel's estimate), and a **Haar-wavelet codec**
  (dead-zone quantised detail bands) or none.
* The world is cut into 1 mm cells, each drawing its units, hairs and marks from its own
  generator keyed by the seed, so a site is the same in any frame, size or scale; a follow-up
  visit turns and shifts the frame, sheds hairs by a per-hair draw and adds new ones from
  cells keyed by the visit seed.

Truth
-----
Each hair: emergence point (``x_px``, ``y_px``), ``diameter_um``, ``kind`` (terminal,
intermediate, vellus, black_dot, broken, exclamation, tapered), ``unit``, world ``id``,
shaft ``colour`` and ``root_colour`` (they differ where dyed hair grows out), ``new``,
``direction_deg``, ``length_um`` and ``end`` (cut, taper, broken, dot). Each visible free end
in the frame (roots inside or outside): position, ``cut``, end ``diameter_um``, ``end``,
``dark``, ``direction_deg`` and ``covered`` (another shaft lies just past it). About a quarter
of sites are near-bald, diffusely thinned or an alopecia-areata-like patch (under 30/cm2 in
frames of a few mm; a 6-7 mm patch's border can show in the widest frames).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from sim.blind16 import args, camera
from sim.blind16.chain import LEVEL, LEVEL_REACH, P_NORM, blunt_run, chain
from sim.blind16.site import (
    CELL_UM,
    MAX_SHAFT_UM,
    Hair,
    Unit,
    cell_new_hairs,
    cell_units,
    rng_for,
    site_look,
)
from sim.blind16.skin import Frame, ring_network, sparse_noise
from sim.blind16.splat import level_alpha, splat

GENERATOR = "blind-16"

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
Splats = tuple[F64, F64, F64, F64, F64, F64]


def _tone(fitz: int) -> str:
    return "light" if fitz <= 2 else "medium" if fitz <= 4 else "dark"


def _cells(frame: Frame, margin_um: float) -> list[tuple[int, int]]:
    x0, y0, x1, y1 = frame.world_box(margin_um)
    return [
        (i, j)
        for i in range(math.floor(x0 / CELL_UM), math.floor(x1 / CELL_UM) + 1)
        for j in range(math.floor(y0 / CELL_UM), math.floor(y1 / CELL_UM) + 1)
    ]


def _dedup(hairs: list[Hair]) -> list[Hair]:
    """Drop any hair whose root lies within half the larger diameter of a kept one's
    (baseline hairs first, then by id)."""
    if len(hairs) < 2:
        return hairs
    order = sorted(range(len(hairs)), key=lambda k: (hairs[k].new, hairs[k].hid))
    hs = [hairs[k] for k in order]
    pts = np.array([[h.x, h.y] for h in hs])
    tree = cKDTree(pts)
    drop = np.zeros(len(hs), bool)
    for a, b in sorted(tree.query_pairs(61.0)):
        if drop[a] or drop[b]:
            continue
        d = math.hypot(hs[a].x - hs[b].x, hs[a].y - hs[b].y)
        if d < max(hs[a].diameter, hs[b].diameter) / 2 + 1.0:
            drop[b] = True
    return [h for h, dr in zip(hs, drop, strict=True) if not dr]


def _centreline(hair: Hair) -> tuple[F64, F64, F64, F64]:
    """World points, arc lengths and headings of a hair's visible shaft."""
    length = hair.length
    n = max(4, math.ceil(length / 25.0) + 1)
    s = np.linspace(0.0, length, n)
    ds = s[1] - s[0]
    wa, wl, wp = hair.wave
    kappa = hair.curv + wa * np.sin(2 * math.pi * s / wl + wp)
    th = hair.heading + np.concatenate([[0.0], np.cumsum(kappa[:-1] * ds)])
    x = hair.x + np.concatenate([[0.0], np.cumsum(np.cos(th[:-1]) * ds)])
    y = hair.y + np.concatenate([[0.0], np.cumsum(np.sin(th[:-1]) * ds)])
    return x, y, s, th


def _profile(hair: Hair, s: F64) -> tuple[F64, float]:
    """Half-width (um) along the shaft and the end's diameter."""
    r0 = hair.diameter / 2
    length = hair.length
    if hair.kind == "exclamation":
        r = r0 * (0.3 + 0.7 * (s / length) ** 1.5)
        return r, hair.diameter
    if hair.end == "taper":
        frac = 0.6 if hair.kind in ("vellus", "tapered") else 0.3
        lt = min(frac * length, 450.0)
        tip = max(2.5, 0.06 * r0)
        t = np.clip((length - s) / lt, 0.0, 1.0)
        r = tip + (r0 - tip) * t**0.8
        return r, 2 * tip
    return np.full_like(s, r0), hair.diameter


def _paint(
    img: F32,
    shape: tuple[int, int],
    groups: list[tuple[list[Splats], F64, float]],
    cap: float = 1.0,
) -> None:
    """Composite groups of coverage-mode splats (each group one colour row and opacity) over
    ``img`` in one pass: the opacity rides in the splats' weights, the colour is the
    weighted mean; the summed coverage is clipped to 1 and scaled by ``cap``."""
    parts = [(p, col, op) for sp, col, op in groups for p in sp]
    if not parts:
        return
    x, y, sa, sc, th = (np.concatenate([p[k] for p, _, _ in parts]) for k in range(5))
    amp = np.concatenate([p[5] * op for p, _, op in parts])
    col = np.concatenate([np.repeat(c.reshape(1, 3), p[0].size, 0) for p, c, _ in parts])
    f, c = splat(shape, x, y, sa, sc, th, amp, col)
    if c is None:
        raise RuntimeError("splat lost its colour")
    a = np.clip(f, 0.0, 1.0)[..., None] * cap
    img *= 1.0 - a
    img += a * c / np.maximum(f, 1e-6)[..., None]


def _disc(
    frame: Frame, wx: float, wy: float, r_um: float, elong: float = 1.0, ang: float = 0.0
) -> Splats:
    """A coverage-mode blob of area pi r^2 (elongated by ``elong``)."""
    x, y = frame.to_pixel(np.array([wx]), np.array([wy]))
    r = r_um / frame.um
    sa = np.array([math.sqrt((r * math.sqrt(elong) / 1.6) ** 2 + 0.2)])
    sc = np.array([math.sqrt((r / math.sqrt(elong) / 1.6) ** 2 + 0.2)])
    amp = np.array([min(1.6, r * r / (2.0 * sa[0] * sc[0]))])
    return x, y, sa, sc, np.array([ang - frame.turn]), amp


def _line(frame: Frame, wx: F64, wy: F64, half_um: F64) -> Splats:
    px, py = frame.to_pixel(wx, wy)
    x, y, sa, sc, th, amp, _ = chain(px, py, half_um / frame.um, level_ok=False)
    return x, y, sa, sc, th, amp


def _walk(
    r: np.random.Generator, x: float, y: float, ang: float, length: float, step: float, bend: float
) -> tuple[F64, F64]:
    n = max(2, int(length / step) + 1)
    th = ang + np.cumsum(r.normal(0.0, bend, n))
    xs = x + np.concatenate([[0.0], np.cumsum(np.cos(th[:-1]) * step)])
    ys = y + np.concatenate([[0.0], np.cumsum(np.sin(th[:-1]) * step)])
    return xs, ys


def _skin(seed: int, look: dict[str, Any], frame: Frame) -> F32:
    h, w = frame.h, frame.w
    base = np.array(look["skin_rgb"], np.float32)
    tex = np.zeros((h, w), np.float32)
    for k, (scale, wt) in enumerate(((900.0, 0.7), (300.0, 0.45), (90.0, 0.35), (30.0, 0.25))):
        if scale / frame.um >= 0.6:
            tex += wt * sparse_noise(seed, 10 + k, frame, scale)
    img = base[None, None, :] * np.exp(look["texture"] * tex)[..., None]
    ery = look["erythema"] * np.clip(0.5 + 0.5 * sparse_noise(seed, 15, frame, 600.0), 0, 1.5)
    img[..., 0] *= 1.0 + 0.12 * ery
    img[..., 1] *= 1.0 - 0.14 * ery
    img[..., 2] *= 1.0 - 0.08 * ery
    if look["network"] > 0:
        net = ring_network(seed, frame, look["network_um"])
        net *= np.clip(0.6 + 0.5 * sparse_noise(seed, 16, frame, 700.0), 0.0, 1.0)
        strength = look["network"]
        for c, kk in enumerate((0.55, 0.7, 0.8)):
            img[..., c] *= 1.0 - strength * kk * net
    out: F32 = img.astype(np.float32)
    return out


def _marks(seed: int, look: dict[str, Any], frame: Frame, img: F32) -> None:
    shape = (frame.h, frame.w)
    skin = np.array(look["skin_rgb"])
    whites: list[Splats] = []
    flecks: list[Splats] = []
    vessels: list[Splats] = []
    flakes: list[Splats] = []
    for i, j in _cells(frame, 2500.0):
        r = rng_for(seed, 3, i, j)
        ox, oy = i * CELL_UM, j * CELL_UM
        for _ in range(int(r.poisson(look["white_dots"]))):
            whites.append(
                _disc(
                    frame,
                    ox + r.random() * CELL_UM,
                    oy + r.random() * CELL_UM,
                    float(r.uniform(12.0, 30.0)),
                )
            )
        for _ in range(int(r.poisson(look["flecks"]))):
            flecks.append(
                _disc(
                    frame,
                    ox + r.random() * CELL_UM,
                    oy + r.random() * CELL_UM,
                    float(r.uniform(8.0, 35.0)),
                    float(r.uniform(1.0, 2.5)),
                    float(r.uniform(0, math.pi)),
                )
            )
        kind = look["vessels"]
        for _ in range(int(r.poisson(look["vessel_rate"] * (0.3 if kind == "arborising" else 1)))):
            x, y = ox + r.random() * CELL_UM, oy + r.random() * CELL_UM
            if kind == "dotted":
                for _ in range(int(r.integers(2, 8))):
                    vessels.append(
                        _disc(
                            frame,
                            x + r.normal(0, 60),
                            y + r.normal(0, 60),
                            float(r.uniform(7.0, 18.0)),
                        )
                    )
            elif kind == "hairpin":
                ang, ln, gap = r.uniform(0, 2 * math.pi), r.uniform(40, 130), r.uniform(7, 14)
                t = np.linspace(0, 1, 24)
                u = np.concatenate(
                    [t * ln, ln + gap * np.sin(np.linspace(0, math.pi, 9)), (1 - t) * ln]
                )
                v = np.concatenate(
                    [
                        np.zeros(24),
                        gap * (1 - np.cos(np.linspace(0, math.pi, 9))),
                        np.full(24, 2 * gap),
                    ]
                )
                wx = x + u * math.cos(ang) - v * math.sin(ang)
                wy = y + u * math.sin(ang) + v * math.cos(ang)
                vessels.append(_line(frame, wx, wy, np.full(wx.size, float(r.uniform(3, 6)))))
            elif kind == "arborising":
                ang = float(r.uniform(0, 2 * math.pi))
                wx, wy = _walk(r, x, y, ang, float(r.uniform(500, 2500)), 40.0, 0.12)
                half = float(r.uniform(8, 18))
                vessels.append(_line(frame, wx, wy, np.linspace(half, half * 0.5, wx.size)))
                for _ in range(int(r.integers(2, 6))):
                    k = int(r.integers(0, wx.size))
                    bx, by = _walk(
                        r,
                        float(wx[k]),
                        float(wy[k]),
                        ang + float(r.choice([-1, 1]) * r.uniform(0.5, 1.3)),
                        float(r.uniform(150, 800)),
                        30.0,
                        0.2,
                    )
                    vessels.append(_line(frame, bx, by, np.linspace(half * 0.6, 3.0, bx.size)))
        for _ in range(int(r.poisson(look["flakes"]))):
            x, y = ox + r.random() * CELL_UM, oy + r.random() * CELL_UM
            spread = float(r.uniform(30, 110))
            for _ in range(int(r.integers(6, 22))):
                flakes.append(
                    _disc(
                        frame,
                        x + r.normal(0, spread),
                        y + r.normal(0, spread),
                        float(r.uniform(12, 60)),
                        float(r.uniform(1.0, 3.0)),
                        float(r.uniform(0, math.pi)),
                    )
                )
    rc = rng_for(seed, 4)
    creases: list[Splats] = []
    for _ in range(look["creases"]):
        x, y = float(rc.uniform(-4000, 4000)), float(rc.uniform(-4000, 4000))
        ang = float(rc.uniform(0, math.pi))
        wx, wy = _walk(
            rc, x - 15000 * math.cos(ang), y - 15000 * math.sin(ang), ang, 30000.0, 60.0, 0.01
        )
        creases.append(_line(frame, wx, wy, np.full(wx.size, float(rc.uniform(25, 60)))))
    white = 0.25 * skin + np.array([0.7, 0.69, 0.66])
    groups: list[tuple[list[Splats], F64, float]] = [
        (creases, skin * np.array([0.55, 0.5, 0.5]), 0.2),
        (whites, white, 0.75),
        (flecks, skin * np.array([0.35, 0.27, 0.24]), 0.7),
        (vessels, np.array([0.55, 0.07, 0.09]), 0.45),
    ]
    _paint(img, shape, groups)
    _paint(img, shape, [(flakes, np.array([0.9, 0.88, 0.8]), 1.0)], cap=0.32)


def _openings(look: dict[str, Any], frame: Frame, units: list[Unit], img: F32) -> None:
    """Halos (under), then the openings: pits, or yellow dots where no terminal hair grows."""
    shape = (frame.h, frame.w)
    skin = np.array(look["skin_rgb"])
    halos = [_disc(frame, u.x, u.y, u.radius + u.halo) for u in units if u.halo > 0]
    _paint(img, shape, [(halos, 0.5 * skin + np.array([0.42, 0.4, 0.38]), 0.4)])
    yellow = [u.yellow and all(h.kind == "vellus" for h in u.hairs) for u in units]
    pits = [_disc(frame, u.x, u.y, u.radius) for u, yl in zip(units, yellow, strict=True) if not yl]
    ys = [
        _disc(frame, u.x, u.y, u.radius * 1.25) for u, yl in zip(units, yellow, strict=True) if yl
    ]
    _paint(
        img,
        shape,
        [
            (pits, skin * np.array([0.72, 0.62, 0.62]), 0.55),
            (ys, np.array([0.86, 0.66, 0.3]), 0.75),
        ],
    )


def _hair_geometry(hair: Hair, frame: Frame) -> dict[str, Any]:
    """Pixel centreline, half-widths and ends of one hair."""
    if hair.end == "dot":
        px, py = frame.to_pixel(np.array([hair.x]), np.array([hair.y]))
        return {
            "px": px,
            "py": py,
            "half": np.array([hair.diameter / 2 / frame.um]),
            "tip": None,
            "end_d": hair.diameter,
            "tip_dir": 0.0,
            "dir": math.degrees(hair.heading - frame.turn),
        }
    wx, wy, s, th = _centreline(hair)
    half_um, end_d = _profile(hair, s)
    px, py = frame.to_pixel(wx, wy)
    half = half_um / frame.um
    tip = (float(px[-1]), float(py[-1]))
    if hair.end != "taper":
        # a blunt level-mode end runs on past its last splat
        back = blunt_run(float(half[-1])) if half[-1] >= 1.2 else 0.0
        keep_len = max(0.0, hair.length / frame.um - back)
        sp = s / frame.um
        cut = sp <= keep_len
        last_x = float(np.interp(keep_len, sp, px))
        last_y = float(np.interp(keep_len, sp, py))
        px = np.append(px[cut], last_x)
        py = np.append(py[cut], last_y)
        half = np.append(half[cut], half[-1])
    tip_dir = float(np.degrees(th[-1] - frame.turn))
    return {
        "px": px,
        "py": py,
        "half": half,
        "tip": tip,
        "end_d": end_d,
        "tip_dir": tip_dir,
        "dir": math.degrees(hair.heading - frame.turn),
    }


def _draw_hairs(
    look: dict[str, Any], frame: Frame, hairs: list[Hair], geo: list[dict[str, Any]], img: F32
) -> F32:
    """Composite the shafts over ``img``; returns the total hair alpha."""
    shape = (frame.h, frame.w)
    casts: list[Splats] = []
    for hair in hairs:
        if hair.cast > 0 and hair.end != "dot":
            n = max(2, int(min(hair.cast, hair.length) / 20.0))
            wx, wy, _, _ = _centreline(hair)
            k = min(n, wx.size)
            casts.append(_line(frame, wx[:k], wy[:k], np.full(k, hair.diameter / 2 + 14.0)))
    _paint(img, shape, [(casts, np.array([0.9, 0.88, 0.82]), 0.65)])
    parts = []
    for hair, g in zip(hairs, geo, strict=True):
        blunt = hair.end in ("cut", "broken")
        x, y, sa, sc, th, amp, lv = chain(g["px"], g["py"], g["half"], blunt=blunt, rooted=True)
        # pigment varies along the shaft: two slow waves of the hair's own phase
        t = np.arange(x.size) * (2 * math.pi / max(x.size, 8))
        band = (
            1.0
            + 0.07 * np.sin(1.7 * t + 6.28 * hair.keep_u)
            + 0.05 * np.sin(4.1 * t + 11.0 * hair.keep_u)
        )
        along = np.linspace(0.0, hair.length, x.size)
        regrown = (along < float(look["dye_regrowth_um"]))[:, None]
        col = np.where(regrown, np.array(hair.root_colour), np.array(hair.colour)) * band[:, None]
        parts.append((x, y, sa, sc, th, amp, lv, col))
    if not parts:
        return np.zeros(shape, np.float32)
    x, y, sa, sc, th, amp, col = (
        np.concatenate([p[k] for p in parts]) for k in (0, 1, 2, 3, 4, 5, 7)
    )
    lv = np.concatenate([p[6] for p in parts])
    fc, cc = splat(shape, x[~lv], y[~lv], sa[~lv], sc[~lv], th[~lv], amp[~lv], col[~lv])
    gl, cl = splat(shape, x[lv], y[lv], sa[lv], sc[lv], th[lv], amp[lv], col[lv], reach=LEVEL_REACH)
    if cc is None or cl is None:
        raise RuntimeError("splat lost its colour")
    a_cov = np.clip(fc, 0.0, 1.0)
    img *= 1.0 - a_cov[..., None]
    img += a_cov[..., None] * cc / np.maximum(fc, 1e-6)[..., None]
    hair_col = (cl / np.maximum(gl, 1e-30)[..., None]).astype(np.float32)
    fl = (np.maximum(gl, 0.0) ** (1.0 / P_NORM)).astype(np.float32)
    a_lv = level_alpha(fl, LEVEL)
    q = np.clip(fl, 1e-6, 1.0)
    rho2 = np.clip(np.log(q) / math.log(LEVEL), 0.0, 1.0)
    shade = 0.82 + 0.22 * np.sqrt(1.0 - rho2)
    hair_rgb = hair_col * shade[..., None]
    if not look["polarised"]:
        hair_rgb += (0.07 * np.exp(-rho2 / 0.02))[..., None]
    # light (little-pigmented) shafts let some of the skin through
    a_lv = a_lv * (1.0 - 0.25 * np.clip((hair_col.mean(axis=2) - 0.3) / 0.5, 0.0, 1.0))
    img *= 1.0 - a_lv[..., None]
    img += a_lv[..., None] * hair_rgb
    out: F32 = (1.0 - (1.0 - a_cov) * (1.0 - a_lv)).astype(np.float32)
    return out


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
    seed, um, w, h, visit = args.check(seed, um_per_px, width, height, hairless, regrown)
    look = site_look(seed)
    turn = sx = sy = 0.0
    factor = 1.0
    if visit is not None:
        factor, vseed = visit
        rv = rng_for(seed, 5, vseed)
        turn = math.radians(float(rv.choice([-1.0, 1.0]) * rv.uniform(1.2, 4.8)))
        f, a = float(rv.uniform(0.015, 0.05)), float(rv.uniform(0, 2 * math.pi))
        sx, sy = f * math.cos(a) * w, f * math.sin(a) * h
    frame = Frame(w, h, um, turn, sx, sy)

    cells = _cells(frame, MAX_SHAFT_UM + 300.0)
    units: list[Unit] = []
    for i, j in cells:
        units.extend(cell_units(seed, look, i, j))
    base = _dedup([hh for u in units for hh in u.hairs])
    n_world = len(base)
    hairs = [hh for hh in base if factor >= 1.0 or hh.keep_u < factor]
    n_new = 0
    if visit is not None and factor > 1.0:
        new_units = [
            nu for i, j in cells for nu in cell_new_hairs(seed, look, i, j, factor, visit[1])
        ]
        merged = _dedup(hairs + [hh for u in new_units for hh in u.hairs])
        n_new = sum(hh.new for hh in merged)
        hairs = merged

    img = _skin(seed, look, frame)
    _marks(seed, look, frame, img)
    near = frame.world_box(400.0)
    _openings(
        look,
        frame,
        [u for u in units if near[0] <= u.x <= near[2] and near[1] <= u.y <= near[3]],
        img,
    )

    # hairs that can reach the frame
    box = frame.world_box(0.0)
    reach = [
        hh
        for hh in hairs
        if box[0] - hh.length - 200 <= hh.x <= box[2] + hh.length + 200
        and box[1] - hh.length - 200 <= hh.y <= box[3] + hh.length + 200
    ]
    geo = [_hair_geometry(hh, frame) for hh in reach]
    alpha = np.zeros((h, w), np.float32)
    if not hairless:
        alpha = _draw_hairs(look, frame, reach, geo, img)

    # light
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rr = ((xx - (w - 1) / 2) ** 2 + (yy - (h - 1) / 2) ** 2) / (0.25 * (w * w + h * h))
    tx, ty = look["light_tilt"]
    illum = (1.0 - look["vignette"] * rr) * (
        1.0 + tx * (xx / w - 0.5) * 2 + ty * (yy / h - 0.5) * 2
    )
    rad = img * (illum * look["exposure"] * 1.05)[..., None]
    if not look["polarised"]:
        shine = np.clip(sparse_noise(seed, 20, frame, 350.0) - 0.8, 0.0, 1.5) ** 1.5
        rad += (look["shine"] * 0.18 * shine * illum * (1.0 - alpha))[..., None]
    else:
        grey = rad.mean(axis=2, keepdims=True)
        rad = grey + (rad - grey) * 1.12
    wb = np.array(look["white_balance"], np.float32)
    rad = rad / wb
    psf = camera.airy_psf(look["airy_um"] / um, look["defocus_um"] / um)
    rad = camera.blur(rad.astype(np.float32), psf)
    rad = camera.sensor(rad, look, rng_for(seed, 6))
    rad = rad * wb
    out = 255.0 * np.clip(rad, 0.0, 1.0) ** (1 / 2.2)
    if look["codec_step"] > 0:
        out = camera.wavelet_codec(out.astype(np.float32), look["codec_step"])
    image = np.clip(np.rint(out), 0, 255).astype(np.uint8)

    # truth
    def inside(x: float, y: float) -> bool:
        return -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5

    recs: list[dict[str, Any]] = []
    tips: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    if not hairless:
        for hair, g in zip(reach, geo, strict=True):
            rx, ry = frame.to_pixel(np.array([hair.x]), np.array([hair.y]))
            x0, y0 = float(rx[0]), float(ry[0])
            if inside(x0, y0):
                recs.append(
                    {
                        "x_px": round(x0, 3),
                        "y_px": round(y0, 3),
                        "diameter_um": round(hair.diameter, 3),
                        "kind": hair.kind,
                        "unit": hair.unit,
                        "id": hair.hid,
                        "colour": [round(c, 4) for c in hair.colour],
                        "root_colour": [round(c, 4) for c in hair.root_colour],
                        "new": hair.new,
                        "direction_deg": round(g["dir"] % 360.0, 3),
                        "length_um": round(hair.length, 1),
                        "end": hair.end,
                    }
                )
            else:
                dx = max(-0.5 - x0, x0 - (w - 0.5), 0.0)
                dy = max(-0.5 - y0, y0 - (h - 0.5), 0.0)
                if math.hypot(dx, dy) * um <= 200.0:
                    outside.append({"x_px": round(x0, 3), "y_px": round(y0, 3), "id": hair.hid})
            if g["tip"] is not None and inside(*g["tip"]):
                tx_, ty_ = g["tip"]
                a = math.radians(g["tip_dir"])
                off = g["end_d"] / 2 / um + 2.5
                bx, by = round(tx_ + math.cos(a) * off), round(ty_ + math.sin(a) * off)
                undyed = hair.length < float(look["dye_regrowth_um"])
                tip_colour = hair.root_colour if undyed else hair.colour
                covered = bool(0 <= bx < w and 0 <= by < h and alpha[by, bx] > 0.2)
                tips.append(
                    {
                        "x_px": round(tx_, 3),
                        "y_px": round(ty_, 3),
                        "cut": hair.end == "cut",
                        "diameter_um": round(g["end_d"], 3),
                        "hair": hair.hid,
                        "kind": hair.kind,
                        "root_diameter_um": round(hair.diameter, 3),
                        "dark": max(tip_colour) < 0.2,
                        "end": hair.end,
                        "direction_deg": round(g["tip_dir"] % 360.0, 3),
                        "covered": covered,
                    }
                )
    n = len(recs)
    area_cm2 = w * h * um * um * 1e-8
    diam = [r_["diameter_um"] for r_ in recs]
    params = dict(look)
    params["visit"] = {
        "turn_deg": round(math.degrees(turn), 4),
        "shift_px": [round(sx, 4), round(sy, 4)],
        "factor": factor,
        "visit_seed": None if visit is None else visit[1],
        "hairs_world": n_world,
        "hairs_new": n_new,
    }
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": recs,
        "density_per_cm2": n / area_cm2,
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
            "pattern": look["pattern"],
        },
        "params": params,
    }
    return image, truth
