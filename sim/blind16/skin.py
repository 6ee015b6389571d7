"""Skin of blind-16 by sparse convolution noise (Lewis 1989): hashed impulses scattered in
world cells, deposited onto a coarse grid and convolved with a Gaussian (tone, texture,
erythema) or an annulus (the honeycomb pigment network, impulses on a jittered hex lattice),
then interpolated to the frame's pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U64 = NDArray[np.uint64]


@dataclass(frozen=True)
class Frame:
    """Pixel <-> world (um) map of one frame: centred on the site's origin, moved by
    ``shift`` pixels and turned by ``turn`` radians on a follow-up."""

    w: int
    h: int
    um: float
    turn: float = 0.0
    sx: float = 0.0
    sy: float = 0.0

    def to_world(self, x: F64, y: F64) -> tuple[F64, F64]:
        px = x - (self.w - 1) / 2 + self.sx
        py = y - (self.h - 1) / 2 + self.sy
        c, s = math.cos(self.turn), math.sin(self.turn)
        return (c * px - s * py) * self.um, (s * px + c * py) * self.um

    def to_pixel(self, wx: F64, wy: F64) -> tuple[F64, F64]:
        c, s = math.cos(self.turn), math.sin(self.turn)
        px, py = wx / self.um, wy / self.um
        return c * px + s * py + (self.w - 1) / 2 - self.sx, -s * px + c * py + (
            self.h - 1
        ) / 2 - self.sy

    def world_box(self, margin_um: float) -> tuple[float, float, float, float]:
        xs = np.array([-0.5, self.w - 0.5, -0.5, self.w - 0.5])
        ys = np.array([-0.5, -0.5, self.h - 0.5, self.h - 0.5])
        wx, wy = self.to_world(xs, ys)
        return (
            float(wx.min()) - margin_um,
            float(wy.min()) - margin_um,
            float(wx.max()) + margin_um,
            float(wy.max()) + margin_um,
        )


def _mix(x: U64) -> U64:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: U64 = x ^ (x >> np.uint64(31))
    return out


def hash_uniform(seed: int, tag: int, *parts: NDArray[np.int64]) -> F64:
    """Uniform [0, 1) numbers hashed from the seed, a tag and integer arrays."""
    shape = np.broadcast_shapes(*[p.shape for p in parts])
    acc = np.full(shape, np.uint64(seed % 2**64), np.uint64)
    acc = _mix(acc ^ np.uint64(tag * 0x632BE59BD9B4E019 % 2**64))
    for p in parts:
        acc = _mix(acc ^ np.broadcast_to(p, shape).astype(np.uint64))
    out: F64 = (acc >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return out


def _upsample(coarse: F64, frame: Frame, margin: float, g: float) -> F32:
    """Linear interpolation of a coarse grid (node k at pixel k * g - margin) at every pixel."""

    def axis(n: int, m: int) -> tuple[NDArray[np.int64], F64]:
        c = (np.arange(n, dtype=np.float64) + margin) / g
        i0 = np.clip(np.floor(c).astype(np.int64), 0, m - 2)
        return i0, c - i0

    i0, fi = axis(frame.h, coarse.shape[0])
    j0, fj = axis(frame.w, coarse.shape[1])
    rows = coarse[i0] * (1 - fi)[:, None] + coarse[i0 + 1] * fi[:, None]
    out: F32 = (rows[:, j0] * (1 - fj) + rows[:, j0 + 1] * fj).astype(np.float32)
    return out


def _deposit(frame: Frame, wx: F64, wy: F64, wt: F64, margin: float, g: float) -> F64:
    hc = math.ceil((frame.h + 2 * margin) / g) + 2
    wc = math.ceil((frame.w + 2 * margin) / g) + 2
    px, py = frame.to_pixel(wx, wy)
    cx, cy = (px + margin) / g, (py + margin) / g
    i0, j0 = np.floor(cy).astype(np.int64), np.floor(cx).astype(np.int64)
    fy, fx = cy - i0, cx - j0
    grid = np.zeros(hc * wc)
    for di, dj, ww in (
        (0, 0, (1 - fy) * (1 - fx)),
        (0, 1, (1 - fy) * fx),
        (1, 0, fy * (1 - fx)),
        (1, 1, fy * fx),
    ):
        ii, jj = i0 + di, j0 + dj
        ok = (ii >= 0) & (ii < hc) & (jj >= 0) & (jj < wc)
        grid += np.bincount((ii * wc + jj)[ok], (wt * ww)[ok], minlength=hc * wc)
    return grid.reshape(hc, wc)


def sparse_noise(seed: int, tag: int, frame: Frame, scale_um: float, per_cell: int = 5) -> F32:
    """Sparse convolution noise of Gaussian kernel ``scale_um``, unit variance, in world
    coordinates (so the same at any frame size, scale and pose)."""
    sig = scale_um / frame.um
    margin = 3.5 * sig + 2
    g = max(1.0, sig / 2.5)
    cell = 2.5 * scale_um
    x0, y0, x1, y1 = frame.world_box(margin * frame.um)
    ci = np.arange(math.floor(x0 / cell), math.floor(x1 / cell) + 1, dtype=np.int64)
    cj = np.arange(math.floor(y0 / cell), math.floor(y1 / cell) + 1, dtype=np.int64)
    gi, gj, k = np.meshgrid(ci, cj, np.arange(per_cell, dtype=np.int64), indexing="ij")
    ux = hash_uniform(seed, tag * 3, gi, gj, k)
    uy = hash_uniform(seed, tag * 3 + 1, gi, gj, k)
    uw = hash_uniform(seed, tag * 3 + 2, gi, gj, k) * 2 - 1
    wx, wy = (gi + ux) * cell, (gj + uy) * cell
    grid = _deposit(frame, wx.ravel(), wy.ravel(), uw.ravel(), margin, g)
    sg = sig / g
    grid = ndimage.gaussian_filter(grid, sg, mode="constant", truncate=3.5)
    # impulses per coarse cell and the variance of their filtered sum
    rho = per_cell / (cell / frame.um / g) ** 2
    std = math.sqrt(rho / 3.0 / (4 * math.pi * sg * sg))
    return _upsample(grid / std, frame, margin, g)


def ring_network(seed: int, frame: Frame, spacing_um: float) -> F32:
    """A honeycomb-like net: annuli (radius 0.55 of the spacing) convolved with impulses
    on a jittered hexagonal lattice; about 1 on the lines, 0 in the holes."""
    rad = 0.55 * spacing_um / frame.um
    width = 0.085 * spacing_um / frame.um
    margin = rad + 3 * width + 2
    g = max(1.0, rad / 7.0)
    x0, y0, x1, y1 = frame.world_box(margin * frame.um)
    row_h = spacing_um * math.sqrt(3) / 2
    a = np.arange(math.floor(y0 / row_h) - 1, math.floor(y1 / row_h) + 2, dtype=np.int64)
    b = np.arange(math.floor(x0 / spacing_um) - 1, math.floor(x1 / spacing_um) + 2, dtype=np.int64)
    ga, gb = np.meshgrid(a, b, indexing="ij")
    jx = (hash_uniform(seed, 91, ga, gb) - 0.5) * 0.5
    jy = (hash_uniform(seed, 92, ga, gb) - 0.5) * 0.5
    wt = 0.6 + 0.8 * hash_uniform(seed, 93, ga, gb)
    wx = (gb + 0.5 * (ga % 2) + jx) * spacing_um
    wy = (ga + jy) * row_h
    grid = _deposit(frame, wx.ravel(), wy.ravel(), wt.ravel(), margin, g)
    rr, ww = rad / g, max(width / g, 0.7)
    n = math.ceil(rr + 3 * ww)
    yy, xx = np.mgrid[-n : n + 1, -n : n + 1]
    kern = np.exp(-0.5 * ((np.hypot(xx, yy) - rr) / ww) ** 2)
    net = signal.fftconvolve(grid, kern, mode="same")
    out = _upsample(net, frame, margin, g)
    return (1.0 - np.exp(-np.maximum(out, 0.0))).astype(np.float32)
