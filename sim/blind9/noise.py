"""Smooth random fields on a regular texel grid: cubic B-spline upsampling of coarse white
noise, and Gaussian blobs splatted at given points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Grid:
    """Texel (j, i) has its centre at (x0 + (i + 0.5) * pitch, y0 + (j + 0.5) * pitch) um."""

    x0: float
    y0: float
    pitch: float
    nx: int
    ny: int

    def sample(self, field: F32, x: F64, y: F64) -> F32:
        """Bilinear look-up of ``field`` at scene points (um)."""
        cx = (x - self.x0) / self.pitch - 0.5
        cy = (y - self.y0) / self.pitch - 0.5
        out = ndimage.map_coordinates(field, [cy.ravel(), cx.ravel()], order=1, mode="nearest")
        return np.asarray(out, dtype=np.float32).reshape(x.shape)


def _axis(n: int, f: float) -> tuple[NDArray[np.intp], list[F32]]:
    c = (np.arange(n) + 0.5) / f + 1.5
    i = np.floor(c).astype(np.intp)
    t = (c - i).astype(np.float32)
    w = [
        (1 - t) ** 3 / 6,
        (3 * t**3 - 6 * t**2 + 4) / 6,
        (-3 * t**3 + 3 * t**2 + 3 * t + 1) / 6,
        t**3 / 6,
    ]
    return i, w


def coarse_shape(ny: int, nx: int, f: float) -> tuple[int, int]:
    return int(np.ceil(ny / f)) + 4, int(np.ceil(nx / f)) + 4


def upsample(coarse: F32, ny: int, nx: int, f: float) -> F32:
    """(ny, nx) field from a coarse grid ``f`` texels apart, by cubic B-spline weights;
    fine texel j sits at coarse coordinate (j + 0.5) / f + 1.5."""
    iy, wy = _axis(ny, f)
    ix, wx = _axis(nx, f)
    c = coarse.astype(np.float32)
    rows = wx[0][None, :] * c[:, ix - 1]
    for k in range(1, 4):
        rows += wx[k][None, :] * c[:, ix + k - 1]
    out = wy[0][:, None] * rows[iy - 1, :]
    for k in range(1, 4):
        out += wy[k][:, None] * rows[iy + k - 1, :]
    return out


def noise(rng: np.random.Generator, grid: Grid, scale_um: float) -> F32:
    """Zero-mean, unit-variance smooth noise with features about ``scale_um`` across."""
    f = max(scale_um / grid.pitch, 1.0)
    coarse = rng.standard_normal(coarse_shape(grid.ny, grid.nx, f)).astype(np.float32)
    return upsample(coarse, grid.ny, grid.nx, f) / np.float32(0.48)


def blobs(grid: Grid, x: F64, y: F64, sigma_um: float, weight: F64 | float = 1.0) -> F32:
    """Sum of Gaussian blobs of peak about ``weight`` and width ``sigma_um`` at (x, y)."""
    cp = max(grid.pitch, sigma_um / 2.2)
    f = cp / grid.pitch
    shape = coarse_shape(grid.ny, grid.nx, f)
    coarse = np.zeros(shape, dtype=np.float64)
    wts = np.broadcast_to(np.asarray(weight, dtype=np.float64), np.shape(x))
    if len(x):
        cx = (np.asarray(x) - grid.x0) / cp + 1.5
        cy = (np.asarray(y) - grid.y0) / cp + 1.5
        ix = np.floor(cx).astype(np.intp)
        iy = np.floor(cy).astype(np.intp)
        tx = cx - ix
        ty = cy - iy
        ok = (ix >= 0) & (iy >= 0) & (ix < shape[1] - 1) & (iy < shape[0] - 1)
        ix, iy, tx, ty, ww = ix[ok], iy[ok], tx[ok], ty[ok], wts[ok]
        for dy, wy in ((0, 1 - ty), (1, ty)):
            for dx, wx in ((0, 1 - tx), (1, tx)):
                np.add.at(coarse, (iy + dy, ix + dx), ww * wy * wx)
    s = sigma_um / cp
    s_blur = float(np.sqrt(max(s * s - 1.0 / 3.0, 0.09)))
    coarse = ndimage.gaussian_filter(coarse, s_blur, mode="constant", truncate=3.0)
    coarse *= 2 * np.pi * s * s
    return upsample(coarse.astype(np.float32), grid.ny, grid.nx, f)


def cells(rng: np.random.Generator, grid: Grid, cell_um: float, line: float) -> F32:
    """Honeycomb: near 1 on the borders between jittered Voronoi cells ``cell_um`` across
    (line width ``line`` as a share of a cell), near 0 inside them."""
    cp = max(grid.pitch, cell_um / 10)
    f = cp / grid.pitch
    ny, nx = coarse_shape(grid.ny, grid.nx, f)
    ky = int(np.ceil(ny * cp / cell_um)) + 3
    kx = int(np.ceil(nx * cp / cell_um)) + 3
    jit = rng.uniform(0.1, 0.9, (ky, kx, 2))
    # coarse texel k sits at (k - 1.5) * cp from the grid origin (see upsample)
    py = (np.arange(ny) - 1.5) * cp / cell_um + 1.0
    px = (np.arange(nx) - 1.5) * cp / cell_um + 1.0
    cy = np.floor(py).astype(np.intp)
    cx = np.floor(px).astype(np.intp)
    f1 = np.full((ny, nx), 9.0)
    f2 = np.full((ny, nx), 9.0)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            jy = np.clip(cy + dy, 0, ky - 1)
            jx = np.clip(cx + dx, 0, kx - 1)
            sy = jy[:, None] + jit[jy[:, None], jx[None, :], 0]
            sx = jx[None, :] + jit[jy[:, None], jx[None, :], 1]
            d = np.hypot(sy - py[:, None], sx - px[None, :])
            f2 = np.minimum(f2, np.maximum(f1, d))
            f1 = np.minimum(f1, d)
    edge = np.exp(-(((f2 - f1) / line) ** 2)).astype(np.float32)
    return upsample(edge, grid.ny, grid.nx, f)
