"""Which pixels a thin rectangle touches, and smooth random fields.

Every shaft segment, opening, flake or tick mark is found on the pixel grid by
one routine: an oriented rectangle, given by a start point, a unit direction, a
range along it and a half width across it.  Its pixels are listed row by row
(the exact span of each row is solved from the two slabs that bound the
rectangle), so long diagonal shafts cost about their area, not their bounding
box.  Pixel centres sit at integer coordinates (origin at the centre of the
top-left pixel).  The caller gets, per touched pixel, the item, the flat pixel
index and the pixel centre's coordinates (u along, v across) in the item's
frame, and shapes its own profile from those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

Arr = NDArray[Any]
_ROWS_PER_CHUNK = 1_500_000
_FAR = 1e9


@dataclass
class Fragments:
    """Pixels touched by a set of rectangles, one entry per (item, pixel)."""

    item: Arr
    pix: Arr
    u: Arr
    v: Arr


def _slab(x0: Arr, c: Arr, off: Arr, lo: Arr, hi: Arr) -> tuple[Arr, Arr]:
    """x interval where lo <= (x - x0) * c + off <= hi (whole line or none if c ~ 0)."""
    flat = np.abs(c) < 1e-9
    cs = np.where(flat, 1.0, c)
    xa = x0 + (lo - off) / cs
    xb = x0 + (hi - off) / cs
    inside = (off >= lo) & (off <= hi)
    left = np.where(flat, np.where(inside, -_FAR, _FAR), np.minimum(xa, xb))
    right = np.where(flat, np.where(inside, _FAR, -_FAR), np.maximum(xa, xb))
    return left, right


def rectangles(
    x0: Arr, y0: Arr, dx: Arr, dy: Arr, u_lo: Arr, u_hi: Arr, half: Arr, width: int, height: int
) -> Fragments:
    """Pixels whose centre lies in u_lo <= u < u_hi, |v| <= half of each rectangle.

    (dx, dy) must be unit vectors; v runs along (-dy, dx).
    """
    nx, ny = -dy, dx
    ys = [y0 + u * dy + s * half * ny for u in (u_lo, u_hi) for s in (-1.0, 1.0)]
    xs = [x0 + u * dx + s * half * nx for u in (u_lo, u_hi) for s in (-1.0, 1.0)]
    ymin = np.maximum(np.ceil(np.minimum.reduce(ys)), 0.0)
    ymax = np.minimum(np.floor(np.maximum.reduce(ys)), height - 1.0)
    off_x = (np.maximum.reduce(xs) < 0.0) | (np.minimum.reduce(xs) > width - 1.0)
    rows = np.where(off_x, 0, np.maximum(ymax - ymin + 1.0, 0.0)).astype(np.int64)
    parts: list[Fragments] = []
    csum = np.cumsum(rows)
    start = 0
    while start < rows.size:
        base = csum[start - 1] if start > 0 else 0
        stop = int(np.searchsorted(csum, base + _ROWS_PER_CHUNK, side="right"))
        stop = max(stop, start + 1)
        parts.append(
            _chunk(np.arange(start, stop), rows, x0, y0, dx, dy, u_lo, u_hi, half, ymin, width)
        )
        start = stop
    if not parts:
        empty = np.zeros(0, dtype=np.float32)
        return Fragments(empty.astype(np.int32), empty.astype(np.int32), empty, empty)
    if len(parts) == 1:
        return parts[0]
    return Fragments(
        np.concatenate([p.item for p in parts]),
        np.concatenate([p.pix for p in parts]),
        np.concatenate([p.u for p in parts]),
        np.concatenate([p.v for p in parts]),
    )


def _chunk(
    ids: Arr,
    rows: Arr,
    x0: Arr,
    y0: Arr,
    dx: Arr,
    dy: Arr,
    u_lo: Arr,
    u_hi: Arr,
    half: Arr,
    ymin: Arr,
    width: int,
) -> Fragments:
    r = rows[ids]
    it = np.repeat(ids, r)
    first = np.cumsum(r) - r
    yr = ymin[it] + (np.arange(it.size) - np.repeat(first, r))
    off = yr - y0[it]
    a_lo, a_hi = _slab(x0[it], dx[it], off * dy[it], u_lo[it], u_hi[it])
    b_lo, b_hi = _slab(x0[it], -dy[it], off * dx[it], -half[it], half[it])
    xl = np.ceil(np.maximum(np.maximum(a_lo, b_lo), 0.0))
    xr = np.floor(np.minimum(np.minimum(a_hi, b_hi), width - 1.0))
    cnt = np.maximum(xr - xl + 1.0, 0.0).astype(np.int64)
    live = cnt > 0
    it, xl, yr, off, cnt = it[live], xl[live], yr[live], off[live], cnt[live]
    rx = xl - x0[it]
    rdx = dx[it].astype(np.float32)
    rdy = dy[it].astype(np.float32)
    u0 = (rx * dx[it] + off * dy[it]).astype(np.float32)
    v0 = (off * dx[it] - rx * dy[it]).astype(np.float32)
    base = (yr * width + xl).astype(np.int32)
    cnt32 = cnt.astype(np.int32)
    rep = np.repeat(np.arange(it.size, dtype=np.int32), cnt)
    k = np.arange(rep.size, dtype=np.int32) - np.repeat(np.cumsum(cnt32) - cnt32, cnt)
    kf = k.astype(np.float32)
    return Fragments(
        it.astype(np.int32)[rep], base[rep] + k, u0[rep] + kf * rdx[rep], v0[rep] - kf * rdy[rep]
    )


def discs(x: Arr, y: Arr, radius: Arr, width: int, height: int) -> Fragments:
    """Pixels within ``radius`` of each centre (u, v are offsets along x and y)."""
    one = np.ones_like(x)
    zero = np.zeros_like(x)
    return rectangles(x, y, one, zero, -radius, radius + 1e-6, radius, width, height)


def splat_max(frags: Fragments, weight: Arr, height: int, width: int) -> Arr:
    """Largest weight per pixel (for strokes drawn as overlapping pieces)."""
    total = np.zeros(height * width, dtype=np.float32)
    np.maximum.at(total, frags.pix, weight.astype(np.float32))
    return total.reshape(height, width)


def splat(frags: Fragments, weight: Arr, height: int, width: int) -> Arr:
    """Sum of weights per pixel, as a float32 image."""
    total = np.bincount(frags.pix, weights=weight, minlength=height * width)
    return total.reshape(height, width).astype(np.float32)


def _taps(n_out: int, n_in: int, coord: Arr, smooth: bool) -> list[tuple[Arr, Arr]]:
    """Four (index, weight) pairs per output sample of a cubic kernel at input coords."""
    base = np.floor(coord)
    t = (coord - base).astype(np.float32)
    t2, t3 = t * t, t * t * t
    if smooth:  # cubic B-spline: smooth, not interpolating
        ws = [
            (1 - t) ** 3 / 6,
            (3 * t3 - 6 * t2 + 4) / 6,
            (-3 * t3 + 3 * t2 + 3 * t + 1) / 6,
            t3 / 6,
        ]
    else:  # Catmull-Rom: interpolating
        ws = [
            (-t3 + 2 * t2 - t) / 2,
            (3 * t3 - 5 * t2 + 2) / 2,
            (-3 * t3 + 4 * t2 + t) / 2,
            (t3 - t2) / 2,
        ]
    i0 = base.astype(np.int64) - 1
    return [(np.clip(i0 + k, 0, n_in - 1), ws[k]) for k in range(4)]


def _cubic(grid: Arr, ys: Arr, xs: Arr, smooth: bool) -> Arr:
    """Separable cubic interpolation of a 2-D grid at row coords ys and column coords xs."""
    grid = np.asarray(grid, dtype=np.float32)
    tmp = np.zeros((ys.size, grid.shape[1]), dtype=np.float32)
    for idx, wt in _taps(ys.size, grid.shape[0], ys, smooth):
        tmp += wt[:, None] * grid[idx]
    out = np.zeros((ys.size, xs.size), dtype=np.float32)
    for idx, wt in _taps(xs.size, grid.shape[1], xs, smooth):
        out += wt[None, :] * np.take(tmp, idx, axis=1)
    return out


def resize(field: Arr, height: int, width: int) -> Arr:
    """Cubic (Catmull-Rom) resize of a 2-D float field, pixel areas aligned."""
    h, w = field.shape
    ys = (np.arange(height) + 0.5) * (h / height) - 0.5
    xs = (np.arange(width) + 0.5) * (w / width) - 0.5
    return _cubic(field, ys, xs, smooth=False)


def noise(rng: np.random.Generator, height: int, width: int, scale_px: float) -> Arr:
    """Smooth random field with correlation length ~scale_px, zero mean, unit spread.

    Scaled by the spread the smoothing gives white noise, not by a measured one,
    so tiny frames get no wild values."""
    if scale_px >= 2.0:
        gh = int(height / scale_px) + 5
        gw = int(width / scale_px) + 5
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        oy, ox = rng.uniform(1.0, 2.0, 2)
        ys = np.arange(height) / scale_px + oy
        xs = np.arange(width) / scale_px + ox
        field = _cubic(grid, ys, xs, smooth=True)
        spread = 0.48  # cubic B-spline smoothing of unit white noise, in 2-D
    else:
        sigma = max(0.5 * scale_px, 0.4)
        white = rng.standard_normal((height, width)).astype(np.float32)
        field = ndimage.gaussian_filter(white, sigma, truncate=4.0)
        taps = np.exp(
            -0.5 * (np.arange(-int(4 * sigma + 0.5), int(4 * sigma + 0.5) + 1) / sigma) ** 2
        )
        spread = float(np.sum((taps / taps.sum()) ** 2))  # 1-D spread squared = 2-D spread
    return np.asarray(field / spread, dtype=np.float32)


def blur(img: Arr, sigma: float) -> Arr:
    """Gaussian blur of a 2-D or (h, w, c) image; large sigmas go through a smaller copy."""
    if sigma < 0.3:
        return img
    if img.ndim == 3:
        return np.stack([blur(img[..., c], sigma) for c in range(img.shape[2])], axis=-1)
    if sigma <= 3.0:
        return np.asarray(ndimage.gaussian_filter(img, sigma, truncate=3.0), dtype=np.float32)
    factor = int(sigma / 1.5)
    h, w = img.shape
    hp, wp = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.pad(img, ((0, hp - h), (0, wp - w)), mode="edge")
    small = padded.reshape(hp // factor, factor, wp // factor, factor).mean(axis=(1, 3))
    rest = max(sigma**2 / factor**2 - 0.3, 0.25) ** 0.5
    small = ndimage.gaussian_filter(small.astype(np.float32), rest, truncate=3.0)
    ys = (np.arange(h) + 0.5) / factor - 0.5
    xs = (np.arange(w) + 0.5) / factor - 0.5
    return _cubic(small, ys, xs, smooth=False)


def cell_lines(
    rng: np.random.Generator,
    height: int,
    width: int,
    cell_px: float,
    line_px: float,
    stretch: float,
    angle: float,
) -> Arr:
    """Lines (0..1) along the walls of a random polygonal cell pattern.

    Worley cells of a jittered grid in a stretched, rotated, gently warped
    plane.  The walls are found on a coarse grid and resized, so the cost
    hardly depends on the scale; lines thinner than that grid come out wider
    and fainter.
    """
    f = int(np.clip(min(cell_px / 6.0, 1.5 * line_px), 1, 16))
    f = max(f, int(np.ceil(np.sqrt(height * width / 250_000.0))))
    gh, gw = -(-height // f) + 1, -(-width // f) + 1
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    ys, xs = ys * f, xs * f
    ca, sa = np.cos(angle), np.sin(angle)
    px = (xs * ca + ys * sa) / (cell_px * stretch)
    py = (-xs * sa + ys * ca) / (cell_px / stretch)
    warp_px = max(2.0, 1.5 * cell_px / f)
    px = px + 0.15 * noise(rng, gh, gw, warp_px)
    py = py + 0.15 * noise(rng, gh, gw, warp_px)
    lo_x, lo_y = int(np.floor(px.min())) - 2, int(np.floor(py.min())) - 2
    nx, ny = int(np.ceil(px.max())) - lo_x + 3, int(np.ceil(py.max())) - lo_y + 3
    jit = rng.uniform(0.03, 0.97, (2, ny, nx)).astype(np.float32)
    cx, cy = np.floor(px).astype(np.int64) - lo_x, np.floor(py).astype(np.int64) - lo_y
    inf = np.full(px.shape, np.inf, dtype=np.float32)
    d1, d2 = inf, inf.copy()
    x1 = y1 = x2 = y2 = np.zeros(px.shape, dtype=np.float32)
    for oy in (-1, 0, 1):
        for ox in (-1, 0, 1):
            sx = cx + ox + jit[0, cy + oy, cx + ox] + lo_x
            sy = cy + oy + jit[1, cy + oy, cx + ox] + lo_y
            d = (sx - px) ** 2 + (sy - py) ** 2
            first = d < d1
            second = ~first & (d < d2)
            d2 = np.where(first, d1, np.where(second, d, d2))
            x2 = np.where(first, x1, np.where(second, sx, x2))
            y2 = np.where(first, y1, np.where(second, sy, y2))
            d1 = np.where(first, d, d1)
            x1 = np.where(first, sx, x1)
            y1 = np.where(first, sy, y1)
    sep = np.sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2)
    dist = (d2 - d1) / (2.0 * np.maximum(sep, 1e-3)) * cell_px
    wide = max(line_px, 0.7 * f)
    lines = np.exp(-np.square(dist / wide)) * (line_px / wide)
    return resize(lines, gh * f, gw * f)[:height, :width]
