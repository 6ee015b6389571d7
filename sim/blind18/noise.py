"""Wavelet noise (Cook and DeRose, 2005) laid on the scalp in world micrometres.

A tile of white noise minus its own coarse approximation (decimated by two through the
quadratic B-spline refinement mask, then refined back) keeps one octave of detail and nothing
coarser; evaluated as quadratic B-spline coefficients it is band-limited to that octave, so
octaves summed at spacings a factor of two apart give a controlled spectrum with no
aliasing at any scale. Each octave has its own tile, turned and shifted, so no two repeat
together (a tile repeats after its size in spacings: 512 for octaves finer than 20 um, 3 mm
for the finest 6 um one, 256 for the others, 5 mm and more; the tiles are turned by
unrelated angles).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

TILE = 512
_MASK = np.array([1.0, 3.0, 3.0, 1.0]) / 4.0  # quadratic B-spline two-scale mask


def _down(a: F64, axis: int) -> F64:
    # analysis by the refinement mask (periodic), keeping even samples
    s = sum(w * np.roll(a, -k + 1, axis=axis) for k, w in enumerate(_MASK)) / 2.0
    return np.take(s, np.arange(0, a.shape[axis], 2), axis=axis)


def _up(a: F64, axis: int) -> F64:
    shape = list(a.shape)
    shape[axis] *= 2
    z = np.zeros(shape)
    idx = [slice(None)] * a.ndim
    idx[axis] = slice(0, None, 2)
    z[tuple(idx)] = a
    out: F64 = np.zeros(shape)
    for k, w in enumerate(_MASK):
        out += w * np.roll(z, k - 1, axis=axis)
    return out


def wavelet_tile(rng: np.random.Generator, n: int = TILE) -> F64:
    """One octave of wavelet noise: ``n`` x ``n`` B-spline coefficients of unit variance."""
    r = rng.standard_normal((n, n))
    coarse = _up(_up(_down(_down(r, 0), 1), 0), 1)
    t = r - coarse
    # unit variance of the evaluated noise (not of the coefficients)
    half = np.arange(n, dtype=np.float64) + 0.37
    yy, xx = np.meshgrid(half[::4], half[::4], indexing="ij")
    v = ndimage.map_coordinates(t, [yy, xx], order=2, prefilter=False, mode="grid-wrap")
    out: F64 = t / float(np.std(v))
    return out


class Octave:
    """One tile at one spacing, turned by ``angle`` and shifted, in world micrometres."""

    def __init__(self, rng: np.random.Generator, spacing_um: float, weight: float = 1.0):
        # fine octaves get the large tile, so that none repeats within 3 mm
        self.tile = wavelet_tile(rng, TILE if spacing_um < 20.0 else TILE // 2)
        self.spacing_um = spacing_um
        self.weight = weight
        a = float(rng.uniform(0.0, 2.0 * math.pi))
        self.c, self.s = math.cos(a), math.sin(a)
        self.off = rng.uniform(0.0, self.tile.shape[0], 2)

    def at(self, wx: F64, wy: F64) -> F32:
        """The noise (unit variance, times the octave's weight) at world points (um)."""
        u = (self.c * wx - self.s * wy) / self.spacing_um + self.off[0]
        v = (self.s * wx + self.c * wy) / self.spacing_um + self.off[1]
        out = ndimage.map_coordinates(
            self.tile, [v, u], order=2, prefilter=False, mode="grid-wrap", output=np.float64
        )
        res: F32 = (out * self.weight).astype(np.float32)
        return res


def octaves(rng: np.random.Generator, finest_um: float, weights: list[float]) -> list[Octave]:
    """Octaves from ``finest_um`` up, each twice as coarse, with the given weights (scaled
    so that their sum has unit variance)."""
    norm = math.sqrt(sum(w * w for w in weights))
    return [Octave(rng, finest_um * 2.0**k, w / norm) for k, w in enumerate(weights) if w > 0.0]


class Grid:
    """A frame's pixels in world micrometres, and coarse grids of them for smooth fields."""

    def __init__(self, to_world: tuple[float, float, float, float, float, float], w: int, h: int):
        # world = (a*x + b*y + c, d*x + e*y + f) for pixel (x, y)
        self.m = to_world
        self.w, self.h = w, h
        self._cache: dict[int, tuple[F64, F64]] = {}

    def world(self, stride: int) -> tuple[F64, F64]:
        """World coordinates of every ``stride``-th pixel (one row and column beyond the
        frame's far edges so that :meth:`up` can interpolate to the last pixel)."""
        if stride not in self._cache:
            ny, nx = (self.h - 1) // stride + 2, (self.w - 1) // stride + 2
            ny, nx = (self.h, self.w) if stride == 1 else (ny, nx)
            y, x = np.mgrid[0:ny, 0:nx].astype(np.float64) * stride
            a, b, c, d, e, f = self.m
            self._cache[stride] = (a * x + b * y + c, d * x + e * y + f)
        return self._cache[stride]

    def up(self, coarse: F32, stride: int) -> F32:
        """A field sampled by :meth:`world` at ``stride`` brought to every pixel (bilinear)."""
        if stride == 1:
            return coarse
        zy = np.arange(self.h) / stride
        zx = np.arange(self.w) / stride
        iy = np.minimum(zy.astype(np.int64), coarse.shape[0] - 2)
        ix = np.minimum(zx.astype(np.int64), coarse.shape[1] - 2)
        fy = (zy - iy).astype(np.float32)[:, None]
        fx = (zx - ix).astype(np.float32)[None, :]
        top = coarse[iy][:, ix] * (1 - fx) + coarse[iy][:, ix + 1] * fx
        bot = coarse[iy + 1][:, ix] * (1 - fx) + coarse[iy + 1][:, ix + 1] * fx
        out: F32 = (top * (1 - fy) + bot * fy).astype(np.float32)
        return out

    def field(self, octs: list[Octave], um_per_px: float) -> F32:
        """The sum of ``octs`` at every pixel; coarse octaves are evaluated on a coarser grid
        (a stride of a quarter of their spacing, at most 16 px) and interpolated."""
        total = np.zeros((self.h, self.w), np.float32)
        groups: dict[int, list[tuple[Octave, float]]] = {}
        for o in octs:
            # octaves finer than the pixels fade out (a pixel averages them away) instead of
            # aliasing into speckle
            fade = min(1.0, max(0.0, o.spacing_um / um_per_px - 1.0))
            if fade <= 0.0:
                continue
            stride = int(min(16, max(1, o.spacing_um / um_per_px / 4.0)))
            groups.setdefault(stride, []).append((o, fade))
        for stride, group in groups.items():
            wx, wy = self.world(stride)
            acc = np.zeros(wx.shape, np.float32)
            for o, fade in group:
                acc += o.at(wx, wy) * np.float32(fade)
            total += self.up(acc, stride)
        return total
