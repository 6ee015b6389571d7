"""blind-8's own texture sources: gradient (Perlin-style) noise and a Gray-Scott
reaction-diffusion pattern. Both are pure functions of a seeded numpy Generator."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[Any]


def _fade(t: Arr) -> Arr:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


class Gradient:
    """A periodic lattice (``n`` x ``n`` nodes) of random unit gradients: ``self(x, y)``
    is classic 2-D gradient noise at lattice coordinates ``x, y`` (about -1..1)."""

    def __init__(self, rng: np.random.Generator, n: int = 128) -> None:
        ang = rng.uniform(0.0, 2.0 * math.pi, (n, n))
        self.gx = np.cos(ang).astype(np.float32)
        self.gy = np.sin(ang).astype(np.float32)
        self.n = n

    def __call__(self, x: Arr, y: Arr) -> Arr:
        n = self.n
        x0 = np.floor(x)
        y0 = np.floor(y)
        fx = (x - x0).astype(np.float32)
        fy = (y - y0).astype(np.float32)
        ix = x0.astype(np.int64) % n
        iy = y0.astype(np.int64) % n
        ix1 = (ix + 1) % n
        iy1 = (iy + 1) % n
        gx, gy = self.gx, self.gy
        n00 = gx[iy, ix] * fx + gy[iy, ix] * fy
        n10 = gx[iy, ix1] * (fx - 1.0) + gy[iy, ix1] * fy
        n01 = gx[iy1, ix] * fx + gy[iy1, ix] * (fy - 1.0)
        n11 = gx[iy1, ix1] * (fx - 1.0) + gy[iy1, ix1] * (fy - 1.0)
        u = _fade(fx)
        v = _fade(fy)
        a = n00 + (n10 - n00) * u
        b = n01 + (n11 - n01) * u
        return np.asarray((a + (b - a) * v) * 1.41421356, dtype=np.float32)


def upsample(c: Arr, step: int, shape: tuple[int, int]) -> Arr:
    """Separable linear interpolation of a grid sampled every ``step`` cells up to ``shape``."""
    if step == 1:
        return np.asarray(c[: shape[0], : shape[1]], dtype=np.float32)
    out = c
    for axis, size in enumerate(shape):
        pos = np.arange(size, dtype=np.float32) / step
        i0 = np.minimum(pos.astype(np.int64), out.shape[axis] - 2)
        w = pos - i0
        if axis == 0:
            out = out[i0] * (1.0 - w)[:, None] + out[i0 + 1] * w[:, None]
        else:
            out = out[:, i0] * (1.0 - w)[None, :] + out[:, i0 + 1] * w[None, :]
    return np.asarray(out, dtype=np.float32)


def fbm(
    rng: np.random.Generator,
    shape: tuple[int, int],
    step_um: float,
    period_um: float,
    octaves: int = 4,
    gain: float = 0.5,
    ridged: bool = False,
) -> Arr:
    """Fractal sum of gradient noise on a grid of ``shape`` cells ``step_um`` apart; the
    first octave has features ``period_um`` across. Each octave is evaluated on a grid as
    coarse as its period allows and interpolated up, so big frames stay cheap."""
    lat = Gradient(rng)
    total = np.zeros(shape, dtype=np.float32)
    amp = 1.0
    norm = 0.0
    period = period_um
    for _ in range(octaves):
        cells = period / step_um  # grid cells per lattice period
        stride = max(1, int(cells / 6.0))
        ny = (shape[0] - 1) // stride + 2
        nx = (shape[1] - 1) // stride + 2
        off = rng.uniform(0.0, 128.0, 2)
        ys = (np.arange(ny, dtype=np.float32) * stride / cells + off[0])[:, None]
        xs = (np.arange(nx, dtype=np.float32) * stride / cells + off[1])[None, :]
        val = lat(np.broadcast_to(xs, (ny, nx)), np.broadcast_to(ys, (ny, nx)))
        if ridged:
            val = 1.0 - 2.0 * np.abs(val)
        total += amp * upsample(val, stride, shape)
        norm += amp
        amp *= gain
        period *= 0.5
        if period / step_um < 1.5:
            break
    return np.asarray(total / norm, dtype=np.float32)


def gray_scott(rng: np.random.Generator, n: int, feed: float, kill: float, steps: int) -> Arr:
    """A periodic ``n`` x ``n`` Gray-Scott reaction-diffusion pattern (the V species,
    normalised to 0..1): spots for kill ~0.065, labyrinths for lower kill."""
    u = np.ones((n, n), dtype=np.float32)
    v = np.zeros((n, n), dtype=np.float32)
    for _ in range(max(4, n * n // 60)):
        y, x = rng.integers(0, n - 4, 2)
        u[y : y + 4, x : x + 4] = 0.5
        v[y : y + 4, x : x + 4] = 0.25
    v += rng.random((n, n), dtype=np.float32) * 0.02
    du, dv = np.float32(0.2), np.float32(0.1)
    f32, k32 = np.float32(feed), np.float32(kill)
    for _ in range(steps):
        lu = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1) - 4 * u
        lv = np.roll(v, 1, 0) + np.roll(v, -1, 0) + np.roll(v, 1, 1) + np.roll(v, -1, 1) - 4 * v
        uvv = u * v * v
        u += du * lu - uvv + f32 * (1 - u)
        v += dv * lv + uvv - (f32 + k32) * v
    lo, hi = float(v.min()), float(v.max())
    return np.asarray((v - lo) / max(hi - lo, 1e-6), dtype=np.float32)
