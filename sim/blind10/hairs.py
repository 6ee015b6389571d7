"""Hair population and 3-D centrelines (world units: um; skin surface z = 0, z up)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

COLOURS = {
    # label: (eumelanin, pheomelanin, dye, white-fibre share, weight)
    "black": ((5.0, 8.0), (0.0, 0.3), 0.0, 0.02, 0.16),
    "dark-brown": ((2.5, 4.5), (0.2, 0.6), 0.0, 0.03, 0.16),
    "brown": ((0.8, 1.8), (0.3, 0.9), 0.0, 0.03, 0.1),
    "red": ((0.03, 0.15), (0.6, 1.4), 0.0, 0.03, 0.07),
    "blond": ((0.03, 0.12), (0.15, 0.4), 0.0, 0.05, 0.1),
    "grey": ((2.0, 6.0), (0.1, 0.5), 0.0, 0.6, 0.16),
    "white": ((0.0, 0.1), (0.05, 0.3), 0.0, 1.0, 0.12),
    "dyed-black": ((2.0, 5.0), (0.0, 0.3), 3.5, 0.0, 0.13),
}
KINDS = (
    "terminal",
    "intermediate",
    "vellus",
    "miniaturised",
    "regrowing",
    "broken",
    "exclamation",
    "black-dot",
)


@dataclass
class Hair:
    """One hair: emergence point, above-skin centreline and its attributes."""

    ex: float
    ey: float
    kind: str
    d0: float
    pts: F64  # (n, 3) above-skin centreline, pts[0] = emergence (z = 0)
    diam: F64  # (n,)
    sub: F64  # (m, 3) follicle below the skin, ending at the emergence point
    eu: float
    ph: float
    dye: float
    opacity: float
    cut: bool
    tip: bool  # has a free end


def frame_params(rng: np.random.Generator) -> dict[str, Any]:
    """Hair parameters shared by the whole frame."""
    names = list(COLOURS)
    wts = np.array([COLOURS[n][4] for n in names])
    colour = names[int(rng.choice(len(names), p=wts / wts.sum()))]
    length = str(rng.choice(["trimmed", "long", "mixed"], p=[0.36, 0.34, 0.30]))
    curl = str(rng.choice(["straight", "wavy", "curly", "coiled"], p=[0.45, 0.25, 0.2, 0.1]))
    helix = {
        "straight": (0.0, 0.0, 1.0, 1.0),
        "wavy": (100.0, 400.0, 800.0, 1500.0),
        "curly": (80.0, 250.0, 300.0, 800.0),
        "coiled": (50.0, 120.0, 100.0, 300.0),
    }[curl]
    return {
        "density_per_cm2": float(math.exp(rng.uniform(math.log(10.0), math.log(400.0)))),
        "hairs_per_unit": float(rng.uniform(1.2, 2.6)),
        "hair_length": length,
        "hair_colour": colour,
        "curl": curl,
        "helix_radius_um": [helix[0], helix[1]],
        "helix_pitch_um": [helix[2], helix[3]],
        "flow_deg": float(rng.uniform(0, 360)),
        "flow_spread_deg": float(rng.uniform(10, 60)),
        "trim_mm": [float(rng.uniform(0.1, 0.5)), float(rng.uniform(0.5, 1.0))],
        "long_mm": [float(rng.uniform(1.5, 3.0)), float(rng.uniform(3.0, 7.0))],
        "long_share": {"trimmed": 0.0, "long": 1.0, "mixed": float(rng.uniform(0.3, 0.7))}[length],
        "lying_height_um": float(rng.uniform(20.0, 160.0)),
        "kind_weights": [
            float(rng.uniform(0.4, 1.0)),  # terminal
            float(rng.uniform(0.05, 0.3)),  # intermediate
            float(rng.uniform(0.03, 0.4)),  # vellus
            float(rng.uniform(0.0, 0.2)),  # miniaturised
            float(rng.uniform(0.0, 0.15)),  # regrowing
            float(rng.uniform(0.0, 0.06)),  # broken
            float(rng.uniform(0.0, 0.03)),  # exclamation
            float(rng.uniform(0.0, 0.08)),  # black dot
        ],
    }


def slot_draws(rng: np.random.Generator, n: int, fp: dict[str, Any]) -> dict[str, F64]:
    """Per-hair random numbers, drawn for every slot whether used or not."""
    kw = np.array(fp["kind_weights"])
    return {
        "kind": rng.choice(len(KINDS), size=n, p=kw / kw.sum()).astype(np.float64),
        "u": rng.uniform(0, 1, (n, 12)),
        "seed": rng.integers(0, 2**31, n).astype(np.float64),
    }


def build_hair(
    ex: float,
    ey: float,
    az: float,
    kind_i: int,
    u: F64,
    seed: int,
    fp: dict[str, Any],
    um: float,
    immersion: bool,
) -> Hair:
    """A hair's 3-D centreline from its emergence point and its uniform draws ``u``."""
    rng = np.random.default_rng(seed)
    kind = KINDS[kind_i]
    d0 = {
        "terminal": 50 + 60 * u[0],
        "intermediate": 30 + 22 * u[0],
        "vellus": 10.5 + 18 * u[0],
        "miniaturised": 20 + 15 * u[0],
        "regrowing": 30 + 40 * u[0],
        "broken": 40 + 50 * u[0],
        "exclamation": 25 + 20 * u[0],
        "black-dot": 40 + 50 * u[0],
    }[kind]
    d0 = float(min(d0, 118.0))
    col = COLOURS[fp["hair_colour"]]
    white = u[1] < col[3]
    eu = 0.0 if white else col[0][0] + (col[0][1] - col[0][0]) * u[2]
    ph = col[1][0] + (col[1][1] - col[1][0]) * u[3]
    dye = col[2] * (0.7 + 0.3 * u[4])
    if white:
        ph *= 0.3
        dye *= 0.2
    if kind == "vellus":
        eu, ph, dye = eu * 0.12, ph * 0.3, dye * 0.3
    if kind == "black-dot":
        eu, dye = max(eu, 4.0), 0.0
    opacity = 1.0 - math.exp(-(0.6 + 1.4 * min(eu + dye, 4.0) / 4.0) * d0 / 22.0)
    theta = math.radians(10 + 30 * u[5])
    cut, tip, taper_from, flare = False, True, 1.0, 0.0
    long_hair = False
    if kind == "black-dot":
        length, tip = 0.0, False
    elif kind in ("vellus", "miniaturised"):
        length = 200 + 1800 * u[6]
        taper_from = 0.6
    elif kind == "regrowing":
        length, taper_from = 250 + 1200 * u[6], 0.0
    elif kind == "broken":
        length, cut = 150 + 800 * u[6], True
    elif kind == "exclamation":
        length, cut, flare = 500 + 1000 * u[6], True, 1.2
    elif u[7] < fp["long_share"]:
        lo, hi = fp["long_mm"]
        length, long_hair = 1000 * (lo + (hi - lo) * u[6]), True
        cut = u[8] < 0.3
        taper_from = 1.0 if cut else 0.85  # a cut end is blunt: full diameter to the end
    else:
        lo, hi = fp["trim_mm"]
        length, cut = 1000 * (lo + (hi - lo) * u[6]), True
    sub_len = 260.0
    dir0 = np.array(
        [math.cos(az) * math.cos(theta), math.sin(az) * math.cos(theta), math.sin(theta)]
    )
    ss = np.linspace(-sub_len, 0.0, 8)
    sub = np.array([ex, ey, 0.0]) + ss[:, None] * dir0
    if length <= 0:
        pts = np.array([[ex, ey, 0.0]])
        return Hair(ex, ey, kind, d0, pts, np.array([d0]), sub, eu, ph, dye, opacity, False, False)
    r_lo, r_hi = fp["helix_radius_um"]
    p_lo, p_hi = fp["helix_pitch_um"]
    coil = long_hair and r_hi > 0
    r_h = r_lo + (r_hi - r_lo) * u[9] if coil else 0.0
    pitch = p_lo + (p_hi - p_lo) * u[10] if coil else 1.0
    step = float(np.clip(0.5 * d0, 1.0 * um, 6.0 * um))
    if coil:
        step = min(step, 2 * math.pi * r_h / 16.0, pitch / 10.0)
    n = int(min(max(length / step, 2), 6000)) + 1
    s = np.linspace(0.0, length, n)
    if long_hair:
        bend = rng.uniform(-1, 1) / rng.uniform(2000, 15000)
        wav_a, wav_l = rng.uniform(0, 0.25), rng.uniform(800, 3000)
        phi = az + bend * s + wav_a * np.sin(2 * np.pi * s / wav_l + rng.uniform(0, 6.3))
        htop = max(
            fp["lying_height_um"] * (0.4 if immersion else 1.0) * rng.uniform(0.6, 1.4), d0 / 2
        )
        zax = htop * (1 - np.exp(-s * math.sin(theta) / htop))
        dh = np.sqrt(
            np.maximum(1 - (math.sin(theta) * np.exp(-s * math.sin(theta) / htop)) ** 2, 0.05)
        )
    else:
        phi = np.full(n, az)
        zax = s * math.sin(theta)
        dh = np.full(n, math.cos(theta))
    ds = np.diff(s, prepend=0.0)
    x = ex + np.cumsum(ds * dh * np.cos(phi))
    y = ey + np.cumsum(ds * dh * np.sin(phi))
    z = zax.copy()
    if coil:
        ramp = 1 - np.exp(-s / (0.4 * pitch))
        ang = 2 * np.pi * s / pitch + rng.uniform(0, 6.3)
        c, sn = np.cos(ang) * r_h * ramp, np.sin(ang) * r_h * ramp
        x += -np.sin(phi) * c
        y += np.cos(phi) * c
        z = np.maximum(zax + sn, np.minimum(zax, d0 / 2))
    pts = np.stack([x, y, z], axis=1)
    f = s / length
    diam = np.full(n, d0)
    if taper_from < 1.0:
        diam = d0 * (1 - 0.85 * np.clip((f - taper_from) / (1 - taper_from), 0, 1) ** 1.3)
    if flare > 0:
        diam = d0 * (1 + flare * f**2)
    return Hair(ex, ey, kind, d0, pts, diam, sub, eu, ph, dye, opacity, cut, tip)
