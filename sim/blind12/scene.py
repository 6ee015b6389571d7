"""The site in micrometres: follicular units, the four hair slots of each, which slots hold
a hair at a visit, and each hair's 3-D centreline.

Units are a Matern type-II hard-core process (Poisson points, each deleted when a
neighbour within the hard-core distance has a smaller mark); a smooth field thins them
into patches. A third of the points are dormant follicles (no opening at the baseline),
where a later visit may grow hairs. Every slot's hair (kind, width, length, angle, shape,
end, pigment) is drawn once with the site, so a visit only chooses which slots are full.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from sim.blind12.design import PIGMENT, Design, stream

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

SLOTS = 4
# kinds
TERMINAL, MINI, VELLUS, REGROW, BROKEN, BLACK_DOT = range(6)
KIND_NAMES = ("terminal", "miniaturised", "vellus", "regrowing", "broken", "black_dot")
# ends
TAPER, BLUNT, OBLIQUE, JAGGED = range(4)
DORMANT_RATIO = 1.3


@dataclass(frozen=True)
class Slots:
    """One row per slot (unit * 4 + k); lengths, widths and heights in um, angles in
    radians."""

    unit: I64
    rank: I64
    x: F64
    y: F64
    kind: I64
    diam: F64
    length: F64
    lie: B  # lies down on the skin (long and vellus hair) or stands (stubs)
    azim: F64
    elev: F64
    end: I64
    cut: F64  # oblique cut angle (radians, signed)
    bend: F64  # curvature along the shaft (rad / um)
    wave_amp: F64
    wave_len: F64
    wave_phase: F64
    coil: F64  # helix radius (um), 0 for none
    coil_amp: F64  # how far the heading swings round the helix (rad)
    lift_amp: F64
    lift_len: F64
    lift_phase: F64
    settle: F64
    eu: F64
    pheo: F64
    medulla: F64
    jag: F64  # phase of a jagged end's profile

    def take(self, idx: I64) -> Slots:
        return Slots(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Site:
    ux: F64
    uy: F64
    active: B  # an opening at the baseline (with hairs or empty)
    n_base: I64  # hairs of the unit at the baseline
    opening_um: F64
    halo: B
    yellow: B
    white_halo: B
    flow: F64  # the unit's hair-stream direction
    slots: Slots


def _waves(rng: np.random.Generator, n: int, scale_um: float) -> tuple[F64, F64, F64]:
    ang = rng.uniform(0, 2 * math.pi, n)
    k = 2 * math.pi / (scale_um * rng.uniform(0.6, 1.6, n))
    return k * np.cos(ang), k * np.sin(ang), rng.uniform(0, 2 * math.pi, n)


def smooth_at(rng: np.random.Generator, x: F64, y: F64, scale_um: float, n: int = 9) -> F64:
    """A smooth random field of zero mean and unit spread at the points: a sum of plane
    waves (used for patchiness)."""
    kx, ky, ph = _waves(rng, n, scale_um)
    out: F64 = np.zeros_like(x)
    for i in range(n):
        out += np.cos(kx[i] * x + ky[i] * y + ph[i])
    return out * math.sqrt(2.0 / n)


def _matern(rng: np.random.Generator, lam: float, half: float) -> tuple[F64, F64]:
    """Matern II points of intensity ``lam`` (per um^2) in the square [-half, half]^2."""
    r = math.sqrt(0.6 / (math.pi * lam))
    lam_in = -math.log(1 - 0.6) / (math.pi * r * r)
    n = int(rng.poisson(lam_in * (2 * half) ** 2))
    pts = rng.uniform(-half, half, (n, 2))
    marks = rng.random(n)
    kill = np.zeros(n, dtype=np.bool_)
    if n > 1:
        pairs = cKDTree(pts).query_pairs(r, output_type="ndarray")
        if len(pairs):
            a, b = pairs[:, 0], pairs[:, 1]
            kill[np.where(marks[a] > marks[b], a, b)] = True
    keep = pts[~kill]
    return keep[:, 0].copy(), keep[:, 1].copy()


def flow_angle(d: Design, x: F64, y: F64) -> F64:
    """The hair stream's direction at scene points (radians): a whorl-like slow turn."""
    base = math.radians(d.flow_deg)
    out: F64 = base + d.flow_bend * (x * 0.6 - y * 0.4) / 1000.0
    return out


def make_site(seed: int, d: Design, half_um: float) -> Site:
    """Units and slots over the square [-half_um, half_um]^2 of the scalp."""
    rng = stream(seed, "units")
    mean_hairs = (1.0 - d.empty_share) * (1.0 + 3.0 * (d.unit_mean - 1.0) / 3.0)
    lam_active = d.density_per_cm2 * 1e-8 / max(mean_hairs, 0.2)
    ux, uy = _matern(rng, lam_active * (1.0 + DORMANT_RATIO), half_um)
    u = len(ux)
    keep_p = np.full(u, 1.0 / (1.0 + DORMANT_RATIO))
    if d.patchiness > 0:
        f = smooth_at(stream(seed, "patches"), ux, uy, 2500.0)
        keep_p = np.clip(keep_p * (1.0 + d.patchiness * 1.2 * f), 0.0, 1.0)
    active = rng.random(u) < keep_p
    empty = rng.random(u) < d.empty_share
    n_base = np.where(active & ~empty, 1 + rng.binomial(3, (d.unit_mean - 1.0) / 3.0, u), 0).astype(
        np.int64
    )
    flow = flow_angle(d, ux, uy) + rng.normal(0, 0.15, u)
    opening = d.opening_um * rng.uniform(0.75, 1.3, u)
    halo = rng.random(u) < d.halo_share
    yellow = (n_base == 0) & (rng.random(u) < d.yellow_share)
    white_halo = rng.random(u) < d.white_halo
    slots = _slots(stream(seed, "slots"), d, ux, uy, flow)
    return Site(ux, uy, active, n_base, opening, halo, yellow, white_halo, flow, slots)


def _slots(rng: np.random.Generator, d: Design, ux: F64, uy: F64, flow: F64) -> Slots:
    u = len(ux)
    n = u * SLOTS
    unit = np.repeat(np.arange(u, dtype=np.int64), SLOTS)
    rank = np.tile(np.arange(SLOTS, dtype=np.int64), u)
    # kind
    q = rng.random(n)
    vel = d.vellus_share * np.where(rank == 0, 0.6, 1.3)
    edges = np.cumsum(
        np.stack(
            [
                np.full(n, d.black_dot_share),
                vel,
                np.full(n, d.regrowing_share),
                np.full(n, d.broken_share),
                np.full(n, d.miniaturised_share),
            ]
        ),
        axis=0,
    )
    kind = np.full(n, TERMINAL, dtype=np.int64)
    for code, e_lo, e_hi in (
        (BLACK_DOT, None, 0),
        (VELLUS, 0, 1),
        (REGROW, 1, 2),
        (BROKEN, 2, 3),
        (MINI, 3, 4),
    ):
        lo = 0.0 if e_lo is None else edges[e_lo]
        kind = np.where((q >= lo) & (q < edges[e_hi]), code, kind)
    term = np.clip(rng.normal(d.terminal_um, 9.0, n), 42.0, 115.0)
    diam = np.select(
        [kind == MINI, kind == VELLUS, kind == REGROW, kind == BROKEN, kind == BLACK_DOT],
        [
            rng.uniform(30.0, 45.0, n),
            rng.uniform(12.0, 29.0, n),
            np.maximum(term * rng.uniform(0.5, 0.85, n), 22.0),
            term * rng.uniform(0.8, 1.0, n),
            np.maximum(term * rng.uniform(0.6, 1.0, n), 30.0),
        ],
        term,
    )
    stub_len = rng.uniform(d.stub_min_um, d.stub_max_um, n)
    long_len = rng.uniform(d.long_min_mm, d.long_max_mm, n) * 1000.0
    is_long = np.full(n, d.hair_length == "long")
    if d.hair_length == "mixed":
        is_long = rng.random(n) < 0.5
    terminalish = (kind == TERMINAL) | (kind == MINI)
    length = np.select(
        [terminalish & is_long, terminalish, kind == VELLUS, kind == REGROW, kind == BROKEN],
        [
            long_len,
            stub_len,
            rng.uniform(150.0, 1400.0, n),
            rng.uniform(40.0, 400.0, n),
            rng.uniform(30.0, 250.0, n),
        ],
        0.0,
    )
    lie = (terminalish & is_long) | (kind == VELLUS)
    # ends
    e = rng.random(n)
    stub_end = np.where(
        e < 0.06, JAGGED, np.where(e < 0.06 + 0.94 * d.oblique_share, OBLIQUE, BLUNT)
    )
    long_end = np.where(rng.random(n) < d.long_cut_share, BLUNT, TAPER)
    end = np.select(
        [terminalish & is_long, terminalish, kind == BROKEN],
        [long_end, stub_end, np.full(n, JAGGED)],
        TAPER,
    ).astype(np.int64)
    cut = np.radians(rng.uniform(20.0, 60.0, n)) * rng.choice([-1.0, 1.0], n)
    # angles: slots of a unit fan out about the unit's stream
    spread = math.radians(d.flow_spread_deg)
    azim = np.repeat(flow, SLOTS) + rng.normal(0.0, spread, n) * np.where(rank == 0, 0.6, 1.0)
    elev = np.radians(rng.uniform(d.elev_min_deg, d.elev_max_deg, n))
    elev = np.where(kind == VELLUS, elev * 0.7, elev)
    # emergence points: the slots of a unit share its opening, a hair's width apart
    along = np.array([0.0, -0.15, -0.15, -0.95])[rank]
    across = np.array([0.0, 1.0, -1.0, 0.1])[rank]
    gap = 0.5 * (diam + np.repeat(diam[rank == 0], SLOTS)) + rng.uniform(6.0, 18.0, n)
    fl = np.repeat(flow, SLOTS)
    ox = gap * (along * np.cos(fl) - across * np.sin(fl))
    oy = gap * (along * np.sin(fl) + across * np.cos(fl))
    x = np.repeat(ux, SLOTS) + np.where(rank == 0, 0.0, ox)
    y = np.repeat(uy, SLOTS) + np.where(rank == 0, 0.0, oy)
    # shape
    bend = rng.normal(0.0, 0.12, n) / 1000.0
    wave_amp = np.zeros(n)
    wave_len = rng.uniform(1500.0, 5000.0, n)
    coil = np.zeros(n)
    coil_amp = np.zeros(n)
    if d.curl == "straight":
        wave_amp = rng.uniform(0.0, 0.08, n)
    elif d.curl == "wavy":
        wave_amp = rng.uniform(0.15, 0.5, n)
        wave_len = rng.uniform(700.0, 2500.0, n)
    elif d.curl == "curly":
        wave_amp = rng.uniform(0.05, 0.3, n)
        coil = rng.uniform(150.0, 500.0, n)
        coil_amp = rng.uniform(0.6, 1.25, n)
    else:
        wave_amp = rng.uniform(0.05, 0.3, n)
        coil = rng.uniform(40.0, 130.0, n)
        coil_amp = rng.uniform(1.0, 1.75, n)
    wave_amp = np.where(lie, wave_amp, wave_amp * 0.15)
    coil_amp = np.where(lie & (kind != VELLUS), coil_amp, coil_amp * 0.1)
    # pigment
    eu0, ph0 = PIGMENT[d.hair_colour]
    jit = np.exp(rng.normal(0.0, d.pigment_jitter, n))
    eu = eu0 * jit
    pheo = ph0 * jit
    if d.hair_colour == "grey":
        white = rng.random(n) < d.grey_white_share
        eu = np.where(white, PIGMENT["white"][0], eu * rng.uniform(0.4, 1.2, n))
        pheo = np.where(white, PIGMENT["white"][1], pheo)
    light = np.select([kind == VELLUS, kind == REGROW], [rng.uniform(0.08, 0.3, n), 0.8], 1.0)
    eu, pheo = eu * light, pheo * light
    medulla = np.where((diam > 50) & (rng.random(n) < 0.6), rng.uniform(0.15, 0.35, n), 0.0)
    return Slots(
        unit=unit,
        rank=rank,
        x=x,
        y=y,
        kind=kind,
        diam=diam,
        length=length,
        lie=lie,
        azim=azim,
        elev=elev,
        end=end,
        cut=cut,
        bend=bend,
        wave_amp=wave_amp,
        wave_len=wave_len,
        wave_phase=rng.uniform(0, 2 * math.pi, n),
        coil=coil,
        coil_amp=coil_amp,
        lift_amp=rng.uniform(0.0, 1.0, n) * d.mat_lift_um,
        lift_len=rng.uniform(600.0, 3000.0, n),
        lift_phase=rng.uniform(0, 2 * math.pi, n),
        settle=d.settle_um * rng.uniform(0.6, 1.4, n),
        eu=eu,
        pheo=pheo,
        medulla=medulla,
        jag=rng.uniform(0, 2 * math.pi, n),
    )


def baseline(site: Site) -> B:
    """Which slots hold a hair at the first visit."""
    out: B = site.slots.rank < site.n_base[site.slots.unit]
    return out


def follow_up(seed: int, site: Site, factor: float, seed2: int) -> tuple[B, dict[str, Any]]:
    """The slots full at a later visit: about ``factor`` times the baseline's hairs. A loss
    sheds hairs at random; a gain fills empty openings first, then free slots of units that
    have hairs, then dormant follicles; a new hair takes a slot, never another's place."""
    base = baseline(site)
    n = int(base.sum())
    target = round(factor * n)
    occ = base.copy()
    rng = stream(seed, "follow-up", seed2)
    if target < n:
        full = np.flatnonzero(base)
        occ[rng.choice(full, n - target, replace=False)] = False
        return occ, {"kept": target, "shed": n - target, "new": 0}
    sl = site.slots
    unit_full = site.n_base[sl.unit]
    empty_open = site.active[sl.unit] & (site.n_base[sl.unit] == 0)
    dormant = ~site.active[sl.unit]
    # priority: an empty opening's first slot, then the next free slot of a unit with hair
    # (deeper slots later), then dormant follicles
    prio = np.full(len(sl), np.inf)
    prio = np.where(empty_open & (sl.rank == 0), 0.0, prio)
    grow = ~base & (unit_full > 0)
    prio = np.where(grow, 1.0 + (sl.rank - unit_full), prio)
    prio = np.where(empty_open & (sl.rank > 0), 2.0 + sl.rank, prio)
    prio = np.where(dormant, 6.0 + sl.rank, prio)
    free = np.flatnonzero(~base & np.isfinite(prio))
    order = free[np.lexsort((rng.random(len(free)), prio[free]))]
    # a slot whose hair would stand on a hair already there (their emergence discs
    # overlap: slots of one unit, or of neighbouring units, can come that close) stays free
    clash = _clashes(sl)
    need = target - n
    for i in order.tolist():
        if need == 0:
            break
        if any(occ[j] for j in clash.get(i, ())):
            continue
        occ[i] = True
        need -= 1
    return occ, {"kept": n, "shed": 0, "new": int(occ.sum()) - n}


def _clashes(sl: Slots) -> dict[int, list[int]]:
    """For each slot, the slots whose hairs would overlap it at the emergence point."""
    if len(sl) < 2:
        return {}
    reach = float(sl.diam.max())
    pairs = cKDTree(np.stack([sl.x, sl.y], axis=1)).query_pairs(reach, output_type="ndarray")
    out: dict[int, list[int]] = {}
    if len(pairs) == 0:
        return out
    a, b = pairs[:, 0], pairs[:, 1]
    apart = np.hypot(sl.x[a] - sl.x[b], sl.y[a] - sl.y[b]) >= 0.5 * (sl.diam[a] + sl.diam[b])
    for i, j in pairs[~apart].tolist():
        out.setdefault(i, []).append(j)
        out.setdefault(j, []).append(i)
    return out


@dataclass(frozen=True)
class Curves:
    """Centrelines of a group of hairs: nodes (n, K) in scene um; z is the axis height
    above the skin (0 at the emergence point); r the shaft's radius."""

    x: F64
    y: F64
    z: F64
    r: F64
    s: F64


def centrelines(sl: Slots, k: int, plate_um: float, um_px: float) -> Curves:
    """The 3-D axes of the hairs ``sl`` at ``k`` nodes each, from the emergence point to the
    end. Stubs rise at their angle with a slight droop; long and vellus hair leaves the
    skin and settles onto it (on the mat of hair below, ``lift``), waving or coiling."""
    t = np.linspace(0.0, 1.0, k)[None, :]
    length = np.maximum(sl.length, 1.0)[:, None]
    s = length * t
    ds = length / (k - 1)
    r0 = 0.5 * sl.diam[:, None]
    th0 = sl.elev[:, None]
    lie = sl.lie[:, None]
    # stubs: integrate the slope
    th = th0 - np.abs(sl.bend[:, None]) * s * 0.8
    rise = np.sin(th) * ds
    z_stub = np.concatenate([np.zeros((len(sl), 1)), np.cumsum(rise[:, :-1], axis=1)], axis=1)
    # lying hair: leaves the skin, settles at its resting height
    ell = sl.settle[:, None]
    e = np.exp(-s / ell)
    lift = (
        sl.lift_amp[:, None]
        * 0.5
        * (1.0 + np.sin(2 * math.pi * s / sl.lift_len[:, None] + sl.lift_phase[:, None]))
    )
    # a coiled hair is a helix about its lying path: it rises and falls as it winds
    helix = np.where(sl.coil[:, None] > 0, s / np.maximum(sl.coil[:, None], 1.0), 0.0)
    rise = np.minimum(0.3 * sl.coil[:, None], 120.0) * (sl.coil_amp[:, None] > 0.5)
    lift = lift + rise * (1.0 - np.cos(helix))
    z_lie = s * np.sin(th0) * e + (r0 + lift) * (1.0 - e) ** 2
    z = np.where(lie, z_lie, z_stub)
    if plate_um > 0:
        z = np.minimum(z, np.maximum(plate_um - r0, 2.0 * r0))
    slope = np.clip(np.gradient(z, axis=1) / ds, -0.98, 0.98)
    run = np.sqrt(1.0 - slope * slope) * ds
    # heading
    psi = (
        sl.azim[:, None]
        + sl.bend[:, None] * s
        + sl.wave_amp[:, None]
        * (
            np.sin(2 * math.pi * s / sl.wave_len[:, None] + sl.wave_phase[:, None])
            - np.sin(sl.wave_phase[:, None])
        )
        + sl.coil_amp[:, None] * np.sin(helix + sl.wave_phase[:, None])
        - sl.coil_amp[:, None] * np.sin(sl.wave_phase[:, None])
    )
    step_x = run * np.cos(psi)
    step_y = run * np.sin(psi)
    zero = np.zeros((len(sl), 1))
    x = sl.x[:, None] + np.concatenate([zero, np.cumsum(step_x[:, :-1], axis=1)], axis=1)
    y = sl.y[:, None] + np.concatenate([zero, np.cumsum(step_y[:, :-1], axis=1)], axis=1)
    # radius: a natural end tapers to 35-85 % of the root's (never under half a pixel across)
    taper = (sl.end == TAPER)[:, None]
    t_len = np.clip(np.where((sl.kind == REGROW)[:, None], 0.6, 0.25) * length, 30.0, 1500.0)
    rho = np.clip(np.maximum(0.35, 0.25 * um_px / r0), 0.35, 0.85)
    w = np.clip((s - (length - t_len)) / t_len, 0.0, 1.0)
    w = w * w * (3 - 2 * w)
    r = np.where(taper, r0 * (1.0 - (1.0 - rho) * w), r0 * np.ones_like(s))
    return Curves(x, y, z, r, s)
