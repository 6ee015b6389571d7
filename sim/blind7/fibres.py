"""Hair shafts as 3-D curves over the skin (x, y in skin um, z um above the skin surface).

Each shaft leaves its follicle at the emergence point (z = 0) along its azimuth and elevation and
is then integrated as an elastic rod in small steps: curvature (a constant part for curly and
coiled hair plus smooth random bending), torsion (which turns curls into helices), a droop that
lays long hair down, a floor (the skin, or the hair already lying there) and, under a contact
plate, a ceiling. Hairs that rise out of the top of the scene end there without a free end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind7.draw import STREAM_HAIR, rng_for
from sim.blind7.follicles import (
    BLACK_DOT,
    BROKEN,
    EXCLAMATION,
    INTERMEDIATE,
    REGROWING,
    TERMINAL,
    VELLUS,
    Slots,
)

Arr = NDArray[Any]

END_NATURAL, END_CUT, END_BROKEN, END_EXIT, END_DOT = range(5)
Z_TOP_UM = 1100.0


@dataclass(frozen=True)
class Fibre:
    slot: int
    pts: Arr  # (M, 3) um
    diam: Arr  # (M,) um
    root_mix: Arr  # (M,) 1 where the hair shows its root colour
    end: int  # END_*


def _lengths(rng: np.random.Generator, p: dict[str, Any], slots: Slots) -> tuple[Arr, Arr]:
    n = len(slots.x)
    kind = slots.kind
    trim_lo, trim_hi = (1000.0 * v for v in p["trim_mm"])
    l_trim = rng.uniform(trim_lo, trim_hi, n)
    l_long = 1000.0 * p["long_mm"] * rng.uniform(0.35, 1.2, n)
    l_vel = rng.uniform(150.0, 2000.0, n)
    l_reg = rng.uniform(100.0, 1500.0, n)
    l_brk = rng.uniform(100.0, 2500.0, n)
    l_exc = rng.uniform(250.0, 1500.0, n)
    natural_long = rng.uniform(size=n) < 0.3
    lg = slots.long
    length = np.zeros(n)
    end = np.full(n, END_CUT)
    shaft = (kind == TERMINAL) | (kind == INTERMEDIATE)
    length = np.where(shaft, np.where(lg, l_long, l_trim), length)
    end = np.where(shaft & lg & natural_long, END_NATURAL, end)
    for k, nat in ((VELLUS, l_vel), (REGROWING, l_reg)):
        m = kind == k
        cut = ~lg & (nat > l_trim)
        length = np.where(m, np.where(cut, l_trim, nat), length)
        end = np.where(m, np.where(cut, END_CUT, END_NATURAL), end)
    m = kind == BROKEN
    length = np.where(m, np.where(lg, l_brk, np.minimum(l_brk, l_trim)), length)
    end = np.where(m, END_BROKEN, end)
    m = kind == EXCLAMATION
    length = np.where(m, l_exc, length)
    end = np.where(m, END_BROKEN, end)
    m = kind == BLACK_DOT
    length = np.where(m, 0.0, length)
    end = np.where(m, END_DOT, end)
    return length, end


def grow(
    seed: int,
    visit: int,
    p: dict[str, Any],
    slots: Slots,
    region_area_um2: float,
) -> list[Fibre]:
    """The shafts of the active slots (one Fibre per active slot, black dots included)."""
    rng = rng_for(seed, STREAM_HAIR, visit)
    n_all = len(slots.x)
    length, end = _lengths(rng, p, slots)
    curl = p["curl"]
    u = rng.uniform(size=(n_all, 8))
    if curl == "straight":
        k0 = np.zeros(n_all)
        amp = 1.0 / (4000.0 + 8000.0 * u[:, 0])
        knot = 800.0
        tors = np.zeros(n_all)
    elif curl == "wavy":
        k0 = np.zeros(n_all)
        amp = 1.0 / (900.0 + 1600.0 * u[:, 0])
        knot = 650.0
        tors = np.zeros(n_all)
    elif curl == "curly":
        k0 = 1.0 / (350.0 + 1150.0 * u[:, 0])
        amp = 0.3 * k0
        knot = 400.0
        tors = k0 * (0.1 + 0.5 * u[:, 1]) * np.sign(u[:, 2] - 0.5)
    else:
        k0 = 1.0 / (60.0 + 200.0 * u[:, 0])
        amp = 0.2 * k0
        knot = 200.0
        tors = k0 * (0.15 + 0.55 * u[:, 1]) * np.sign(u[:, 2] - 0.5)
        length = np.minimum(length, 6000.0)
    thin = (slots.kind == VELLUS) | (slots.kind == REGROWING)
    k0 = np.where(thin, 0.5 * k0, k0)
    tors = np.where(thin, 0.5 * tors, tors)
    knots = rng.standard_normal((n_all, 40))
    lying = rng.uniform(size=n_all) < (1.0 if p["contact"] else p["lying_fraction"])
    droop = 1.0 / (300.0 + 1700.0 * u[:, 3])
    z_rest = np.maximum(0.5 * slots.d0, p["canopy_um"] * u[:, 4] ** 0.7)
    spin = u[:, 5] * 2 * np.pi
    taper = np.select(
        [slots.kind == VELLUS, slots.kind == REGROWING],
        [(0.3 + 0.5 * u[:, 6]) * length, (0.5 + 0.5 * u[:, 6]) * length],
        np.minimum(400.0 + 2100.0 * u[:, 6], 0.7 * length),
    )
    root_len = p["dye_root_um"] * (0.7 + 0.6 * u[:, 7]) * slots.long
    # long hair is shortened so that the frame is not buried under more than the coverage cap
    act = slots.active
    long_ones = act & (length > 1500.0)
    cover = float((length * slots.d0 * 0.8)[act].sum()) / region_area_um2
    if cover > p["coverage_cap"] and long_ones.any():
        short_cover = float((length * slots.d0 * 0.8)[act & ~long_ones].sum()) / region_area_um2
        long_cover = cover - short_cover
        f = max(p["coverage_cap"] - short_cover, 0.25 * long_cover) / long_cover
        length = np.where(long_ones, np.maximum(1500.0, length * f), length)
        taper = np.minimum(taper, 0.7 * length)
    idx = np.nonzero(act)[0]
    if len(idx) == 0:
        return []
    fibres = []
    for c0 in range(0, len(idx), 1200):  # in batches: the tracks of all steps stay small
        fibres += _integrate(
            idx[c0 : c0 + 1200],
            slots,
            length,
            end,
            k0,
            amp,
            knot,
            tors,
            knots,
            lying,
            droop,
            z_rest,
            spin,
            p,
        )
    out = []
    for i, (pts, s_arr, e) in zip(idx, fibres, strict=True):
        L = length[i]
        d = slots.d0[i] + (slots.d1[i] - slots.d0[i]) * np.clip(s_arr / max(L, 1.0), 0, 1)
        if e == END_NATURAL:
            d = d * np.clip((L - s_arr) / max(taper[i], 1.0), 0.05, 1.0) ** 0.8
        mix = np.zeros_like(s_arr)
        if root_len[i] > 0:
            mix = np.clip((root_len[i] - s_arr) / 60.0 + 0.5, 0.0, 1.0)
        if slots.kind[i] == EXCLAMATION:
            mix = np.clip(1.0 - s_arr / max(L, 1.0), 0.0, 1.0)
        out.append(Fibre(slot=int(i), pts=pts, diam=d, root_mix=mix, end=int(e)))
    return out


def _integrate(
    idx: Arr,
    slots: Slots,
    length: Arr,
    end: Arr,
    k0: Arr,
    amp: Arr,
    knot: float,
    tors: Arr,
    knots: Arr,
    lying: Arr,
    droop: Arr,
    z_rest: Arr,
    spin: Arr,
    p: dict[str, Any],
) -> list[tuple[Arr, Arr, int]]:
    n = len(idx)
    L = length[idx]
    kmax = np.abs(k0[idx]) + 3.0 * amp[idx]
    ds = np.clip(0.12 / np.maximum(kmax, 1e-6), 4.0, 25.0)
    ds = np.minimum(ds, np.maximum(L / 6.0, 0.5))
    steps = np.ceil(L / ds).astype(np.int64)
    steps = np.minimum(steps, 2500)
    ds = np.where(steps > 0, L / np.maximum(steps, 1), 0.0)
    n_max = int(steps.max()) if n else 0
    phi = slots.phi[idx]
    th = slots.theta[idx]
    t = np.stack([np.cos(th) * np.cos(phi), np.cos(th) * np.sin(phi), np.sin(th)], axis=1)
    # a normal perpendicular to the tangent, spun at random about it
    a = np.stack([-np.sin(phi), np.cos(phi), np.zeros(n)], axis=1)
    b = np.cross(t, a)
    sp = spin[idx][:, None]
    nrm = a * np.cos(sp) + b * np.sin(sp)
    pos = np.stack([slots.x[idx], slots.y[idx], np.zeros(n)], axis=1)
    track = np.zeros((n_max + 1, n, 3), np.float32)
    track[0] = pos
    alive = steps > 0
    last = np.zeros(n, np.int64)
    exited = np.zeros(n, bool)
    zmax = np.zeros(n)
    radius = 0.5 * slots.d0[idx]
    ceiling = p["glass_gap_um"] if p["contact"] else np.inf
    lie = lying[idx]
    kn = knots[idx]
    k_const = k0[idx]
    k_amp = amp[idx]
    tau = tors[idx]
    dr = droop[idx]
    zr = z_rest[idx]
    long_hair = L > 1500.0
    for k in range(n_max):
        s = k * ds
        fk = np.clip(s / knot, 0.0, kn.shape[1] - 1.001)
        j = np.floor(fk).astype(np.int64)
        w = fk - j
        rows = np.arange(n)
        noise = kn[rows, j] * (1 - w) + kn[rows, j + 1] * w
        kappa = k_const + k_amp * noise
        ang = (kappa * ds)[:, None]
        t_new = t * np.cos(ang) + nrm * np.sin(ang)
        n_new = nrm * np.cos(ang) - t * np.sin(ang)
        bb = np.cross(t_new, n_new)
        tw = (tau * ds)[:, None]
        n_new = n_new * np.cos(tw) + bb * np.sin(tw)
        # long hair lies down (or, when standing, bends only a little)
        pull = np.where(long_hair & lie, dr, np.where(long_hair, 0.15 * dr, 0.0)) * ds
        t_new[:, 2] = np.where(t_new[:, 2] > -0.3, t_new[:, 2] - pull, t_new[:, 2])
        t_new /= np.linalg.norm(t_new, axis=1, keepdims=True)
        new = pos + t_new * ds[:, None]
        zmax = np.maximum(zmax, new[:, 2])
        floor = np.where(lie & long_hair, np.minimum(zr, zmax), np.minimum(radius, zmax))
        low = new[:, 2] < floor
        new[:, 2] = np.where(low, floor, new[:, 2])
        t_new[:, 2] = np.where(low, np.maximum(t_new[:, 2], 0.0), t_new[:, 2])
        high = new[:, 2] > ceiling
        new[:, 2] = np.where(high, ceiling, new[:, 2])
        t_new[:, 2] = np.where(high, np.minimum(t_new[:, 2], 0.0), t_new[:, 2])
        t_new /= np.maximum(np.linalg.norm(t_new, axis=1, keepdims=True), 1e-9)
        n_new -= (n_new * t_new).sum(axis=1, keepdims=True) * t_new
        n_new /= np.maximum(np.linalg.norm(n_new, axis=1, keepdims=True), 1e-9)
        go = alive & (k < steps)
        out_top = go & (new[:, 2] > Z_TOP_UM)
        exited |= out_top
        go &= ~out_top
        alive &= ~out_top
        pos = np.where(go[:, None], new, pos)
        t = np.where(go[:, None], t_new, t)
        nrm = np.where(go[:, None], n_new, nrm)
        last = np.where(go, k + 1, last)
        track[k + 1] = pos
    out = []
    for i in range(n):
        m = int(last[i])
        pts = track[: m + 1, i, :].astype(np.float64)
        s_arr = np.arange(m + 1) * ds[i]
        e = int(end[idx[i]])
        if exited[i] and e != END_DOT:
            e = END_EXIT
        out.append((pts, s_arr, e))
    return out
