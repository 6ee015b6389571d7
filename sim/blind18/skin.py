"""The scalp's surface and chromophores per pixel: relief height, epidermal melanin, dermal
blood, scattering spots, sebum, yellow plugs and scale, from wavelet noise and round marks.

Marks (follicle pits, halos, plugs, white dots, vessels as chains of small discs) are
stamped with a radial profile over each one's box of pixels; every field is sampled in world
micrometres, so a site keeps its skin in any frame, size, scale or visit.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind18.noise import Grid, Octave, octaves
from sim.blind18.site import CELL_UM, rng_for

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass
class Skin:
    """Per-pixel fields (h, w): ``height`` (px), ``melanin`` (epidermal volume fraction),
    ``blood`` (dermal volume fraction), ``white`` (0-1: extra scattering, pale spots),
    ``plug`` (0-1: a yellow keratin-sebum plug on top), ``gloss`` (0-1: sebum),
    ``scale`` (0-1: opacity of scale), ``scale_height`` (px, where scale lies) and
    ``vessel`` (the part of ``blood`` in vessels, deeper than the rest)."""

    height: F32
    melanin: F32
    blood: F32
    white: F32
    plug: F32
    gloss: F32
    scale: F32
    scale_height: F32
    vessel: F32


def discs(cx: F64, cy: F64, rad: F64, w: int, h: int) -> tuple[I64, F32, I64]:
    """Pixels within ``rad`` (px) of each centre: flat index, distance over radius, which."""
    x0 = np.clip(np.ceil(cx - rad), 0, w).astype(np.int64)
    x1 = np.clip(np.floor(cx + rad), -1, w - 1).astype(np.int64)
    y0 = np.clip(np.ceil(cy - rad), 0, h).astype(np.int64)
    y1 = np.clip(np.floor(cy + rad), -1, h - 1).astype(np.int64)
    nx = np.maximum(x1 - x0 + 1, 0)
    cnt = nx * np.maximum(y1 - y0 + 1, 0)
    which = np.repeat(np.arange(cx.size), cnt)
    local = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    col = x0[which] + local % nx[which]
    row = y0[which] + local // nx[which]
    rho = np.hypot(col - cx[which], row - cy[which]) / np.maximum(rad[which], 1e-6)
    keep = rho < 1.0
    return (row * w + col)[keep], rho[keep].astype(np.float32), which[keep]


def _bump(rho: F32) -> F32:
    out: F32 = ((1.0 - rho * rho) ** 2).astype(np.float32)
    return out


def _vessel(r: np.random.Generator, x: float, y: float) -> tuple[list[float], list[float], float]:
    """A vessel as world points 6 um apart: dotted, a wandering line or a branching one."""
    kind = r.choice(3, p=[0.35, 0.4, 0.25])
    width = float(r.uniform(14.0, 36.0))
    if kind == 0:
        k = int(r.integers(1, 4))
        return list(x + r.normal(0, 25, k)), list(y + r.normal(0, 25, k)), width * 1.4
    xs, ys = [x], [y]
    a = float(r.uniform(0, 2 * math.pi))
    n = int(r.integers(25, 120))
    branch_at = int(r.integers(8, n)) if kind == 2 else -1
    for step in range(n):
        a += float(r.normal(0.0, 0.1))
        xs.append(xs[-1] + 6.0 * math.cos(a))
        ys.append(ys[-1] + 6.0 * math.sin(a))
        if step == branch_at:
            b = a + float(r.choice([-1, 1])) * float(r.uniform(0.5, 1.2))
            bx, by = xs[-1], ys[-1]
            for _ in range(int(r.integers(10, 50))):
                b += float(r.normal(0.0, 0.1))
                bx, by = bx + 6.0 * math.cos(b), by + 6.0 * math.sin(b)
                xs.append(bx)
                ys.append(by)
    return xs, ys, width


def cell_marks(
    seed: int, look: dict[str, Any], cells: list[tuple[int, int]]
) -> dict[str, list[float]]:
    """White dots and vessels of the given cells, in world um: their points and radii."""
    out: dict[str, list[float]] = {k: [] for k in ("wx", "wy", "wr", "vx", "vy", "vr")}
    for i, j in cells:
        r = rng_for(seed, 5, i, j)
        k = int(r.poisson(look["white_dots_per_mm2"]))
        out["wx"] += list((i + r.random(k)) * CELL_UM)
        out["wy"] += list((j + r.random(k)) * CELL_UM)
        out["wr"] += list(r.uniform(15.0, 40.0, k))
        for _ in range(int(r.poisson(look["vessels_per_mm2"]))):
            xs, ys, width = _vessel(r, (i + r.random()) * CELL_UM, (j + r.random()) * CELL_UM)
            out["vx"] += xs
            out["vy"] += ys
            out["vr"] += [width / 2.0] * len(xs)
    return out


@functools.lru_cache(maxsize=4)
def site_noise(seed: int) -> SkinNoise:
    """The site's octaves (a follow-up or a bare frame of the same site reuses them)."""
    return SkinNoise(seed)


class SkinNoise:
    """The site's noise octaves (drawn once per site from its seed)."""

    def __init__(self, seed: int) -> None:
        r = rng_for(seed, 7)
        self.relief = octaves(r, 8.0, [0.5, 0.8, 1.0, 0.7, 0.4])
        self.crease = octaves(r, 500.0, [1.0, 0.5])
        self.mottle = octaves(r, 250.0, [0.3, 0.5, 0.8, 1.0, 0.8])
        self.red = octaves(r, 400.0, [0.4, 0.8, 1.0, 0.8])
        self.speck = octaves(r, 6.0, [1.0, 0.6])
        self.gloss = octaves(r, 120.0, [0.5, 1.0, 0.8])
        self.freckle = octaves(r, 150.0, [0.6, 1.0, 0.6])
        self.scale = octaves(r, 50.0, [0.3, 0.6, 1.0, 0.8, 0.5])
        self.lift = octaves(r, 200.0, [1.0])
        self.net: list[Octave] = []
        self.net_seed = int(r.integers(0, 2**31))

    def network(self, cell_um: float) -> list[Octave]:
        if not self.net:
            r = np.random.default_rng(self.net_seed)
            # a band at the papillae's spacing and a weaker one below it: irregular meshes
            self.net = [Octave(r, cell_um / 2.2, 1.0), Octave(r, cell_um / 4.4, 0.35)]
        return self.net


def skin_fields(
    seed: int,
    look: dict[str, Any],
    grid: Grid,
    um: float,
    to_px: Any,
    units: list[dict[str, Any]],
    marks: dict[str, list[float]],
) -> Skin:
    """Every field of :class:`Skin` for the frame that ``grid`` describes."""
    h, w = grid.h, grid.w
    nz = site_noise(seed)
    field = grid.field
    relief = field(nz.relief, um) * (look["relief_um"] / um)
    crease = field(nz.crease, um)
    height = relief - (6.0 / um) * np.exp(-((crease / 0.09) ** 2)).astype(np.float32)
    mottle = field(nz.mottle, um)
    melanin = look["melanin"] * np.exp(0.16 * mottle + 0.06 * field(nz.speck, um))
    if look["network"] > 0:
        net = field(nz.network(look["network_um"]), um)
        # pigmented rete ridges along the zero set of a band at the papillae's spacing, the
        # papillae between them paler
        lines = np.exp(-((net / 0.45) ** 2)) - 0.25 * np.clip(net, 0.0, 1.0)
        melanin *= 1.0 + 0.9 * look["network"] * lines
    if look["freckles"] > 0:
        f = field(nz.freckle, um)
        melanin *= 1.0 + 2.5 * look["freckles"] * np.clip(f - 1.2, 0.0, 0.8)
    red = field(nz.red, um)
    blood = look["blood"] * np.exp(0.25 * red) * (1.0 + 0.8 * look["erythema"] * np.clip(red, 0, 2))
    white = np.zeros((h, w), np.float32)
    plug = np.zeros((h, w), np.float32)
    flat_h, flat_m = height.ravel(), melanin.ravel()
    flat_b, flat_w, flat_p = blood.ravel(), white.ravel(), plug.ravel()
    if units:
        ux, uy = to_px(np.array([u["x"] for u in units]), np.array([u["y"] for u in units]))
        ur = np.array([u["r"] for u in units]) / um
        halo = look["halo"]
        reach = ur * (2.3 if halo != "none" else 1.0)
        idx, rho, which = discs(ux, uy, reach, w, h)
        scale = reach[which] / ur[which]
        inner = rho * scale  # distance over the opening's radius
        pit = _bump(np.minimum(inner, 1.0).astype(np.float32))
        depth = np.array([u["depth"] for u in units])[which] / um
        yellow = np.array([u["yellow"] for u in units])[which]
        hairy = np.array([u["n"] > 0 for u in units])[which]
        np.minimum.at(flat_h, idx, (flat_h[idx] - depth * pit * ~yellow).astype(np.float32))
        np.maximum.at(flat_p, idx, (pit * yellow).astype(np.float32))
        # a keratin-grey rim inside the opening; perifollicular redness around it
        np.multiply.at(flat_m, idx, (1.0 + 0.35 * pit * ~yellow).astype(np.float32))
        ring = np.clip(1.0 - np.abs(inner - 1.6) / 0.9, 0.0, 1.0) ** 1.5 * hairy
        if halo == "peripilar":
            np.multiply.at(flat_m, idx, (1.0 + 0.9 * ring).astype(np.float32))
        elif halo == "white":
            np.maximum.at(flat_w, idx, (0.45 * ring).astype(np.float32))
        np.multiply.at(flat_b, idx, (1.0 + 0.6 * look["erythema"] * ring).astype(np.float32))
    if marks["wx"]:
        px, py = to_px(np.array(marks["wx"]), np.array(marks["wy"]))
        idx, rho, which = discs(px, py, np.array(marks["wr"]) / um, w, h)
        np.maximum.at(flat_w, idx, _bump(rho))
    vessel = np.zeros(h * w, np.float32)
    if marks["vx"]:
        px, py = to_px(np.array(marks["vx"]), np.array(marks["vy"]))
        rad = np.maximum(np.array(marks["vr"]) / um, 0.7)
        idx, rho, _ = discs(px, py, rad, w, h)
        np.maximum.at(vessel, idx, 0.05 * _bump(rho))
        flat_b += vessel
    melanin = (flat_m * (1.0 - 0.85 * flat_w)).reshape(h, w)
    # yellow plugs fill their openings up to a low dome
    height = flat_h.reshape(h, w) + (4.0 / um) * plug
    gloss = np.clip(0.5 + 0.5 * field(nz.gloss, um), 0.0, 1.0) * look["sebum"]
    scale_a = np.zeros((h, w), np.float32)
    scale_h = height.copy()
    if look["scale"] > 0.02:
        sf = field(nz.scale, um)
        thr = 3.2 - 1.6 * look["scale"]
        scale_a = np.clip((sf - thr) * 1.5, 0.0, 1.0).astype(np.float32)
        lift = np.clip(field(nz.lift, um), 0.0, None) * (35.0 / um)
        scale_h = np.where(scale_a > 0.3, height + (5.0 / um) + lift, height).astype(np.float32)
    return Skin(
        height=height.astype(np.float32),
        melanin=melanin.astype(np.float32),
        blood=flat_b.reshape(h, w).astype(np.float32),
        white=flat_w.reshape(h, w),
        plug=flat_p.reshape(h, w),
        gloss=gloss.astype(np.float32),
        scale=scale_a,
        scale_height=scale_h,
        vessel=vessel.reshape(h, w),
    )
