"""Supersampled polygon rasterisation of blind-6.

Every shape (a hair's ribbon of quads, a flake's fan, a vessel) is a list of quads, each a
bilinear patch with corners A, B, C, D (p(s, t) = A at (0, 0), B at (1, 0), C at (1, 1),
D at (0, 1)). A pixel's coverage is the share of its 16 jittered samples (a 4 x 4 grid,
jittered, one of eight patterns picked by a hash of the pixel) inside the quad's four edges;
pixels wholly inside or outside are decided from the pixel centre's signed distances
alone. Coverage of one call is a union: samples covered by two quads count once (a bitmask
per pixel), so a ribbon's joints and self-crossings never add up past full coverage. For
the texture, the covered samples' centroid is mapped back to the patch's (s, t) by an
inverse bilinear solve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]

_BITS = np.arange(65536, dtype=np.uint32)
POPCOUNT = np.zeros(65536, dtype=np.uint8)
for _k in range(16):
    POPCOUNT += ((_BITS >> _k) & 1).astype(np.uint8)


def _patterns() -> Arr:
    gen = np.random.default_rng(6_2024_1204)
    out = np.empty((8, 16, 2), dtype=np.float32)
    grid = np.arange(4, dtype=np.float64)
    gx, gy = np.meshgrid(grid, grid)
    for p in range(8):
        jx = gen.uniform(0.1, 0.9, 16)
        jy = gen.uniform(0.1, 0.9, 16)
        out[p, :, 0] = (gx.ravel() + jx) / 4.0 - 0.5
        out[p, :, 1] = (gy.ravel() + jy) / 4.0 - 0.5
    return out


PATTERNS = _patterns()
_HALF_DIAG = 0.7072


class Raster:
    """A width x height target and its scratch buffers (reused from call to call)."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._mask = np.zeros(width * height, dtype=np.uint16)
        self._stamp = np.zeros(width * height, dtype=np.int64)

    def quads(self, quads: Arr, want_st: bool = False, max_candidates: int = 2_000_000) -> Hits:
        """Rasterise ``quads`` (q, 4, 2) in pixel coordinates (pixel centres at integers)."""
        return raster_quads(self, np.asarray(quads, dtype=np.float64), want_st, max_candidates)


@dataclass
class Hits:
    """Covered pixels of one rasterisation: flat index, coverage in (0, 1], the quad that
    gave the texture coordinates, and those coordinates (only when asked)."""

    idx: Arr
    cover: Arr
    quad: Arr
    s: Arr | None = None
    t: Arr | None = None

    @property
    def empty(self) -> bool:
        return int(self.idx.size) == 0


def _edges(quads: Arr) -> tuple[Arr, Arr, Arr]:
    """Edge functions a x + b y + c (signed distance, positive inside) of each quad's 4 edges."""
    p = quads
    q = np.roll(quads, -1, axis=1)
    d = q - p
    length = np.hypot(d[..., 0], d[..., 1])
    ok = length > 1e-9
    safe = np.where(ok, length, 1.0)
    a = -d[..., 1] / safe
    b = d[..., 0] / safe
    c = (d[..., 1] * p[..., 0] - d[..., 0] * p[..., 1]) / safe
    x = quads[..., 0]
    y = quads[..., 1]
    area = 0.5 * np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)
    sign = np.where(area < 0, -1.0, 1.0)[:, None]
    a = a * sign
    b = b * sign
    c = np.where(ok, c * sign, 1e9)
    a = np.where(ok, a, 0.0)
    b = np.where(ok, b, 0.0)
    return a, b, c


def _cross(ax: Arr, ay: Arr, bx: Arr, by: Arr) -> Arr:
    return np.asarray(ax * by - ay * bx)


def inverse_bilinear(quads: Arr, x: Arr, y: Arr) -> tuple[Arr, Arr]:
    """(s, t) in [0, 1] of points (x, y) in their bilinear quads (one quad per point)."""
    ax, ay = quads[:, 0, 0], quads[:, 0, 1]
    ex, ey = quads[:, 1, 0] - ax, quads[:, 1, 1] - ay
    fx, fy = quads[:, 3, 0] - ax, quads[:, 3, 1] - ay
    gx = quads[:, 0, 0] - quads[:, 1, 0] + quads[:, 2, 0] - quads[:, 3, 0]
    gy = quads[:, 0, 1] - quads[:, 1, 1] + quads[:, 2, 1] - quads[:, 3, 1]
    hx, hy = x - ax, y - ay
    a2 = _cross(fx, fy, gx, gy)
    a1 = _cross(fx, fy, ex, ey) - _cross(hx, hy, gx, gy)
    a0 = -_cross(hx, hy, ex, ey)
    lin = np.abs(a2) < 1e-7 * (np.abs(a1) + 1e-12)
    t_lin = -a0 / np.where(np.abs(a1) < 1e-12, 1e-12, a1)
    disc = np.sqrt(np.clip(a1 * a1 - 4.0 * a2 * a0, 0.0, None))
    qq = -0.5 * (a1 + np.where(a1 >= 0, disc, -disc))
    qq = np.where(np.abs(qq) < 1e-12, 1e-12, qq)
    t1 = qq / np.where(np.abs(a2) < 1e-12, 1e-12, a2)
    t2 = a0 / qq
    d1 = np.abs(t1 - np.clip(t1, 0.0, 1.0))
    d2 = np.abs(t2 - np.clip(t2, 0.0, 1.0))
    t = np.where(lin, t_lin, np.where(d1 <= d2, t1, t2))
    t = np.clip(t, 0.0, 1.0)
    dx = ex + t * gx
    dy = ey + t * gy
    den = dx * dx + dy * dy
    s = ((hx - t * fx) * dx + (hy - t * fy) * dy) / np.where(den < 1e-12, 1e-12, den)
    return np.clip(s, 0.0, 1.0), t


def raster_quads(r: Raster, quads: Arr, want_st: bool, max_candidates: int) -> Hits:
    w, h = r.width, r.height
    none = Hits(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64))
    if quads.shape[0] == 0:
        return none
    xs = quads[..., 0]
    ys = quads[..., 1]
    minx, maxx = xs.min(1), xs.max(1)
    miny, maxy = ys.min(1), ys.max(1)
    inside = (maxx >= -0.5) & (minx <= w - 0.5) & (maxy >= -0.5) & (miny <= h - 0.5)
    inside &= np.isfinite(minx) & np.isfinite(maxx) & np.isfinite(miny) & np.isfinite(maxy)
    order = np.nonzero(inside)[0]
    if order.size == 0:
        return none
    x0 = np.clip(np.floor(minx[order] + 0.5), 0, w - 1).astype(np.int64)
    x1 = np.clip(np.floor(maxx[order] + 0.5), 0, w - 1).astype(np.int64)
    y0 = np.clip(np.floor(miny[order] + 0.5), 0, h - 1).astype(np.int64)
    y1 = np.clip(np.floor(maxy[order] + 0.5), 0, h - 1).astype(np.int64)
    bw = x1 - x0 + 1
    bh = y1 - y0 + 1
    counts = bw * bh
    ea, eb, ec = _edges(quads[order])
    parts_idx: list[Arr] = []
    parts_bits: list[Arr] = []
    parts_q: list[Arr] = []
    parts_cx: list[Arr] = []
    parts_cy: list[Arr] = []
    start = 0
    cum = np.cumsum(counts)
    nq = order.size
    while start < nq:
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + max_candidates, side="right"))
        stop = max(stop, start + 1)
        sl = slice(start, stop)
        cnt = counts[sl]
        total = int(cnt.sum())
        local_q = np.repeat(np.arange(start, stop), cnt)
        offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        px = x0[local_q] + offs % bw[local_q]
        py = y0[local_q] + offs // bw[local_q]
        e = ea[local_q] * px[:, None] + eb[local_q] * py[:, None] + ec[local_q]
        emin = e.min(1)
        keep = emin > -_HALF_DIAG
        px, py, local_q, e, emin = px[keep], py[keep], local_q[keep], e[keep], emin[keep]
        full = emin >= _HALF_DIAG
        bits = np.zeros(px.size, dtype=np.uint16)
        bits[full] = 0xFFFF
        cx = np.zeros(px.size, dtype=np.float64)
        cy = np.zeros(px.size, dtype=np.float64)
        part = np.nonzero(~full)[0]
        if part.size:
            pid = ((px[part] * 73856093) ^ (py[part] * 19349663)) & 7
            ox = PATTERNS[pid, :, 0]
            oy = PATTERNS[pid, :, 1]
            qq = local_q[part]
            ins = np.ones((part.size, 16), dtype=bool)
            for k in range(4):
                ins &= (
                    e[part, k][:, None] + ea[qq, k][:, None] * ox + eb[qq, k][:, None] * oy
                ) >= 0.0
            packed = np.packbits(ins, axis=1, bitorder="little")
            bits[part] = packed[:, 0].astype(np.uint16) | (packed[:, 1].astype(np.uint16) << 8)
            n_in = np.maximum(ins.sum(1), 1)
            cx[part] = (ins * ox).sum(1) / n_in
            cy[part] = (ins * oy).sum(1) / n_in
        nz = bits != 0
        parts_idx.append(py[nz] * w + px[nz])
        parts_bits.append(bits[nz])
        parts_q.append(local_q[nz])
        parts_cx.append(px[nz] + cx[nz])
        parts_cy.append(py[nz] + cy[nz])
        start = stop
    idx = np.concatenate(parts_idx)
    if idx.size == 0:
        return none
    bits_all = np.concatenate(parts_bits)
    qid = np.concatenate(parts_q)
    np.bitwise_or.at(r._mask, idx, bits_all)
    seq = np.arange(idx.size, dtype=np.int64)
    r._stamp[idx] = seq
    first = r._stamp[idx] == seq
    idx = idx[first]
    qid = qid[first]
    cover = POPCOUNT[r._mask[idx]].astype(np.float32) / 16.0
    r._mask[idx] = 0
    hits = Hits(idx, cover, order[qid])
    if want_st:
        sx = np.concatenate(parts_cx)[first]
        sy = np.concatenate(parts_cy)[first]
        hits.s, hits.t = inverse_bilinear(quads[order[qid]], sx, sy)
    return hits


def ribbon_quads(centre: Arr, half: Arr) -> tuple[Arr, Arr]:
    """Quads of a ribbon of half-width ``half`` (n,) along the polyline ``centre`` (n, 2),
    and the unit normals (n, 2) at its stations. Quad i spans stations i and i + 1:
    A = left i, B = left i+1, C = right i+1, D = right i (t = 0 on the left)."""
    c = np.asarray(centre, dtype=np.float64)
    d = np.gradient(c, axis=0) if c.shape[0] > 1 else np.array([[1.0, 0.0]])
    norm = np.hypot(d[:, 0], d[:, 1])
    norm = np.where(norm < 1e-12, 1.0, norm)
    tx = d[:, 0] / norm
    ty = d[:, 1] / norm
    normal = np.stack([-ty, tx], axis=1)
    left = c + half[:, None] * normal
    right = c - half[:, None] * normal
    quads = np.empty((c.shape[0] - 1, 4, 2), dtype=np.float64)
    quads[:, 0] = left[:-1]
    quads[:, 1] = left[1:]
    quads[:, 2] = right[1:]
    quads[:, 3] = right[:-1]
    return quads, normal


def fan_quads(centre: Arr, ring: Arr) -> Arr:
    """Quads covering the star-shaped polygon ``ring`` (k, 2) around ``centre`` (2,): one
    triangle (centre, p_i, p_i+1) per side, each as a quad with a corner on its last side."""
    p = np.asarray(ring, dtype=np.float64)
    q = np.roll(p, -1, axis=0)
    c = np.broadcast_to(np.asarray(centre, dtype=np.float64), p.shape)
    quads = np.empty((p.shape[0], 4, 2), dtype=np.float64)
    quads[:, 0] = c
    quads[:, 1] = p
    quads[:, 2] = q
    quads[:, 3] = 0.5 * (q + c)
    return quads


def bezier_chain(knots: Arr, step: Arr | float) -> tuple[Arr, Arr]:
    """Sample a Catmull-Rom-tangent cubic Bezier spline through ``knots`` (m, D); the first
    two columns are x, y in pixels, the others attributes carried by the same spline.
    ``step`` (pixels, scalar or per knot) bounds the spacing of the samples. Returns the
    samples (n, D) and each sample's segment parameter position (n,) (segment + t)."""
    k = np.asarray(knots, dtype=np.float64)
    m = k.shape[0]
    if m < 2:
        return k.copy(), np.zeros(m)
    tang = np.empty_like(k)
    tang[1:-1] = 0.5 * (k[2:] - k[:-2])
    tang[0] = k[1] - k[0]
    tang[-1] = k[-1] - k[-2]
    p0 = k[:-1]
    p3 = k[1:]
    p1 = p0 + tang[:-1] / 3.0
    p2 = p3 - tang[1:] / 3.0
    chord = np.hypot(p3[:, 0] - p0[:, 0], p3[:, 1] - p0[:, 1])
    ctrl = np.hypot(p1[:, 0] - p0[:, 0], p1[:, 1] - p0[:, 1]) + np.hypot(
        p2[:, 0] - p1[:, 0], p2[:, 1] - p1[:, 1]
    )
    ctrl += np.hypot(p3[:, 0] - p2[:, 0], p3[:, 1] - p2[:, 1])
    length = 0.5 * (chord + ctrl)
    st = np.broadcast_to(np.asarray(step, dtype=np.float64), (m,))
    seg_step = np.maximum(np.minimum(st[:-1], st[1:]), 0.25)
    n_seg = np.clip(np.ceil(length / seg_step), 1, 400).astype(np.int64)
    seg = np.repeat(np.arange(m - 1), n_seg)
    t = (np.arange(int(n_seg.sum())) - np.repeat(np.cumsum(n_seg) - n_seg, n_seg)) / np.repeat(
        n_seg, n_seg
    )
    t = t[:, None]
    mt = 1.0 - t
    pts = (
        mt * mt * mt * p0[seg]
        + 3 * mt * mt * t * p1[seg]
        + 3 * mt * t * t * p2[seg]
        + t * t * t * p3[seg]
    )
    pts = np.vstack([pts, k[-1:]])
    pos = np.concatenate([seg + t[:, 0], [float(m - 1)]])
    return pts, pos
