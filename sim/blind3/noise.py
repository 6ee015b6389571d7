"""Procedural noise of blind-3: B-spline value noise (fBm), Worley cellular noise, and
sparse-convolution Gabor noise. Sizes are given in pixels; callers convert from micrometres so
that every texture keeps its physical size at any scale.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import fft as sfft

F32 = NDArray[np.float32]


def _bspline_matrix(n_out: int, n_in: int, step: float, offset: float) -> F32:
    """(n_out, n_in) weights of a uniform cubic B-spline: output i samples the input grid at
    coordinate ``offset + i / step`` (grid units, with one guard node before)."""
    x = offset + np.arange(n_out, dtype=np.float64) / step + 1.0
    i0 = np.floor(x).astype(np.int64)
    f = x - i0
    w = [
        (1 - f) ** 3 / 6.0,
        (3 * f**3 - 6 * f**2 + 4) / 6.0,
        (-3 * f**3 + 3 * f**2 + 3 * f + 1) / 6.0,
        f**3 / 6.0,
    ]
    m = np.zeros((n_out, n_in), dtype=np.float32)
    rows = np.arange(n_out)
    for k in range(4):
        idx = np.clip(i0 - 1 + k, 0, n_in - 1)
        np.add.at(m, (rows, idx), w[k].astype(np.float32))
    return m


def smooth_grid(
    grid: NDArray[np.float32], h: int, w: int, cell: float, oy: float = 0.0, ox: float = 0.0
) -> F32:
    """Upsample a coarse grid (one node per ``cell`` pixels) to (h, w) by cubic B-splines."""
    ay = _bspline_matrix(h, grid.shape[0], cell, oy)
    ax = _bspline_matrix(w, grid.shape[1], cell, ox)
    out: F32 = (ay @ grid.astype(np.float32) @ ax.T).astype(np.float32)
    return out


def value_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> F32:
    """Smooth zero-mean noise of about unit variance with features ``cell`` pixels apart."""
    cell = max(float(cell), 1.0)
    gh = math.ceil(h / cell) + 4
    gw = math.ceil(w / cell) + 4
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    out = smooth_grid(grid, h, w, cell, float(rng.uniform(0, 1)), float(rng.uniform(0, 1)))
    out *= 1.0 / 0.55  # the B-spline smoothing leaves about 0.55 of the node deviation
    return out


def fbm(
    rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 4, gain: float = 0.5
) -> F32:
    """Fractal sum of value noise from ``cell`` pixels down by halves (unit-ish variance)."""
    out = np.zeros((h, w), dtype=np.float32)
    amp, total = 1.0, 0.0
    c = cell
    for _ in range(octaves):
        if c < 1.0:
            break
        out += np.float32(amp) * value_noise(rng, h, w, c)
        total += amp * amp
        amp *= gain
        c /= 2.0
    out *= np.float32(1.0 / math.sqrt(max(total, 1e-9)))
    return out


def worley(rng: np.random.Generator, h: int, w: int, cell: float) -> tuple[F32, F32]:
    """Distances (pixels) to the nearest and second-nearest of jittered feature points, one per
    ``cell``-pixel square. Computed on a grid of at most ~cell/6 pixel steps, then upsampled."""
    cell = max(float(cell), 2.0)
    step = max(1, int(cell // 6))
    hs, ws = math.ceil(h / step) + 1, math.ceil(w / step) + 1
    gh, gw = math.ceil(h / cell) + 3, math.ceil(w / cell) + 3
    px = (np.arange(gw)[None, :] - 1 + rng.uniform(0, 1, (gh, gw))) * cell
    py = (np.arange(gh)[:, None] - 1 + rng.uniform(0, 1, (gh, gw))) * cell
    ys = (np.arange(hs) * step).astype(np.float32)[:, None]
    xs = (np.arange(ws) * step).astype(np.float32)[None, :]
    cy = (ys // cell).astype(np.int64) + 1
    cx = (xs // cell).astype(np.int64) + 1
    f1 = np.full((hs, ws), np.inf, dtype=np.float32)
    f2 = np.full((hs, ws), np.inf, dtype=np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            iy = np.clip(cy + dy, 0, gh - 1)
            ix = np.clip(cx + dx, 0, gw - 1)
            d = np.hypot(px[iy, ix] - xs, py[iy, ix] - ys).astype(np.float32)
            f2 = np.minimum(f2, np.maximum(f1, d))
            f1 = np.minimum(f1, d)
    if step == 1:
        return f1[:h, :w], f2[:h, :w]
    return _resize_linear(f1, h, w, step), _resize_linear(f2, h, w, step)


def _resize_linear(a: F32, h: int, w: int, step: int) -> F32:
    """Linear upsampling of a field sampled every ``step`` pixels to (h, w)."""

    def mat(n_out: int, n_in: int) -> F32:
        x = np.arange(n_out) / step
        i0 = np.clip(np.floor(x).astype(np.int64), 0, n_in - 2)
        f = (x - i0).astype(np.float32)
        m = np.zeros((n_out, n_in), dtype=np.float32)
        m[np.arange(n_out), i0] = 1 - f
        m[np.arange(n_out), i0 + 1] = f
        return m

    out: F32 = (mat(h, a.shape[0]) @ a @ mat(w, a.shape[1]).T).astype(np.float32)
    return out


def gabor(
    rng: np.random.Generator,
    h: int,
    w: int,
    wavelength: float,
    angle: float,
    spread: float,
    bandwidth: float = 1.2,
) -> F32:
    """Sparse-convolution Gabor noise: random impulses convolved (by FFT) with Gabor kernels
    of ``wavelength`` pixels oriented near ``angle`` (radians, +/- ``spread``). Unit variance."""
    wavelength = max(float(wavelength), 2.5)
    sigma = bandwidth * wavelength
    n = max(8, int(h * w / (sigma * sigma) * 3))
    field = np.zeros((h, w), dtype=np.float32)
    iy = rng.integers(0, h, n)
    ix = rng.integers(0, w, n)
    np.add.at(field, (iy, ix), rng.choice([-1.0, 1.0], n).astype(np.float32))
    r = math.ceil(3 * sigma)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
    env = np.exp(-(xx * xx + yy * yy) / (2 * sigma * sigma))
    kernel = np.zeros((h, w), dtype=np.float32)
    for k in range(3):  # three orientations around the mean one
        a = angle + spread * (k - 1)
        g = env * np.cos(2 * np.pi / wavelength * (xx * np.cos(a) + yy * np.sin(a)))
        ky = np.mod(yy.astype(np.int64), h)
        kx = np.mod(xx.astype(np.int64), w)
        np.add.at(kernel, (ky, kx), g.astype(np.float32))
    out: F32 = np.asarray(
        sfft.irfft2(sfft.rfft2(field) * sfft.rfft2(kernel), s=(h, w)), dtype=np.float32
    )
    sd = float(out.std())
    if sd > 0:
        out /= np.float32(sd)
    return out
