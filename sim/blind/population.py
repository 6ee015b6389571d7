"""The hairs of a site: who they are, how they lie, and how they change between visits.

A hair is a tube whose centreline starts a little under the skin (the part of
the shaft seen through the epidermis), leaves the skin at its emergence point
and then lies on the skin as a smooth curve whose curvature is a constant plus
a slow wave. Curves are functions of the stored attributes alone, so a hair
kept from one visit to the next is drawn the same way again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind.geometry import (
    F64,
    FAINT,
    I64,
    YELLOW,
    Flow,
    Frame,
    Units,
    concat,
    draw_counts,
    long_length_range,
    make_units,
    take,
)

B = NDArray[np.bool_]

SQUARE, OBLIQUE, FRAYED, TAPERED = 0, 1, 2, 3
END_NAMES = ("square", "oblique", "frayed", "tapered")


@dataclass(frozen=True)
class Hairs:
    """Parallel arrays, one row per hair."""

    unit: I64  # ident of the follicular unit
    x: F64  # emergence point (um)
    y: F64
    theta: F64  # direction at emergence (rad)
    diameter: F64  # um
    length: F64  # from emergence to the free end (um)
    trimmed: B
    end: I64  # SQUARE, OBLIQUE, FRAYED or TAPERED
    cut: B
    cut_angle: F64  # tilt of the cut plane from square (rad)
    fray_amp: F64  # um
    fray_phase: F64
    taper_len: F64  # um (tapered ends)
    pigment: F64  # multiplier of the colour's melanin
    sheen: F64  # specular strength
    medulla: F64  # strength of a lighter, broken central canal (0 for none)
    band_k: F64  # wave number of slow pigment variation along the shaft (rad/um)
    band_phase: F64
    sub_len: F64  # length of the shaft seen under the skin (um)
    sub_opacity: F64
    kappa0: F64  # constant curvature (1/um)
    wave_amp: F64  # curvature wave amplitude (1/um)
    wave_k: F64  # curvature wave number (rad/um)
    wave_phase: F64

    def __len__(self) -> int:
        return len(self.unit)


def _diameters(
    rng: np.random.Generator, params: dict[str, Any], n: int, thinner: bool
) -> tuple[F64, F64]:
    """Diameters (um) and a pigment factor for vellus and miniaturised hairs."""
    vs = float(params["vellus_share"])
    ms = float(params["miniaturised_share"])
    mean = float(params["terminal_diameter_um"])
    if thinner:
        vs, ms, mean = min(0.8, vs + 0.25), min(0.5, ms + 0.2), 0.85 * mean
    u = rng.random(n)
    term = np.clip(rng.normal(mean, 12.0, n), 45.0, 110.0)
    mini = rng.uniform(30.0, 45.0, n)
    vel = rng.uniform(10.0, 29.5, n)
    d = np.where(u < vs, vel, np.where(u < vs + ms, mini, term))
    pig = np.where(
        u < vs, rng.uniform(0.1, 0.45, n), np.where(u < vs + ms, rng.uniform(0.45, 0.85, n), 1.0)
    )
    return d, pig


def _is_trimmed_zone(params: dict[str, Any], frame: Frame, x: F64, y: F64) -> B:
    """Which emergence points lie in the clipped area of a 'mixed' image."""
    mode = str(params["hair_length"])
    if mode != "mixed":
        return np.full(len(x), mode == "trimmed")
    a = math.radians(float(params["clip_edge_deg"]))
    cx = 0.5 * frame.w_um + float(params["clip_offset"]) * frame.w_um
    cy = 0.5 * frame.h_um
    out: B = (x - cx) * math.cos(a) + (y - cy) * math.sin(a) > 0.0
    return out


def _slots(unit_rows: I64) -> F64:
    """Each hair's place across its unit, centred on the opening: -0.5 and 0.5 for a pair,
    -1, 0 and 1 for three (hairs of one unit in this draw, in order)."""
    n = len(unit_rows)
    order = np.argsort(unit_rows, kind="stable")
    ordered = unit_rows[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1] if n else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, n])
    rank = np.empty(n, dtype=np.float64)
    rank[order] = np.arange(n) - np.repeat(starts, sizes)
    k = np.empty(n, dtype=np.float64)
    k[order] = np.repeat(sizes, sizes)
    out: F64 = rank - 0.5 * (k - 1.0)
    return out


def make_hairs(
    rng: np.random.Generator,
    params: dict[str, Any],
    frame: Frame,
    units: Units,
    unit_rows: I64,
    new_growth: bool = False,
) -> Hairs:
    """Draw one hair for every entry of ``unit_rows`` (row indices into ``units``)."""
    n = len(unit_rows)
    ux, uy, uth = units.x[unit_rows], units.y[unit_rows], units.theta[unit_rows]
    diameter, pig_factor = _diameters(rng, params, n, new_growth)
    # Solid shafts cannot share space: the hairs of a unit leave its opening side by side
    # (across the unit's direction, a shaft's width apart) and fan apart from there.
    slot = _slots(unit_rows).astype(np.float64)
    if new_growth:  # beside the unit's hairs already there, on either side
        slot = slot + rng.choice([-1.0, 1.0], n) * (1.0 + np.abs(slot))
    pitch = np.maximum(diameter, 20.0) * rng.uniform(1.0, 1.25, n)
    across = uth + 0.5 * math.pi
    x = ux + slot * pitch * np.cos(across) + rng.normal(0.0, 3.0, n)
    y = uy + slot * pitch * np.sin(across) + rng.normal(0.0, 3.0, n)
    fan = math.radians(float(params["fan_deg"]))
    theta = uth + slot * 0.5 * fan + rng.normal(0.0, math.radians(3.0), n)
    vellus = diameter < 30.0
    trimmed = _is_trimmed_zone(params, frame, x, y)

    # lengths and ends
    u = rng.random(n)
    trim_len = np.clip(
        float(params["trim_mm"]) * 1000.0 * rng.lognormal(0.0, 0.35, n), 100.0, 1500.0
    )
    if new_growth:
        trim_len = np.clip(trim_len * rng.uniform(0.3, 0.9, n), 100.0, 1500.0)
    lo, hi = long_length_range(params, frame)
    long_len = rng.uniform(lo, hi, n)
    regrowing = (rng.random(n) < float(params["regrowing_share"])) | vellus | new_growth
    regrow_len = rng.uniform(200.0, 3000.0, n)
    length = np.where(trimmed, trim_len, np.where(regrowing, regrow_len, long_len))
    cut_end = rng.choice(3, size=n, p=(0.45, 0.35, 0.2)).astype(np.int64)
    long_end = np.where(u < 0.25, TAPERED, rng.choice(3, size=n, p=(0.3, 0.4, 0.3)))
    end = np.where(trimmed, cut_end, np.where(regrowing, TAPERED, long_end)).astype(np.int64)
    cut = end != TAPERED
    cut_angle = np.select(
        [end == SQUARE, end == OBLIQUE, end == FRAYED],
        [
            rng.normal(0.0, math.radians(5.0), n),
            rng.uniform(math.radians(25.0), math.radians(55.0), n) * rng.choice([-1.0, 1.0], n),
            rng.normal(0.0, math.radians(10.0), n),
        ],
        0.0,
    )
    fray_amp = np.where(end == FRAYED, rng.uniform(0.25, 0.6, n) * diameter, 0.0)
    taper_len = np.where(
        end == TAPERED, np.minimum(0.6 * length, rng.uniform(5.0, 15.0, n) * diameter), 0.0
    )

    # colour and optics of the shaft
    pigment = rng.lognormal(0.0, float(params["pigment_jitter"]), n) * pig_factor
    if params["hair_colour"] == "grey":
        white = rng.random(n) < float(params["grey_white_share"])
        pigment = np.where(white, rng.uniform(0.0, 0.05, n), pigment)
    sheen = (
        np.zeros(n)
        if params["polarised"]
        else float(params["hair_sheen"]) * rng.uniform(0.6, 1.2, n)
    )
    sheen = np.where(vellus, 0.4 * sheen, sheen)
    medulla = np.where((diameter > 50.0) & (rng.random(n) < 0.4), rng.uniform(0.15, 0.45, n), 0.0)
    if params["hair_colour"] in ("dyed_black", "black"):
        medulla[:] = 0.0  # hidden by the pigment
    sub_len = np.where(
        vellus, rng.uniform(25.0, 70.0, n), rng.uniform(60.0, 200.0, n) * np.sqrt(diameter / 70.0)
    )
    sub_opacity = rng.uniform(0.15, 0.4, n)

    curl = float(params["curl"])
    kappa0 = rng.normal(0.0, (0.05 + 0.45 * curl * curl) / 5000.0, n)
    wave_amp = curl * rng.uniform(0.0, 1.0 / 4000.0, n)
    wave_k = 2.0 * math.pi / rng.uniform(1500.0, 5000.0, n)
    wave_phase = rng.uniform(0.0, 2.0 * math.pi, n)
    return Hairs(
        unit=units.ident[unit_rows].copy(),
        x=x,
        y=y,
        theta=theta,
        diameter=diameter,
        length=length,
        trimmed=trimmed,
        end=end,
        cut=cut,
        cut_angle=cut_angle,
        fray_amp=fray_amp,
        fray_phase=rng.uniform(0.0, 2.0 * math.pi, n),
        taper_len=taper_len,
        pigment=pigment,
        sheen=sheen,
        medulla=medulla,
        band_k=2.0 * math.pi / rng.uniform(150.0, 700.0, n),
        band_phase=rng.uniform(0.0, 2.0 * math.pi, n),
        sub_len=sub_len,
        sub_opacity=sub_opacity,
        kappa0=kappa0,
        wave_amp=wave_amp,
        wave_k=wave_k,
        wave_phase=wave_phase,
    )


def regrow(
    rng: np.random.Generator,
    params: dict[str, Any],
    frame: Frame,
    flow: Flow,
    box: tuple[float, float, float, float],
    units: Units,
    hairs: Hairs,
    factor: float,
) -> tuple[Units, Hairs]:
    """The same site at a later visit: about ``factor`` times as many hairs.

    Below 1 a random share of hairs is shed; above 1 new, often thinner and
    shorter hairs appear, half in existing units (empty ones included) and half
    in new units. Kept hairs are returned first, unchanged and in their order.
    """
    n = len(hairs)
    if factor < 1.0:
        keep = np.sort(rng.choice(n, size=round(factor * n), replace=False))
        return units, take(hairs, keep)
    n_new = round((factor - 1.0) * n)
    if n_new == 0:
        return units, hairs
    per_unit = np.bincount(np.searchsorted(units.ident, hairs.unit), minlength=len(units))
    roomy = np.flatnonzero(per_unit < 5)
    n_old = int(rng.binomial(n_new, 0.5)) if len(roomy) else 0
    rows_old = rng.choice(roomy, size=n_old) if n_old else np.zeros(0, dtype=np.int64)

    n_rest = n_new - n_old
    n_units_new = math.ceil(n_rest / 1.6)
    drawn, _ = make_units(rng, params, flow, box, first_ident=len(units), n_units=n_units_new)
    new_units = Units(
        ident=drawn.ident,
        x=drawn.x,
        y=drawn.y,
        theta=drawn.theta,
        size=np.minimum(drawn.size, 1.2 * float(params["opening_um"])),
        style=np.where(drawn.style == YELLOW, FAINT, drawn.style),
        halo=np.zeros(n_units_new),
        depth=drawn.depth,
    )
    counts = np.minimum(draw_counts(rng, params, n_units_new), 3)
    rows_new = np.repeat(np.arange(n_units_new), counts)[:n_rest] + len(units)
    if len(rows_new) < n_rest:  # not enough: top up the first new units
        extra = np.arange(n_rest - len(rows_new)) % max(n_units_new, 1) + len(units)
        rows_new = np.concatenate([rows_new, extra])
    # a new opening that got no hair is not drawn (it would read as a new empty follicle)
    used, rows_new = np.unique(rows_new - len(units), return_inverse=True)
    new_units = Units(
        ident=new_units.ident[used],
        x=new_units.x[used],
        y=new_units.y[used],
        theta=new_units.theta[used],
        size=new_units.size[used],
        style=new_units.style[used],
        halo=new_units.halo[used],
        depth=new_units.depth[used],
    )
    rows_new = rows_new + len(units)
    all_units = concat(units, new_units)
    rows = np.concatenate([rows_old, rows_new]).astype(np.int64)
    added = make_hairs(rng, params, frame, all_units, rows, new_growth=True)
    return all_units, concat(hairs, added)


@dataclass(frozen=True)
class Polylines:
    """Ragged centrelines: points of tube i are rows start[i]:start[i + 1]."""

    x: F64
    y: F64
    s: F64  # arc length from the emergence point (negative under the skin)
    start: I64


def centrelines(hairs: Hairs, step_um: float) -> Polylines:
    """Centreline points (um) of every hair: under-skin start, emergence, then the lying shaft."""
    n = len(hairs)
    n_seg = np.maximum(1, np.ceil(hairs.length / step_um)).astype(np.int64)
    delta = hairs.length / n_seg
    counts = n_seg + 2
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    total = int(start[-1])
    tube = np.repeat(np.arange(n), counts)
    k = np.arange(total) - start[tube]
    d_t = delta[tube]
    s = np.where(k == 0, -hairs.sub_len[tube], (k - 1) * d_t)
    s_mid = (k - 1.5) * d_t
    th = (
        hairs.theta[tube]
        + hairs.kappa0[tube] * s_mid
        + hairs.wave_amp[tube]
        / hairs.wave_k[tube]
        * (
            np.cos(hairs.wave_phase[tube])
            - np.cos(hairs.wave_k[tube] * s_mid + hairs.wave_phase[tube])
        )
    )
    lying = k >= 2
    dx = np.where(lying, d_t * np.cos(th), 0.0)
    dy = np.where(lying, d_t * np.sin(th), 0.0)
    cx = np.cumsum(dx)
    cy = np.cumsum(dy)
    first = start[:-1]
    base_x = cx[first][tube]
    base_y = cy[first][tube]
    x = hairs.x[tube] + cx - base_x
    y = hairs.y[tube] + cy - base_y
    sub = k == 0
    x[sub] = hairs.x - hairs.sub_len * np.cos(hairs.theta)
    y[sub] = hairs.y - hairs.sub_len * np.sin(hairs.theta)
    return Polylines(x=x, y=y, s=s, start=start)
