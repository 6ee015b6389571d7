"""Exact-area polygon filling by signed-area accumulation along scanlines.

Every polygon edge is cut where it crosses a pixel column or row boundary; each piece then
lies inside one pixel cell and adds its signed height ``dy`` to an accumulation buffer,
split between its own cell (the part of the cell right of the piece) and the next cell.
A running sum along each scanline turns the buffer into the exact area of every pixel that
the polygons cover (their winding number times the area), so anti-aliasing is analytic and
holes (an annulus's inner ring, wound the other way) need no special case.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

CHUNK = 500_000


class Layer:
    """Polygons gathered as edges with per-edge weights (alpha and alpha*RGB)."""

    def __init__(self) -> None:
        self.x0: list[F64] = []
        self.y0: list[F64] = []
        self.x1: list[F64] = []
        self.y1: list[F64] = []
        self.w: list[F64] = []

    def add_polygons(self, vx: F64, vy: F64, alpha: F64, rgb: F64, orient: bool = True) -> None:
        """Closed polygons of K vertices: ``vx``, ``vy`` (P, K) in pixel-centre coordinates,
        ``alpha`` (P,) and ``rgb`` (P, 3). With ``orient`` each polygon is turned to
        positive winding; without, the caller's winding is kept (for holes)."""
        if vx.size == 0:
            return
        if orient:
            area = np.sum(vx * np.roll(vy, -1, axis=1) - np.roll(vx, -1, axis=1) * vy, axis=1)
            neg = area < 0
            vx = np.where(neg[:, None], vx[:, ::-1], vx)
            vy = np.where(neg[:, None], vy[:, ::-1], vy)
        k = vx.shape[1]
        wt = np.concatenate([alpha[:, None], alpha[:, None] * rgb], axis=1)
        self.x0.append(vx.ravel())
        self.y0.append(vy.ravel())
        self.x1.append(np.roll(vx, -1, axis=1).ravel())
        self.y1.append(np.roll(vy, -1, axis=1).ravel())
        self.w.append(np.repeat(wt, k, axis=0))

    def add_grid(self, px: F64, py: F64, alpha: F64, rgb: F64) -> None:
        """A ribbon of quadrilaterals on a vertex grid ``px``, ``py`` (n+1, S+1): quad (i, j)
        has corners (i, j), (i+1, j), (i+1, j+1), (i, j+1), alpha ``alpha`` (n, S) (0 for a
        quad left out) and colour ``rgb`` (n, S, 3). Edges shared by two quads are sent once
        with the difference of their weights, and dropped where that is zero (along a shaft of
        one colour the cross edges cancel), which gives the same coverage as the quads."""
        ax, ay = px[:-1, :-1], py[:-1, :-1]
        bx, by = px[1:, :-1], py[1:, :-1]
        cx, cy = px[1:, 1:], py[1:, 1:]
        dx, dy = px[:-1, 1:], py[:-1, 1:]
        area = (ax * by - bx * ay) + (bx * cy - cx * by) + (cx * dy - dx * cy) + (dx * ay - ax * dy)
        sign = np.where(area < 0, -1.0, 1.0)
        wq = np.concatenate([alpha[:, :, None], alpha[:, :, None] * rgb], axis=2) * sign[:, :, None]
        n, ns = alpha.shape
        zero_col = np.zeros((n, 1, 4))
        zero_row = np.zeros((1, ns, 4))
        # along edges (i, j) -> (i+1, j) for j = 0..S: W(i, j) - W(i, j-1)
        w_al = np.concatenate([wq, zero_col], 1) - np.concatenate([zero_col, wq], 1)
        # across edges (i, j) -> (i, j+1) for i = 0..n: W(i-1, j) - W(i, j)
        w_ac = np.concatenate([zero_row, wq], 0) - np.concatenate([wq, zero_row], 0)
        al = np.abs(w_al).max(axis=2) > 1e-12
        ac = np.abs(w_ac).max(axis=2) > 1e-12
        self.x0.append(np.concatenate([px[:-1][al], px[:, :-1][ac]]))
        self.y0.append(np.concatenate([py[:-1][al], py[:, :-1][ac]]))
        self.x1.append(np.concatenate([px[1:][al], px[:, 1:][ac]]))
        self.y1.append(np.concatenate([py[1:][al], py[:, 1:][ac]]))
        self.w.append(np.concatenate([w_al[al], w_ac[ac]]))

    def render(self, height: int, width: int) -> NDArray[np.float64]:
        """(4, height, width): covered alpha and alpha-weighted R, G, B."""
        out = np.zeros((4, height, width + 1))
        if not self.x0:
            return out[:, :, :width]
        x0 = np.concatenate(self.x0) + 0.5
        y0 = np.concatenate(self.y0) + 0.5
        x1 = np.concatenate(self.x1) + 0.5
        y1 = np.concatenate(self.y1) + 0.5
        w = np.concatenate(self.w)
        keep = (
            (np.maximum(y0, y1) > 0)
            & (np.minimum(y0, y1) < height)
            & (np.minimum(x0, x1) < width)
            & (y0 != y1)
        )
        x0, y0, x1, y1, w = x0[keep], y0[keep], x1[keep], y1[keep], w[keep]
        flat = out.reshape(4, -1)
        for s in range(0, x0.size, CHUNK):
            sl = slice(s, s + CHUNK)
            _accumulate(x0[sl], y0[sl], x1[sl], y1[sl], w[sl], height, width, flat)
        cov = -np.cumsum(out, axis=2)[:, :, :width]
        return cov


def _crossings(a0: F64, a1: F64) -> tuple[I64, F64]:
    """Edge index and parameter t of every integer crossing of a coordinate a0 -> a1."""
    f0 = np.floor(a0)
    f1 = np.floor(a1)
    k = np.abs(f1 - f0).astype(np.int64)
    total = int(k.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    eid = np.repeat(np.arange(a0.size), k)
    start = np.cumsum(k) - k
    off = np.arange(total) - np.repeat(start, k)
    m = np.minimum(f0, f1)[eid] + 1 + off
    t = (m - a0[eid]) / (a1 - a0)[eid]
    return eid, t


def _accumulate(
    x0: F64, y0: F64, x1: F64, y1: F64, w: F64, height: int, width: int, flat: F64
) -> None:
    n = x0.size
    ex, tx = _crossings(x0, x1)
    ey, ty = _crossings(y0, y1)
    ar = np.arange(n)
    e = np.concatenate([ar, ar, ex, ey])
    t = np.concatenate([np.zeros(n), np.ones(n), tx, ty])
    order = np.argsort(e + t * 0.999)
    e = e[order]
    t = t[order]
    same = e[:-1] == e[1:]
    ee = e[:-1][same]
    ta = t[:-1][same]
    tb = t[1:][same]
    dx = (x1 - x0)[ee]
    dyy = (y1 - y0)[ee]
    xa = x0[ee] + dx * ta
    xb = x0[ee] + dx * tb
    ya = y0[ee] + dyy * ta
    yb = y0[ee] + dyy * tb
    dy = yb - ya
    xm = 0.5 * (xa + xb)
    row = np.floor(0.5 * (ya + yb)).astype(np.int64)
    col = np.floor(xm).astype(np.int64)
    frac = xm - col
    left = col < 0
    col[left] = 0
    frac[left] = 0.0
    ok = (row >= 0) & (row < height) & (col < width) & (dy != 0)
    idx = row[ok] * (width + 1) + col[ok]
    both = np.concatenate([idx, idx + 1])
    share = np.concatenate([(dy * (1.0 - frac))[ok], (dy * frac)[ok]])
    wt = w[ee[ok]]
    size = flat.shape[1]
    for c in range(4):
        flat[c] += np.bincount(both, share * np.tile(wt[:, c], 2), minlength=size)[:size]


def composite(img: F64, acc: F64, strength: float = 1.0) -> None:
    """Lay a rendered layer over ``img`` (H, W, 3) in place: where polygons overlap their
    colours mix by coverage and their alpha adds up to 1."""
    a = acc[0]
    cover = np.clip(a, 0.0, 1.0) * strength
    safe = np.where(a > 1e-9, a, 1.0)
    for c in range(3):
        col = acc[c + 1] / safe
        img[:, :, c] += (col - img[:, :, c]) * cover
