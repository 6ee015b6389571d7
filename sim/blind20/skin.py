"""blind-20's skin: Markov random fields sampled by Monte Carlo, colour by the Individual
Typology Angle, and marks as measures drawn by :mod:`sim.blind20.fourier`.

* The pigment network is the set of **domain walls of a quenched Ising model**: spins on a
  periodic lattice (18-30 um apart, biased toward one sign), cooled below the critical
  temperature and relaxed by a few checkerboard Metropolis sweeps, coarsen into islands and
  labyrinths; the bonds whose two spins differ are the network's lines.
* Tone, redness and fine texture are **Gaussian Markov random fields** (precision ``(4 + m^2)
  - adjacency`` on a periodic lattice), each sampled by a few hundred checkerboard Gibbs
  sweeps; ``m`` sets the grain.
* Colour: CIELAB from the **ITA angle** (``L* = 50 + b* tan ITA``, the dermatologists' tone
  scale) moved by those fields, to linear reflectance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind20.fourier import Grid, convolve_discs
from sim.blind20.shafts import View
from sim.blind20.site import stream


def ising_walls(g: np.random.Generator, n: int, bias: float, sweeps: int) -> NDArray[np.float32]:
    """Domain walls (0-1 per site) of a biased Ising lattice quenched to T = 1.3 (J = 1)."""
    s = np.where(g.random((n, n)) < 0.5 + bias, 1.0, -1.0)
    parity = np.add.outer(np.arange(n), np.arange(n)) % 2
    field = 0.25 * bias
    for _ in range(sweeps):
        for colour in (0, 1):
            nb = np.roll(s, 1, 0) + np.roll(s, -1, 0) + np.roll(s, 1, 1) + np.roll(s, -1, 1)
            d_e = 2.0 * s * (nb + field)
            flip = (parity == colour) & (g.random((n, n)) < np.exp(-np.clip(d_e, 0, 50) / 1.3))
            s = np.where(flip, -s, s)
    walls = (s != np.roll(s, 1, 0)).astype(np.float32) + (s != np.roll(s, 1, 1))
    return np.asarray(
        np.clip(ndimage.gaussian_filter(walls, 0.7, mode="wrap") * 1.6, 0, 1), np.float32
    )


def gmrf(g: np.random.Generator, n: int, m: float, sweeps: int) -> NDArray[np.float32]:
    """A Gaussian Markov random field on an n x n torus by checkerboard Gibbs sampling,
    scaled to unit standard deviation."""
    prec = 4.0 + m * m
    x = g.normal(0, 1 / math.sqrt(prec), (n, n))
    parity = np.add.outer(np.arange(n), np.arange(n)) % 2 == 0
    for _ in range(sweeps):
        for mask in (parity, ~parity):
            nb = np.roll(x, 1, 0) + np.roll(x, -1, 0) + np.roll(x, 1, 1) + np.roll(x, -1, 1)
            x = np.where(mask, nb / prec + g.normal(0, 1 / math.sqrt(prec), (n, n)), x)
    x -= x.mean()
    return np.asarray(x / (x.std() + 1e-9), np.float32)


def _sample(
    tile: NDArray[np.float32],
    spacing_um: float,
    angle: float,
    x: NDArray[np.float32],
    y: NDArray[np.float32],
) -> NDArray[np.float32]:
    c, s = math.cos(angle), math.sin(angle)
    u = (c * x + s * y) / spacing_um
    v = (c * y - s * x) / spacing_um
    out = ndimage.map_coordinates(tile, [v.ravel(), u.ravel()], order=1, mode="grid-wrap")
    return np.asarray(out.reshape(x.shape), np.float32)


def fields(seed: int, look: dict[str, Any], view: View) -> dict[str, NDArray[np.float32]]:
    """The site's MRF fields sampled at every pixel (world-fixed, so a visit sees the same)."""
    g = stream(seed, "skin")
    spacing = float(g.uniform(18, 30))
    tiles = {
        "net": (ising_walls(g, 128, float(g.uniform(0.02, 0.12)), int(g.integers(6, 14))), spacing),
        "tone": (gmrf(g, 64, 0.25, 220), float(g.uniform(120, 220))),
        "red": (gmrf(g, 64, 0.35, 160), float(g.uniform(90, 160))),
        "grain": (gmrf(g, 96, 0.9, 60), float(g.uniform(8, 16))),
    }
    angles = {k: float(g.uniform(0, 2 * math.pi)) for k in tiles}
    v, u = np.mgrid[0 : view.h, 0 : view.w].astype(np.float32)
    wx, wy = view.world(u, v)
    fx, fy = np.asarray(wx, np.float32), np.asarray(wy, np.float32)
    return {k: _sample(t, sp, angles[k], fx, fy) for k, (t, sp) in tiles.items()}


def _lab_to_linear(lab: NDArray[np.float32]) -> NDArray[np.float32]:
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    fy = (L + 16) / 116
    f = np.stack([fy + a / 500, fy, fy - b / 200], -1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array(
        [0.9505, 1.0, 1.089], np.float32
    )
    m = np.array(
        [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]],
        np.float32,
    )
    return np.clip(xyz @ m.T, 0.002, 1.0).astype(np.float32)


def base_colour(look: dict[str, Any], f: dict[str, NDArray[np.float32]]) -> NDArray[np.float32]:
    """Linear reflectance of the skin (h x w x 3) before marks."""
    b_star = 13.0 + 1.2 * look["fitzpatrick"] + 2.0 * f["tone"]
    ita = math.radians(look["ita_deg"])
    light = 50 + b_star * math.tan(ita) + 2.5 * f["tone"] + 1.2 * f["grain"]
    light -= look["network"] * 9.0 * f["net"]
    a_star = 9.0 + 5.0 * look["erythema"] + 3.0 * f["red"] * (0.4 + look["erythema"])
    b_star = b_star + 3.0 * look["network"] * f["net"]
    return _lab_to_linear(np.stack([np.clip(light, 8, 95), a_star, b_star], -1))


MARKS = ("pit", "yellow", "white", "halo", "vessel", "scale")


def marks(
    seed: int, look: dict[str, Any], view: View, grid: Grid, units: list[dict[str, Any]]
) -> dict[str, NDArray[np.float32]]:
    """Openings, yellow plugs, pinpoint white dots, peripilar halos, vessels and scale, each a
    field in [0, ~1] from discs, rings and lines of discs convolved in the frequency domain."""
    pts: list[tuple[float, float, float, int, float]] = []  # x um, y um, r um, channel, weight
    for un in units:
        pts.append((un["x"], un["y"], un["r"], 0, 1.0))
        if not un["hairs"] and un["plug"] < look["yellow_dots"] * 1.4:
            pts.append((un["x"], un["y"], un["r"] * 1.25, 1, 1.0))
        elif un["hairs"] and un["plug"] < look["halos"]:
            pts.append((un["x"], un["y"], un["r"] * 2.6, 3, 1.0))
            pts.append((un["x"], un["y"], un["r"] * 1.3, 3, -1.0))
    cols, rows = view.cells(300.0)
    for cx in cols:
        for cy in rows:
            g = stream(seed, "marks", cx, cy)
            for _ in range(int(g.poisson(look["white_dots"]))):
                pts.append(
                    (
                        (cx + g.random()) * 1000,
                        (cy + g.random()) * 1000,
                        float(g.uniform(8, 22)),
                        2,
                        1.0,
                    )
                )
            for _ in range(int(g.poisson(look["vessels"]))):
                x, y, a = (
                    (cx + g.random()) * 1000,
                    (cy + g.random()) * 1000,
                    g.uniform(0, 2 * math.pi),
                )
                r = float(g.uniform(4, 9))
                for _step in range(int(g.integers(10, 40))):
                    pts.append((x, y, r, 4, 0.35))
                    a += g.normal(0, 0.35)
                    x, y = x + 6 * math.cos(a), y + 6 * math.sin(a)
            for _ in range(int(g.poisson(look["scale"] * 1.2))):
                x, y = (cx + g.random()) * 1000, (cy + g.random()) * 1000
                for _blob in range(int(g.integers(3, 8))):
                    pts.append(
                        (
                            x + g.normal(0, 70),
                            y + g.normal(0, 70),
                            float(g.uniform(30, 110)),
                            5,
                            0.3,
                        )
                    )
    out = {k: np.zeros((view.h, view.w), np.float32) for k in MARKS}
    if not pts:
        return out
    arr = np.array(pts)
    u, v = view.px(arr[:, 0], arr[:, 1])
    wts = np.zeros((len(arr), len(MARKS)))
    wts[np.arange(len(arr)), arr[:, 3].astype(int)] = arr[:, 4]
    radius = np.minimum(arr[:, 2] / view.um, grid.pad - 3)
    got = convolve_discs(grid, u, v, radius, wts, 1.0, 1.3)
    for k, name in enumerate(MARKS):
        out[name] = np.clip(grid.crop(got[k]), 0, 1.5)
    return out


def with_marks(
    rgb: NDArray[np.float32], look: dict[str, Any], m: dict[str, NDArray[np.float32]]
) -> NDArray[np.float32]:
    """The skin with its marks laid over it (linear reflectance)."""
    out = (
        rgb
        * (1 - 0.35 * np.clip(m["pit"], 0, 1))[..., None]
        * np.array([1.0, 0.97, 0.95], np.float32)
    )
    halo = np.clip(m["halo"], 0, 1)[..., None]
    out = out * (1 - 0.3 * halo * np.array([0.8, 1.0, 1.15], np.float32))
    for name, tint, strength in (
        ("vessel", (0.45, 0.08, 0.09), 0.75),
        ("yellow", (0.62, 0.48, 0.2), 0.85),
        ("scale", (0.7, 0.68, 0.6), 0.55),
        ("white", (0.82, 0.8, 0.77), 0.9),
    ):
        alpha = (strength * np.clip(m[name], 0, 1))[..., None]
        out = out * (1 - alpha) + alpha * np.array(tint, np.float32)
    return np.asarray(out, np.float32)
