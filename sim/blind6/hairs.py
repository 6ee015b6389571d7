"""Hairs of blind-6: the follicle pool of a scalp, each hair's own draw, its path above the
skin (a 3-D march turned into a cubic Bezier spline in image pixels), its ribbon of quads
with the two end caps, and the procedural texture that colours the ribbon."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.blind6.noise import table_noise
from sim.blind6.raster import Hits, Raster, bezier_chain, fan_quads, ribbon_quads
from sim.blind6.rng import HAIRTEX, POOL, SCENE, UNIT, stream
from sim.blind6.scene import HAIR_TYPES, MELANIN, TYPE_WEIGHTS, Scene
from sim.blind6.view import View

Arr = npt.NDArray[Any]

EUMELANIN = np.array([0.419, 0.697, 1.37])
PHEOMELANIN = np.array([0.187, 0.4, 1.05])
SLOT_STEP = 0.1  # rank step between a follicular unit's hairs


# ----------------------------------------------------------------------------- the pool
@dataclass
class Pool:
    """Every follicular unit that could hold hairs in the region around the frame (scalp um),
    with the ranks that decide, visit by visit, which of its slots hold a hair."""

    x: Arr
    y: Arr
    rank: Arr
    cap: Arr
    azimuth: Arr
    open_r: Arr
    open_kind: Arr  # 0 plain opening, 1 yellow dot, 2 white dot
    slot_unit: Arr
    slot_j: Arr
    slot_rank: Arr
    n_base: int
    tau_open: float
    region: tuple[float, float, float, float]

    def selected(self, factor: float) -> Arr:
        """Slot indices holding a hair at a visit whose hair count is ``factor`` times the
        baseline's (the lowest ranks first)."""
        n = min(round(factor * self.n_base), self.slot_rank.size)
        order = np.argsort(self.slot_rank, kind="stable")
        return np.sort(order[:n])

    def openings(self) -> Arr:
        """Units drawn as openings on the skin (hair-bearing or empty), same at every visit."""
        return np.nonzero(self.rank < self.tau_open)[0]


def reach_um(sc: Scene) -> float:
    """How far (um) a hair's visible shaft can reach from its follicle."""
    trimmed = sc.clip_um * 1.4 + 2600.0 * 0.4
    if sc.long_share > 0:
        return max(trimmed, lying_length(sc) * 1.6 + 900.0)
    return trimmed


def lying_length(sc: Scene) -> float:
    """Mean length (um) of a long hair's part lying in the field: long hair covers a share
    ``cover`` of the frame, whatever the density."""
    cover = float(sc.extras.get("cover", 0.4))
    per_um2 = sc.density * max(sc.long_share, 0.05) / 1e8
    return float(np.clip(cover / (per_um2 * sc.terminal_d), 800.0, sc.long_um))


def build_pool(seed: int, sc: Scene) -> Pool:
    g = stream(seed, POOL)
    s = sc.um_per_px
    hx = sc.width * s / 2.0
    hy = sc.height * s / 2.0
    m = reach_um(sc) + 0.045 * max(sc.width, sc.height) * s
    x0, x1, y0, y1 = -hx - m, hx + m, -hy - m, hy + m
    area_cm2 = (x1 - x0) * (y1 - y0) * 1e-8
    n_target = sc.density * area_cm2
    n_base = math.floor(n_target + g.random())
    sizes = np.asarray(sc.unit_sizes, dtype=np.float64)
    sizes = sizes / sizes.sum()
    mean_cap = float(np.dot(sizes, [1, 2, 3, 4]))
    want = max(4, math.ceil(3.4 * max(n_target, 1.0) / mean_cap))
    aspect = (x1 - x0) / (y1 - y0)
    ny = max(1, round(math.sqrt(want / aspect)))
    nx = max(1, math.ceil(want / ny))
    n = nx * ny
    ix = np.tile(np.arange(nx), ny)
    iy = np.repeat(np.arange(ny), nx)
    ux = x0 + (ix + g.random(n)) * (x1 - x0) / nx
    uy = y0 + (iy + g.random(n)) * (y1 - y0) / ny
    rank = g.random(n)
    cap = g.choice(4, size=n, p=sizes) + 1
    swirl = math.radians(sc.flow_swirl)
    ph = g.uniform(0, 2 * math.pi, 2)
    flow = (
        math.radians(sc.flow_deg)
        + swirl * np.sin(ux / 4000.0 + ph[0]) * np.cos(uy / 5000.0 + ph[1])
        + g.normal(0.0, 0.25, n)
    )
    open_r = g.uniform(16.0, 42.0, n)
    p_yellow = {"areata": 0.45, "androgenetic": 0.2, "mixed": 0.15}.get(sc.pattern, 0.04)
    p_white = 0.18 if sc.skin_tone == "dark" else 0.05
    kind_draw = g.random(n)
    open_kind = np.where(kind_draw < p_yellow, 1, np.where(kind_draw < p_yellow + p_white, 2, 0))
    slot_unit = np.concatenate([np.nonzero(cap > j)[0] for j in range(4)])
    slot_j = np.concatenate([np.full(int(np.sum(cap > j)), j) for j in range(4)])
    slot_rank = rank[slot_unit] + SLOT_STEP * slot_j
    order = np.argsort(slot_rank, kind="stable")
    tau0 = float(slot_rank[order[n_base - 1]]) if n_base > 0 else 0.0
    empty = {"areata": 0.25, "androgenetic": 0.18, "effluvium": 0.12}.get(sc.pattern, 0.06)
    tau_open = tau0 + float(g.uniform(0.3, 1.0)) * empty + 1e-9
    return Pool(
        ux,
        uy,
        rank,
        cap,
        flow,
        open_r,
        open_kind,
        slot_unit,
        slot_j,
        slot_rank,
        n_base,
        tau_open,
        (x0, x1, y0, y1),
    )


# ------------------------------------------------------------------------- one hair's draw
@dataclass
class HairSpec:
    unit: int
    slot: int
    x: float
    y: float
    kind: str
    d0: float
    length: float
    end: str  # "cut" (blunt), "taper" (natural tip), "exit" (leaves the field upwards)
    azimuth: float
    elev: float
    rise: float
    lying: bool
    lie_len: float
    curvature: float
    wave_amp: float
    wave_len: float
    wave_phase: float
    coil_r: float
    coil_period: float
    coil_eta: float
    coil_phase: float
    taper: float
    excl: float
    sig_a: Arr
    sig_s: float
    root_sig_a: Arr | None
    root_len: float
    white: bool
    medulla_w: float
    medulla_cont: float
    cuticle_um: float
    cuticle_c: float
    gran_c: float
    gran_len: float
    spec_k: float
    spec_w: float
    sub_alpha: float
    sub_len: float
    halo: float
    frayed: float
    z: float
    extra: dict[str, float] = field(default_factory=dict)


def _melanin(g: np.random.Generator, label: str, scale: float) -> Arr:
    (e_lo, e_hi), (p_lo, p_hi) = MELANIN[label]
    ce = g.uniform(e_lo, e_hi) * scale
    cp = g.uniform(p_lo, p_hi) * scale
    out = ce * EUMELANIN + cp * PHEOMELANIN
    if label == "dyed-black":
        out = out + np.array([0.02, 0.035, 0.02])
    return np.asarray(out)


def hair_specs(seed: int, sc: Scene, pool: Pool, slots: Arr) -> list[HairSpec]:
    """The hairs held by ``slots``; each unit's draws come from its own stream, so a hair
    is the same at every visit that holds it."""
    out: list[HairSpec] = []
    weights = np.asarray(TYPE_WEIGHTS[sc.pattern], dtype=np.float64)
    base_colour = sc.hair_colour if sc.hair_colour in MELANIN else "brown"
    if sc.hair_colour in ("grey", "white"):
        # the colour of the hairs that kept their pigment
        pick = int(stream(seed, SCENE, 3).integers(0, 4))
        base_colour = ("black", "dark-brown", "brown", "light-brown")[pick]
    units = np.unique(pool.slot_unit[slots])
    chosen = {(int(pool.slot_unit[k]), int(pool.slot_j[k])) for k in slots}
    for u in units:
        g = stream(seed, UNIT, int(u))
        r = g.random((4, 24))
        nrm = g.normal(0.0, 1.0, (4, 8))
        for j in range(4):
            if (int(u), j) not in chosen:
                continue
            out.append(_one_hair(sc, pool, int(u), j, r[j], nrm[j], weights, base_colour, g))
    return out


def _one_hair(
    sc: Scene,
    pool: Pool,
    u: int,
    j: int,
    r: Arr,
    nrm: Arr,
    weights: Arr,
    base_colour: str,
    g: np.random.Generator,
) -> HairSpec:
    w = weights.copy()
    if j > 0 and sc.pattern in ("androgenetic", "mixed"):
        w[2] *= 1.8
        w[1] *= 1.4
    if j > 0:
        w[6] *= 0.3
    w = w / w.sum()
    kind = HAIR_TYPES[int(np.searchsorted(np.cumsum(w), r[0] * 0.999999))]
    spread = 12.0 + 30.0 * r[1]
    ang = r[2] * 2 * math.pi
    ox = (j > 0) * spread * math.cos(ang)
    oy = (j > 0) * spread * math.sin(ang)
    x = float(pool.x[u] + ox)
    y = float(pool.y[u] + oy)
    # diameter near the skin
    if kind in ("terminal", "broken", "black-dot"):
        d0 = sc.terminal_d + 11.0 * nrm[0]
    elif kind == "intermediate":
        d0 = 30.0 + 25.0 * r[3]
    elif kind == "vellus":
        d0 = 10.0 + 19.0 * r[3]
    elif kind == "regrowing":
        d0 = 25.0 + 45.0 * r[3]
    else:  # exclamation: thin at the skin
        d0 = 22.0 + 25.0 * r[3]
    d0 = float(np.clip(d0, 10.0, 120.0))
    # direction
    fan = math.radians(18.0 if sc.hair_length != "trimmed" else 40.0)
    azimuth = float(pool.azimuth[u] + fan * nrm[1] * (0.4 if j == 0 else 1.0))
    lo, hi = sc.elev_deg
    elev = math.radians(lo + (hi - lo) * r[4])
    if kind in ("vellus", "regrowing"):
        elev = math.radians(min(85.0, math.degrees(elev) + 10.0 * r[5]))
    lying = False
    lie_len = 0.0
    end = "taper"
    long_hair = r[6] < sc.long_share
    taper = 0.0
    excl = 1.0
    frayed = 0.0
    if kind in ("terminal", "intermediate"):
        if long_hair:
            lying = True
            lie_len = lying_length(sc) * (0.45 + 1.1 * r[7])
            length = lie_len + 900.0 + 700.0 * r[8]
            end = "exit" if r[9] < 0.85 else "taper"
            if end == "taper":
                length = lie_len
                # a natural tip thins over its last 1.5-3.5 mm, never over the whole hair (the
                # root keeps its listed diameter)
                taper = min(1500.0 + 2000.0 * r[10], 0.6 * length)
        else:
            length = sc.clip_um * (0.75 + 0.5 * r[7])
            end = "cut"
    elif kind == "vellus":
        length = 200.0 + 2300.0 * r[7] ** 1.5
        taper = length * (0.4 + 0.5 * r[10])
        if sc.long_share < 1.0 and length > sc.clip_um * 1.2 and r[9] < 1.0 - sc.long_share:
            length = sc.clip_um * (0.8 + 0.4 * r[8])
            end = "cut"
    elif kind == "regrowing":
        length = 100.0 + 1400.0 * r[7]
        taper = length * (0.6 + 0.4 * r[10])
    elif kind == "broken":
        length = 120.0 + 1600.0 * r[7] ** 1.3
        if sc.long_share < 0.5:
            length = min(length, sc.clip_um * (0.6 + 0.4 * r[8]))
        end = "cut"
        frayed = 0.3 + 0.6 * r[10]
    elif kind == "exclamation":
        length = 350.0 + 2000.0 * r[7]
        end = "cut"
        excl = 1.7 + 0.9 * r[10]
        frayed = 0.4 + 0.5 * r[11]
        elev = math.radians(max(50.0, math.degrees(elev)))
    else:  # black dot
        length = 0.0
        end = "cut"
    if sc.light == "immersion":
        elev *= 0.55
    # colour
    white = bool(r[12] < sc.grey_share)
    pig_scale = 0.85 + 0.3 * r[13]
    if kind == "vellus":
        pig_scale *= 0.05 + 0.35 * r[14]
    elif kind == "intermediate":
        pig_scale *= 0.55 + 0.4 * r[14]
    elif kind == "exclamation":
        pig_scale *= 1.2
    if white:
        ce = 0.0006 + 0.004 * r[15] ** 2
        cp = 0.0008 + 0.004 * r[16]
        sig_a = np.asarray(ce * EUMELANIN + cp * PHEOMELANIN)
        sig_s = 0.004 + 0.007 * r[17]
    else:
        sig_a = _melanin(g, base_colour, pig_scale)
        sig_s = 0.0025 + 0.0035 * r[17]
    root_sig = None
    root_len = 0.0
    if sc.hair_colour == "dyed-black" and not white and kind in ("terminal", "intermediate"):
        root_len = sc.dye_root_um * (0.85 + 0.3 * r[18])
        root_sig = sig_a * (0.35 if r[19] < 0.5 else 0.1)
        sig_a = _melanin(g, "dyed-black", 1.0)
    medulla_w = 0.0
    medulla_cont = 0.0
    if kind in ("terminal", "broken", "exclamation") and r[20] < 0.65:
        medulla_w = 0.12 + 0.22 * r[21]
        medulla_cont = float(g.uniform(-0.5, 0.9))  # threshold: low = continuous
    curvature = float(nrm[2]) * 0.00012
    wave_amp = sc.wave_amp * (0.6 + 0.8 * float(r[22]))
    coil_r = sc.coil_radius_um * (0.7 + 0.6 * float(r[23])) if sc.coil_radius_um else 0.0
    coil_r = max(coil_r, 1.3 * d0) if coil_r else 0.0
    if kind in ("vellus",):
        coil_r *= 0.5
    sub_alpha = 0.0
    sub_len = 0.0
    darkness = float(1.0 - math.exp(-sig_a[1] * d0))
    if sc.sub_follicle > 0 and kind != "black-dot":
        sub_alpha = sc.sub_follicle * darkness * (0.6 + 0.4 * float(g.random()))
        sub_len = float(g.uniform(150.0, 600.0))
    halo = float(g.random() < sc.halo_prob) * float(g.uniform(0.4, 1.0))
    return HairSpec(
        unit=u,
        slot=j,
        x=x,
        y=y,
        kind=kind,
        d0=d0,
        length=float(length),
        end=end,
        azimuth=azimuth,
        elev=float(np.clip(elev, math.radians(4.0), math.radians(88.0))),
        rise=float(g.uniform(150.0, 700.0)),
        lying=lying,
        lie_len=float(lie_len),
        curvature=curvature,
        wave_amp=float(wave_amp),
        wave_len=float(sc.wave_len_um * g.uniform(0.7, 1.3)),
        wave_phase=float(g.uniform(0, 2 * math.pi)),
        coil_r=float(coil_r),
        coil_period=float(sc.coil_period_um * g.uniform(0.75, 1.3)),
        coil_eta=_coil_eta(float(g.uniform(0.2, 1.0)), coil_r, sc.coil_period_um),
        coil_phase=float(g.uniform(0, 2 * math.pi)),
        taper=float(taper),
        excl=float(excl),
        sig_a=sig_a,
        sig_s=float(sig_s),
        root_sig_a=root_sig,
        root_len=float(root_len),
        white=white,
        medulla_w=float(medulla_w),
        medulla_cont=medulla_cont,
        cuticle_um=float(g.uniform(5.0, 9.0)),
        cuticle_c=float(g.uniform(0.04, 0.18)),
        gran_c=float(g.uniform(0.08, 0.3)),
        gran_len=float(g.uniform(40.0, 120.0)),
        spec_k=float(sc.specular * g.uniform(0.6, 1.25)),
        spec_w=float(g.uniform(0.06, 0.18)),
        sub_alpha=float(sub_alpha),
        sub_len=sub_len,
        halo=halo,
        frayed=float(frayed),
        z=float(g.normal(0.0, 150.0)),
    )


def _coil_eta(eta: float, radius: float, period: float) -> float:
    """Keep a projected helix away from cusps: its along-axis swing (eta r omega) either
    clearly below the axis' own speed (waves) or clearly above it (loops)."""
    if radius <= 0 or period <= 0:
        return eta
    ratio = eta * 2 * math.pi * radius / period
    if 0.55 < ratio < 1.7:
        target = 0.55 if ratio < 1.1 else 1.7
        eta = eta * target / ratio
    return float(min(eta, 1.0))


# ------------------------------------------------------------------------ the hair's path
@dataclass
class Strand:
    """A hair placed in one view: its ribbon stations in pixels and their attributes."""

    spec: HairSpec
    ex: float  # emergence in pixels
    ey: float
    pts: Arr  # (n, 2) shaft stations, px (start cap, shaft, end cap)
    half: Arr  # (n,) half-width, px
    u: Arr  # (n,) um along the shaft (negative on the start cap)
    d: Arr  # (n,) local diameter, um
    op: Arr  # (n,) opacity factor
    vs: Arr  # (n,) specular line's v
    h: Arr  # (n,) height above the skin, um
    zone: Arr  # (n - 1,) per quad: 1 shaft, 2 cut face
    sub_pts: Arr | None
    sub_half: Arr | None
    tip: tuple[float, float] | None
    tip_cut: bool
    tip_d: float
    z: float


def _march(sp: HairSpec, sc: Scene, plate: float) -> Arr:
    """Knots (m, 6) of the axis above the skin: x, y (um, scalp), height, arc length u,
    diameter, sine of elevation."""
    length = sp.length
    ds = min(30.0, max(length / 8.0, 4.0))
    if sp.coil_r > 0:
        ds = min(ds, sp.coil_period / 14.0)
    n = max(3, math.ceil(length / ds) + 1)
    s = np.linspace(0.0, length, n)
    if sp.lying:
        elev = sp.elev * np.exp(-s / sp.rise)
        if sp.end == "exit":
            t = np.clip((s - sp.lie_len) / 350.0, 0.0, 1.0)
            elev = elev + (math.radians(75.0) - elev) * t * t * (3 - 2 * t)
    else:
        elev = np.maximum(sp.elev - 0.00025 * s * math.cos(sp.elev), 0.0)
    psi = (
        sp.azimuth
        + sp.curvature * s
        + sp.wave_amp * np.sin(2 * math.pi * s / sp.wave_len + sp.wave_phase)
        - sp.wave_amp * math.sin(sp.wave_phase)
    )
    ce = np.cos(elev)
    se = np.sin(elev)
    step = np.diff(s)
    mid_c = 0.5 * (ce[1:] + ce[:-1])
    mid_s = 0.5 * (se[1:] + se[:-1])
    mid_psi = 0.5 * (psi[1:] + psi[:-1])
    x = sp.x + np.concatenate([[0.0], np.cumsum(step * mid_c * np.cos(mid_psi))])
    y = sp.y + np.concatenate([[0.0], np.cumsum(step * mid_c * np.sin(mid_psi))])
    h = np.concatenate([[0.0], np.cumsum(step * mid_s)])
    if sp.coil_r > 0:
        om = 2 * math.pi / sp.coil_period
        ramp = np.clip(s / (0.3 * sp.coil_period), 0.0, 1.0)
        ramp = ramp * ramp * (3 - 2 * ramp)
        # an irregular coil: its phase drifts, so turns are neither equal nor evenly spaced
        ph = (
            om * s
            + sp.coil_phase
            + 0.7 * np.sin(2 * math.pi * s / (3.7 * sp.coil_period) + sp.wave_phase)
        )
        a_n = sp.coil_r * ramp * (np.cos(ph) - math.cos(sp.coil_phase))
        a_t = sp.coil_r * ramp * sp.coil_eta * np.sin(ph)
        x = x - a_n * np.sin(psi) + a_t * np.cos(psi)
        y = y + a_n * np.cos(psi) + a_t * np.sin(psi)
        h = h + sp.coil_r * ramp * math.sqrt(1 - sp.coil_eta**2) * np.sin(ph) * 0.5
    h = np.maximum(h, 0.0)
    if plate > 0:
        h = np.minimum(h, plate)
    # a shaft is never quite even: slow swelling and thinning along it
    d = sp.d0 * (
        1.0
        + 0.05 * np.sin(2 * math.pi * s / 730.0 + sp.coil_phase)
        + 0.03 * np.sin(2 * math.pi * s / 260.0 + sp.wave_phase)
    )
    if sp.excl > 1.0:
        d = d * (1.0 + (sp.excl - 1.0) * (s / max(length, 1.0)) ** 1.5)
    if sp.end == "taper" and sp.taper > 0:
        frac = np.clip((length - s) / sp.taper, 0.05, 1.0)
        d = d * frac**0.8
    dh = np.gradient(h, s) if n > 1 else np.zeros(n)
    sin_e = np.clip(dh, 0.0, 1.0)
    return np.stack([x, y, h, s, d, sin_e], axis=1)


def place_strand(sp: HairSpec, sc: Scene, view: View, look: dict[str, float]) -> Strand:
    """The hair ``sp`` seen by ``view``: Bezier-sampled stations of its ribbon."""
    s_px = view.um_per_px
    ex, ey = view.to_px(np.array(sp.x), np.array(sp.y))
    exf, eyf = float(ex), float(ey)
    dof = look["dof"]
    h_focus = look["h_focus"]
    plate = look["plate"]
    blank = np.zeros(0)
    if sp.kind == "black-dot":
        # the broken stump: the footprint ellipse of the shaft at the skin
        semi_along = sp.d0 / 2.0 / max(math.sin(sp.elev), 0.6)
        ang = np.linspace(0, 2 * math.pi, 20, endpoint=False)
        dirx = math.cos(float(view.direction_px(np.array(sp.azimuth))))
        diry = math.sin(float(view.direction_px(np.array(sp.azimuth))))
        a = semi_along / s_px * np.cos(ang)
        b = sp.d0 / 2.0 / s_px * np.sin(ang)
        ring = np.stack([exf + a * dirx - b * diry, eyf + a * diry + b * dirx], axis=1)
        pts = np.vstack([[exf, eyf], ring])
        return Strand(
            sp, exf, eyf, pts, blank, blank, np.full(1, sp.d0), np.ones(1), blank, blank,
            np.array([2]), None, None, None, True, sp.d0, sp.z,
        )  # fmt: skip
    knots = _march(sp, sc, plate)
    kx, ky = view.to_px(knots[:, 0], knots[:, 1])
    cols = np.stack([kx, ky, knots[:, 2], knots[:, 3], knots[:, 4], knots[:, 5]], axis=1)
    step = np.clip(0.6 * knots[:, 4] / s_px, 0.7, 6.0)
    pts, _ = bezier_chain(cols, step)
    xy = pts[:, :2]
    h = np.maximum(pts[:, 2], 0.0)
    u = pts[:, 3]
    d = np.maximum(pts[:, 4], 1.5)
    sin_e = np.clip(pts[:, 5], 0.0, 1.0)
    blur = dof * np.abs(h - h_focus)
    tot = d + blur
    half = np.maximum(tot / 2.0 / s_px, 0.5)
    op = np.minimum(1.0, tot / (2.0 * half * s_px)) * d / tot
    if sp.end == "exit":
        # leaving the focal plane: fades out over its last few hundred um
        op = op * np.clip((sp.length - u) / 400.0, 0.0, 1.0)
    # direction of the shaft in the image at each station
    dxy = np.gradient(xy, axis=0) if xy.shape[0] > 1 else np.array([[1.0, 0.0]])
    nn = np.hypot(dxy[:, 0], dxy[:, 1])
    nn = np.where(nn < 1e-9, 1.0, nn)
    tx = dxy[:, 0] / nn
    ty = dxy[:, 1] / nn
    # start cap: the back half of the shaft's footprint on the skin
    e0 = max(math.sin(sp.elev), 0.42)
    along0 = sp.d0 / 2.0 / e0 / s_px
    al = np.linspace(math.pi / 2 * 0.97, 0.0, 6)[:-1]
    cap0 = np.stack([exf - tx[0] * along0 * np.sin(al), eyf - ty[0] * along0 * np.sin(al)], axis=1)
    cap0_half = half[0] * np.cos(al)
    cap0_u = -sp.d0 / 2.0 / e0 * np.sin(al)
    zone_end = 1
    tip: tuple[float, float] | None = None
    tip_d = float(d[-1])
    if sp.end in ("cut",):
        ee = max(float(sin_e[-1]), 0.08)
        along1 = d[-1] / 2.0 * ee / s_px
        al1 = np.linspace(0.0, math.pi / 2 * 0.97, 6)[1:]
        jitter: Arr | float = 1.0
        if sp.frayed > 0:
            jitter = 1.0 + sp.frayed * (np.array([0.5, -0.4, 0.7, -0.3, 0.6]))
        cap1 = np.stack(
            [
                xy[-1, 0] + tx[-1] * along1 * np.sin(al1) * jitter,
                xy[-1, 1] + ty[-1] * along1 * np.sin(al1) * jitter,
            ],
            axis=1,
        )
        cap1_half = half[-1] * np.cos(al1)
        zone_end = 2
    else:
        cap1 = np.zeros((0, 2))
        cap1_half = np.zeros(0)
    if sp.end in ("cut", "taper"):
        tip = (float(xy[-1, 0]), float(xy[-1, 1]))
    n0, n1 = cap0.shape[0], cap1.shape[0]
    all_pts = np.vstack([cap0, xy, cap1])
    all_half = np.concatenate([cap0_half, half, cap1_half])
    all_u = np.concatenate([cap0_u, u, np.full(n1, u[-1] + 1.0)])
    all_d = np.concatenate([np.full(n0, d[0]), d, np.full(n1, d[-1])])
    all_op = np.concatenate([np.full(n0, op[0]), op, np.full(n1, op[-1])])
    all_h = np.concatenate([np.zeros(n0), h, np.full(n1, h[-1])])
    all_sin = np.concatenate([np.full(n0, sin_e[0]), sin_e, np.full(n1, sin_e[-1])])
    all_tx = np.concatenate([np.full(n0, tx[0]), tx, np.full(n1, tx[-1])])
    all_ty = np.concatenate([np.full(n0, ty[0]), ty, np.full(n1, ty[-1])])
    zone = np.ones(all_pts.shape[0] - 1, dtype=np.int64)
    if n1:
        zone[-n1:] = zone_end
    vs = _spec_line(all_tx, all_ty, all_sin, look)
    sub_pts = sub_half = None
    if sp.sub_alpha > 0 and sp.sub_len > 0:
        ls = np.linspace(0.0, sp.sub_len * math.cos(sp.elev), 8)
        dirx = math.cos(float(view.direction_px(np.array(sp.azimuth))))
        diry = math.sin(float(view.direction_px(np.array(sp.azimuth))))
        sub_pts = np.stack([exf - dirx * ls / s_px, eyf - diry * ls / s_px], axis=1)
        sub_half = np.maximum((sp.d0 * (1.0 + ls / sp.sub_len * 1.5)) / 2.0 / s_px, 0.6)
    return Strand(
        sp,
        exf,
        eyf,
        all_pts,
        all_half,
        all_u,
        all_d,
        all_op,
        vs,
        all_h,
        zone,
        sub_pts,
        sub_half,
        tip,
        sp.end == "cut",
        tip_d,
        sp.z + float(np.mean(h)),
    )


def _spec_line(tx: Arr, ty: Arr, sin_e: Arr, look: dict[str, float]) -> Arr:
    """Where (v across the ribbon, +1 on its left) a cylinder along the 3-D tangent shows
    the highlight of the directional light seen from straight above."""
    az = look["light_az"]
    zen = look["light_zen"]
    light = np.array([math.sin(zen) * math.cos(az), math.sin(zen) * math.sin(az), math.cos(zen)])
    half = light + np.array([0.0, 0.0, 1.0])
    half = half / np.linalg.norm(half)
    ce = np.sqrt(1.0 - sin_e**2)
    t3 = np.stack([ce * tx, ce * ty, sin_e], axis=1)
    b = np.stack([-ty, tx, np.zeros_like(tx)], axis=1)
    hp = half[None, :] - (t3 @ half)[:, None] * t3
    nrm = np.linalg.norm(hp, axis=1)
    nrm = np.where(nrm < 1e-9, 1.0, nrm)
    return np.asarray(np.clip(np.sum(hp * b, axis=1) / nrm, -1.2, 1.2))


# ---------------------------------------------------------------------------- the texture
@dataclass
class HairTex:
    gran: Arr
    med: Arr
    shimmer: Arr
    cut_wobble: Arr


def hair_tex(seed: int, sp: HairSpec) -> HairTex:
    g = stream(seed, HAIRTEX, sp.unit, sp.slot)
    return HairTex(
        g.uniform(-1, 1, (16, 64)),
        g.uniform(-1, 1, (1, 64)),
        g.uniform(-1, 1, (1, 64)),
        g.uniform(-1, 1, (1, 16)),
    )


def shade(
    st: Strand, tex: HairTex, hits: Hits, s_px: float, light_level: float
) -> tuple[Arr, Arr, Arr]:
    """Per covered pixel: coverage x opacity (n,), transmission (n, 3) and reflected light
    (n, 3) of the ribbon's procedural texture: pigment granules, medulla, cuticle scale
    edges, the cylinder profile, the highlight and the cut face."""
    sp = st.spec
    q = hits.quad
    if hits.s is None or hits.t is None:
        raise ValueError("shade() needs hits with texture coordinates")
    a = hits.s
    v = 1.0 - 2.0 * hits.t

    def lerp(attr: Arr) -> Arr:
        return np.asarray(attr[q] * (1.0 - a) + attr[q + 1] * a)

    u = lerp(st.u)
    d = lerp(st.d)
    op = lerp(st.op)
    vs = lerp(st.vs)
    hw = lerp(st.half)
    zone = st.zone[q]
    kv = np.clip((hw - 0.5) / 1.5, 0.0, 1.0)
    vc = np.clip(v, -0.97, 0.97)
    tau = kv * np.sqrt(1.0 - vc * vc) + (1.0 - kv) * 0.785
    # pigment granules: streaks along the fibre
    gran = 1.0 + sp.gran_c * table_noise(tex.gran, u / sp.gran_len, (v + 1.0) * 4.0 + 0.3)
    gran += 0.5 * sp.gran_c * table_noise(tex.gran, u / (0.4 * sp.gran_len) + 17.0, (v + 1.0) * 7.0)
    # medulla: a central stripe, continuous, interrupted or fragmented along the fibre
    med = np.zeros_like(u)
    if sp.medulla_w > 0:
        along = table_noise(tex.med, u / 90.0, np.zeros_like(u))
        cont = np.clip((along - sp.medulla_cont) / 0.25, 0.0, 1.0)
        prof = np.clip(1.0 - np.abs(v) / sp.medulla_w, 0.0, 1.0)
        med = prof * cont * kv
    pig = gran * (1.0 - 0.15 * med) * (1.0 + 0.12 * table_noise(tex.med, u / 400.0 + 31.0, 0.0 * u))
    sig = np.broadcast_to(sp.sig_a, (u.size, 3)).copy()
    if sp.root_sig_a is not None and sp.root_len > 0:
        root = np.clip((sp.root_len - u) / 60.0, 0.0, 1.0)[:, None]
        sig = sig * (1 - root) + sp.root_sig_a[None, :] * root
    if sp.excl > 1.0:
        sig = sig * (1.0 + 0.8 * np.clip(u / max(sp.length, 1.0), 0, 1) ** 2)[:, None]
    sa = sig * pig[:, None]
    ss = sp.sig_s * (1.0 + 0.7 * med)[:, None]
    path = (d * (0.3 + 0.7 * tau))[:, None]
    q_ks = sa / ss
    r_inf = 1.0 + q_ks - np.sqrt(q_ks * q_ks + 2.0 * q_ks)
    trans = np.exp(-2.0 * (sa + 0.35 * ss) * path)
    refl = r_inf * (1.0 - np.exp(-2.0 * (sa + ss) * path))
    refl *= (0.62 + 0.38 * tau)[:, None] * light_level
    # cuticle scale edges, faded out when finer than the pixels can hold
    c_amp = sp.cuticle_c * float(np.clip((sp.cuticle_um / s_px - 2.0) / 2.0, 0.0, 1.0))
    if c_amp > 0:
        wob = table_noise(tex.cut_wobble, (v + 1.0) * 3.0, np.zeros_like(v)) * 0.35
        ph = np.mod(u / sp.cuticle_um + wob, 1.0)
        edge = np.exp(-((ph / 0.16) ** 2))
        refl *= (1.0 + c_amp * (edge - 0.25))[:, None]
    else:
        edge = np.zeros_like(u)
    # highlight: a line that moves with the light, with a coloured secondary one
    if sp.spec_k > 0:
        w_s = sp.spec_w + (1.0 - kv) * 0.8
        shim = 1.0 + 0.45 * table_noise(tex.shimmer, u / 35.0, np.zeros_like(u))
        prim = sp.spec_k * np.exp(-(((v - vs) / w_s) ** 2)) * shim * (1.0 + 0.6 * c_amp * edge)
        sec = 0.15 * sp.spec_k * np.exp(-(((v - vs * 0.4 + 0.35) / (1.8 * w_s)) ** 2))
        tint = np.exp(-sa * d[:, None] * 0.7)
        refl += prim[:, None] * light_level + (sec[:, None] * tint) * light_level
    # the cut face: looking into the fibre, a denser colour
    cut = zone == 2
    if np.any(cut):
        sa_c = sa[cut] * 1.3
        trans[cut] = np.exp(-6.0 * (sa_c + 0.5 * ss[cut]) * d[cut][:, None])
        qc = sa_c / ss[cut]
        refl[cut] = (1.0 + qc - np.sqrt(qc * qc + 2.0 * qc)) * 0.85 * light_level
    # emerging from the opening: the first stretch is seen through the epidermis' edge
    emerge = np.clip(0.85 + 0.15 * (u + 0.5 * sp.d0) / (0.8 * sp.d0), 0.85, 1.0)
    alpha = hits.cover * op * emerge
    return alpha, trans, refl


def composite(img: Arr, idx: Arr, alpha: Arr, trans: Arr, refl: Arr) -> None:
    """Over-composite a layer with per-channel transmission onto ``img`` (h, w, 3)."""
    flat = img.reshape(-1, 3)
    a = alpha[:, None].astype(np.float32)
    below = flat[idx]
    flat[idx] = below * (1.0 - a * (1.0 - trans)) + a * refl


def draw_strand(
    img: Arr, r: Raster, st: Strand, tex: HairTex, s_px: float, light_level: float
) -> None:
    sp = st.spec
    if st.sub_pts is not None and st.sub_half is not None:
        quads, _ = ribbon_quads(st.sub_pts, st.sub_half)
        hits = r.quads(quads, want_st=True)
        if not hits.empty and hits.s is not None:
            along = (hits.quad + hits.s) / max(quads.shape[0], 1)
            across = 1.0 - (1.0 - 2.0 * hits.t) ** 2 if hits.t is not None else 1.0
            a = hits.cover * sp.sub_alpha * (1.0 - along) ** 1.5 * across
            tint = np.array([0.5, 0.55, 0.66], dtype=np.float32)
            trans = np.broadcast_to(tint, (a.size, 3))
            composite(img, hits.idx, a, trans, np.zeros((a.size, 3), np.float32))
    if sp.kind == "black-dot":
        quads = fan_quads(st.pts[0], st.pts[1:])
        hits = r.quads(quads, want_st=False)
        if hits.empty:
            return
        sa = sp.sig_a * 1.3
        d = sp.d0
        trans = np.exp(-6.0 * (sa + 0.5 * sp.sig_s) * d)
        qc = sa / sp.sig_s
        refl = (1.0 + qc - np.sqrt(qc * qc + 2.0 * qc)) * 0.7 * light_level
        n = hits.idx.size
        composite(
            img,
            hits.idx,
            hits.cover,
            np.broadcast_to(trans, (n, 3)),
            np.broadcast_to(refl, (n, 3)),
        )
        return
    quads, _ = ribbon_quads(st.pts, st.half)
    hits = r.quads(quads, want_st=True)
    if hits.empty:
        return
    alpha, trans, refl = shade(st, tex, hits, s_px, light_level)
    composite(img, hits.idx, alpha, trans, refl)


def shadow_quads(st: Strand, look: dict[str, float], s_px: float, scale: float) -> Arr:
    """The ribbon moved onto the skin along the light: each station by its height."""
    if st.spec.kind == "black-dot" or st.half.size < 2:
        return np.zeros((0, 4, 2))
    az = look["light_az"]
    k = math.tan(look["light_zen"]) / s_px
    off = -st.h[:, None] * k * np.array([math.cos(az), math.sin(az)])[None, :]
    pts = (st.pts + off + 0.5) * scale - 0.5
    half = (st.half + st.h / s_px * 0.08) * scale
    quads, _ = ribbon_quads(pts, np.maximum(half, 0.5))
    return quads
