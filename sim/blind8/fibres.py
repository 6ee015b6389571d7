"""3-D centrelines of the hair fibres (world micrometres, z up from the skin surface).
Every shaft starts at z = 0 at its emergence point and rises at the follicle's angle;
trimmed shafts stand and end blunt, long shafts settle onto the skin and wave or coil."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[Any]

CURL = {
    # label: (wave amplitude rad, coil radius um range, coil pitch um range)
    "straight": (0.06, (0.0, 0.0), (1.0, 1.0)),
    "wavy": (0.35, (0.0, 0.0), (1.0, 1.0)),
    "curly": (0.15, (150.0, 400.0), (800.0, 2000.0)),
    "coiled": (0.12, (50.0, 150.0), (150.0, 400.0)),
}


def _radius(s: Arr, length: float, r0: float, cut: bool, taper_um: float, kind: int) -> Arr:
    r = np.full(s.shape, r0)
    if kind == 5:  # exclamation mark: thin at the skin, thick at the broken top
        r = r0 * (1.0 + 1.6 * s / max(length, 1.0))
    if not cut and kind != 6:
        lt = 0.8 * length if kind == 2 else min(taper_um, 0.6 * length)
        f = np.clip((length - s) / max(lt, 1.0), 0.0, 1.0)
        r = r * (0.12 + 0.88 * f**0.8)
    return np.asarray(r, dtype=np.float64)


def centreline(a: dict[str, Arr], i: int, curl: str) -> tuple[Arr, Arr]:
    """Points (k, 3) in world um and radii (k,) in um of hair ``i`` of the pool."""
    ex, ey = float(a["ex"][i]), float(a["ey"][i])
    length = float(a["length"][i])
    r0 = float(a["d0"][i]) / 2.0
    kind = int(a["kind"][i])
    az = float(a["az"][i])
    e0 = math.radians(float(a["elev"][i]))
    cut = bool(a["cut"][i])
    if bool(a["lie"][i]):
        wave_amp, (rc_lo, rc_hi), (p_lo, p_hi) = CURL[curl]
        coil_k = float(a["coil_k"][i])
        rc = 0.5 * (rc_lo + rc_hi) * coil_k
        pitch = 0.5 * (p_lo + p_hi) * coil_k
        ds = float(np.clip(2.5 * r0, 15.0, 60.0))
        if rc > 0:
            ds = min(ds, pitch / 12.0)
        n = max(3, math.ceil(length / ds) + 1)
        s = np.linspace(0.0, length, n)
        zr = float(a["rest"][i])
        z = zr * (1.0 - np.exp(-s * math.tan(e0) / zr))
        ph = a["wave_ph"][i]
        lam = a["wave_len"][i]
        ramp = np.clip(s / 500.0, 0.0, 1.0)
        th = (
            az
            + wave_amp
            * ramp
            * sum(np.sin(2 * math.pi * s / lam[j] + ph[j]) - math.sin(ph[j]) for j in range(3))
            / 1.7
        )
        dz = np.diff(z)
        dsv = np.diff(s)
        dh = np.sqrt(np.maximum(dsv**2 - dz**2, (0.2 * dsv) ** 2))
        x = ex + np.concatenate([[0.0], np.cumsum(dh * np.cos(th[1:]))])
        y = ey + np.concatenate([[0.0], np.cumsum(dh * np.sin(th[1:]))])
        if rc > 0:
            cr = np.clip(s / 400.0, 0.0, 1.0) ** 2
            phi = 2 * math.pi * s / pitch + float(a["coil_ph"][i]) * 0.0
            off_n = rc * cr * np.sin(phi)
            x = x - off_n * np.sin(th)
            y = y + off_n * np.cos(th)
            z = z + rc * cr * (1.0 - np.cos(phi))
    else:
        ds = float(np.clip(2.0 * r0, 8.0, 50.0))
        n = max(2, math.ceil(length / ds) + 1)
        s = np.linspace(0.0, length, n)
        bend = float(a["bend"][i])
        el = np.clip(e0 + bend * s / max(length, 1.0) * (kind != 6), math.radians(5.0), 1.36)
        th = az + 0.5 * bend * s / max(length, 1.0)
        step = np.diff(s)
        x = ex + np.concatenate([[0.0], np.cumsum(step * np.cos(el[1:]) * np.cos(th[1:]))])
        y = ey + np.concatenate([[0.0], np.cumsum(step * np.cos(el[1:]) * np.sin(th[1:]))])
        z = np.concatenate([[0.0], np.cumsum(step * np.sin(el[1:]))])
    rad = _radius(s, length, r0, cut, float(a["taper_um"][i]), kind)
    pts = np.stack([x, y, z], axis=1)
    return pts, rad


def subsurface(a: dict[str, Arr], i: int) -> tuple[Arr, Arr, Arr]:
    """The shaft under the skin, back along the follicle: world x, y and depth (um)."""
    e_in = math.radians(float(a["e_in"][i]))
    ls = min(160.0 / math.sin(e_in), 500.0)
    s = np.linspace(0.0, ls, max(4, int(ls / 6.0)))
    az = float(a["az"][i])
    x = float(a["ex"][i]) - s * math.cos(e_in) * math.cos(az)
    y = float(a["ey"][i]) - s * math.cos(e_in) * math.sin(az)
    return x, y, s * math.sin(e_in)
