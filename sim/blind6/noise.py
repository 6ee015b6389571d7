"""Procedural fields of blind-6: value-noise octaves on axis-aligned grids, periodic noise
tables looked up at scattered points, and a Gray-Scott reaction-diffusion tile."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]


def fade(t: Arr) -> Arr:
    """Quintic smoothstep on [0, 1]."""
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def _upsample_axis(a: Arr, n: int, step: int, axis: int) -> Arr:
    """Linear interpolation of samples taken every ``step`` along ``axis`` to ``n`` points."""
    pos = np.arange(n, dtype=np.float64) / step
    i0 = np.minimum(np.floor(pos).astype(np.int64), a.shape[axis] - 2)
    f = (pos - i0).astype(np.float32)
    if axis == 0:
        return np.asarray(a[i0] * (1.0 - f[:, None]) + a[i0 + 1] * f[:, None])
    return np.asarray(a[:, i0] * (1.0 - f) + a[:, i0 + 1] * f)


def _separable(table: Arr, gx: Arr, gy: Arr) -> Arr:
    ix = np.floor(gx).astype(np.int64)
    iy = np.floor(gy).astype(np.int64)
    fx = fade(gx - ix).astype(np.float32)
    fy = fade(gy - iy).astype(np.float32)[:, None]
    mask = table.shape[0] - 1  # a power of two
    ix &= mask
    iy &= mask
    along = table[:, ix] * (1.0 - fx) + table[:, (ix + 1) & mask] * fx
    return np.asarray(along[iy] * (1.0 - fy) + along[(iy + 1) & mask] * fy)


def noise_grid(
    rng: np.random.Generator,
    xs: Arr,
    ys: Arr,
    cell: float,
    octaves: int = 1,
    gain: float = 0.5,
    lacunarity: float = 2.0,
    min_cell: float = 0.0,
) -> Arr:
    """Value noise in [-1, 1] (about) on the grid ``ys x xs`` (1-D, evenly spaced
    coordinates in the unit of ``cell``, the lattice spacing of the first octave). Each
    octave's lattice is turned by its own random angle; octaves finer than ``min_cell`` are
    left out. Smooth octaves are evaluated on a coarser grid (a sixth of a cell) and
    interpolated linearly to the full grid."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    nx, ny = xs.size, ys.size
    spacing = abs(float(xs[1] - xs[0])) if nx > 1 else 1.0
    total = np.zeros((ny, nx), dtype=np.float32)
    norm = 0.0
    amp = 1.0
    for octave in range(octaves):
        c = cell / lacunarity**octave
        if c < min_cell:
            break
        ang = rng.uniform(0.0, 2.0 * np.pi)
        off = rng.uniform(0.0, 4096.0, 2)
        step = max(1, int(c / spacing / 6.0))
        if c / spacing < 12.0:
            # fine octave: an axis-aligned lattice, separable (two 1-D interpolations)
            big = rng.uniform(-1.0, 1.0, (1024, 1024)).astype(np.float32)
            total += amp * _separable(big, xs / c + off[0], ys / c + off[1])
            norm += amp
            amp *= gain
            continue
        xc = xs[::step]
        yc = ys[::step]
        if xc.size < 2 or xc[-1] != xs[-1]:
            xc = np.append(xc, xc[-1] + step * spacing)
        if yc.size < 2 or yc[-1] != ys[-1]:
            yc = np.append(yc, yc[-1] + step * spacing)
        ca, sa = np.cos(ang), np.sin(ang)
        gx = (ca * xc[None, :] + sa * yc[:, None]) / c + off[0]
        gy = (-sa * xc[None, :] + ca * yc[:, None]) / c + off[1]
        table = rng.uniform(-1.0, 1.0, (256, 256)).astype(np.float32)
        coarse = table_noise(table, gx, gy).astype(np.float32)
        if step > 1:
            coarse = _upsample_axis(_upsample_axis(coarse, ny, step, 0), nx, step, 1)
        total += amp * coarse[:ny, :nx]
        norm += amp
        amp *= gain
    if norm > 0:
        total /= norm
    return total


def table_noise(table: Arr, x: Arr, y: Arr) -> Arr:
    """Smooth periodic noise: the ``table`` (ny, nx) looked up at lattice coordinates x, y
    (any shape, wrapped), quintic-interpolated."""
    ny, nx = table.shape
    fx0 = np.floor(x)
    fy0 = np.floor(y)
    tx = fade(x - fx0)
    ty = fade(y - fy0)
    ix = fx0.astype(np.int64) % nx
    iy = fy0.astype(np.int64) % ny
    ix1 = (ix + 1) % nx
    iy1 = (iy + 1) % ny
    top = table[iy, ix] * (1.0 - tx) + table[iy, ix1] * tx
    bottom = table[iy1, ix] * (1.0 - tx) + table[iy1, ix1] * tx
    return np.asarray(top * (1.0 - ty) + bottom * ty)


def gray_scott(
    rng: np.random.Generator,
    n: int,
    feed: float,
    kill: float,
    steps: int,
    du: float = 0.2,
    dv: float = 0.1,
) -> Arr:
    """The v field (float32, about 0..0.4) of a Gray-Scott reaction-diffusion run on a
    periodic n x n grid (unit spacing, explicit steps of dt = 1) from random seeds. Its
    pattern repeats about every 8 cells: spots, holes (a net) or stripes by feed and kill."""
    uv = np.zeros((2, n, n), dtype=np.float32)
    uv[0] = 1.0
    seeds = rng.random((n, n)) < 0.05
    uv[1][seeds] = 0.5
    uv[0][seeds] = 0.25
    uv[1] += (rng.random((n, n)) * 0.02).astype(np.float32)
    diff = np.array([du, dv], dtype=np.float32)[:, None, None]
    f = np.float32(feed)
    fk = np.float32(feed + kill)
    pad = np.empty((2, n + 2, n + 2), dtype=np.float32)
    lap = np.empty((2, n, n), dtype=np.float32)
    uvv = np.empty((n, n), dtype=np.float32)
    u, v = uv[0], uv[1]
    for _ in range(steps):
        pad[:, 1:-1, 1:-1] = uv
        pad[:, 0, 1:-1] = uv[:, -1]
        pad[:, -1, 1:-1] = uv[:, 0]
        pad[:, :, 0] = pad[:, :, -2]
        pad[:, :, -1] = pad[:, :, 1]
        np.add(pad[:, :-2, 1:-1], pad[:, 2:, 1:-1], out=lap)
        lap += pad[:, 1:-1, :-2]
        lap += pad[:, 1:-1, 2:]
        lap -= 4.0 * uv
        lap *= diff
        np.multiply(u, v, out=uvv)
        uvv *= v
        # reaction terms from the old values, then everything added
        lap[0] -= uvv
        lap[0] += f * (1.0 - u)
        lap[1] += uvv
        lap[1] -= fk * v
        uv += lap
    return np.asarray(v.copy())
