"""Skin of the independent generator: value noise, a Voronoi pigment network, lighting.

Everything is computed at the output resolution in display RGB (0..1); small marks (dots,
flakes, vessels) are drawn later as shapes on the supersampled canvas (see :mod:`.marks`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from sim.heldout.params import Params, skin_colour

F32 = NDArray[np.float32]


def value_noise(rng: np.random.Generator, height: int, width: int, cell_px: float) -> F32:
    """Bicubic interpolation of a random lattice, ``cell_px`` apart: about zero mean, std 1."""
    cell = max(cell_px, 1.0)
    gh, gw = math.ceil(height / cell) + 4, math.ceil(width / cell) + 4
    lattice = rng.standard_normal((gh, gw)).astype(np.float32)
    ox, oy = float(rng.uniform(1, 2)), float(rng.uniform(1, 2))
    im = Image.fromarray(lattice, mode="F").resize(
        (width, height),
        Image.Resampling.BICUBIC,
        box=(ox, oy, ox + width / cell, oy + height / cell),
    )
    out: F32 = np.asarray(im, dtype=np.float32)
    return out


def octaves(
    rng: np.random.Generator, height: int, width: int, cells_px: list[float], amps: list[float]
) -> F32:
    """Sum of value-noise octaves (one amplitude per cell size)."""
    out = np.zeros((height, width), dtype=np.float32)
    for c, a in zip(cells_px, amps, strict=True):
        if a > 0:
            out += np.float32(a) * value_noise(rng, height, width, c)
    return out


def honeycomb(rng: np.random.Generator, height: int, width: int, spacing_px: float) -> F32:
    """Lines of a Voronoi diagram of jittered seeds (0..1, 1 on a cell wall): a pigment network.

    Computed at a reduced resolution, about 10 px per cell (the lines are soft anyway).
    """
    f = int(np.clip(spacing_px // 10, 1, 8))
    h, w = math.ceil(height / f), math.ceil(width / f)
    sp = spacing_px / f
    gh, gw = math.ceil(h / sp) + 3, math.ceil(w / sp) + 3
    jit = rng.uniform(0.1, 0.9, (gh, gw, 2))
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = (y / sp).astype(np.int64) + 1, (x / sp).astype(np.int64) + 1
    d1 = np.full((h, w), np.inf, dtype=np.float32)
    d2 = np.full((h, w), np.inf, dtype=np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            iy, ix = cy + dy, cx + dx
            py = (iy - 1 + jit[iy, ix, 0]) * sp
            px = (ix - 1 + jit[iy, ix, 1]) * sp
            d = np.hypot((px - x).astype(np.float32), (py - y).astype(np.float32))
            np.minimum(d2, np.maximum(d1, d), out=d2)
            np.minimum(d1, d, out=d1)
    line_px = max(0.8, 0.09 * sp)
    lines: F32 = np.exp(-(((d2 - d1) / line_px) ** 2)).astype(np.float32)
    if f > 1:
        lines = np.asarray(
            Image.fromarray(lines, mode="F").resize((width, height), Image.Resampling.BILINEAR),
            dtype=np.float32,
        )
    return lines


def skin_field(rng: np.random.Generator, p: Params) -> F32:
    """(h, w, 3) float32 display RGB of bare skin with texture and pigment network."""
    h, w = p.height, p.width
    upp = p.um_per_px
    base = np.array(skin_colour(p.skin_tone, p.skin_warmth), dtype=np.float32)
    micro = octaves(rng, h, w, [12.0 / upp, 22.0 / upp, 40.0 / upp], [0.5 * p.micro_texture] * 3)
    coarse = octaves(rng, h, w, [90.0 / upp, 200.0 / upp, 420.0 / upp], [p.coarse_texture / 2] * 3)
    lum = 1.0 + micro + coarse
    img = lum[..., None] * base[None, None, :]
    # redness (erythema) in patches: a separate low-frequency field on the green/blue
    red = np.clip(octaves(rng, h, w, [300.0 / upp], [0.04]), -0.08, 0.08)
    img[..., 1] -= red * base[1]
    img[..., 2] -= red * base[2]
    if p.network > 0:
        net = honeycomb(rng, h, w, p.network_um / upp)
        patch = np.clip(0.6 + 0.8 * value_noise(rng, h, w, 700.0 / upp), 0.0, 1.0)
        brown = np.array([0.55, 0.42, 0.36], dtype=np.float32)
        k = (p.network * net * patch)[..., None]
        img = img * (1.0 - k) + img * brown * k
    out: F32 = np.clip(img, 0.0, 1.0).astype(np.float32)
    return out


def lighting(rng: np.random.Generator, p: Params) -> F32:
    """(h, w) multiplicative illumination: a tilted ramp, fall-off to the corners, a soft spot."""
    h, w = p.height, p.width
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    xn, yn = (x - w / 2) / (w / 2), (y - h / 2) / (h / 2)
    a = float(rng.uniform(0, 2 * math.pi))
    s = p.illumination
    ramp = 0.5 * s * (math.cos(a) * xn + math.sin(a) * yn)
    fall = 0.4 * s * (xn * xn + yn * yn) / 2
    sx, sy = rng.uniform(-0.6, 0.6, 2)
    spot = 0.25 * s * np.exp(-((xn - sx) ** 2 + (yn - sy) ** 2) / 0.3)
    out: F32 = (1.0 + ramp - fall + spot).astype(np.float32)
    return out
