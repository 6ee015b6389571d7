"""Gradient (Perlin) noise and its fractal Brownian motion, anchored to world microns.

Lattice gradients come from an integer hash of the lattice point and a site key, so the
field is defined everywhere without storing a table and is the same for any frame that
views the same place.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
U64 = NDArray[np.uint64]

_M = np.uint64(0xFFFFFFFFFFFFFFFF)


def _hash(ix: NDArray[np.int64], iy: NDArray[np.int64], key: int) -> U64:
    """A 64-bit mix (splitmix-style) of two lattice coordinates and a key."""
    with np.errstate(over="ignore"):
        h = ix.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        h ^= iy.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        h ^= np.uint64(key & 0xFFFFFFFFFFFFFFFF)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def unit_hash(ix: NDArray[np.int64], iy: NDArray[np.int64], key: int) -> F64:
    """Uniform [0, 1) per lattice point."""
    return (_hash(ix, iy, key) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def perlin(x: F64, y: F64, key: int) -> F64:
    """Gradient noise of unit lattice spacing, about -0.7..0.7."""
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = x - x0
    fy = y - y0
    ix = x0.astype(np.int64)
    iy = y0.astype(np.int64)

    def grad(dx: int, dy: int) -> F64:
        ang = unit_hash(ix + dx, iy + dy, key) * (2.0 * np.pi)
        return np.cos(ang) * (fx - dx) + np.sin(ang) * (fy - dy)

    ux = fx * fx * fx * (fx * (fx * 6.0 - 15.0) + 10.0)
    uy = fy * fy * fy * (fy * (fy * 6.0 - 15.0) + 10.0)
    a = grad(0, 0)
    b = grad(1, 0)
    c = grad(0, 1)
    d = grad(1, 1)
    top = a + (b - a) * ux
    bot = c + (d - c) * ux
    out: F64 = top + (bot - top) * uy
    return out


def fbm(
    x: F64,
    y: F64,
    scale: float,
    key: int,
    octaves: int = 4,
    gain: float = 0.5,
    ridged: bool = False,
) -> F64:
    """Fractal sum of ``octaves`` gradient noises, the first of wavelength ``scale`` (same
    unit as x, y), each next one half as long; ridged turns each into 1 - |n| ridges."""
    total = np.zeros_like(x)
    amp = 1.0
    norm = 0.0
    freq = 1.0 / scale
    for o in range(octaves):
        # rotate each octave a little to hide the lattice axes
        c, s = np.cos(0.5 + o * 1.1), np.sin(0.5 + o * 1.1)
        u = (c * x - s * y) * freq + 17.3 * o
        v = (s * x + c * y) * freq - 5.1 * o
        n = perlin(u, v, key + 7919 * o)
        if ridged:
            n = 1.0 - 2.0 * np.abs(n)
        total += amp * n
        norm += amp
        amp *= gain
        freq *= 2.0
    out: F64 = total / norm
    return out
