"""Follicular units of a scalp and the hair each follicle holds, in skin micrometres.

The layout (units, their openings, every follicle slot and what hair it would grow) is a property
of the scalp and comes from the seed alone; which slots hold a hair at a visit is decided after,
so a follow-up visit keeps the same follicles and only fills or empties slots (and, when asked
for more hair than the slots hold, opens reserve follicles that were dormant at baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind7.draw import COLOURS, STREAM_FOLLICLES, STREAM_VISIT, rng_for

Arr = NDArray[Any]

KINDS = ("terminal", "intermediate", "vellus", "regrowing", "broken", "exclamation", "black_dot")
TERMINAL, INTERMEDIATE, VELLUS, REGROWING, BROKEN, EXCLAMATION, BLACK_DOT = range(7)

KIND_MIX = {
    "healthy": [0.78, 0.1, 0.09, 0.03, 0.0, 0.0, 0.0],
    "androgenetic": [0.42, 0.24, 0.25, 0.07, 0.02, 0.0, 0.0],
    "areata": [0.3, 0.12, 0.2, 0.08, 0.1, 0.09, 0.11],
    "damaged": [0.55, 0.1, 0.08, 0.03, 0.19, 0.02, 0.03],
    "bald": [0.2, 0.2, 0.4, 0.1, 0.05, 0.0, 0.05],
}
UNIT_SIZES = {
    "healthy": [0.24, 0.44, 0.26, 0.06],
    "androgenetic": [0.55, 0.32, 0.11, 0.02],
    "areata": [0.5, 0.35, 0.13, 0.02],
    "damaged": [0.35, 0.4, 0.2, 0.05],
    "bald": [0.7, 0.25, 0.05, 0.0],
}
ACTIVE = {"healthy": 0.93, "androgenetic": 0.8, "areata": 0.72, "damaged": 0.88, "bald": 0.0}


@dataclass(frozen=True)
class Slots:
    """One entry per follicle slot (all arrays of the same length)."""

    x: Arr  # emergence point, um
    y: Arr
    unit: Arr  # index into the units
    phi: Arr  # azimuth of the shaft leaving the skin, rad
    theta: Arr  # elevation of the shaft leaving the skin, rad
    kind: Arr
    d0: Arr  # diameter near the skin, um
    d1: Arr  # diameter at the distal end before any taper (exclamation marks: wider)
    eu: Arr
    pheo: Arr
    dye: Arr
    scat: Arr
    root_eu: Arr  # natural colour near the root (dyed hair that has grown out)
    root_pheo: Arr
    root_scat: Arr
    long: Arr  # this slot's hair is long (else trimmed), in a trimmed/long/mixed frame
    active: Arr
    reserve: Arr


@dataclass(frozen=True)
class Units:
    x: Arr
    y: Arr
    radius: Arr  # opening radius, um
    reserve: Arr
    size: Arr  # number of slots


def _fourier_field(rng: np.random.Generator, scale_um: float, n: int = 14) -> Arr:
    """Parameters of a smooth random field f(x, y) (unit variance) of length scale ``scale_um``."""
    k = rng.normal(0.0, 1.0 / scale_um, (n, 2))
    ph = rng.uniform(0.0, 2 * np.pi, n)
    out: Arr = np.concatenate([k, ph[:, None]], axis=1)
    return out


def field_at(f: Arr, x: Arr, y: Arr) -> Arr:
    """The smooth field ``f`` at points (x, y) um."""
    arg = x[..., None] * f[:, 0] + y[..., None] * f[:, 1] + f[:, 2]
    out: Arr = np.cos(arg).sum(axis=-1) * np.sqrt(2.0 / len(f))
    return out


def _colour(rng: np.random.Generator, name: str, n: int) -> tuple[Arr, Arr, Arr]:
    r = COLOURS[name]
    eu = rng.uniform(*r["eu"], n)
    pheo = rng.uniform(*r["pheo"], n)
    scat = rng.uniform(*r["scat"], n)
    return eu, pheo, scat


def layout(
    seed: int, p: dict[str, Any], region: tuple[float, float, float, float]
) -> tuple[Units, Slots]:
    """Every follicular unit and follicle slot in ``region`` (x0, y0, x1, y1 um)."""
    rng = rng_for(seed, STREAM_FOLLICLES)
    cond = p["condition"]
    sizes = np.array(UNIT_SIZES[cond])
    mean_k = float((sizes * np.arange(1, 5)).sum())
    p_act = ACTIVE[cond] if cond != "bald" else 0.8
    density = p["density_target_per_cm2"] * 1e-8  # per um2
    dens_field = _fourier_field(rng, float(rng.uniform(900.0, 2500.0)))
    flow_field = _fourier_field(rng, float(rng.uniform(1500.0, 5000.0)))
    patch_threshold = float(rng.uniform(-0.6, 0.4))
    # acceptance of a candidate unit: smooth, patchy where hair is lost in patches
    probe = rng.uniform(-20000.0, 20000.0, (2, 4000))

    def accept(x: Arr, y: Arr) -> Arr:
        f = field_at(dens_field, x, y)
        if cond == "areata":
            out: Arr = 1.0 / (1.0 + np.exp(-(f - patch_threshold) / 0.25))
            return 0.04 + 0.96 * out
        out = np.clip(0.78 + 0.22 * f, 0.05, 1.0)
        return out

    mean_accept = float(accept(probe[0], probe[1]).mean())
    unit_density = density / (mean_k * p_act * mean_accept)
    x0, y0, x1, y1 = region

    def grid(shift: float, dens: float) -> tuple[Arr, Arr]:
        a = 1.0 / np.sqrt(dens * np.sqrt(3.0) / 2.0)  # hexagonal cells of area 1 / dens
        row_h = a * np.sqrt(3.0) / 2.0
        j0 = int(np.floor(y0 / row_h)) - 1
        j1 = int(np.ceil(y1 / row_h)) + 1
        i0 = int(np.floor(x0 / a)) - 2
        i1 = int(np.ceil(x1 / a)) + 2
        jj, ii = np.mgrid[j0:j1, i0:i1]
        xs = (ii + 0.5 * (jj % 2) + shift) * a
        ys = (jj + shift) * row_h
        xs = xs + rng.uniform(-0.42, 0.42, xs.shape) * a
        ys = ys + rng.uniform(-0.42, 0.42, ys.shape) * row_h
        xs = xs.ravel()
        ys = ys.ravel()
        inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
        return xs[inside], ys[inside]

    ux, uy = grid(0.0, unit_density)
    keep = rng.uniform(size=ux.shape) < accept(ux, uy)
    ux, uy = ux[keep], uy[keep]
    # dormant reserve follicles, opened only when a follow-up asks for more hair
    rx, ry = grid(0.5, unit_density * 2.2)
    ux = np.concatenate([ux, rx])
    uy = np.concatenate([uy, ry])
    reserve_u = np.concatenate([np.zeros(len(ux) - len(rx), bool), np.ones(len(rx), bool)])
    nu = len(ux)
    k = rng.choice(4, nu, p=sizes / sizes.sum()) + 1
    open_r = p["opening_um"] * rng.uniform(0.7, 1.3, nu) * (0.75 + 0.12 * k)
    open_r = np.where(reserve_u, open_r * 0.6, open_r)
    units = Units(x=ux, y=uy, radius=open_r, reserve=reserve_u, size=k)
    unit_of = np.repeat(np.arange(nu), k)
    n = len(unit_of)
    # the slots in a unit fan out a little around its centre
    ang = rng.uniform(0, 2 * np.pi, n)
    rad = np.sqrt(rng.uniform(0.0, 1.0, n)) * (8.0 + 9.0 * k[unit_of]) * (k[unit_of] > 1)
    sx = ux[unit_of] + rad * np.cos(ang)
    sy = uy[unit_of] + rad * np.sin(ang)
    # hair flow: a smooth azimuth field, a parting line in some frames
    phi0 = p["flow_azimuth"]
    phi = phi0 + p["flow_swirl"] * field_at(flow_field, sx, sy)
    phi = phi + rng.normal(0.0, 0.2, nu)[unit_of] + rng.normal(0.0, 0.12, n)
    if p["parting"] and p["hair_length"] != "trimmed":
        cx = 0.5 * (x0 + x1) + p["parting_offset"] * (x1 - x0) * 0.3
        cy = 0.5 * (y0 + y1)
        side = (sx - cx) * np.cos(phi0) + (sy - cy) * np.sin(phi0)
        phi = np.where(side < 0, phi + np.pi, phi)
    kind = rng.choice(7, n, p=np.array(KIND_MIX[p["condition"]]) / sum(KIND_MIX[p["condition"]]))
    theta_deg = p["elevation_deg"] + rng.normal(0.0, 9.0, n)
    theta_deg = np.where(kind == REGROWING, rng.uniform(50.0, 85.0, n), theta_deg)
    theta_deg = np.where(kind == VELLUS, rng.uniform(25.0, 70.0, n), theta_deg)
    theta = np.radians(np.clip(theta_deg, 12.0, 86.0))
    t = p["terminal_diameter_um"]
    d_term = t * (1.0 + p["diameter_spread"] * rng.standard_normal(n))
    d_int = rng.uniform(30.0, 52.0, n)
    d_vel = rng.uniform(10.0, 29.0, n)
    d_reg = rng.uniform(18.0, 60.0, n)
    d_exc = rng.uniform(16.0, 38.0, n)
    d_dot = rng.uniform(0.55, 1.05, n) * t
    d0 = np.select(
        [
            kind == INTERMEDIATE,
            kind == VELLUS,
            kind == REGROWING,
            kind == EXCLAMATION,
            kind == BLACK_DOT,
        ],
        [d_int, d_vel, d_reg, d_exc, d_dot],
        d_term,
    )
    d0 = np.clip(d0, 10.0, 120.0)
    d1 = np.where(kind == EXCLAMATION, np.clip(rng.uniform(1.6, 3.2, n) * d0, 40.0, 110.0), d0)
    # colour of each hair
    scheme = p["hair_colour"]
    base_name = {"salt_pepper": "dark_brown", "grey": "dark_brown", "white": "grey"}.get(
        scheme, scheme
    )
    eu, pheo, scat = _colour(rng, base_name, n)
    we, wp, ws = _colour(rng, "white", n)
    ge, gp, gs = _colour(rng, "grey", n)
    u = rng.uniform(size=n)
    if scheme == "salt_pepper":
        white = u < p["salt_pepper_white_share"]
        grey = np.zeros(n, bool)
    elif scheme == "grey":
        white = u < 0.3
        grey = (u >= 0.3) & (u < 0.85)
    elif scheme == "white":
        white = u < 0.85
        grey = ~white
    else:
        white = u < 0.03
        grey = np.zeros(n, bool)
    eu = np.where(white, we, np.where(grey, ge, eu))
    pheo = np.where(white, wp, np.where(grey, gp, pheo))
    scat = np.where(white, ws, np.where(grey, gs, scat))
    dye = np.zeros(n)
    root_eu, root_pheo, root_scat = eu.copy(), pheo.copy(), scat.copy()
    if scheme == "dyed_black":
        dye = rng.uniform(0.8, 1.3, n)
        natural = str(rng.choice(["dark_brown", "brown", "grey", "white", "blond"]))
        root_eu, root_pheo, root_scat = _colour(rng, natural, n)
    # thin hairs are paler; a few terminal hairs have an air-filled medulla
    pale = np.select(
        [kind == VELLUS, kind == INTERMEDIATE, kind == REGROWING],
        [rng.uniform(0.05, 0.35, n), rng.uniform(0.4, 0.85, n), rng.uniform(0.3, 0.9, n)],
        1.0,
    )
    eu = eu * pale
    pheo = pheo * pale
    root_eu = root_eu * pale
    root_pheo = root_pheo * pale
    pale_scat = np.where(kind == VELLUS, rng.uniform(0.006, 0.016, n), 0.0)
    medulla = (rng.uniform(size=n) < p["medulla_share"]) * rng.uniform(0.0, 0.007, n)
    medulla = medulla * (d0 > 45.0)
    scat = np.maximum(scat, pale_scat) + medulla
    root_scat = np.maximum(root_scat, pale_scat) + medulla
    dye = dye * np.where(kind == VELLUS, rng.uniform(0.4, 0.9, n), 1.0)
    # long or trimmed
    mode = p["hair_length"]
    if mode == "long":
        long_hair = np.ones(n, bool)
    elif mode == "trimmed":
        long_hair = np.zeros(n, bool)
    elif p["mixed_split"] == "patch":
        g = _fourier_field(rng, 2500.0, 6)
        long_hair = field_at(g, sx, sy) > (0.5 - p["mixed_long_share"]) * 2.0
    else:
        long_hair = rng.uniform(size=n) < p["mixed_long_share"]
    reserve = reserve_u[unit_of]
    active = (rng.uniform(size=n) < p_act) & ~reserve
    if p["condition"] == "bald":
        active[:] = False
    slots = Slots(
        x=sx,
        y=sy,
        unit=unit_of,
        phi=phi,
        theta=theta,
        kind=kind,
        d0=d0,
        d1=d1,
        eu=eu,
        pheo=pheo,
        dye=dye,
        scat=scat,
        root_eu=root_eu,
        root_pheo=root_pheo,
        root_scat=root_scat,
        long=long_hair,
        active=active,
        reserve=reserve,
    )
    return units, slots


def regrow(
    seed: int, slots: Slots, factor: float, seed2: int, inside: Arr
) -> tuple[Slots, dict[str, Any]]:
    """A follow-up visit: about ``factor`` times the hair. Hairs are added in empty slots of
    existing units first, then in reserve follicles, or removed at random; the target is met
    both in the frame's neighbourhood (``inside``) and outside it."""
    rng = rng_for(seed, STREAM_VISIT, seed2, 1)
    active = slots.active.copy()
    info: dict[str, Any] = {"factor": float(factor)}
    for part in (inside, ~inside):
        on = np.nonzero(active & part)[0]
        n = len(on)
        target = int(np.floor(factor * n + rng.uniform()))
        if target < n:
            drop = rng.permutation(on)[: n - target]
            active[drop] = False
        elif target > n:
            empty = np.nonzero(~active & ~slots.reserve & part)[0]
            spare = np.nonzero(~active & slots.reserve & part)[0]
            order = np.concatenate([rng.permutation(empty), rng.permutation(spare)])
            active[order[: target - n]] = True
    info["hairs_before"] = int(slots.active.sum())
    info["hairs_after"] = int(active.sum())
    return replace(slots, active=active), info
