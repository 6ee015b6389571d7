"""Random streams and smooth random fields for the blind generator.

Every purpose (parameters, follicles, skin, sensor, ...) draws from its own
stream, so that changing one part of an image never shifts the random numbers
of another part. That is what lets a later visit of the same site keep the
skin, the marks and the lighting while the hairs and the sensor noise change.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

_MASK = 0xFFFFFFFF
# Variance of a cubic B-spline blend of unit-variance grid values, averaged
# over positions, is 151/315 per axis; the 2-D field's standard deviation is that.
_BSPLINE_STD_2D = 151.0 / 315.0


def stream(seed: int, tag: str, *extra: int) -> np.random.Generator:
    """Return a generator for one named purpose of one image seed."""
    words = [seed & _MASK, (seed >> 32) & _MASK, zlib.crc32(tag.encode("utf-8"))]
    for e in extra:
        words.extend([e & _MASK, (e >> 32) & _MASK])
    return np.random.default_rng(np.random.SeedSequence(words))


def _bspline_axis(grid: F32, n_out: int, cell: float, axis: int) -> F32:
    """Blend grid values along one axis with cubic B-spline weights."""
    u = np.arange(n_out, dtype=np.float64) / cell + 1.0
    j0 = np.floor(u).astype(np.intp)
    f = u - j0
    f2 = f * f
    f3 = f2 * f
    weights = (
        (1.0 - f) ** 3 / 6.0,
        (3.0 * f3 - 6.0 * f2 + 4.0) / 6.0,
        (-3.0 * f3 + 3.0 * f2 + 3.0 * f + 1.0) / 6.0,
        f3 / 6.0,
    )
    shape = [1, 1]
    shape[axis] = n_out
    terms = [
        np.take(grid, j0 - 1 + k, axis=axis) * wk.astype(np.float32).reshape(shape)
        for k, wk in enumerate(weights)
    ]
    out: F32 = terms[0] + terms[1] + terms[2] + terms[3]
    return out


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell_px: float) -> F32:
    """A zero-mean, roughly unit-variance random field with features of ``cell_px``."""
    if cell_px < 4.0:
        white = rng.standard_normal((h, w), dtype=np.float32)
        sigma = max(cell_px / 2.5, 0.35)
        field = ndimage.gaussian_filter(white, sigma=sigma, mode="wrap")
        # A Gaussian blur of white noise has variance 1 / (4 pi sigma^2).
        scale = math.sqrt(4.0 * math.pi) * sigma if sigma > 0.6 else 1.0 / float(field.std())
        out: F32 = (field * np.float32(scale)).astype(np.float32)
        return out
    gh = math.ceil((h - 1) / cell_px) + 4
    gw = math.ceil((w - 1) / cell_px) + 4
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    rows = _bspline_axis(grid, h, cell_px, 0)
    field = _bspline_axis(rows, w, cell_px, 1)
    return (field * np.float32(1.0 / _BSPLINE_STD_2D)).astype(np.float32)


def cell_edges(rng: np.random.Generator, h: int, w: int, cell_px: float) -> F32:
    """Distance (px) to the nearest edge of a random Voronoi tessellation.

    Worley's F2 - F1 is computed on a grid coarse enough to keep the cost down
    and brought back to full size with linear interpolation.
    """
    step = max(1.0, cell_px / 16.0)
    hs = h if step == 1.0 else math.ceil(h / step) + 1
    ws = w if step == 1.0 else math.ceil(w / step) + 1
    c = cell_px / step
    gh = math.ceil(hs / c) + 3
    gw = math.ceil(ws / c) + 3
    px = (np.arange(gw)[None, :] - 1 + rng.random((gh, gw))) * c
    py = (np.arange(gh)[:, None] - 1 + rng.random((gh, gw))) * c
    ys = np.arange(hs, dtype=np.float64)
    xs = np.arange(ws, dtype=np.float64)
    ci = np.floor(ys / c).astype(np.intp) + 1
    cj = np.floor(xs / c).astype(np.intp) + 1
    f1 = np.full((hs, ws), np.inf, dtype=np.float32)
    f2 = np.full((hs, ws), np.inf, dtype=np.float32)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            ii = (ci + di)[:, None]
            jj = (cj + dj)[None, :]
            dx = (px[ii, jj] - xs[None, :]).astype(np.float32)
            dy = (py[ii, jj] - ys[:, None]).astype(np.float32)
            d = np.sqrt(dx * dx + dy * dy)
            f2 = np.minimum(f2, np.maximum(f1, d))
            f1 = np.minimum(f1, d)
    edge = (f2 - f1) * np.float32(step * 0.5)
    if step > 1.0:
        edge = _linear_axis(_linear_axis(edge, h, step, 0), w, step, 1)
    return edge


def _linear_axis(a: F32, n_out: int, step: float, axis: int) -> F32:
    """Stretch ``a`` along one axis by ``step`` with linear interpolation."""
    u = np.arange(n_out, dtype=np.float64) / step
    j0 = np.minimum(np.floor(u).astype(np.intp), a.shape[axis] - 2)
    f = (u - j0).astype(np.float32)
    shape = [1, 1]
    shape[axis] = n_out
    f_b = f.reshape(shape)
    lo = np.take(a, j0, axis=axis)
    hi = np.take(a, j0 + 1, axis=axis)
    out: F32 = lo + (hi - lo) * f_b
    return out


def wave_field(
    rng: np.random.Generator, n_waves: int, wavelength_um: tuple[float, float]
) -> tuple[F64, F64, F64, F64]:
    """Random plane waves (kx, ky, phase, amplitude) for a smooth field at any points."""
    lam = rng.uniform(wavelength_um[0], wavelength_um[1], n_waves)
    ang = rng.uniform(0.0, 2.0 * math.pi, n_waves)
    k = 2.0 * math.pi / lam
    phase = rng.uniform(0.0, 2.0 * math.pi, n_waves)
    amp = rng.uniform(0.5, 1.0, n_waves)
    amp = amp / math.sqrt(float(np.sum(amp**2)) / 2.0)
    return k * np.cos(ang), k * np.sin(ang), phase, amp


def eval_waves(waves: tuple[F64, F64, F64, F64], x: F64, y: F64) -> F64:
    """Evaluate a wave field made by :func:`wave_field` at points (um)."""
    kx, ky, phase, amp = waves
    arg = x[..., None] * kx + y[..., None] * ky + phase
    out: F64 = np.sum(amp * np.sin(arg), axis=-1)
    return out
