"""A site's follicles and hairs, and which of them a visit sees.

Follicular openings sit on a jittered hexagonal lattice (follicular units keep a spacing);
each has four hair *slots* whose attributes (diameter, kind, colour, angle, shape seed) belong
to the site. At baseline a unit holds its first 1-4 slots; empty openings (yellow dots) and
latent openings hold none. A later visit keeps most hairs, sheds some or fills free slots
(in empty and latent openings too) to reach about ``factor`` times the hairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter
from scipy.spatial import cKDTree

from sim.blind4.geometry import Geometry
from sim.blind4.look import HAIR_SRGB, Look
from sim.blind4.rng import stream
from sim.blind4.spectral import CoarseFields
from sim.blind4.splat import END_BROKEN, END_NONE, END_OBLIQUE, END_SQUARE, END_TAPERED

KIND_NAMES = (
    "terminal",
    "intermediate",
    "vellus",
    "black_dot",
    "exclamation",
    "broken",
    "regrowing",
)
TERMINAL, INTERMEDIATE, VELLUS, BLACK_DOT, EXCLAMATION, BROKEN, REGROWING = range(7)
END_NAMES = {
    END_SQUARE: "cut",
    END_OBLIQUE: "cut",
    END_TAPERED: "tapered",
    END_BROKEN: "broken",
    END_NONE: "none",
}
SLOTS = 4


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


@dataclass
class Site:
    look: Look
    half_x: float
    half_y: float
    # openings
    ox: np.ndarray
    oy: np.ndarray
    okind: np.ndarray  # 0 follicular unit, 1 empty opening, 2 latent
    on0: np.ndarray
    oang: np.ndarray
    orad: np.ndarray
    o_yellow: np.ndarray
    o_halo: np.ndarray
    o_scale: np.ndarray
    # slots, SLOTS per opening, slot id = opening * SLOTS + k
    sx: np.ndarray
    sy: np.ndarray
    stheta: np.ndarray
    se0: np.ndarray
    sdiam: np.ndarray
    skind: np.ndarray
    swhite: np.ndarray
    scol: np.ndarray  # (n, 3) linear natural colour
    sdye: np.ndarray  # (n, 3) linear dyed colour (== scol when not dyed)
    sroot: np.ndarray  # um of undyed regrowth
    sopa: np.ndarray
    smed: np.ndarray
    smedtype: np.ndarray
    su: np.ndarray  # (n, 4) uniforms for per-hair choices
    # other site marks
    wx: np.ndarray
    wy: np.ndarray
    wr: np.ndarray
    part: tuple[float, float, float, float] | None  # point and unit direction of a comb part
    part_width: float


def _hex_points(
    rng: np.random.Generator, density_um2: float, hx: float, hy: float, jitter: float
) -> np.ndarray:
    if density_um2 <= 0:
        return np.zeros((0, 2))
    a = math.sqrt(2.0 / (math.sqrt(3.0) * density_um2))
    big = math.hypot(hx, hy)
    n = int(big / a) + 2
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1))
    pts = np.stack([(i + 0.5 * j) * a, j * a * math.sqrt(3.0) / 2.0], -1).reshape(-1, 2)
    th = rng.uniform(0, math.pi)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    pts = pts @ rot.T + rng.uniform(-a, a, 2)
    pts += rng.normal(0, jitter * a, pts.shape)
    ok = (np.abs(pts[:, 0]) <= hx) & (np.abs(pts[:, 1]) <= hy)
    return np.asarray(pts[ok])


def _scatter(
    rng: np.random.Generator, count: int, hx: float, hy: float, avoid: np.ndarray, gap: float
) -> np.ndarray:
    if count <= 0:
        return np.zeros((0, 2))
    pts = np.stack([rng.uniform(-hx, hx, count * 2), rng.uniform(-hy, hy, count * 2)], -1)
    if avoid.size:
        d, _ = cKDTree(avoid).query(pts)
        pts = pts[d > gap]
    return np.asarray(pts[:count])


def build_site(seed: int, look: Look, geo: Geometry, fields: CoarseFields) -> Site:
    rng = stream(seed, "site")
    w_um = geo.width * geo.s
    h_um = geo.height * geo.s
    shift_margin = 0.06 * max(w_um, h_um) + 0.08 * math.hypot(w_um, h_um) + 300.0
    reach = 1700.0 if look.hair_length == "trimmed" else 3200.0
    margin = shift_margin + reach
    hx = w_um / 2 + margin
    hy = h_um / 2 + margin
    fu_sizes = np.array(look.fu_sizes)
    mean_fu = float((fu_sizes * np.arange(1, 5)).sum() / fu_sizes.sum())
    rho_fu = look.density_per_cm2 / mean_fu / 1e8
    fus = _hex_points(rng, rho_fu, hx, hy, 0.2)
    spacing = math.sqrt(1.0 / max(rho_fu, 20.0 / 1e8))
    n_fu = len(fus)
    n_empty = round(n_fu * look.empty_openings)
    if n_fu == 0:
        n_empty = round(hx * hy * 4 / 1e8 * 40 * look.empty_openings)
    empty = _scatter(rng, n_empty, hx, hy, fus, 0.3 * spacing)
    placed = np.concatenate([fus, empty]) if len(empty) else fus
    n_latent = max(n_fu, int(hx * hy * 4 / 1e8 * 30))
    latent = _scatter(rng, n_latent, hx, hy, placed, 0.25 * spacing)
    opts = np.concatenate([fus, empty, latent])
    n_open = len(opts)
    okind = np.concatenate(
        [
            np.zeros(len(fus), np.int8),
            np.ones(len(empty), np.int8),
            np.full(len(latent), 2, np.int8),
        ]
    )
    ox = opts[:, 0] if n_open else np.zeros(0)
    oy = opts[:, 1] if n_open else np.zeros(0)
    on0 = np.zeros(n_open, np.int64)
    if n_fu:
        on0[:n_fu] = rng.choice(np.arange(1, 5), size=n_fu, p=fu_sizes / fu_sizes.sum())
    flow = math.radians(look.flow_deg)
    wob = math.radians(look.flow_wobble_deg)
    oang = flow + wob * 1.6 * fields.at("misc", ox, oy) + rng.normal(0, 0.12, n_open)
    orad = rng.uniform(35, 70, n_open)
    o_yellow = (okind == 1) & look.yellow_dots & (rng.random(n_open) < 0.85)
    o_halo = (okind == 0) & look.halos & (rng.random(n_open) < 0.55)
    o_scale = (okind == 0) & look.perifollicular_scale & (rng.random(n_open) < 0.35)

    # ---- slots
    n = n_open * SLOTS
    k = np.tile(np.arange(SLOTS), n_open)
    oi = np.repeat(np.arange(n_open), SLOTS)
    u_kind = rng.random(n)
    lk = look
    cuts = np.cumsum(
        [
            lk.black_dot_fraction,
            lk.exclamation_fraction,
            lk.broken_fraction,
            lk.regrowing_fraction,
            lk.vellus_fraction,
            lk.intermediate_fraction,
        ]
    )
    codes = np.array([BLACK_DOT, EXCLAMATION, BROKEN, REGROWING, VELLUS, INTERMEDIATE])
    pos = np.searchsorted(cuts, u_kind, side="right")
    skind = np.where(pos < len(codes), codes[np.minimum(pos, len(codes) - 1)], TERMINAL)
    term = np.clip(rng.normal(lk.terminal_um, 11.0, n), 52, 118)
    diam = term.copy()
    diam = np.where(skind == INTERMEDIATE, rng.uniform(30, 52, n), diam)
    diam = np.where(skind == VELLUS, rng.uniform(14, 29.5, n), diam)
    diam = np.where(skind == BLACK_DOT, np.clip(term * 0.9, 40, 100), diam)
    diam = np.where(skind == EXCLAMATION, rng.uniform(55, 92, n), diam)
    diam = np.where(skind == REGROWING, rng.uniform(24, 60, n), diam)
    # where the hairs of one unit leave the opening: side by side across the unit's direction
    side = np.array([0.0, 0.55, -0.55, 1.1])[k]
    sep = np.clip(diam, 40, 100) * 1.15
    ang = oang[oi]
    px_, py_ = -np.sin(ang), np.cos(ang)
    along = rng.normal(0, 8.0, n)
    sx = ox[oi] + side * sep * px_ + along * np.cos(ang)
    sy = oy[oi] + side * sep * py_ + along * np.sin(ang)
    fan = np.radians(rng.uniform(4, 16, n)) * np.sign(side)
    stheta = ang + fan + rng.normal(0, math.radians(5), n)
    stheta = np.where(skind == VELLUS, stheta + rng.normal(0, math.radians(25), n), stheta)
    se0 = np.radians(rng.uniform(18, 52, n))
    # colour
    nat = srgb_to_linear(np.array(HAIR_SRGB[lk.natural_colour]))
    white = srgb_to_linear(np.array(HAIR_SRGB["white"]))
    swhite = rng.random(n) < lk.white_fraction
    jit = np.exp(rng.normal(0, 0.13, (n, 1))) * np.exp(rng.normal(0, 0.04, (n, 3)))
    scol = np.where(swhite[:, None], white * np.exp(rng.normal(0, 0.05, (n, 3))), nat * jit)
    # a little yellowing of some white hairs
    yell = np.array([1.0, 0.97, 0.86])
    scol = np.where(swhite[:, None] & (rng.random((n, 1)) < 0.4), scol * yell, scol)
    pale = srgb_to_linear(np.array([206.0, 182.0, 152.0]))
    lighten = rng.uniform(0.25, 0.55, (n, 1))
    vel = (skind == VELLUS)[:, None] & ~swhite[:, None]
    scol = np.where(vel, scol * (1 - lighten) + pale * lighten, scol)
    if lk.dye_colour != "none":
        dyed = srgb_to_linear(np.array(HAIR_SRGB[lk.dye_colour]))
        sdye = dyed * np.exp(rng.normal(0, 0.06, (n, 1))) * np.exp(rng.normal(0, 0.03, (n, 3)))
    else:
        sdye = scol.copy()
    sroot = lk.dye_root_mm * 1000.0 * rng.uniform(0.85, 1.15, n)
    lum = scol @ np.array([0.2126, 0.7152, 0.0722])
    sopa = np.clip(0.99 - 0.45 * np.sqrt(np.clip(lum, 0, 1)), 0.55, 0.98)
    sopa = np.where(skind == VELLUS, sopa * 0.85, sopa)
    p_med = np.where(skind == TERMINAL, 0.45, np.where(skind == INTERMEDIATE, 0.15, 0.0))
    p_med = np.where(swhite & (skind == TERMINAL), 0.7, p_med)
    smed = np.where(rng.random(n) < p_med, rng.uniform(0.16, 0.32, n), 0.0)
    smedtype = rng.integers(0, 3, n)
    su = rng.random((n, 4))

    # eccrine / empty pinpoint white dots
    nwd = int(lk.white_dot_per_cm2 * (2 * hx) * (2 * hy) / 1e8)
    wd = _scatter(rng, nwd, hx, hy, opts[okind < 2] if n_open else np.zeros((0, 2)), 110.0)
    wr = rng.uniform(18, 45, len(wd))
    part = None
    part_w = 0.0
    if lk.part_line:
        pa = flow + rng.uniform(-0.45, 0.45)
        part = (
            float(rng.uniform(-0.25, 0.25) * w_um),
            float(rng.uniform(-0.25, 0.25) * h_um),
            math.cos(pa),
            math.sin(pa),
        )
        part_w = float(rng.uniform(250, 900))
    return Site(
        look=look,
        half_x=hx,
        half_y=hy,
        ox=ox,
        oy=oy,
        okind=okind,
        on0=on0,
        oang=oang,
        orad=orad,
        o_yellow=o_yellow,
        o_halo=o_halo,
        o_scale=o_scale,
        sx=sx,
        sy=sy,
        stheta=stheta,
        se0=se0,
        sdiam=diam,
        skind=skind.astype(np.int64),
        swhite=swhite,
        scol=scol.astype(np.float32),
        sdye=sdye.astype(np.float32),
        sroot=sroot,
        sopa=sopa,
        smed=smed,
        smedtype=smedtype,
        su=su,
        wx=wd[:, 0] if len(wd) else np.zeros(0),
        wy=wd[:, 1] if len(wd) else np.zeros(0),
        wr=wr,
        part=part,
        part_width=part_w,
    )


@dataclass
class Visit:
    tag: str
    geo: Geometry
    slots: np.ndarray  # slot ids present
    new: np.ndarray  # bool: grown since baseline
    kind: np.ndarray
    diam: np.ndarray
    length: np.ndarray  # 3-D length above the skin, um
    end: np.ndarray
    cut_angle: np.ndarray  # rad, oblique cut
    long_mode: np.ndarray  # bool: lies along the skin
    heading_jitter: np.ndarray
    shed: int
    grown: int


def baseline_slots(site: Site) -> np.ndarray:
    k = np.tile(np.arange(SLOTS), len(site.ox))
    oi = np.repeat(np.arange(len(site.ox)), SLOTS)
    return np.flatnonzero(k < site.on0[oi])


def build_visit(
    seed: int,
    site: Site,
    base_geo: Geometry,
    regrown: tuple[float, int] | None,
    hairless: bool,
) -> Visit:
    look = site.look
    base = baseline_slots(site)
    if regrown is None:
        rng = stream(seed, "visit", "baseline")
        geo = base_geo
        present = base
        new = np.zeros(base.size, bool)
        shed = grown = 0
        tag = "baseline"
    else:
        factor, seed2 = regrown
        rng = stream(seed, "visit", seed2 & ((1 << 64) - 1), (seed2 >> 64) & ((1 << 64) - 1))
        w_um = base_geo.width * base_geo.s
        h_um = base_geo.height * base_geo.s
        geo = Geometry(
            base_geo.width,
            base_geo.height,
            base_geo.s,
            rot=math.radians(float(rng.uniform(-4, 4))),
            tx=float(rng.uniform(-0.04, 0.04) * w_um),
            ty=float(rng.uniform(-0.04, 0.04) * h_um),
            k=base_geo.k,
            ca=base_geo.ca,
        )
        n0 = base.size
        target = round(factor * n0)
        if factor < 1.0:
            w = 1.0 + site.sdiam[base] / 50.0
            key = np.log(w) - np.log(-np.log(rng.random(n0)))
            keep = base[np.argsort(-key)[:target]]
            present = np.sort(keep)
            new = np.zeros(present.size, bool)
            shed = n0 - target
            grown = 0
        else:
            n_shed = round(n0 * rng.uniform(0.0, 0.04))
            order = rng.permutation(n0)
            kept = np.sort(base[order[n_shed:]])
            need = target - kept.size
            n_open = len(site.ox)
            k = np.tile(np.arange(SLOTS), n_open)
            oi = np.repeat(np.arange(n_open), SLOTS)
            free = k >= site.on0[oi]
            free[base] = False
            cand = np.flatnonzero(free)
            rounds = (k - site.on0[oi])[cand].astype(float)
            late = np.array([1.0, 0.7, 2.0])[site.okind[oi[cand]]]
            prio = rounds + rng.random(cand.size) * late
            add = cand[np.argsort(prio)[: max(need, 0)]]
            present = np.concatenate([kept, add])
            new = np.concatenate([np.zeros(kept.size, bool), np.ones(add.size, bool)])
            o = np.argsort(present)
            present = present[o]
            new = new[o]
            shed = n_shed
            grown = int(add.size)
        tag = "regrown"
    if hairless:
        present = present[:0]
        new = new[:0]
    m = present.size
    kind = site.skind[present].copy()
    diam = site.sdiam[present].copy()
    grow = new & np.isin(kind, [TERMINAL, INTERMEDIATE, BROKEN, EXCLAMATION])
    kind = np.where(grow, REGROWING, kind)
    diam = np.where(grow, diam * rng.uniform(0.55, 0.9, m), diam)
    su = site.su[present]
    if look.hair_length == "trimmed":
        long_mode = np.zeros(m, bool)
    elif look.hair_length == "long":
        long_mode = np.ones(m, bool)
    else:
        long_mode = su[:, 0] < 0.5
    stub = rng.uniform(200, 1500, m)
    stub = np.where(rng.random(m) < 0.12, rng.uniform(200, 350, m), stub)
    long_len = np.clip(look.long_median_mm * 1000 * np.exp(0.5 * rng.standard_normal(m)), 2000, 4e4)
    oblique = rng.random(m) < 0.4
    cut_end = np.where(oblique, END_OBLIQUE, END_SQUARE)
    length = np.where(long_mode, long_len, stub)
    end = np.where(long_mode, np.where(rng.random(m) < 0.25, END_TAPERED, cut_end), cut_end)
    inter_long = rng.random(m) < 0.5
    short_taper = rng.uniform(1000, 5000, m)
    sel = (kind == INTERMEDIATE) & long_mode & ~inter_long
    length = np.where(sel, short_taper, length)
    end = np.where(sel, END_TAPERED, end)
    sel = kind == VELLUS
    length = np.where(sel & long_mode, rng.uniform(300, 2500, m), length)
    end = np.where(sel & long_mode, END_TAPERED, end)
    sel = kind == REGROWING
    rl = np.where(long_mode, rng.uniform(500, 5000, m), rng.uniform(200, 1200, m))
    length = np.where(sel, rl, length)
    end = np.where(sel, END_TAPERED, end)
    sel = kind == BROKEN
    length = np.where(
        sel, np.where(long_mode, rng.uniform(300, 4000, m), rng.uniform(200, 1000, m)), length
    )
    end = np.where(sel, END_BROKEN, end)
    sel = kind == EXCLAMATION
    length = np.where(sel, rng.uniform(800, 3000, m), length)
    end = np.where(sel, END_BROKEN, end)
    sel = kind == BLACK_DOT
    length = np.where(sel, 0.0, length)
    end = np.where(sel, END_NONE, end)
    cut_angle = np.radians(rng.uniform(25, 60, m)) * np.where(rng.random(m) < 0.5, -1, 1)
    jitter = np.where(long_mode, rng.normal(0, math.radians(4), m), rng.normal(0, 0.01, m))
    return Visit(
        tag=tag,
        geo=geo,
        slots=present,
        new=new,
        kind=kind.astype(np.int64),
        diam=diam,
        length=length,
        end=end.astype(np.int64),
        cut_angle=cut_angle,
        long_mode=long_mode,
        heading_jitter=jitter,
        shed=int(shed),
        grown=int(grown),
    )


@dataclass
class Chain:
    """A hair's centreline above the skin in site um, finely sampled."""

    x: np.ndarray
    y: np.ndarray
    heading: np.ndarray
    elev: np.ndarray
    s: np.ndarray


def hair_chain(
    rng: np.random.Generator,
    x0: float,
    y0: float,
    theta: float,
    e0: float,
    length: float,
    extra: float,
    lying: bool,
    comb: float | None,
    curl: str,
    step: float,
) -> Chain:
    """Centreline from the emergence: rising at ``e0``, then (if ``lying``) lying down along
    ``comb`` with a curvature that wanders; stubs stay nearly straight."""
    total = length + extra
    hc = float(np.clip(total / 12.0, 4.0, 40.0))
    nc = math.ceil(total / hc) + 1
    sc = np.linspace(0.0, total, nc)
    if lying:
        corr = rng.uniform(500, 2000)
        a = math.exp(-hc / corr)
        white = rng.standard_normal(nc) * math.sqrt(1 - a * a)
        white[0] = rng.standard_normal()
        ou = lfilter([1.0], [1.0, -a], white)
        kappa = ou * rng.uniform(0.03, 0.12) / 1000.0
        if curl == "curly":
            kappa += rng.choice([-1.0, 1.0]) / rng.uniform(1500, 5000)
        heading = np.cumsum(kappa) * hc
        heading -= heading[0]
        if curl == "wavy":
            lam = rng.uniform(2000, 6000)
            heading += rng.uniform(0.15, 0.45) * np.sin(
                2 * math.pi * sc / lam + rng.uniform(0, 6.3)
            )
        target = theta if comb is None else comb
        l_comb = rng.uniform(500, 1800)
        rel = np.exp(-sc / l_comb)
        heading = heading + target + (theta - target) * rel
        l_e = rng.uniform(120, 600)
        und = 0.1 * np.sin(2 * math.pi * sc / rng.uniform(400, 1500) + rng.uniform(0, 6.3))
        und += 0.05 * np.sin(2 * math.pi * sc / rng.uniform(150, 400) + rng.uniform(0, 6.3))
        elev = e0 * np.exp(-sc / l_e) + und * (1 - np.exp(-sc / l_e))
    else:
        bend = rng.normal(0, 0.06) / 1000.0
        heading = theta + bend * sc
        elev = np.full(nc, e0)
    nf = max(2, math.ceil(total / step) + 1)
    sf = np.linspace(0.0, total, nf)
    hf = np.interp(sf, sc, heading)
    ef = np.interp(sf, sc, elev)
    ds = np.diff(sf)
    ce = np.cos(ef)
    vx = ce * np.cos(hf)
    vy = ce * np.sin(hf)
    x = np.concatenate([[x0], x0 + np.cumsum(0.5 * (vx[1:] + vx[:-1]) * ds)])
    y = np.concatenate([[y0], y0 + np.cumsum(0.5 * (vy[1:] + vy[:-1]) * ds)])
    return Chain(x=x, y=y, heading=hf, elev=ef, s=sf)
