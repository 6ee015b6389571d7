"""The scalp's skin: a quilted texture locked to the scalp, chromophore maps, the round
things (openings, halos, yellow and white dots, black dots, flakes) and the line things
(vessels, creases, follicle canals) as distance fields, a sub-surface blur per colour,
relief shading under the ring light and sebum shine."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind12.camera import Pose
from sim.blind12.design import Design, stream
from sim.blind12.fields import Band, nearest_centres, polyline_band
from sim.blind12.quilt import exemplar, quilt
from sim.blind12.scene import Site

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
B = NDArray[np.bool_]

# absorption of the skin's chromophores per unit (R, G, B), and the bloodless dermis
MU_MEL = np.array([0.8, 0.97, 1.15])
MU_HB = np.array([0.06, 0.7, 0.6])
MU_CAR = np.array([0.0, 0.08, 0.45])
DERMIS = np.array([0.86, 0.79, 0.73])
CHANNELS = ("network", "relief", "speckle", "mottle", "erythema", "freckle", "sebum")


@dataclass(frozen=True)
class Texture:
    """Scene-locked fields on a grid of ``tau`` um texels whose corner is (x0, y0) um."""

    data: F32  # (H, W, len(CHANNELS))
    x0: float
    y0: float
    tau: float

    def sample(self, x: F64, y: F64) -> dict[str, F32]:
        cx = (x - self.x0) / self.tau
        cy = (y - self.y0) / self.tau
        out = {}
        for i, name in enumerate(CHANNELS):
            out[name] = ndimage.map_coordinates(
                self.data[..., i], [cy, cx], order=1, mode="nearest"
            ).astype(np.float32)
        return out


def _smooth(rng: np.random.Generator, shape: tuple[int, int], cells: float) -> F64:
    """Smooth noise of unit spread with features ``cells`` texels across, via a coarse
    grid."""
    step = max(cells / 3.0, 1.0)
    ch, cw = max(4, int(shape[0] / step) + 3), max(4, int(shape[1] / step) + 3)
    g = ndimage.gaussian_filter(rng.normal(0, 1, (ch, cw)), 1.0, mode="wrap")
    big = ndimage.zoom(g, (shape[0] / (ch - 2), shape[1] / (cw - 2)), order=1)[
        : shape[0], : shape[1]
    ]
    out: F64 = (big - big.mean()) / (big.std() + 1e-9)
    return out


def make_texture(seed: int, d: Design, half_x: float, half_y: float, um: float) -> Texture:
    """The texture over the scene rectangle [-half_x, half_x] x [-half_y, half_y] (um)."""
    tau = max(um, 5.0)
    wt = math.ceil(2 * half_x / tau) + 4
    ht = math.ceil(2 * half_y / tau) + 4
    patch = int(np.clip(round(260.0 / tau), 16, 40))
    size = max(6 * patch, 160)
    ex = exemplar(stream(seed, "exemplar"), d, tau, size)
    q = quilt(stream(seed, "quilt"), ex, ht, wt, patch, max(4, patch // 4))
    rng = stream(seed, "fields")
    mottle = _smooth(rng, (ht, wt), 300.0 / tau)
    ery = _smooth(rng, (ht, wt), 700.0 / tau)
    frk = np.clip(_smooth(rng, (ht, wt), 160.0 / tau) - 1.2, 0.0, None)
    seb = np.clip(_smooth(rng, (ht, wt), 250.0 / tau) - 0.3, 0.0, None)
    data = np.concatenate([q, np.stack([mottle, ery, frk, seb], axis=-1)], axis=-1)
    return Texture(data.astype(np.float32), -half_x - 2 * tau, -half_y - 2 * tau, tau)


@dataclass(frozen=True)
class Marks:
    """Scene-locked marks of the site (independent of the visit)."""

    white_x: F64
    white_y: F64
    white_r: F64
    flake_x: F64
    flake_y: F64
    flake_r: F64
    flake_shape: F64  # (n, 10) harmonic amplitudes and phases
    flake_over: B
    flake_alpha: F64
    extra_yellow: B  # per unit: a yellow dot without an opening's hair history
    vessels: list[F64]
    vessel_w: list[float]
    creases: list[F64]
    crease_w: list[float]


def make_marks(seed: int, d: Design, site: Site, half_x: float, half_y: float) -> Marks:
    rng = stream(seed, "marks")
    area_mm2 = 4 * half_x * half_y * 1e-6
    n_white = int(rng.poisson(d.white_dots_per_mm2 * area_mm2))
    wx = rng.uniform(-half_x, half_x, n_white)
    wy = rng.uniform(-half_y, half_y, n_white)
    wr = rng.uniform(5.0, 14.0, n_white)
    n_fl = int(rng.poisson(d.flakes_per_mm2 * area_mm2))
    fx = rng.uniform(-half_x, half_x, n_fl)
    fy = rng.uniform(-half_y, half_y, n_fl)
    # a share of the flakes sits at the openings (perifollicular scale)
    near_unit = rng.random(n_fl) < 0.35
    if len(site.ux) and near_unit.any():
        pick = rng.integers(0, len(site.ux), int(near_unit.sum()))
        fx[near_unit] = site.ux[pick] + rng.normal(0, 60.0, len(pick))
        fy[near_unit] = site.uy[pick] + rng.normal(0, 60.0, len(pick))
    size = d.flake_um * np.exp(rng.normal(0.0, 0.45, n_fl)) * 0.5
    over_flake = rng.random(n_fl) < d.flakes_over_hair
    alpha_flake = d.flake_opacity * rng.uniform(0.6, 1.3, n_fl)
    # a flake is a cluster of 1-4 overlapping plates: each plate an outline of harmonics
    # 2 to 6 (amplitudes, then phases) about its own centre
    parts = rng.integers(1, 5, n_fl)
    owner = np.repeat(np.arange(n_fl), parts)
    m = len(owner)
    ang = rng.uniform(0, 2 * math.pi, m)
    off = np.where(np.arange(m) == np.repeat(np.cumsum(parts) - parts, parts), 0.0, 0.8)
    fx = fx[owner] + off * size[owner] * np.cos(ang)
    fy = fy[owner] + off * size[owner] * np.sin(ang)
    fr = size[owner] * rng.uniform(0.45, 0.9, m)
    shape = np.concatenate(
        [
            rng.uniform(0.1, 0.35, (m, 1)),
            rng.uniform(0.0, 0.15, (m, 4)) / np.arange(1, 5),
            rng.uniform(0, 2 * math.pi, (m, 5)),
        ],
        axis=1,
    )
    over = over_flake[owner]
    flake_alpha = alpha_flake[owner]
    # yellow dots at some dormant follicles: about yellow_per_mm2 of them
    dormant_per_um2 = 1.3 * d.density_per_cm2 * 1e-8 / max(d.unit_mean * (1 - d.empty_share), 0.5)
    p_yellow = min(1.0, d.yellow_per_mm2 * 1e-6 / max(dormant_per_um2, 1e-12))
    extra_yellow = (~site.active) & (rng.random(len(site.ux)) < p_yellow)
    vessels, vw = _vessels(stream(seed, "vessels"), d, site, half_x, half_y)
    creases, cw = [], []
    crng = stream(seed, "creases")
    for _ in range(d.creases):
        c_ang = float(crng.uniform(0, math.pi))
        c_off = float(crng.uniform(-0.6, 0.6)) * min(half_x, half_y)
        span = 2.5 * max(half_x, half_y)
        along = np.linspace(-span / 2, span / 2, 200)
        wob = (
            crng.uniform(0.02, 0.12)
            * span
            * np.sin(2 * math.pi * along / crng.uniform(1.0, 3.0) / span + crng.uniform(0, 6.3))
        )
        cx = along * math.cos(c_ang) - (c_off + wob) * math.sin(c_ang)
        cy = along * math.sin(c_ang) + (c_off + wob) * math.cos(c_ang)
        creases.append(np.stack([cx, cy], axis=1))
        cw.append(float(crng.uniform(25.0, 110.0)))
    return Marks(
        wx, wy, wr, fx, fy, fr, shape, over, flake_alpha, extra_yellow, vessels, vw, creases, cw
    )


def _walk(
    rng: np.random.Generator, x: float, y: float, ang: float, n: int, step: float, turn: float
) -> F64:
    a = ang + np.cumsum(rng.normal(0.0, turn, n))
    pts = np.stack([x + np.cumsum(step * np.cos(a)), y + np.cumsum(step * np.sin(a))], axis=1)
    out: F64 = np.concatenate([[[x, y]], pts], axis=0)
    return out


def _vessels(
    rng: np.random.Generator, d: Design, site: Site, half_x: float, half_y: float
) -> tuple[list[F64], list[float]]:
    paths: list[F64] = []
    widths: list[float] = []
    if d.vessels == "arborising":
        for _ in range(int(rng.integers(1, 4))):
            x, y = rng.uniform(-half_x, half_x), rng.uniform(-half_y, half_y)
            trunk = _walk(rng, x, y, rng.uniform(0, 6.3), 80, 25.0, 0.12)
            paths.append(trunk)
            widths.append(float(rng.uniform(14.0, 30.0)))
            for k in rng.integers(5, 75, int(rng.integers(3, 8))):
                bx, by = trunk[k]
                br = _walk(rng, bx, by, rng.uniform(0, 6.3), int(rng.integers(10, 35)), 20.0, 0.2)
                paths.append(br)
                widths.append(float(rng.uniform(7.0, 15.0)))
    elif d.vessels in ("comma", "loops") and len(site.ux):
        inside = (np.abs(site.ux) < half_x) & (np.abs(site.uy) < half_y)
        cand = np.flatnonzero(inside)
        n = min(len(cand), int(rng.integers(3, 25)))
        for u in rng.choice(cand, n, replace=False) if n else []:
            ang = rng.uniform(0, 2 * math.pi)
            x = site.ux[u] + 120.0 * math.cos(ang)
            y = site.uy[u] + 120.0 * math.sin(ang)
            if d.vessels == "comma":
                paths.append(_walk(rng, x, y, rng.uniform(0, 6.3), 8, 18.0, 0.25))
                widths.append(float(rng.uniform(8.0, 16.0)))
            else:  # a hairpin: out, a tight turn, back alongside
                out_ = _walk(rng, x, y, rng.uniform(0, 6.3), 6, 20.0, 0.1)
                t = out_[-1] - out_[-2]
                nrm = np.array([-t[1], t[0]]) / max(float(np.hypot(*t)), 1e-9)
                back = out_[::-1] + nrm * rng.uniform(18.0, 30.0)
                turn = out_[-1] + nrm * np.linspace(0, 1, 5)[1:-1, None] * 24.0 + t * 0.4
                paths.append(np.concatenate([out_, turn, back], axis=0))
                widths.append(float(rng.uniform(7.0, 12.0)))
    return paths, widths


@dataclass(frozen=True)
class Skin:
    """The skin in the frame: reflectance under the ring light (shading included), the
    sebum shine, and the surface layers that lie on the skin (flakes under and over the
    hair, black dots)."""

    radiance: F32
    shine: F32
    flake_under: F32
    flake_over: F32
    flake_colour: F32
    black_dots: F32


def _band_sum(band: Band, weight: F64, n: int) -> F64:
    out: F64 = np.bincount(band.pix, weight, minlength=n).astype(np.float64)
    return out


def render_skin(
    seed: int,
    d: Design,
    site: Site,
    tex: Texture,
    marks: Marks,
    pose: Pose,
    openings: B,
    dots_x: F64,
    dots_y: F64,
    dots_d: F64,
    canals: list[tuple[F64, float, float]],
) -> Skin:
    """``openings``: the units drawn with an opening at this visit; ``dots_*``: the black
    dots (scene um, diameter); ``canals``: per drawn hair its follicle canal (scene
    polyline, width um, darkness)."""
    w, h, um = pose.w, pose.h, pose.um
    n = w * h
    sx, sy = pose.grid()
    f = tex.sample(sx, sy)
    del sx, sy
    tone_k = float(np.clip(d.melanin / 0.8, 0.25, 1.6))
    f["network"] = ndimage.gaussian_filter(f["network"], max(4.0 / um, 0.5))
    mel = d.melanin * (
        1.0
        + d.network_strength * 0.75 * (f["network"] - 0.3) * tone_k
        + d.mottle * f["mottle"] / (1.0 + d.melanin)
        + 0.3 * f["speckle"]
        + d.freckles * 2.0 * f["freckle"]
    )
    hb = d.blood * (1.0 + d.erythema * 0.35 * f["erythema"])
    car = np.full((h, w), d.carotene, dtype=np.float64)
    white = np.zeros((h, w))
    height = d.relief * 6.0 * f["relief"].astype(np.float64)
    # --- round things at the units
    drawn = openings | marks.extra_yellow
    ids = np.flatnonzero(drawn)
    upx, upy = pose.to_px(site.ux[ids], site.uy[ids])
    pad = int(min(64, math.ceil(2.5 * float(site.opening_um.max(initial=60.0)) / um) + 2))
    near = nearest_centres(upx, upy, w, h, pad)
    # (only pixels within the widest halo of their nearest unit are worked on)
    has = (near.index >= 0) & (near.dx**2 + near.dy**2 < (pad + 1.0) ** 2)
    pit_map = np.zeros((h, w))
    if has.any():
        j = ids[near.index[has]]
        fl = site.flow[j] - pose.theta
        dx, dy = near.dx[has], near.dy[has]
        along = dx * np.cos(fl) + dy * np.sin(fl)
        acr = -dx * np.sin(fl) + dy * np.cos(fl)
        ro = 0.5 * site.opening_um[j] / um
        ell = np.hypot(along / 1.25, acr) / np.maximum(ro, 0.3)
        disc = np.clip(1.2 - ell, 0.0, 1.0) ** 1.5 * np.clip((1.2 - ell) * ro + 0.5, 0, 1)
        pit = {"dark": 0.4, "faint": 0.18, "invisible": 0.0}[d.openings]
        is_open = openings[j]
        # a pit: its wall in shadow, its floor a little lighter
        wall = np.clip(1.0 - np.abs(ell - 0.7) / 0.45, 0.0, 1.0)
        dark = pit * np.maximum(0.55 * disc, wall * (ell < 1.2)) * is_open
        ring = np.exp(-(((ell - 1.7) / 0.55) ** 2))
        halo = d.halo_strength * site.halo[j] * ring * is_open
        whalo = 0.4 * d.white_halo * site.white_halo[j] * np.exp(-(((ell - 1.6) / 0.6) ** 2))
        yel = (site.yellow[j] & is_open) | marks.extra_yellow[j]
        ydisc = np.clip(1.35 - ell / 1.15, 0.0, 1.0) ** 0.7 * yel
        mel[has] += halo * d.melanin * 1.4 + halo * 0.25
        car[has] += ydisc * 1.3
        white[has] += whalo
        pit_map[has] = dark * (1.0 - 0.6 * ydisc)
        height[has] -= disc * is_open * 25.0
    del near, has
    # --- line things: vessels, creases, follicle canals
    paths: list[F64] = []
    reach: list[F64] = []
    kinds: list[int] = []
    vals: list[float] = []
    for p, wv in zip(marks.vessels, marks.vessel_w, strict=True):
        px, py = pose.to_px(p[:, 0], p[:, 1])
        paths.append(np.stack([px, py], axis=1))
        reach.append(np.full(len(p), 1.5 * wv / um + 2.0))
        kinds.append(0)
        vals.append(wv)
    for p, wc in zip(marks.creases, marks.crease_w, strict=True):
        px, py = pose.to_px(p[:, 0], p[:, 1])
        paths.append(np.stack([px, py], axis=1))
        reach.append(np.full(len(p), 1.5 * wc / um + 2.0))
        kinds.append(1)
        vals.append(wc)
    canal_dark: list[float] = []
    for p, wd, dk in canals:
        px, py = pose.to_px(p[:, 0], p[:, 1])
        paths.append(np.stack([px, py], axis=1))
        reach.append(np.full(len(p), 0.9 * wd / um + 1.5))
        kinds.append(2)
        vals.append(wd)
        canal_dark.append(dk)
    canal_map = np.zeros((h, w))
    if paths:
        band = polyline_band(paths, reach, w, h)
        kd = np.array(kinds)[band.path]
        width = np.array(vals)[band.path] / um
        dist = band.dist
        v_prof = np.exp(-((dist / (0.5 * width + 0.3)) ** 2))
        m = kd == 0
        hb += _band_sum(band, np.where(m, v_prof, 0.0), n).reshape(h, w) * d.vessel_strength * 2.2
        m = kd == 1
        c_prof = np.exp(-((dist / (0.5 * width + 0.3)) ** 2))
        height -= _band_sum(band, np.where(m, c_prof, 0.0), n).reshape(h, w) * (
            60.0 * d.crease_depth
        )
        m = kd == 2
        if m.any():
            # the canal fades with depth (the node runs from the skin down)
            nodes = np.array([len(paths[i]) for i in range(len(paths))])[band.path]
            depth = band.node / np.maximum(nodes - 1, 1)
            dark_of = np.zeros(len(paths))
            dark_of[len(paths) - len(canal_dark) :] = canal_dark
            prof = np.exp(-((dist / (0.5 * width + 0.4)) ** 2)) * np.exp(-2.5 * depth)
            canal_map = _band_sum(band, np.where(m, prof * dark_of[band.path], 0.0), n).reshape(
                h, w
            )
    # --- colour: dermal light blurred per colour (red travels furthest), epidermal melanin
    rgb = DERMIS[None, None, :] * np.exp(-(hb[..., None] * MU_HB + car[..., None] * MU_CAR))
    for c, spread_um in enumerate((55.0, 32.0, 20.0)):
        rgb[..., c] = ndimage.gaussian_filter(rgb[..., c], spread_um / um, mode="nearest")
    mel = ndimage.gaussian_filter(mel, max(4.0 / um, 0.3)) + 1.6 * canal_map
    rgb *= np.exp(-mel[..., None] * MU_MEL)
    # pinpoint white dots: no melanin, scattering dermis
    near = nearest_centres(*pose.to_px(marks.white_x, marks.white_y), w, h, 4)
    has = (near.index >= 0) & (near.dx**2 + near.dy**2 < (16.0 / um + 1.5) ** 2)
    if has.any():
        rr = marks.white_r[near.index[has]] / um
        dd = np.hypot(near.dx[has], near.dy[has])
        wmap = np.zeros((h, w))
        wmap[has] = np.clip(rr + 0.5 - dd, 0.0, 1.0) * np.clip(rr * 1.5, 0.3, 1.0)
        white += ndimage.gaussian_filter(wmap, 0.8) * 0.55
    white = np.clip(white, 0.0, 1.0)
    rgb = rgb * (1 - white[..., None]) + white[..., None] * DERMIS * 0.95
    # --- surface: relief under the ring light, pits, sebum shine
    gy, gx = np.gradient(ndimage.gaussian_filter(height, 0.7), um)
    el = math.radians(d.led_elev_deg)
    nz = 1.0 / np.sqrt(1.0 + gx * gx + gy * gy)
    lam = np.zeros((h, w))
    for k in range(d.leds):
        a = 2 * math.pi * k / d.leds + 0.3
        lx, ly, lz = math.cos(el) * math.cos(a), math.cos(el) * math.sin(a), math.sin(el)
        lam += np.clip((-gx * lx - gy * ly + lz) * nz, 0.0, None)
    lam /= d.leds * math.sin(el)
    cavity = height - ndimage.gaussian_filter(height, 30.0 / um)
    shade = lam * np.clip(1.0 + 0.012 * cavity, 0.55, 1.2) * (1.0 - pit_map)
    radiance = (rgb * shade[..., None]).astype(np.float32)
    shine = np.zeros((h, w), dtype=np.float32)
    if d.sebum > 0.01:
        seb = f["sebum"].astype(np.float64)
        glint = np.zeros((h, w))
        for k in range(d.leds):
            a = 2 * math.pi * k / d.leds + 0.3
            hx, hy = 0.5 * math.cos(el) * math.cos(a), 0.5 * math.cos(el) * math.sin(a)
            hz = 0.5 * (1 + math.sin(el))
            hn = math.sqrt(hx * hx + hy * hy + hz * hz)
            glint += np.clip((-gx * hx - gy * hy + hz) * nz / hn, 0.0, 1.0) ** 400
        pol = 0.08 if d.light == "polarised" else 1.0
        shine = (
            pol * d.sebum * (0.015 * seb + 0.9 * np.sqrt(seb) * glint / d.leds) * (1.0 - pit_map)
        ).astype(np.float32)
    # --- flakes (under or over the hair) and black dots
    under = np.zeros((h, w), dtype=np.float32)
    over = np.zeros((h, w), dtype=np.float32)
    if len(marks.flake_x):
        fpx, fpy = pose.to_px(marks.flake_x, marks.flake_y)
        widest = 2.0 * float(marks.flake_r.max()) / um + 2.0
        near = nearest_centres(fpx, fpy, w, h, int(min(80, math.ceil(widest))))
        has = (near.index >= 0) & (near.dx**2 + near.dy**2 < widest**2)
        if has.any():
            fk = near.index[has]
            sh = marks.flake_shape[fk]
            phi = np.arctan2(near.dy[has], near.dx[has])
            wig = np.ones_like(phi)
            for m in range(5):
                wig += sh[:, m] * np.cos((m + 2) * phi + sh[:, 5 + m])
            rad = marks.flake_r[fk] / um * wig
            dd = np.hypot(near.dx[has], near.dy[has])
            inner = np.clip(rad + 0.5 - dd, 0.0, 1.0)
            # a matte, powdery plate, thicker toward its lifted rim, uneven (the skin's
            # relief and speckle show through)
            rim = np.exp(-(((rad - dd) / max(15.0 / um, 1.0)) ** 2))
            grain = np.clip(0.8 + 0.6 * f["relief"][has] + 0.3 * f["speckle"][has], 0.25, 1.2)
            val = np.clip(inner * marks.flake_alpha[fk] * (grain + 0.25 * rim), 0.0, 0.92)
            ov = marks.flake_over[fk]
            under[has] = np.where(ov, 0.0, val)
            over[has] = np.where(ov, val, 0.0)
    flake_colour = np.array([0.92, 0.9, 0.84], dtype=np.float32) * (
        1.0 if d.light == "non-polarised" else 0.85
    )
    dots = np.zeros((h, w), dtype=np.float32)
    if len(dots_x):
        bpx, bpy = pose.to_px(dots_x, dots_y)
        bpad = math.ceil(0.6 * float(dots_d.max()) / um) + 2
        near = nearest_centres(bpx, bpy, w, h, bpad)
        has = (near.index >= 0) & (near.dx**2 + near.dy**2 < (bpad + 1.0) ** 2)
        if has.any():
            bk = near.index[has]
            phi = np.arctan2(near.dy[has], near.dx[has])
            rad = (
                0.5 * dots_d[bk] / um * (1.0 + 0.12 * np.sin(3 * phi + bk) + 0.08 * np.sin(5 * phi))
            )
            dd = np.hypot(near.dx[has], near.dy[has])
            dots[has] = np.clip(rad + 0.5 - dd, 0.0, 1.0) * 0.985
    return Skin(
        radiance,
        shine,
        under,
        over,
        np.broadcast_to(flake_colour, (3,)).copy(),
        dots,
    )
