"""World-anchored randomness: a counter-based hash (splitmix64) of integer keys, and points
scattered over square world tiles so that any window of the site sees the same points."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

_M64 = (1 << 64) - 1
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TILE_OFFSET = 1 << 20


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    x = (x ^ (x >> _S30)) * _C1
    x = (x ^ (x >> _S27)) * _C2
    out: NDArray[np.uint64] = x ^ (x >> _S31)
    return out


def _as_u64(key: ArrayLike) -> NDArray[np.uint64]:
    arr = np.asarray(key, dtype=np.int64)
    out: NDArray[np.uint64] = np.ascontiguousarray(arr).view(np.uint64).reshape(arr.shape)
    return out


def hash_u(seed: int, salt: int, *keys: ArrayLike) -> NDArray[np.float64]:
    """Uniform numbers in [0, 1), one per broadcast element of ``keys``, fixed by the
    site's ``seed``, a ``salt`` naming the quantity and the integer keys."""
    arrays = [_as_u64(k) for k in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
    arrays = [a.reshape(a.shape or (1,)) for a in arrays]
    start = _mix(
        np.array([(seed * 0x2545F4914F6CDD1D + salt * 0x632BE59BD9B4E019) & _M64], dtype=np.uint64)
    )[0]
    h = np.full(shape or (1,), start, dtype=np.uint64)
    for a in arrays:
        h = _mix(h ^ (a + _GOLD))
    h = _mix(h)
    out: NDArray[np.float64] = ((h >> _S11).astype(np.float64) * (2.0**-53)).reshape(shape)
    return out


def seed_key(seed: int) -> int:
    """A non-negative 63-bit key for any Python int seed (negative and huge seeds too)."""
    return (seed * 0x9E3779B97F4A7C15 + (1 if seed < 0 else 0)) % (1 << 63)


def scatter(
    seed: int,
    salt: int,
    bbox: tuple[float, float, float, float],
    tile_um: float,
    per_tile: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Points of a Poisson-like process (``per_tile`` expected per square tile of side
    ``tile_um`` microns) inside the world ``bbox`` (x0, y0, x1, y1): positions in microns and
    a unique integer id per point, the same whatever window asks for them."""
    x0, y0, x1, y1 = bbox
    empty = (np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))
    if per_tile <= 0:
        return empty
    ix = np.arange(math.floor(x0 / tile_um), math.floor(x1 / tile_um) + 1, dtype=np.int64)
    iy = np.arange(math.floor(y0 / tile_um), math.floor(y1 / tile_um) + 1, dtype=np.int64)
    kmax = max(1, math.ceil(per_tile * 2.0 + 3.0 * math.sqrt(per_tile) + 2))
    mx, my, mk = np.meshgrid(ix, iy, np.arange(kmax, dtype=np.int64), indexing="ij")
    gx, gy, gk = mx.ravel(), my.ravel(), mk.ravel()
    keep = hash_u(seed, salt, gx, gy, gk) < per_tile / kmax
    gx, gy, gk = gx[keep], gy[keep], gk[keep]
    px = (gx + hash_u(seed, salt + 1, gx, gy, gk)) * tile_um
    py = (gy + hash_u(seed, salt + 2, gx, gy, gk)) * tile_um
    inside = (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)
    uid = ((gx + _TILE_OFFSET) * (1 << 22) + (gy + _TILE_OFFSET)) * 64 + gk
    return px[inside], py[inside], uid[inside].astype(np.int64)
