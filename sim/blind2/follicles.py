"""Follicular openings and the hairs that leave them, as per-item columns.

The scalp is tiled by a jittered grid of sites over the frame plus a margin as
wide as the longest hair can reach.  Each site is a follicular unit (1-4 hairs
sharing one opening), an empty opening, or a dormant follicle that shows
nothing.  Hairs of one unit leave the opening side by side across the unit's
direction and fan apart in the same order, so their shafts never overlap.

Later visits are made in :mod:`sim.blind2.visits`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind2.frame import Frame
from sim.blind2.look import Look

Arr = NDArray[Any]
Table = dict[str, Arr]

# eumelanin, pheomelanin absorption (1/um) and scattering (1/um) per colour
PIGMENT: dict[str, tuple[float, float, float]] = {
    "dyed-black": (0.09, 0.0, 0.002),
    "black": (0.06, 0.003, 0.0025),
    "dark-brown": (0.032, 0.003, 0.0025),
    "brown": (0.017, 0.003, 0.0035),
    "light-brown": (0.009, 0.003, 0.006),
    "auburn": (0.008, 0.009, 0.005),
    "red": (0.003, 0.014, 0.005),
    "blond": (0.0022, 0.0025, 0.006),
    "white": (0.0002, 0.0002, 0.009),
}
END_SHARES = {  # square, oblique, frayed
    "clipper": (0.55, 0.35, 0.1),
    "scissors": (0.2, 0.6, 0.2),
    "razor": (0.7, 0.3, 0.0),
    "old": (0.25, 0.4, 0.35),
}
SQUARE, OBLIQUE, FRAYED, TAPERED, LIFTED = 0, 1, 2, 3, 4


def lie_length_um(look: Look) -> float:
    """Lying length of long hairs, shortened so they cannot bury the frame."""
    cover_cap_mm = 12.0 / (look.num("density_per_cm2") * look.num("terminal_diameter_um") * 1e-3)
    return 1000.0 * max(2.0, min(look.num("lie_length_mm"), cover_cap_mm))


def reach_um(look: Look) -> float:
    """How far (micrometres, in the skin plane) any hair can get from its opening."""
    if look.text("hair_length") == "trimmed":
        return 3200.0
    return max(4200.0, 1.5 * lie_length_um(look) + 6500.0)


def unit_shares(look: Look) -> Arr:
    """Shares of units with 1, 2, 3 and 4 hairs (truncated Poisson)."""
    lam = look.num("units_lambda")
    p = np.array([lam**k / math.factorial(k) for k in range(4)])
    return np.asarray(p / p.sum())


def build_sites(rng: np.random.Generator, look: Look, frame: Frame, hairless: bool) -> Table:
    """Jittered grid of sites with kind 0 unit, 1 empty opening, 2 dormant."""
    shares = unit_shares(look)
    mean_unit = float((shares * np.arange(1, 5)).sum())
    dormant, empty = 0.3, look.num("empty_share")
    per_cm2 = look.num("density_per_cm2") / mean_unit / (1.0 - empty) / (1.0 - dormant)
    cell = 1e4 / math.sqrt(per_cm2) / frame.upp
    margin = reach_um(look) / frame.upp
    nx = math.ceil((frame.width + 2 * margin) / cell)
    ny = math.ceil((frame.height + 2 * margin) / cell)
    gy, gx = np.mgrid[0:ny, 0:nx]
    n = gx.size
    x = -0.5 - margin + (gx.ravel() + 0.5 + rng.uniform(-0.42, 0.42, n)) * cell
    y = -0.5 - margin + (gy.ravel() + 0.5 + rng.uniform(-0.42, 0.42, n)) * cell
    u = rng.uniform(size=n)
    kind = np.where(u < dormant, 2, np.where(u < dormant + (1 - dormant) * empty, 1, 0))
    ang = math.radians(look.num("uneven_azimuth_deg") + 90.0)
    ramp = ((x - frame.width / 2) * math.cos(ang) + (y - frame.height / 2) * math.sin(ang)) / max(
        frame.width, frame.height
    )
    thin = rng.uniform(size=n) < look.num("density_gradient") * np.clip(ramp + 0.5, 0.0, 1.0)
    kind = np.where((kind == 0) & thin, 2, kind)
    size = rng.choice(4, size=n, p=shares) + 1
    if hairless:
        kind = np.where(kind == 0, 1, kind)
    comb = math.radians(look.num("comb_azimuth_deg"))
    wx = look.num("whorl_x") * frame.width
    wy = look.num("whorl_y") * frame.height
    whorl = look.num("whorl")
    vx = (1 - whorl) * math.cos(comb) - whorl * (y - wy) / max(frame.width, frame.height)
    vy = (1 - whorl) * math.sin(comb) + whorl * (x - wx) / max(frame.width, frame.height)
    spread = math.radians(look.num("azimuth_spread_deg"))
    direction = np.arctan2(vy, vx) + rng.normal(0.0, spread, n)
    fan = math.radians(look.num("fan_deg")) * rng.uniform(0.6, 1.4, n)
    return {
        "curv": rng.normal(0.0, 1.0, n),  # a unit's hairs bend alike, so they never cross
        "wave": rng.uniform(0.0, 2 * math.pi, n),
        "wave_len": rng.uniform(1500.0, 6000.0, n),
        "x": x,
        "y": y,
        "kind": kind.astype(np.float64),
        "size": np.where(kind == 0, size, 0).astype(np.float64),
        "dir": direction,
        "fan": fan,
        "margin_um": rng.uniform(0.7, 1.3, n) * look.num("opening_margin_um"),
        "yellow": (rng.uniform(size=n) < look.num("yellow_dot_share")).astype(np.float64),
        "vis": np.clip(look.num("opening_visibility") + rng.normal(0, 0.15, n), 0, 1),
        "left_um": np.zeros(n),
        "right_um": np.zeros(n),
        "radius_um": np.zeros(n),
    }


def draw_hairs(rng: np.random.Generator, look: Look, unit_size: Arr, new: bool) -> Table:
    """Intrinsic properties of hairs: thickness, shape, length, tip, colour."""
    n = unit_size.size
    single = unit_size <= 1
    vs, ms = look.num("vellus_share"), look.num("miniaturised_share")
    pv = np.where(single, np.minimum(0.95, vs * 1.7), vs * 0.45)
    u = rng.uniform(size=n)
    vellus = u < pv
    mini = ~vellus & (u < pv + ms)
    term = look.num("terminal_diameter_um") * (1 + look.num("diameter_spread") * rng.normal(size=n))
    diam = np.where(vellus, rng.uniform(10.0, 29.5, n), np.clip(term, 45.0, 110.0))
    diam = np.where(mini, rng.uniform(30.0, 45.0, n), diam)
    alpha = np.radians(np.clip(look.num("elevation_deg") + rng.normal(0, 6, n), 10, 40))
    mode = look.text("hair_length")
    mixed_long = rng.uniform(size=n) < look.num("long_share_mixed")
    long_ = np.full(n, mode == "long") | ((mode == "mixed") & mixed_long)
    regrow = rng.uniform(size=n) < look.num("regrowing_share") * (2.0 if new else 1.0)
    natural = np.where(vellus, rng.uniform(200, 3000, n), np.inf)
    natural = np.where(regrow, rng.uniform(50, 1200, n), natural)
    clip = 1000 * np.clip(look.num("clip_length_mm") * rng.uniform(0.75, 1.25, n), 0.1, 1.5)
    length = np.minimum(clip, natural)
    end = np.full(n, SQUARE)
    style = END_SHARES[look.text("cut_style")]
    cut_end = rng.choice(3, size=n, p=style)
    old_end = rng.choice(3, size=n, p=END_SHARES["old"])
    end = np.where(natural < clip, TAPERED, cut_end)
    trimmed = ~long_ & (natural >= clip)
    short = regrow | vellus
    long_len = lie_length_um(look) * rng.uniform(0.5, 1.5, n)
    long_short = np.where(vellus, rng.uniform(300, 4000, n), rng.uniform(200, 4000, n))
    roll = rng.uniform(size=n)
    long_end = np.where(
        roll < look.num("lifted_share"), LIFTED, np.where(roll < 0.93, old_end, TAPERED)
    )
    long_end = np.where(short, TAPERED, long_end)
    length = np.where(long_, np.where(short, long_short, long_len), length)
    end = np.where(long_, long_end, end)
    taper = np.where(long_ & ~short, rng.uniform(800, 3000, n), rng.uniform(0.5, 1.0, n) * length)
    flat = np.clip(look.num("flatness") * rng.uniform(0.92, 1.08, n), 0.5, 1.0)
    face = np.where(trimmed, rng.uniform(0.2, 0.7, n) / np.maximum(np.sin(alpha), 0.5), 0.0)
    face = np.where(long_, rng.uniform(0.05, 0.3, n), face)
    sign = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
    obl = np.where(end == OBLIQUE, sign * rng.uniform(0.5, 1.8, n), rng.uniform(-0.15, 0.15, n))
    wav = look.num("waviness")
    table: Table = {
        "diam_um": diam,
        "flat": flat,
        "alpha": alpha,
        "long": long_.astype(np.float64),
        "length_um": length,
        "bend_um": rng.uniform(400, 1600, n) * np.sqrt(diam / 70.0),
        "lift_um": rng.uniform(0, 1, n) ** 2 * 80.0,
        "lift_angle": np.radians(rng.uniform(25, 60, n)),
        "curv_scale": (0.05 + 0.25 * wav) * 1e-3 * np.where(long_, 1.0, 0.4),
        "curv_own": rng.normal(0, 1, n),
        "wave_amp": wav * 0.5 * rng.uniform(0.5, 1.5, n) * np.where(long_, 1.0, 0.3),
        "wave_len_um": rng.uniform(1500, 6000, n),
        "wave_own": rng.normal(0, 0.3, n),
        "end": end.astype(np.float64),
        "cut": (end != TAPERED).astype(np.float64) * (end != LIFTED),
        "trimmed": trimmed.astype(np.float64),
        "taper_um": np.maximum(taper, 20.0),
        "face": face,
        "obl": obl,
        "fray_amp": np.where(end == FRAYED, rng.uniform(0.6, 2.5, n), 0.0),
        "fray_phase": rng.uniform(0, 2 * math.pi, n),
        "layer": rng.uniform(size=n),
        "along_um": rng.uniform(-0.3, 0.3, n) * diam,
        "phi_jit": rng.normal(0.0, 0.004, n),
        "new": np.full(n, 1.0 if new else 0.0),
    }
    table.update(_colours(rng, look, n, vellus, mini))
    return table


def _colours(rng: np.random.Generator, look: Look, n: int, vellus: Arr, mini: Arr) -> Table:
    """Melanin and scattering per hair, with dyed hairs' natural-coloured roots."""
    colour = look.text("hair_colour")
    jit = np.exp(rng.normal(0, look.num("pigment_jitter"), n))
    white = np.zeros(n, dtype=bool)
    base = np.array(PIGMENT.get(colour, PIGMENT["dark-brown"]))
    if colour == "salt-and-pepper":
        base = np.array(PIGMENT[look.text("pepper_base")])
        white = rng.uniform(size=n) < look.num("white_share")
    scale = np.ones(n)
    if colour == "grey":
        white = rng.uniform(size=n) < 0.6
        scale = rng.uniform(0.15, 1.0, n)
    eu = base[0] * jit * scale * np.where(vellus, 0.25, np.where(mini, 0.6, 1.0))
    pheo = base[1] * jit * scale * np.where(vellus, 0.4, 1.0)
    scat = np.full(n, base[2]) * rng.uniform(0.8, 1.25, n)
    wb = np.array(PIGMENT["white"])
    eu = np.where(white, wb[0] * jit, eu)
    pheo = np.where(white, wb[1] * jit, pheo)
    scat = np.where(white, wb[2] * rng.uniform(0.7, 1.4, n), scat)
    root = np.zeros(n)
    root_eu, root_pheo = eu.copy(), pheo.copy()
    if colour == "dyed-black":
        root = 1000 * look.num("dye_root_mm") * rng.uniform(0.8, 1.2, n)
        nat = PIGMENT["dark-brown"]
        root_eu = nat[0] * look.num("dye_natural_pigment") * jit
        root_pheo = nat[1] * jit * np.ones(n)
    return {
        "eu": eu,
        "pheo": pheo,
        "scat": scat,
        "root_um": root,
        "root_eu": root_eu,
        "root_pheo": root_pheo,
    }


def layout(sites: Table, hairs: Table, rng: np.random.Generator) -> None:
    """Lay the hairs of fresh units side by side (slots 0..k-1, sorted by unit)."""
    unit = hairs["unit"].astype(np.int64)
    d = hairs["diam_um"]
    step = d + rng.uniform(2.0, 10.0, d.size)
    csum = np.cumsum(step)
    first = np.r_[True, unit[1:] != unit[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(d.size), 0))
    before = csum - step - (csum[start] - step[start])
    span = np.zeros(sites["x"].size)
    np.add.at(span, unit, step)
    gap_last = np.zeros(sites["x"].size)
    gap_last[unit] = step - d  # any one gap of the unit: the row's trailing gap is dropped
    span_u = span - gap_last
    hairs["off_um"] = before + d / 2 - span_u[unit] / 2
    used = np.unique(unit)
    sites["left_um"][used] = -span_u[used] / 2
    sites["right_um"][used] = span_u[used] / 2


def extend(sites: Table, hairs: Table, rng: np.random.Generator) -> None:
    """Put one new hair beside an existing unit's row, on a random side."""
    unit = hairs["unit"].astype(np.int64)
    d = hairs["diam_um"]
    gap = rng.uniform(2.0, 10.0, d.size)
    left = hairs["slot"] < 0
    off = np.where(
        left, sites["left_um"][unit] - gap - d / 2, sites["right_um"][unit] + gap + d / 2
    )
    hairs["off_um"] = off
    sites["left_um"][unit] = np.where(left, off - d / 2, sites["left_um"][unit])
    sites["right_um"][unit] = np.where(left, sites["right_um"][unit], off + d / 2)


def position(sites: Table, hairs: Table, frame: Frame) -> None:
    """Emergence points and azimuths from the unit's direction and the lateral offset."""
    u = hairs["unit"].astype(np.int64)
    d = sites["dir"][u]
    off = hairs["off_um"]
    along = hairs["along_um"]
    hairs["x"] = sites["x"][u] + (-off * np.sin(d) + along * np.cos(d)) / frame.upp
    hairs["y"] = sites["y"][u] + (off * np.cos(d) + along * np.sin(d)) / frame.upp
    hairs["phi"] = d + sites["fan"][u] * off / 75.0 + hairs["phi_jit"]
    own = np.where(hairs["long"] > 0.5, 0.45, 0.1)  # lying hairs may wander off and cross
    hairs["curv"] = hairs["curv_scale"] * (sites["curv"][u] + own * hairs["curv_own"])
    hairs["wave_phase"] = sites["wave"][u] + own * hairs["wave_own"]
    hairs["wave_len_um"] = np.where(hairs["long"] > 0.5, hairs["wave_len_um"], sites["wave_len"][u])


def hairs_for(
    rng: np.random.Generator, look: Look, unit: Arr, slot: Arr, size: Arr, new: bool
) -> Table:
    hairs = draw_hairs(rng, look, size, new)
    hairs["unit"] = unit.astype(np.float64)
    hairs["slot"] = slot.astype(np.float64)
    return hairs


def fresh_units(
    rng: np.random.Generator, look: Look, sites: Table, units: Arr, sizes: Arr, new: bool
) -> Table:
    unit = np.repeat(units, sizes)
    slot = np.arange(unit.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    hairs = hairs_for(rng, look, unit, slot, sizes[np.searchsorted(units, unit)], new)
    layout(sites, hairs, rng)
    return hairs


def baseline(
    rng: np.random.Generator, look: Look, frame: Frame, hairless: bool
) -> tuple[Table, Table]:
    """Sites and hairs of the first visit."""
    sites = build_sites(rng, look, frame, hairless)
    units = np.flatnonzero(sites["kind"] == 0)
    sizes = sites["size"][units].astype(np.int64)
    hairs = fresh_units(rng, look, sites, units, sizes, new=False)
    half = 0.5 * (sites["right_um"] - sites["left_um"])
    sites["radius_um"] = np.where(
        sites["kind"] == 0, half + sites["margin_um"], 0.9 * sites["margin_um"] + 20.0
    )
    position(sites, hairs, frame)
    return sites, hairs


def concat(a: Table, b: Table) -> Table:
    """Rows of a followed by rows of b."""
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def take(t: Table, rows: Arr) -> Table:
    """The given rows of a table."""
    return {k: v[rows] for k, v in t.items()}
