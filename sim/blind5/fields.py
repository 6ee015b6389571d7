"""Raster helpers of the blind-5 generator: the pose that maps world micrometres to a visit's
pixels, smooth random fields sampled from a random lattice by cubic B-splines (evaluated in
world coordinates, so a re-positioned frame sees the same skin), Worley cell distances,
soft disc / ring / line stamps, and a Gaussian blur that shrinks wide kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Pose:
    """A frame of ``width`` x ``height`` pixels of ``um`` micrometres, centred on world point
    (tx, ty) and turned by ``angle`` (rad); pixel centres sit at integer coordinates."""

    um: float
    width: int
    height: int
    angle: float = 0.0
    tx: float = 0.0
    ty: float = 0.0

    def to_px(self, x: F64, y: F64) -> tuple[F64, F64]:
        c, s = math.cos(self.angle), math.sin(self.angle)
        dx, dy = x - self.tx, y - self.ty
        u = (c * dx + s * dy) / self.um + (self.width - 1) / 2.0
        v = (-s * dx + c * dy) / self.um + (self.height - 1) / 2.0
        return u, v

    def to_world(self, px: F64, py: F64) -> tuple[F64, F64]:
        c, s = math.cos(self.angle), math.sin(self.angle)
        dx = (px - (self.width - 1) / 2.0) * self.um
        dy = (py - (self.height - 1) / 2.0) * self.um
        return c * dx - s * dy + self.tx, s * dx + c * dy + self.ty

    def grid(self) -> tuple[F64, F64]:
        """World coordinates of every pixel centre, each (height, width)."""
        cols = np.arange(self.width, dtype=np.float64)[None, :]
        rows = np.arange(self.height, dtype=np.float64)[:, None]
        x, y = self.to_world(cols, rows)
        shape = (self.height, self.width)
        return np.broadcast_to(x, shape).copy(), np.broadcast_to(y, shape).copy()


@dataclass(frozen=True)
class Lattice:
    """Random values on a square lattice of ``cell`` um whose node (0, 0) is at (x0, y0)."""

    values: F64
    x0: float
    y0: float
    cell: float


def lattice(rng: np.random.Generator, half: tuple[float, float], cell: float) -> Lattice:
    """Standard normal values covering [-half, half] plus a border."""
    nx, ny = math.ceil(2 * half[0] / cell) + 6, math.ceil(2 * half[1] / cell) + 6
    return Lattice(rng.standard_normal((ny, nx)), -half[0] - 3 * cell, -half[1] - 3 * cell, cell)


def _lerp(vals: F64, rows: F64, cols: F64) -> F64:
    """Bilinear resampling of ``vals`` at fractional row and column positions (separable)."""
    cols = np.clip(cols, 0.0, vals.shape[1] - 1.0)
    c0 = np.floor(cols).astype(np.int64)
    c1 = np.minimum(c0 + 1, vals.shape[1] - 1)
    fc = cols - c0
    tmp = vals[:, c0] * (1.0 - fc) + vals[:, c1] * fc
    rows = np.clip(rows, 0.0, vals.shape[0] - 1.0)
    r0 = np.floor(rows).astype(np.int64)
    r1 = np.minimum(r0 + 1, vals.shape[0] - 1)
    fr = (rows - r0)[:, None]
    return np.asarray(tmp[r0] * (1.0 - fr) + tmp[r1] * fr, dtype=np.float64)


def sample(lat: Lattice, pose: Pose, *, exact: bool = False) -> F64:
    """The lattice's B-spline field (about unit variance) at every pixel. Unless ``exact``
    (smooth derivatives wanted), fields much coarser than a pixel are evaluated on a sparser
    grid and interpolated."""
    k = 1 if exact else max(1, int(lat.cell / pose.um / 3.0))
    cols = np.arange(0, pose.width - 1 + k, k, dtype=np.float64)
    rows = np.arange(0, pose.height - 1 + k, k, dtype=np.float64)
    x, y = pose.to_world(cols[None, :], rows[:, None])
    x, y = np.broadcast_arrays(x, y)
    coords = [(y - lat.y0) / lat.cell, (x - lat.x0) / lat.cell]
    vals = ndimage.map_coordinates(lat.values, coords, order=3, prefilter=False, mode="nearest")
    vals = np.asarray(vals, dtype=np.float64) * 2.0
    if k == 1:
        return vals
    full_r = np.arange(pose.height, dtype=np.float64) / k
    return _lerp(vals, full_r, np.arange(pose.width, dtype=np.float64) / k)


def worley(rng: np.random.Generator, half: tuple[float, float], cell: float, x: F64, y: F64) -> F64:
    """F2 - F1 (um) of a jittered-grid Worley point set: small along cell borders."""
    nx, ny = math.ceil(2 * half[0] / cell) + 6, math.ceil(2 * half[1] / cell) + 6
    jx, jy = rng.random((ny, nx)), rng.random((ny, nx))
    x0, y0 = -half[0] - 3 * cell, -half[1] - 3 * cell
    gx, gy = (x - x0) / cell, (y - y0) / cell
    ix, iy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
    f1 = np.full(x.shape, np.inf)
    f2 = np.full(x.shape, np.inf)
    for dy in (-1, 0, 1):
        cy = np.clip(iy + dy, 0, ny - 1)
        for dx in (-1, 0, 1):
            cx = np.clip(ix + dx, 0, nx - 1)
            d = np.hypot(gx - cx - jx[cy, cx], gy - cy - jy[cy, cx])
            f2 = np.minimum(f2, np.maximum(f1, d))
            f1 = np.minimum(f1, d)
    return np.asarray((f2 - f1) * cell, dtype=np.float64)


def stamp(
    target: F64, px: F64, py: F64, radius: F64, amp: F64, *, soft: float = 0.35, ring: float = 0.0
) -> None:
    """Add ``amp`` times a soft disc (or, with ``ring`` > 0, a Gaussian ring of that width in
    pixels) of ``radius`` pixels centred at each (px, py), in place."""
    h, w = target.shape
    for cx, cy, r, a in zip(px, py, radius, amp, strict=True):
        sw = max(0.7, soft * r)
        reach = r + 2.0 * sw + 3.0 * ring
        x0, x1 = max(0, math.floor(cx - reach)), min(w - 1, math.ceil(cx + reach))
        y0, y1 = max(0, math.floor(cy - reach)), min(h - 1, math.ceil(cy + reach))
        if x0 > x1 or y0 > y1:
            continue
        yy, xx = np.ogrid[y0 : y1 + 1, x0 : x1 + 1]
        d = np.hypot(xx - cx, yy - cy)
        if ring > 0.0:
            prof = np.exp(-(((d - r) / ring) ** 2))
        else:
            t = np.clip((r + sw - d) / (2.0 * sw), 0.0, 1.0)
            prof = t * t * (3.0 - 2.0 * t)
        target[y0 : y1 + 1, x0 : x1 + 1] += a * prof


def lines(target: F64, seg: F64, width: F64, amp: F64) -> None:
    """Raise ``target`` in place to ``amp`` times a Gaussian line profile of half-width
    ``width`` pixels along each segment (x0, y0, x1, y1) of ``seg`` (n, 4)."""
    h, w = target.shape
    for (ax, ay, bx, by), wd, a in zip(seg, width, amp, strict=True):
        reach = 2.5 * wd + 1.0
        x0, x1 = max(0, math.floor(min(ax, bx) - reach)), min(w - 1, math.ceil(max(ax, bx) + reach))
        y0, y1 = max(0, math.floor(min(ay, by) - reach)), min(h - 1, math.ceil(max(ay, by) + reach))
        if x0 > x1 or y0 > y1:
            continue
        yy, xx = np.ogrid[y0 : y1 + 1, x0 : x1 + 1]
        vx, vy = bx - ax, by - ay
        t = np.clip(((xx - ax) * vx + (yy - ay) * vy) / max(vx * vx + vy * vy, 1e-9), 0.0, 1.0)
        d = np.hypot(xx - ax - t * vx, yy - ay - t * vy)
        view = target[y0 : y1 + 1, x0 : x1 + 1]
        np.maximum(view, a * np.exp(-((d / wd) ** 2)), out=view)


def blur(img: F64, sigma: float) -> F64:
    """Gaussian blur of a 2-D array by ``sigma`` pixels; wide kernels run on a block-averaged
    copy and are interpolated back."""
    if sigma < 0.3:
        return img.copy()
    if sigma <= 6.0:
        return np.asarray(ndimage.gaussian_filter(img, sigma, mode="reflect"), dtype=np.float64)
    k = int(sigma // 3)
    h, w = img.shape
    ph, pw = -h % k, -w % k
    padded = np.pad(img, ((0, ph), (0, pw)), mode="edge")
    small = padded.reshape((h + ph) // k, k, (w + pw) // k, k).mean(axis=(1, 3))
    small = ndimage.gaussian_filter(small, math.sqrt(max(sigma**2 / k**2 - 1 / 12, 0.1)))
    centre = (k - 1) / 2.0
    rows = (np.arange(h, dtype=np.float64) - centre) / k
    return _lerp(np.asarray(small, np.float64), rows, (np.arange(w, dtype=np.float64) - centre) / k)
