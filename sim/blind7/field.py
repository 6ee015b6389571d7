"""Raster helpers of blind-7: smooth random fields, fast blurs, a Voronoi (Worley) mosaic.

Fields are drawn on the scene raster, whose grid is the same for every visit of a scalp, so the
same seed gives the same skin whatever the camera does later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

Arr = NDArray[Any]


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> Arr:
    """Zero-mean, unit-sd Gaussian-correlated noise of correlation length ``scale_px``, made on
    a coarse grid and zoomed up (cheap at any size)."""
    h, w = shape
    step = max(1.0, scale_px / 3.0)
    gh = int(np.ceil(h / step)) + 4
    gw = int(np.ceil(w / step)) + 4
    coarse = rng.standard_normal((gh, gw))
    coarse = ndimage.gaussian_filter(coarse, scale_px / step / 2.0, mode="wrap")
    sd = coarse.std()
    coarse = coarse / (sd if sd > 0 else 1.0)
    yy = (np.arange(h, dtype=np.float32) / step + 1.5)[:, None]
    xx = (np.arange(w, dtype=np.float32) / step + 1.5)[None, :]
    out: Arr = _bilinear(coarse.astype(np.float32), yy, xx)
    return out


def _bilinear(img: Arr, yy: Arr, xx: Arr) -> Arr:
    """Separable bilinear sampling of ``img`` at the outer grid yy (H,1) x xx (1,W)."""
    y0 = np.floor(yy[:, 0]).astype(np.int64)
    x0 = np.floor(xx[0]).astype(np.int64)
    fy = (yy[:, 0] - y0).astype(np.float32)[:, None]
    fx = (xx[0] - x0).astype(np.float32)[None, :]
    y0 = np.clip(y0, 0, img.shape[0] - 2)
    x0 = np.clip(x0, 0, img.shape[1] - 2)
    cols = img[:, x0] * (1 - fx) + img[:, x0 + 1] * fx  # (rows of img, W): small
    out: Arr = cols[y0] * (1 - fy)
    out += cols[y0 + 1] * fy
    return out


def blur(img: Arr, sigma: float) -> Arr:
    """Gaussian blur of a 2-D float32 image; large sigmas go through a smaller copy."""
    if sigma < 0.3:
        return img
    if sigma < 3.0 or min(img.shape) < 16:
        out: Arr = ndimage.gaussian_filter(img, sigma, mode="nearest", truncate=2.7)
        return out
    f = int(min(sigma // 1.5, 16))
    h, w = img.shape
    hp = -(-h // f) * f
    wp = -(-w // f) * f
    pad = np.pad(img, ((0, hp - h), (0, wp - w)), mode="edge")
    small = pad.reshape(hp // f, f, wp // f, f).mean(axis=(1, 3))
    rest = np.sqrt(max(sigma**2 / f**2 - 0.25, 0.09))
    small = ndimage.gaussian_filter(small, rest, mode="nearest", truncate=2.7)
    yy = ((np.arange(h, dtype=np.float32) + 0.5) / f - 0.5)[:, None]
    xx = ((np.arange(w, dtype=np.float32) + 0.5) / f - 0.5)[None, :]
    big = np.pad(small, 1, mode="edge").astype(np.float32)
    out = _bilinear(big, yy + 1.0, xx + 1.0)
    return out


@dataclass(frozen=True)
class BlurPlan:
    """A blur whose sigma changes over the image: sigma levels and per-pixel blend weights."""

    levels: tuple[float, ...]
    weights: tuple[Arr | None, ...]  # None: this level alone, everywhere


def plan_blur(sigma_map: Arr) -> BlurPlan:
    lo = float(sigma_map.min())
    hi = float(sigma_map.max())
    if hi < 0.3:
        return BlurPlan((0.0,), (None,))
    if hi - lo < 0.35 * max(1.0, lo):
        return BlurPlan((0.5 * (lo + hi),), (None,))
    n = 3 if hi - lo > 3.0 * max(1.0, lo) else 2
    levels = np.linspace(lo, hi, n)
    pos = np.clip((sigma_map - lo) * np.float32((n - 1) / (hi - lo)), 0.0, n - 1)
    weights = tuple(
        np.clip(1.0 - np.abs(pos - np.float32(i)), 0.0, 1.0).astype(np.float32) for i in range(n)
    )
    return BlurPlan(tuple(float(v) for v in levels), weights)


def apply_blur(img: Arr, plan: BlurPlan) -> Arr:
    if plan.weights[0] is None:
        return blur(img, plan.levels[0])
    out: Arr = np.zeros_like(img)
    for lev, wgt in zip(plan.levels, plan.weights, strict=True):
        out += blur(img, lev) * wgt
    return out


def worley(
    rng: np.random.Generator,
    shape: tuple[int, int],
    cell_px: float,
    jitter: float = 0.9,
    warp: float = 0.0,
) -> tuple[Arr, Arr, Arr]:
    """Voronoi mosaic with one random site per square cell of ``cell_px``: distance to the nearest
    site (F1), to the second nearest (F2), and the nearest site's id, per pixel. F2 - F1 is small
    on the borders between plates. ``warp`` (in cells) bends the borders by a smooth
    displacement of the plane."""
    h, w = shape
    pad = 2 + int(np.ceil(3.0 * warp))
    gh = int(np.ceil(h / cell_px)) + 2 * pad
    gw = int(np.ceil(w / cell_px)) + 2 * pad
    jx = rng.uniform(0.5 - jitter / 2, 0.5 + jitter / 2, (gh, gw)).astype(np.float32)
    jy = rng.uniform(0.5 - jitter / 2, 0.5 + jitter / 2, (gh, gw)).astype(np.float32)
    f1 = np.full((h, w), np.inf, np.float32)
    f2 = np.full((h, w), np.inf, np.float32)
    ids = np.zeros((h, w), np.int32)
    ys: Arr = np.arange(h, dtype=np.float32)[:, None]
    xs: Arr = np.arange(w, dtype=np.float32)[None, :]
    if warp > 0:
        xs = xs + smooth_noise(rng, shape, 1.3 * cell_px) * np.float32(warp * cell_px)
        ys = ys + smooth_noise(rng, shape, 1.3 * cell_px) * np.float32(warp * cell_px)
    cy = np.floor(ys / cell_px).astype(np.int64)
    cx = np.floor(xs / cell_px).astype(np.int64)
    for oy in (-1, 0, 1):
        gy = np.clip(cy + oy + pad, 0, gh - 1)
        for ox in (-1, 0, 1):
            gx = np.clip(cx + ox + pad, 0, gw - 1)
            sx = ((gx - pad) + jx[gy, gx]) * cell_px
            sy = ((gy - pad) + jy[gy, gx]) * cell_px
            d = np.sqrt((xs - sx) ** 2 + (ys - sy) ** 2)
            closer = d < f1
            f2 = np.where(closer, f1, np.minimum(f2, d))
            ids = np.where(closer, (gy * gw + gx).astype(np.int32), ids)
            f1 = np.where(closer, d, f1)
    return f1, f2, ids
